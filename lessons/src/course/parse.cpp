// The lesson parser: one step a line, every problem reported with its line and a hint, before
// anything runs (docs/lessons.md is the reference for each form accepted here).
#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "sockscope/annotate/calls.hpp"
#include "sockscope/lessons/expect.hpp"
#include "sockscope/lessons/lab.hpp"
#include "sockscope/lessons/lesson.hpp"
#include "lesson_internal.hpp"
#include "sockscope/text/format.hpp"
#include "sockscope/text/i18n.hpp"
#include "sockscope/text/escape.hpp"

namespace sockscope::lesson {

const EndpointDecl* Lesson::endpoint(std::string_view n) const {
  for (const auto& e : endpoints)
    if (e.name == n) return &e;
  return nullptr;
}

std::string format_diagnostic(const Diagnostic& d) {
  std::string s = d.file;
  if (d.line > 0) s += ":" + std::to_string(d.line);
  s += ": " + d.message;
  if (!d.hint.empty()) s += " (hint: " + d.hint + ")";
  return s;
}

int errno_from_name(std::string_view name) {
  if (name.size() < 2 || name[0] != 'E') return 0;
  for (int e = 1; e < 200; ++e)
    if (errno_name(e) == name) return e;
  return 0;
}

std::string lesson_name_of(const std::string& path) {
  std::string base = path;
  if (const auto slash = base.find_last_of('/'); slash != std::string::npos) base = base.substr(slash + 1);
  constexpr std::string_view kExt = ".lesson";
  if (base.size() > kExt.size() && base.compare(base.size() - kExt.size(), kExt.size(), kExt) == 0)
    base.resize(base.size() - kExt.size());
  // A translation (03-handshake.zh_CN.lesson) has the name of its original.
  if (const auto dot = base.rfind('.'); dot != std::string::npos && dot > 0) base.resize(dot);
  std::size_t i = 0;
  while (i < base.size() && std::isdigit(static_cast<unsigned char>(base[i]))) ++i;
  if (i > 0 && i < base.size() && base[i] == '-') return base.substr(i + 1);
  return base;
}

namespace detail {

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

bool is_call_name(std::string_view c) {
  const CallName* name = find_call_name(c);
  return name != nullptr && name->in_lessons;
}

namespace {

struct Token {
  std::string text;
  bool quoted = false;
};

// Splits on spaces; "..." is one token with C escapes (\n \r \t \\ \" \xNN).
bool tokenize(std::string_view s, std::vector<Token>& out, std::string& error) {
  out.clear();
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i >= s.size()) break;
    Token t;
    if (s[i] == '"') {
      t.quoted = true;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char c = s[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < s.size()) {
          const char e = s[i++];
          switch (e) {
            case 'n': t.text += '\n'; break;
            case 'r': t.text += '\r'; break;
            case 't': t.text += '\t'; break;
            case '0': t.text += '\0'; break;
            case '\\': t.text += '\\'; break;
            case '"': t.text += '"'; break;
            case 'x': {
              if (i + 2 > s.size() || !std::isxdigit(static_cast<unsigned char>(s[i])) ||
                  !std::isxdigit(static_cast<unsigned char>(s[i + 1]))) {
                error = "\\x takes two hex digits, e.g. \\x00";
                return false;
              }
              t.text += static_cast<char>(std::stoi(std::string(s.substr(i, 2)), nullptr, 16));
              i += 2;
              break;
            }
            default:
              error = std::string("unknown escape \\") + e + " (use \\n, \\r, \\t, \\\\, \\\", \\xNN)";
              return false;
          }
          continue;
        }
        t.text += c;
      }
      if (!closed) {
        error = "the quoted text has no closing \"";
        return false;
      }
    } else {
      while (i < s.size() && s[i] != ' ' && s[i] != '\t') t.text += s[i++];
    }
    out.push_back(std::move(t));
  }
  return true;
}

// Splits "text -- label" (the label says in plain words what an expectation shows).
std::string split_label(std::string& s) {
  const auto p = s.find(" -- ");
  if (p == std::string::npos) return {};
  std::string label = trim(std::string_view(s).substr(p + 4));
  s = trim(std::string_view(s).substr(0, p));
  return label;
}

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 32 || !std::islower(static_cast<unsigned char>(n[0]))) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool reserved_word(const std::string& n) {
  static const char* const kWords[] = {"title", "summary", "topic", "watch", "explain", "tcp",   "udp",
                                       "pause", "sleep",   "wait",  "expect", "quiz",   "count", "packet",
                                       "lab",   "arp"};
  return std::any_of(std::begin(kWords), std::end(kWords), [&](const char* k) { return n == k; }) ||
         event_from_name(n).has_value();
}

const char* kCallHint =
    "a call line is ENDPOINT CALL [ARGS] [-> RESULT]: socket, bind, listen [N], accept, connect [SERVER], "
    "send \"TEXT\" | send N bytes, recv N, sendto \"TEXT\" [to SERVER], recvfrom N, shutdown wr|rd|rdwr, "
    "close [listener], setsockopt OPTION VALUE, sleep MS";

class Parser {
 public:
  Parser(const std::string& path, Lesson& lesson, std::vector<Diagnostic>& errors)
      : path_(path), lesson_(lesson), errors_(errors) {}

  void line(int no, std::string_view raw) {
    line_ = no;
    std::string s = trim(raw);
    for (unsigned char c : s)
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        error("a control character in the line", "lessons are plain text; write \\n or \\xNN inside quoted text");
        return;
      }
    // UTF-8 only (RFC 3629): a stray byte would reach the terminal and the JSON output as it is.
    for (std::size_t i = 0; i < s.size();) {
      std::uint32_t cp = 0;
      const int len = text::utf8_decode(reinterpret_cast<const std::uint8_t*>(s.data()) + i, s.size() - i, cp);
      if (len <= 0) {
        error(text::format(tr("the line is not valid UTF-8 (byte %1$zu is 0x%2$02x)"), i + 1,
                        static_cast<unsigned>(static_cast<unsigned char>(s[i]))),
              tr("save the lesson as UTF-8 text; write other bytes as \\xNN inside quoted text"));
        return;
      }
      i += static_cast<std::size_t>(len);
    }
    if (s.empty()) {
      end_narration();
      return;
    }
    if (s[0] == '#') return;
    if (s[0] == '>') {
      narrate(trim(std::string_view(s).substr(1)));
      return;
    }
    end_narration();
    const auto sp = s.find_first_of(" \t");
    const std::string word = s.substr(0, sp);
    const std::string rest = sp == std::string::npos ? std::string() : trim(std::string_view(s).substr(sp));
    if (word == "title" || word == "summary" || word == "topic" || word == "watch" || word == "explain") {
      header(word, rest);
    } else if (word == "tcp" || word == "udp") {
      declare(word == "tcp" ? Proto::Tcp : Proto::Udp, rest);
    } else if (word == "lab") {
      lab(rest);
    } else if (word == "pause") {
      if (!rest.empty()) error("'pause' takes nothing after it", "write the text to show before it as a > line");
      add(Step::Kind::Pause, s);
    } else if (word == "wait") {
      if (!rest.empty()) error("'wait' takes nothing after it", "it waits until every endpoint's calls have returned");
      add(Step::Kind::Wait, s);
    } else if (word == "sleep") {
      Step& st = add(Step::Kind::Sleep, s);
      st.ms = sleep_ms(rest);
    } else if (word == "expect") {
      expect(s, rest);
    } else if (word == "quiz") {
      quiz(s, rest);
    } else if (lesson_.endpoint(word)) {
      call(s, word, rest);
    } else if (word == "server" || word == "client") {
      error("no endpoint named '" + word + "' yet", "declare it first: 'tcp " + word + "' or 'udp " + word + "'");
    } else {
      error("'" + word + "' is not a lesson line",
            "lines start with title, summary, topic, watch, explain, tcp, udp, an endpoint's name, >, pause, sleep, "
            "wait, expect, quiz, or # for a comment");
    }
  }

  void done() {
    end_narration();
    line_ = 0;
    if (lesson_.title.empty()) error("the lesson has no title", "add a line: title The three-way handshake");
    if (lesson_.summary.empty()) error("the lesson has no summary", "add a line: summary One sentence for lesson list");
    if (lesson_.endpoints.empty()) error("the lesson declares no endpoint", "add e.g. 'tcp server' and 'tcp client'");
    // Clients talk to a server of their protocol: the one named with 'to', else the first declared.
    for (auto& e : lesson_.endpoints) {
      if (e.role != Role::Client) continue;
      line_ = e.line;
      if (e.target.empty()) {
        for (const auto& s : lesson_.endpoints)
          if (s.role == Role::Server && s.proto == e.proto) {
            e.target = s.name;
            break;
          }
        if (e.target.empty())
          error("client '" + e.name + "' has no " + proto_name(e.proto) + " server to talk to",
                std::string("declare one, even one that never listens: '") + proto_name(e.proto) + " server'");
      } else {
        const EndpointDecl* t = lesson_.endpoint(e.target);
        if (!t || t->role != Role::Server || t->proto != e.proto)
          error("client '" + e.name + "' talks to '" + e.target + "', which is not a " + proto_name(e.proto) +
                    " server of this lesson",
                "name a server declared in the lesson");
      }
    }
    for (const auto& st : lesson_.steps) {
      if (st.kind != Step::Kind::Call || st.to.empty()) continue;
      line_ = st.line;
      const EndpointDecl* t = lesson_.endpoint(st.to);
      const EndpointDecl* self = lesson_.endpoint(st.endpoint);
      if (!t || t->role != Role::Server || (self && t->proto != self->proto))
        error("'" + st.to + "' is not a server of this lesson with the same protocol", "name a declared server");
    }
    line_ = 0;
    const bool any_action = std::any_of(lesson_.steps.begin(), lesson_.steps.end(),
                                        [](const Step& st) { return st.kind == Step::Kind::Call; });
    if (!any_action && errors_.empty())
      error("the lesson makes no socket call", "add calls, e.g. 'server listen' and 'client connect'");
  }

 private:
  void error(const std::string& message, const std::string& hint) {
    errors_.push_back(Diagnostic{path_, line_, message, hint});
  }

  Step& add(Step::Kind kind, const std::string& source) {
    Step st;
    st.kind = kind;
    st.line = line_;
    st.source = source;
    lesson_.steps.push_back(std::move(st));
    return lesson_.steps.back();
  }

  void narrate(const std::string& text) {
    if (!in_narration_) {
      Step& st = add(Step::Kind::Narrate, "> " + text);
      st.paragraphs.emplace_back();
      in_narration_ = true;
    }
    Step& st = lesson_.steps.back();
    if (text.empty()) {
      if (!st.paragraphs.back().empty()) st.paragraphs.emplace_back();
      return;
    }
    check_placeholders(text);
    std::string& p = st.paragraphs.back();
    // Lines of a paragraph join with a space, except where Chinese (wide) text meets: "监听。" and
    // "这时" join as "监听。这时".
    if (!p.empty() && !(text::wide_at_end(p) || text::wide_at_start(text))) p += ' ';
    p += text;
  }

  void end_narration() {
    if (in_narration_ && !lesson_.steps.empty() && lesson_.steps.back().paragraphs.back().empty())
      lesson_.steps.back().paragraphs.pop_back();
    in_narration_ = false;
  }

  void check_placeholders(const std::string& text) {
    std::size_t i = 0;
    while ((i = text.find('{', i)) != std::string::npos) {
      const auto j = text.find('}', i);
      if (j == std::string::npos) {
        error("a { without its }", "placeholders look like {handshake-2.ack}");
        return;
      }
      Expr e;
      std::string why;
      if (!parse_expr(text.substr(i + 1, j - i - 1), lesson_, e, why)) error("in {" + text.substr(i + 1, j - i - 1) + "}: " + why, "see the field list in docs/lessons.md");
      i = j + 1;
    }
  }

  void header(const std::string& word, const std::string& rest) {
    if (rest.empty()) {
      error("'" + word + "' needs text after it", "e.g. " + word + " ...");
      return;
    }
    if (word == "explain") {
      lesson_.explain.push_back(rest);
      return;
    }
    std::string& slot = word == "title" ? lesson_.title : word == "summary" ? lesson_.summary
                                        : word == "topic" ? lesson_.topic : lesson_.watch;
    if (!slot.empty()) {
      error("a second '" + word + "' line", "a lesson has one " + word);
      return;
    }
    slot = rest;
  }

  // lab [mtu N] [loss PCT] [drop-syn N]
  void lab(const std::string& rest) {
    const char* hint = "write: lab [mtu 68..65535] [loss 0..100] [drop-syn 0..10] [sack 0|1]";
    if (lesson_.lab.on) {
      error("a second 'lab' line", "one lab a lesson: put every option on one line");
      return;
    }
    if (!lesson_.endpoints.empty()) error("'lab' comes before the endpoints", "move the lab line above 'tcp'/'udp' lines");
    lesson_.lab.on = true;
    lesson_.lab.line = line_;
    std::istringstream is(rest);
    std::string k, v;
    while (is >> k) {
      std::int64_t n = 0;
      if (!(is >> v) || !parse_int(v, n)) {
        error("'" + k + "' in the lab line needs a number", hint);
        return;
      }
      if (k == "mtu" && n >= 68 && n <= 65535) lesson_.lab.mtu = static_cast<int>(n);
      else if (k == "loss" && n >= 0 && n <= 100) lesson_.lab.loss_pct = static_cast<int>(n);
      else if (k == "drop-syn" && n >= 0 && n <= 10) lesson_.lab.drop_syn = static_cast<int>(n);
      else if (k == "sack" && (n == 0 || n == 1)) lesson_.lab.sack = n == 1;
      else error("'" + k + " " + v + "' in the lab line", hint);
    }
  }

  void declare(Proto proto, const std::string& rest) {
    std::istringstream is(rest);
    std::string role;
    is >> role;
    EndpointDecl e;
    e.proto = proto;
    e.line = line_;
    const char* p = proto == Proto::Tcp ? "tcp" : "udp";
    if (role == "server") {
      e.role = Role::Server;
    } else if (role == "client") {
      e.role = Role::Client;
    } else {
      error(std::string("'") + p + "' declares a server or a client, not '" + role + "'",
            std::string("e.g. '") + p + " server' or '" + p + " client'");
      return;
    }
    e.name = role;
    e.address = lesson_.lab.on ? lab::kServerIPv4 : "127.0.0.1";
    std::string t;
    bool named = false;
    while (is >> t) {
      if (t == "port") {
        std::string v;
        is >> v;
        std::int64_t n = 0;
        if (e.role != Role::Server) {
          error("a client's port is chosen by the kernel", "give the port to the server");
        } else if (v == "auto") {
          e.port_auto = true;
        } else if (parse_int(v, n) && n >= 1 && n <= 65535) {
          e.port_auto = false;
          e.port = static_cast<std::uint16_t>(n);
        } else {
          error("'port " + v + "': a port is auto or a number from 1 to 65535",
                "'port auto' finds a free port, so two runs never collide");
        }
      } else if (t == "to") {
        is >> e.target;
        if (e.role != Role::Client) error("'to' names the server a client talks to", "remove it from the server");
      } else if (t.find(':') != std::string::npos || (!t.empty() && std::isdigit(static_cast<unsigned char>(t[0])))) {
        unsigned char buf[16];
        if (inet_pton(AF_INET, t.c_str(), buf) != 1 && inet_pton(AF_INET6, t.c_str(), buf) != 1) {
          error("'" + t + "' is not an IPv4 or IPv6 address", "lessons run on loopback: 127.0.0.1 or ::1");
        } else if (lesson_.lab.on && t != lab::kServerIPv4 && t != lab::kServerIPv6) {
          error("'" + t + "' is not the lab's server host",
                std::string("in a lab lesson a server has ") + lab::kServerIPv4 + " (the default) or " + lab::kServerIPv6);
        } else if (lesson_.lab.on && t == lab::kServerIPv6 && !lab::has_ipv6(lesson_.lab.mtu)) {
          error("'" + t + "': a lab with mtu " + std::to_string(lesson_.lab.mtu) + " has no IPv6",
                "IPv6 needs an MTU of at least " + std::to_string(lab::kIPv6MinMtu) +
                    " bytes (RFC 8200), and Linux removes it from a smaller link: use " + lab::kServerIPv4 +
                    " or a larger mtu");
        } else if (!lesson_.lab.on && t != "127.0.0.1" && t != "::1" && t.rfind("127.", 0) != 0) {
          error("'" + t + "' is not a loopback address",
                "lessons run on loopback: 127.0.0.1 or ::1 (a 'lab' line before the endpoints puts them on two hosts)");
        } else if (e.role != Role::Server) {
          error("a client's address follows its server's", "give the address to the server");
        } else {
          e.address = t;
        }
      } else if (!named && valid_name(t) && !reserved_word(t)) {
        e.name = t;
        named = true;
      } else {
        error("'" + t + "' in an endpoint line",
              std::string("write ") + p + " server|client [NAME] [ADDRESS] [port auto|N] [to SERVER]; names are "
              "lower case and not a keyword or event word");
      }
    }
    if (lesson_.endpoint(e.name)) {
      error("two endpoints named '" + e.name + "'",
            std::string("name the second one, e.g. '") + p + " " + role + " " + role + "2'");
      return;
    }
    lesson_.endpoints.push_back(std::move(e));
  }

  int sleep_ms(const std::string& v) {
    std::int64_t n = 0;
    if (!parse_int(v, n) || n < 0 || n > 10000) {
      error("'sleep " + v + "': sleep takes milliseconds from 0 to 10000", "e.g. sleep 200");
      return 0;
    }
    return static_cast<int>(n);
  }

  void expect(const std::string& source, std::string rest) {
    Step& st = add(Step::Kind::Expect, source);
    st.label = split_label(rest);
    if (rest.empty()) {
      error("'expect' of what?", "e.g. expect handshake-1 handshake-2 handshake-3, or expect count datagram == 2");
      return;
    }
    static const char* const kOps[] = {"==", "!=", "<=", ">=", "<", ">"};
    std::istringstream is(rest);
    std::string t, lhs, rhs, op;
    while (is >> t) {
      if (op.empty() && std::any_of(std::begin(kOps), std::end(kOps), [&](const char* o) { return t == o; })) {
        op = t;
        continue;
      }
      if (t == "=") {
        error("'=' in an expectation", "compare with == (or !=, <, <=, >, >=)");
        return;
      }
      std::string& side = op.empty() ? lhs : rhs;
      if (!side.empty()) side += ' ';
      side += t;
    }
    std::string why;
    if (op.empty()) {
      st.expect_kind = Step::ExpectKind::InOrder;
      if (!parse_event_words(rest, st.words, why))
        error(why, "expect EVENT EVENT ... lists event words in the order they must appear; a comparison needs ==");
      return;
    }
    st.expect_kind = Step::ExpectKind::Relation;
    st.op = op;
    if (!parse_expr(lhs, lesson_, st.lhs, why)) error("left of " + op + ": " + why, "see the field list in docs/lessons.md");
    if (!parse_expr(rhs, lesson_, st.rhs, why)) error("right of " + op + ": " + why, "see the field list in docs/lessons.md");
  }

  void quiz(const std::string& source, std::string rest) {
    Step& st = add(Step::Kind::Quiz, source);
    st.label = split_label(rest);
    const auto eq = rest.rfind(" = ");
    if (eq == std::string::npos) {
      error("a quiz needs its answer after ' = '",
            "e.g. quiz What relative ack number does the SYN-ACK carry? = handshake-2.ack");
      return;
    }
    st.question = trim(std::string_view(rest).substr(0, eq));
    if (st.question.empty()) error("the quiz has no question", "write the question before ' = '");
    std::string why;
    if (!parse_expr(rest.substr(eq + 3), lesson_, st.answer, why))
      error("the quiz answer: " + why, "the answer is computed from the capture, e.g. = handshake-2.ack");
  }

  // ENDPOINT CALL [ARGS] [-> RESULT]
  // "<endpoint> <call> [arguments] [times N] [-> result]": one step of an endpoint.
  void call(const std::string& source, const std::string& name, const std::string& rest) {
    const EndpointDecl& ep = *lesson_.endpoint(name);
    Step& st = add(Step::Kind::Call, source);
    st.endpoint = name;
    std::vector<Token> toks;
    std::string why;
    if (!tokenize(rest, toks, why)) {
      error(why, kCallHint);
      return;
    }
    if (!take_expected_result(toks, st.expect)) return;
    int times = 1;
    if (!take_times(toks, times)) return;
    if (toks.empty()) {
      error("which call does " + name + " make?", kCallHint);
      return;
    }
    st.call = toks[0].text;
    call_arguments(st, ep, std::vector<Token>(toks.begin() + 1, toks.end()));
    if (st.call == "sleep" && st.expect.kind != CallExpect::Kind::Default)
      error("sleep has no result", "remove the -> part");
    if (times > 1) repeat(times);
  }

  // "-> RESULT" at the end: what the call must return (ok, any, a number, an errno name); taken off.
  bool take_expected_result(std::vector<Token>& toks, CallExpect& x) {
    for (std::size_t i = 0; i < toks.size(); ++i) {
      if (toks[i].quoted || toks[i].text != "->") continue;
      if (i + 2 != toks.size()) {
        error("'->' is followed by one result", "e.g. -> ECONNREFUSED, -> 5, -> 0, -> ok, -> any");
        return false;
      }
      const std::string& r = toks[i + 1].text;
      x.text = r;
      std::int64_t n = 0;
      if (r == "ok") {
        x.kind = CallExpect::Kind::Ok;
      } else if (r == "any") {
        x.kind = CallExpect::Kind::Any;
      } else if (parse_int(r, n)) {
        x.kind = CallExpect::Kind::Result;
        x.result = n;
      } else if (int e = errno_from_name(r); e != 0) {
        x.kind = CallExpect::Kind::Errno;
        x.err = e;
      } else {
        error("'-> " + r + "': a result is a number, ok, any, or an errno name", "e.g. -> ECONNREFUSED, -> 5, -> ok");
      }
      toks.resize(i);
      break;
    }
    return true;
  }

  // "times N" at the end: the same call N times in a row ({n} in its text becomes 1..N); taken off.
  bool take_times(std::vector<Token>& toks, int& times) {
    if (toks.size() < 3 || toks[toks.size() - 2].quoted || toks[toks.size() - 2].text != "times") return true;
    std::int64_t n = 0;
    if (!parse_int(toks.back().text, n) || n < 1 || n > 1000) {
      error("'times " + toks.back().text + "': from 1 to 1000", "e.g. client sendto \"message {n}\" times 20");
      return false;
    }
    times = static_cast<int>(n);
    toks.resize(toks.size() - 2);
    return true;
  }

  // What follows the call's name, checked against the endpoint it is for.
  void call_arguments(Step& st, const EndpointDecl& ep, const std::vector<Token>& args) {
    const bool tcp = ep.proto == Proto::Tcp, server = ep.role == Role::Server;
    const std::string& c = st.call;
    if (c == "socket" || c == "accept" || c == "bind") {
      nothing_after(st, args);
      if (c == "accept" && !(tcp && server)) error("only a TCP server accepts", "accept is for 'tcp server'");
    } else if (c == "listen") {
      if (!(tcp && server)) error("only a TCP server listens", "UDP servers just bind");
      std::int64_t n = 16;
      if (args.size() == 1 && number(args[0], 0, 4096, n)) st.backlog = static_cast<int>(n);
      if (args.size() > 1) nothing_after(st, args);
    } else if (c == "connect") {
      if (server) error("a server does not connect", "connect is for a client");
      if (args.size() == 1 && !args[0].quoted) st.to = args[0].text;
      else if (!args.empty()) nothing_after(st, args);
    } else if (c == "send") {
      for (std::size_t k = payload(st, args); k < args.size(); ++k) {
        if (args[k].text == "nowait") st.nowait = true;
        else error("'" + args[k].text + "' after send", "send \"TEXT\" [nowait] or send N bytes [nowait]");
      }
    } else if (c == "sendto") {
      if (tcp) error("sendto is for UDP", "a TCP endpoint uses send");
      for (std::size_t k = payload(st, args); k < args.size(); ++k) {
        if (args[k].text == "to" && k + 1 < args.size()) st.to = args[++k].text;
        else error("'" + args[k].text + "' after sendto", "sendto \"TEXT\" [to SERVER]");
      }
    } else if (c == "recv" || c == "recvfrom") {
      receive_arguments(st, tcp, args);
    } else if (c == "shutdown") {
      shutdown_arguments(st, tcp, args);
    } else if (c == "close") {
      if (args.size() == 1 && args[0].text == "listener") {
        st.listener = true;
        if (!(tcp && server)) error("only a TCP server has a listener", "write just 'close'");
      } else if (!args.empty()) {
        nothing_after(st, args);
      }
    } else if (c == "setsockopt") {
      setsockopt_args(st, ep, args);
    } else if (c == "sleep") {
      st.ms = args.size() == 1 ? sleep_ms(args[0].text) : 0;
      if (args.size() != 1) error("sleep takes milliseconds", "e.g. " + st.endpoint + " sleep 300");
    } else {
      error("unknown call '" + c + "'", kCallHint);
    }
  }

  void nothing_after(const Step& st, const std::vector<Token>& args) {
    if (!args.empty()) error("'" + st.call + "' takes nothing after it here", kCallHint);
  }

  bool number(const Token& t, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
    if (t.quoted || !parse_int(t.text, out) || out < lo || out > hi) {
      error("'" + t.text + "' should be a number from " + std::to_string(lo) + " to " + std::to_string(hi), kCallHint);
      return false;
    }
    return true;
  }

  // "TEXT" or N bytes, the data a send or sendto carries. Returns how many arguments it used.
  std::size_t payload(Step& st, const std::vector<Token>& args) {
    if (args.empty()) {
      error("'" + st.call + "' of what?", "send \"hello\" (quoted text) or send 100 bytes");
      return 0;
    }
    std::int64_t n = 0;
    if (args[0].quoted) {
      st.data = args[0].text;
      if (st.data.empty()) error("empty text", "send at least one byte");
      return 1;
    }
    if (args.size() >= 2 && !args[1].quoted && args[1].text == "bytes" && parse_int(args[0].text, n)) {
      if (n < 1 || n > 4 * 1024 * 1024) {
        error("'" + args[0].text + " bytes': from 1 to 4194304 bytes", "e.g. send 100 bytes");
        return 0;
      }
      st.data.resize(static_cast<std::size_t>(n));
      for (std::size_t k = 0; k < st.data.size(); ++k) st.data[k] = static_cast<char>('a' + k % 26);
      return 2;
    }
    error("'" + args[0].text + "': send quoted text or N bytes", "send \"hello\" or send 100 bytes");
    return 0;
  }

  // recv N [all] [nowait], recvfrom N [nowait].
  void receive_arguments(Step& st, bool tcp, const std::vector<Token>& args) {
    if (st.call == "recvfrom" && tcp) error("recvfrom is for UDP", "a TCP endpoint uses recv");
    std::int64_t n = 0;
    if (args.empty()) {
      error(st.call + " needs its buffer size", "e.g. " + st.call + " 1024");
    } else if (number(args[0], 1, 4 * 1024 * 1024, n)) {
      st.size = static_cast<std::size_t>(n);
    }
    for (std::size_t k = 1; k < args.size(); ++k) {
      if (args[k].text == "nowait") st.nowait = true;
      else if (args[k].text == "all" && st.call == "recv") st.all = true;
      else error("'" + args[k].text + "' after " + st.call, st.call + " N [nowait]" + (tcp ? " or recv N all" : ""));
    }
    if (st.all && st.nowait) error("recv: 'all' waits, 'nowait' does not", "choose one");
  }

  void shutdown_arguments(Step& st, bool tcp, const std::vector<Token>& args) {
    if (!tcp) error("shutdown is for TCP", "a UDP socket has no connection to shut down");
    const std::string how = args.empty() ? "" : args[0].text;
    if (how == "wr" || how == "SHUT_WR") st.how = SHUT_WR;
    else if (how == "rd" || how == "SHUT_RD") st.how = SHUT_RD;
    else if (how == "rdwr" || how == "SHUT_RDWR") st.how = SHUT_RDWR;
    else error("shutdown takes wr, rd or rdwr", "shutdown wr sends a FIN and keeps reading (a half-close)");
    if (args.size() > 1) nothing_after(st, args);
  }

  // The last step, N times: "{n}" in its bytes becomes the number, zero-padded to the width of N
  // ("message {n}" times 20: "message 01" ... "message 20"), so the messages can be told apart.
  void repeat(int times) {
    const Step proto = lesson_.steps.back();
    const int width = static_cast<int>(std::to_string(times).size());
    auto numbered = [&](int k) {
      std::string num = std::to_string(k);
      num.insert(0, static_cast<std::size_t>(width) - num.size(), '0');
      std::string d = proto.data;
      for (auto pos = d.find("{n}"); pos != std::string::npos; pos = d.find("{n}", pos + num.size()))
        d.replace(pos, 3, num);
      return d;
    };
    lesson_.steps.back().data = numbered(1);
    for (int k = 2; k <= times; ++k) {
      lesson_.steps.push_back(proto);
      lesson_.steps.back().data = numbered(k);
    }
  }

  void setsockopt_args(Step& st, const EndpointDecl& ep, const std::vector<Token>& args) {
    const std::string hint = "setsockopt SO_LINGER 0 | SO_LINGER off | TCP_NODELAY 1 | SO_RCVBUF 2048 | "
                             "SO_SNDBUF 4096 | SO_REUSEADDR 1";
    if (args.empty()) {
      error("setsockopt needs an option", hint);
      return;
    }
    st.option = args[0].text;
    const std::string v = args.size() > 1 ? args[1].text : "";
    std::int64_t n = 0;
    if (args.size() != 2) {
      error("setsockopt takes an option and one value", hint);
    } else if (st.option == "SO_LINGER") {
      if (ep.proto != Proto::Tcp) error("SO_LINGER is about closing a TCP connection", hint);
      if (v == "off") st.values = {-1};
      else if (parse_int(v, n) && n >= 0 && n <= 60) st.values = {static_cast<int>(n)};
      else error("SO_LINGER takes seconds (0 to 60) or off", "SO_LINGER 0: close() sends RST instead of FIN");
    } else if (st.option == "TCP_NODELAY" || st.option == "SO_REUSEADDR") {
      if (st.option == "TCP_NODELAY" && ep.proto != Proto::Tcp) error("TCP_NODELAY is a TCP option", hint);
      if (v == "0" || v == "1") st.values = {v == "1" ? 1 : 0};
      else error(st.option + " takes 0 or 1", hint);
    } else if (st.option == "SO_RCVBUF" || st.option == "SO_SNDBUF") {
      if (parse_int(v, n) && n >= 1 && n <= 16 * 1024 * 1024) st.values = {static_cast<int>(n)};
      else error(st.option + " takes bytes (1 to 16777216)", "Linux doubles it and keeps a minimum (socket(7))");
    } else {
      error("unknown option '" + st.option + "'", hint);
    }
  }

  const std::string& path_;
  Lesson& lesson_;
  std::vector<Diagnostic>& errors_;
  int line_ = 0;
  bool in_narration_ = false;
};

}  // namespace
}  // namespace detail

bool parse_lesson(std::string_view text, const std::string& path, Lesson& out, std::vector<Diagnostic>& errors) {
  out = Lesson{};
  out.path = path;
  out.name = lesson_name_of(path);
  const std::size_t before = errors.size();
  detail::Parser p(path, out, errors);
  int no = 0;
  std::size_t i = 0;
  while (i <= text.size()) {
    std::size_t j = text.find('\n', i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view l = text.substr(i, j - i);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    ++no;
    if (!(j == text.size() && l.empty())) p.line(no, l);
    i = j + 1;
  }
  p.done();
  return errors.size() == before;
}

bool load_lesson(const std::string& path, Lesson& out, std::vector<Diagnostic>& errors) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    errors.push_back(Diagnostic{path, 0, std::string("cannot read the lesson: ") + std::strerror(errno),
                                "check the path, or give a lesson's name (sockscope lesson list)"});
    return false;
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  if (text.size() > 1024 * 1024) {
    errors.push_back(Diagnostic{path, 0, "the file is larger than 1 MiB", "a lesson is a short text file"});
    return false;
  }
  return parse_lesson(text, path, out, errors);
}

}  // namespace sockscope::lesson
