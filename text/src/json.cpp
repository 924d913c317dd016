#include "sockscope/text/json.hpp"

#include <cstdint>

#include "sockscope/text/escape.hpp"
#include "sockscope/text/format.hpp"

namespace sockscope::text {

std::string json_dump(const Json& j) {
  const std::string raw = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // nlohmann-json escapes C0 controls; DEL and the code points escape.hpp holds back go out raw.
  // They can only stand inside strings (JSON's own syntax is ASCII), where \uXXXX means the same.
  std::string out;
  out.reserve(raw.size());
  const auto* p = reinterpret_cast<const std::uint8_t*>(raw.data());
  std::size_t i = 0;
  while (i < raw.size()) {
    std::uint32_t cp = 0;
    const int len = utf8_decode(p + i, raw.size() - i, cp);
    // (len <= 0 cannot happen after error_handler_t::replace: such a byte is copied as it is.)
    const std::size_t n = len > 0 ? static_cast<std::size_t>(len) : 1;
    if (len > 0 && (cp == 0x7f || acts_on_terminal(cp))) {
      out += format("\\u%04x", cp);
    } else {
      out.append(raw, i, n);
    }
    i += n;
  }
  return out;
}

std::optional<Json> json_parse(std::string_view s, std::string* error) {
  try {
    return Json::parse(s.begin(), s.end());
  } catch (const nlohmann::json::exception& e) {
    if (error) *error = e.what();
    return std::nullopt;
  }
}

}  // namespace sockscope::text
