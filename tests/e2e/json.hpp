// The end-to-end tests' view of sockscope's JSON lines: a tree to check field by field, and to print
// back in one canonical form (keys in the order they came).
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace e2e {

struct Json {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool b = false;
  double num = 0;
  std::string text;  // String: the decoded string; Number: the number as written
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  bool is_null() const { return kind == Kind::Null; }
  bool has(std::string_view key) const { return find(key) != nullptr; }
  const Json* find(std::string_view key) const {
    for (const auto& [k, v] : members)
      if (k == key) return &v;
    return nullptr;
  }
  // A missing key reads as null, so chains like j["bytes"]["c2s"] never throw.
  const Json& operator[](std::string_view key) const {
    static const Json null_value;
    const Json* v = find(key);
    return v ? *v : null_value;
  }
  const Json& operator[](std::size_t i) const {
    static const Json null_value;
    return i < items.size() ? items[i] : null_value;
  }
  std::size_t size() const { return kind == Kind::Array ? items.size() : members.size(); }
  std::string str() const { return kind == Kind::String ? text : std::string(); }
  std::int64_t i64() const { return kind == Kind::Number ? static_cast<std::int64_t>(num) : -1; }

  // Compact canonical text (strings re-escaped minimally).
  std::string dump() const {
    std::string out;
    dump_to(out);
    return out;
  }
  void dump_to(std::string& out) const {
    switch (kind) {
      case Kind::Null: out += "null"; break;
      case Kind::Bool: out += b ? "true" : "false"; break;
      case Kind::Number: out += text; break;
      case Kind::String: quote(text, out); break;
      case Kind::Array:
        out += '[';
        for (std::size_t i = 0; i < items.size(); ++i) {
          if (i) out += ',';
          items[i].dump_to(out);
        }
        out += ']';
        break;
      case Kind::Object:
        out += '{';
        for (std::size_t i = 0; i < members.size(); ++i) {
          if (i) out += ',';
          quote(members[i].first, out);
          out += ':';
          members[i].second.dump_to(out);
        }
        out += '}';
        break;
    }
  }
  static void quote(const std::string& s, std::string& out) {
    out += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
};

// Reads one JSON value into a Json: nlohmann-json does the reading (the project's one reader,
// sockscope/text/json.hpp); its SAX events build the tree, so a number keeps the text it was written as.
class JsonParser {
 public:
  explicit JsonParser(std::string_view s) : s_(s) {}

  // Parses one whole value; false (with error()) if the text is not exactly one JSON value.
  bool parse(Json& out) {
    Builder b;
    const bool ok = nlohmann::json::sax_parse(s_.begin(), s_.end(), &b, nlohmann::json::input_format_t::json, true);
    if (!ok || b.stack.size() != 1 || !b.done) {
      err_ = b.err.empty() ? "not one JSON value" : b.err;
      return false;
    }
    out = std::move(b.stack.front());
    return true;
  }
  const std::string& error() const { return err_; }

 private:
  struct Builder : nlohmann::json_sax<nlohmann::json> {
    std::vector<Json> stack;          // the containers still open, innermost last
    std::vector<std::string> keys;    // the key of the member each open object expects next
    std::string err;
    bool done = false;

    bool add(Json v) {
      if (stack.empty()) {
        stack.push_back(std::move(v));
        done = true;
      } else if (stack.back().kind == Json::Kind::Array) {
        stack.back().items.push_back(std::move(v));
      } else {
        stack.back().members.emplace_back(std::move(keys.back()), std::move(v));
      }
      return true;
    }
    bool open(Json::Kind k) {
      Json v;
      v.kind = k;
      stack.push_back(std::move(v));
      if (k == Json::Kind::Object) keys.emplace_back();
      return true;
    }
    bool close() {
      Json v = std::move(stack.back());
      stack.pop_back();
      if (v.kind == Json::Kind::Object) keys.pop_back();
      return add(std::move(v));
    }
    bool scalar(Json::Kind k, std::string text, double num = 0, bool b = false) {
      Json v;
      v.kind = k;
      v.text = std::move(text);
      v.num = num;
      v.b = b;
      return add(std::move(v));
    }
    bool null() override { return scalar(Json::Kind::Null, {}); }
    bool boolean(bool val) override { return scalar(Json::Kind::Bool, {}, 0, val); }
    bool number_integer(number_integer_t val) override {
      return scalar(Json::Kind::Number, std::to_string(val), static_cast<double>(val));
    }
    bool number_unsigned(number_unsigned_t val) override {
      return scalar(Json::Kind::Number, std::to_string(val), static_cast<double>(val));
    }
    bool number_float(number_float_t val, const string_t& s) override { return scalar(Json::Kind::Number, s, val); }
    bool string(string_t& val) override { return scalar(Json::Kind::String, std::move(val)); }
    bool binary(binary_t&) override { return false; }
    bool start_object(std::size_t) override { return open(Json::Kind::Object); }
    bool key(string_t& val) override {
      keys.back() = std::move(val);
      return true;
    }
    bool end_object() override { return close(); }
    bool start_array(std::size_t) override { return open(Json::Kind::Array); }
    bool end_array() override { return close(); }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
      err = e.what();
      return false;
    }
  };

  std::string_view s_;
  std::string err_;
};

}  // namespace e2e
