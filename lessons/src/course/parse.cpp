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
  std::string place = d.file;
  if (d.line > 0) place += ":" + std::to_string(d.line);
  // TRANSLATORS: %1$s is FILE:LINE (keep the ASCII colon after it, as compilers do), %2$s what is
  // wrong, %3$s what to write instead.
  if (!d.hint.empty()) return text::format(tr("%1$s: %2$s (hint: %3$s)"), place, d.message, d.hint);
  return text::format(tr("%1$s: %2$s"), place, d.message);
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

std::string lesson_call_names() {
  return row_names(call_names(), [](const CallName& c) { return c.in_lessons; });
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
                error = tr("\\x takes two hex digits, e.g. \\x00");
                return false;
              }
              t.text += static_cast<char>(std::stoi(std::string(s.substr(i, 2)), nullptr, 16));
              i += 2;
              break;
            }
            default:
              error = text::format(tr("unknown escape \\%1$c (use \\n, \\r, \\t, \\\\, \\\", \\xNN)"), e);
              return false;
          }
          continue;
        }
        t.text += c;
      }
      if (!closed) {
        error = tr("the quoted text has no closing \"");
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
                                       "lab",   "arp",     "run"};
  return std::any_of(std::begin(kWords), std::end(kWords), [&](const char* k) { return n == k; }) ||
         event_from_name(n).has_value();
}

const char* const kCallHint = SOCKSCOPE_N_(
    "a call line is ENDPOINT CALL [ARGS] [-> RESULT]: socket, bind, listen [N], accept, connect [SERVER], "
    "send \"TEXT\" | send N bytes, recv N, sendto \"TEXT\" [to SERVER], recvfrom N, shutdown wr|rd|rdwr, "
    "close [listener], setsockopt OPTION VALUE, sleep MS");
const char* const kFieldHint = SOCKSCOPE_N_("see the field list in docs/lessons.md");
const char* const kProgramHint = SOCKSCOPE_N_(
    "an endpoint that runs a program has these steps: start, type \"TEXT\", await CALL [N], end [-> STATUS], "
    "sleep MS");

class Parser {
 public:
  Parser(const std::string& path, Lesson& lesson, std::vector<Diagnostic>& errors)
      : path_(path), lesson_(lesson), errors_(errors) {}

  void line(int no, std::string_view raw) {
    line_ = no;
    std::string s = trim(raw);
    for (unsigned char c : s)
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        error(tr("the line has a control character"), tr("lessons are plain text; write \\n or \\xNN inside quoted text"));
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
      if (!rest.empty()) error(tr("'pause' takes nothing after it"), tr("write the text to show before it as a > line"));
      add(Step::Kind::Pause, s);
    } else if (word == "wait") {
      if (!rest.empty()) error(tr("'wait' takes nothing after it"), tr("it waits until every endpoint's calls have returned"));
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
      error(text::format(tr("no endpoint is named '%1$s' yet"), word), text::format(tr("declare it first: 'tcp %1$s' or 'udp %1$s'"), word));
    } else {
      error(text::format(tr("'%1$s' is not a lesson line"), word),
            tr("lines start with title, summary, topic, watch, explain, tcp, udp, an endpoint's name, >, pause, sleep, "
            "wait, expect, quiz, or # for a comment"));
    }
  }

  void done() {
    end_narration();
    line_ = 0;
    if (lesson_.title.empty()) error(tr("the lesson has no title"), tr("add a line: title The three-way handshake"));
    if (lesson_.summary.empty()) error(tr("the lesson has no summary"), tr("add a line: summary One sentence for lesson list"));
    if (lesson_.endpoints.empty()) error(tr("the lesson declares no endpoint"), tr("add e.g. 'tcp server' and 'tcp client'"));
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
          error(text::format(tr("client '%1$s' has no %2$s server to talk to"), e.name, proto_name(e.proto)),
                text::format(tr("declare one, even one that never listens: '%1$s server'"), proto_name(e.proto)));
      } else {
        const EndpointDecl* t = lesson_.endpoint(e.target);
        if (!t || t->role != Role::Server || t->proto != e.proto)
          error(text::format(tr("client '%1$s' talks to '%2$s', which is not a %3$s server of this lesson"), e.name, e.target,
                  proto_name(e.proto)),
                tr("name a server declared in the lesson"));
      }
    }
    for (const auto& st : lesson_.steps) {
      if (st.kind != Step::Kind::Call || st.to.empty()) continue;
      line_ = st.line;
      const EndpointDecl* t = lesson_.endpoint(st.to);
      const EndpointDecl* self = lesson_.endpoint(st.endpoint);
      if (!t || t->role != Role::Server || (self && t->proto != self->proto))
        error(text::format(tr("'%1$s' is not a server of this lesson with the same protocol"), st.to), tr("name a declared server"));
    }
    line_ = 0;
    const bool any_action = std::any_of(lesson_.steps.begin(), lesson_.steps.end(),
                                        [](const Step& st) { return st.kind == Step::Kind::Call; });
    if (!any_action && errors_.empty())
      error(tr("the lesson makes no socket call"), tr("add calls, e.g. 'server listen' and 'client connect'"));
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
        error(tr("a { without its }"), tr("placeholders look like {handshake-2.ack}"));
        return;
      }
      Expr e;
      std::string why;
      if (!parse_expr(text.substr(i + 1, j - i - 1), lesson_, e, why))
        error(text::format(tr("in {%1$s}: %2$s"), text.substr(i + 1, j - i - 1), why), tr(kFieldHint));
      i = j + 1;
    }
  }

  void header(const std::string& word, const std::string& rest) {
    if (rest.empty()) {
      error(text::format(tr("'%1$s' needs text after it"), word), text::format(tr("e.g. %1$s ..."), word));
      return;
    }
    if (word == "explain") {
      lesson_.explain.push_back(rest);
      return;
    }
    std::string& slot = word == "title" ? lesson_.title : word == "summary" ? lesson_.summary
                                        : word == "topic" ? lesson_.topic : lesson_.watch;
    if (!slot.empty()) {
      error(text::format(tr("a second '%1$s' line"), word), text::format(tr("a lesson has one '%1$s' line"), word));
      return;
    }
    slot = rest;
  }

  // lab [mtu N] [loss PCT] [drop-syn N]
  void lab(const std::string& rest) {
    const char* hint = tr("write: lab [mtu 68..65535] [loss 0..100] [drop-syn 0..10] [sack 0|1]");
    if (lesson_.lab.on) {
      error(tr("a second 'lab' line"), tr("one lab a lesson: put every option on one line"));
      return;
    }
    if (!lesson_.endpoints.empty()) error(tr("'lab' comes before the endpoints"), tr("move the lab line above the 'tcp' and 'udp' lines"));
    lesson_.lab.on = true;
    lesson_.lab.line = line_;
    std::istringstream is(rest);
    std::string k, v;
    while (is >> k) {
      std::int64_t n = 0;
      if (!(is >> v) || !parse_int(v, n)) {
        error(text::format(tr("'%1$s' in the lab line needs a number"), k), hint);
        return;
      }
      if (k == "mtu" && n >= 68 && n <= 65535) lesson_.lab.mtu = static_cast<int>(n);
      else if (k == "loss" && n >= 0 && n <= 100) lesson_.lab.loss_pct = static_cast<int>(n);
      else if (k == "drop-syn" && n >= 0 && n <= 10) lesson_.lab.drop_syn = static_cast<int>(n);
      else if (k == "sack" && (n == 0 || n == 1)) lesson_.lab.sack = n == 1;
      else error(text::format(tr("'%1$s %2$s' is not a lab option"), k, v), hint);
    }
  }

  void declare(Proto proto, const std::string& line_rest) {
    // "... run COMMAND ARGS": everything after the word run is the program this endpoint is.
    std::string rest = line_rest;
    std::vector<std::string> command;
    if (const auto at = (" " + rest + " ").find(" run "); at != std::string::npos) {
      const std::string cmd = at + 4 <= rest.size() ? trim(std::string_view(rest).substr(at + 3)) : std::string();
      rest = rest.substr(0, at);
      // A command with a mistake still makes a program endpoint: its steps are checked as such.
      if (!program_command(cmd, command)) command.assign(1, std::string());
    }
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
      error(text::format(tr("'%1$s' declares a server or a client, not '%2$s'"), p, role),
            text::format(tr("e.g. '%1$s server' or '%1$s client'"), p));
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
          error(tr("a client's port is chosen by the kernel"), tr("give the port to the server"));
        } else if (v == "auto") {
          e.port_auto = true;
        } else if (parse_int(v, n) && n >= 1 && n <= 65535) {
          e.port_auto = false;
          e.port = static_cast<std::uint16_t>(n);
        } else {
          error(text::format(tr("'port %1$s': a port is auto or a number from 1 to 65535"), v),
                tr("'port auto' finds a free port, so two runs never collide"));
        }
      } else if (t == "to") {
        is >> e.target;
        if (e.role != Role::Client) error(tr("'to' names the server a client talks to"), tr("remove it from the server"));
      } else if (t.find(':') != std::string::npos || (!t.empty() && std::isdigit(static_cast<unsigned char>(t[0])))) {
        unsigned char buf[16];
        if (inet_pton(AF_INET, t.c_str(), buf) != 1 && inet_pton(AF_INET6, t.c_str(), buf) != 1) {
          error(text::format(tr("'%1$s' is not an IPv4 or IPv6 address"), t), tr("lessons run on loopback: 127.0.0.1 or ::1"));
        } else if (lesson_.lab.on && t != lab::kServerIPv4 && t != lab::kServerIPv6) {
          error(text::format(tr("'%1$s' is not the lab's server host"), t),
                text::format(tr("in a lab lesson a server has %1$s (the default) or %2$s"), lab::kServerIPv4, lab::kServerIPv6));
        } else if (lesson_.lab.on && t == lab::kServerIPv6 && !lab::has_ipv6(lesson_.lab.mtu)) {
          error(text::format(tr("'%1$s': a lab with mtu %2$d has no IPv6"), t, lesson_.lab.mtu),
                text::format(tr("IPv6 needs an MTU of at least %1$d bytes (RFC 8200), and Linux removes it from a smaller "
                     "link: use %2$s or a larger mtu"),
                  lab::kIPv6MinMtu, lab::kServerIPv4));
        } else if (!lesson_.lab.on && t != "127.0.0.1" && t != "::1" && t.rfind("127.", 0) != 0) {
          error(text::format(tr("'%1$s' is not a loopback address"), t),
                tr("lessons run on loopback: 127.0.0.1 or ::1 (a 'lab' line before the endpoints puts them on two "
                   "hosts)"));
        } else if (e.role != Role::Server) {
          error(tr("a client's address follows its server's"), tr("give the address to the server"));
        } else {
          e.address = t;
        }
      } else if (!named && valid_name(t) && !reserved_word(t)) {
        e.name = t;
        named = true;
      } else {
        error(text::format(tr("'%1$s' does not belong in an endpoint line"), t),
              text::format(tr("write %1$s server|client [NAME] [ADDRESS] [port auto|N] [to SERVER]; names are lower case and "
                   "not a keyword or event word"),
                p));
      }
    }
    e.command = std::move(command);
    if (lesson_.endpoint(e.name)) {
      error(text::format(tr("two endpoints are named '%1$s'"), e.name), text::format(tr("name the second one, e.g. '%1$s %2$s %2$s2'"), p, role));
      return;
    }
    lesson_.endpoints.push_back(std::move(e));
  }

  // The command of "run COMMAND ARGS": words, "quoted words", and the placeholders a run fills in.
  bool program_command(const std::string& text, std::vector<std::string>& out) {
    std::vector<Token> toks;
    std::string why;
    if (text.empty()) {
      error(tr("'run' needs the program to run"), tr("e.g. tcp server run python3 {examples}/tcp_server.py {address} {port}"));
      return false;
    }
    if (!tokenize(text, toks, why)) {
      error(why, tr("e.g. tcp server run python3 {examples}/tcp_server.py {address} {port}"));
      return false;
    }
    for (const Token& t : toks) {
      for (std::size_t i = t.text.find('{'); i != std::string::npos; i = t.text.find('{', i + 1)) {
        const auto j = t.text.find('}', i);
        const std::string name = j == std::string::npos ? std::string() : t.text.substr(i + 1, j - i - 1);
        if (name != "address" && name != "port" && name != "examples" && name != "dir") {
          error(text::format(tr("'%1$s' is not a placeholder of a program's command"), t.text),
                tr("a command may use {address} and {port} (of the server), {examples} and {dir}"));
          return false;
        }
      }
      out.push_back(t.text);
    }
    return true;
  }

  int sleep_ms(const std::string& v) {
    std::int64_t n = 0;
    if (!parse_int(v, n) || n < 0 || n > 10000) {
      error(text::format(tr("'sleep %1$s': sleep takes milliseconds from 0 to 10000"), v), tr("e.g. sleep 200"));
      return 0;
    }
    return static_cast<int>(n);
  }

  void expect(const std::string& source, std::string rest) {
    Step& st = add(Step::Kind::Expect, source);
    st.label = split_label(rest);
    if (rest.empty()) {
      error(tr("'expect' of what?"), tr("e.g. expect handshake-1 handshake-2 handshake-3, or expect count datagram == 2"));
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
        error(tr("an expectation compares with ==, not '='"), tr("compare with == (or !=, <, <=, >, >=)"));
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
        error(why, tr("expect EVENT EVENT ... lists event words in the order they must appear; a comparison needs =="));
      return;
    }
    st.expect_kind = Step::ExpectKind::Relation;
    st.op = op;
    if (!parse_expr(lhs, lesson_, st.lhs, why)) error(text::format(tr("left of %1$s: %2$s"), op, why), tr(kFieldHint));
    if (!parse_expr(rhs, lesson_, st.rhs, why)) error(text::format(tr("right of %1$s: %2$s"), op, why), tr(kFieldHint));
  }

  void quiz(const std::string& source, std::string rest) {
    Step& st = add(Step::Kind::Quiz, source);
    st.label = split_label(rest);
    const auto eq = rest.rfind(" = ");
    if (eq == std::string::npos) {
      error(tr("a quiz needs its answer after ' = '"),
            tr("e.g. quiz What relative ack number does the SYN-ACK carry? = handshake-2.ack"));
      return;
    }
    st.question = trim(std::string_view(rest).substr(0, eq));
    if (st.question.empty()) error(tr("the quiz has no question"), tr("write the question before ' = '"));
    std::string why;
    if (!parse_expr(rest.substr(eq + 3), lesson_, st.answer, why))
      error(text::format(tr("the quiz answer: %1$s"), why), tr("the answer is computed from the capture, e.g. = handshake-2.ack"));
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
      error(why, tr(kCallHint));
      return;
    }
    if (!take_expected_result(toks, st.expect)) return;
    int times = 1;
    if (!take_times(toks, times)) return;
    if (toks.empty()) {
      error(text::format(tr("which call does %1$s make?"), name), tr(kCallHint));
      return;
    }
    st.call = toks[0].text;
    call_arguments(st, ep, std::vector<Token>(toks.begin() + 1, toks.end()));
    if (st.call == "sleep" && st.expect.kind != CallExpect::Kind::Default)
      error(tr("sleep has no result"), tr("remove the -> part"));
    if (times > 1) repeat(times);
  }

  // "-> RESULT" at the end: what the call must return (ok, any, a number, an errno name); taken off.
  bool take_expected_result(std::vector<Token>& toks, CallExpect& x) {
    for (std::size_t i = 0; i < toks.size(); ++i) {
      if (toks[i].quoted || toks[i].text != "->") continue;
      if (i + 2 != toks.size()) {
        error(tr("'->' is followed by one result"), tr("e.g. -> ECONNREFUSED, -> 5, -> 0, -> ok, -> any"));
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
        error(text::format(tr("'-> %1$s': a result is a number, ok, any, or an errno name"), r), tr("e.g. -> ECONNREFUSED, -> 5, -> ok"));
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
      error(text::format(tr("'times %1$s': a call repeats from 1 to 1000 times"), toks.back().text),
            tr("e.g. client sendto \"message {n}\" times 20"));
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
    const bool program_step = c == "start" || c == "type" || c == "await" || c == "end";
    if (ep.program() && !program_step && c != "sleep") {
      error(text::format(tr("'%1$s' runs a program: the program makes its own calls, not '%2$s'"), ep.name, c),
            tr(kProgramHint));
      return;
    }
    if (!ep.program() && program_step) {
      error(text::format(tr("'%1$s' is for an endpoint that runs a program"), c),
            text::format(tr("declare it with run: '%1$s %2$s run COMMAND'"), proto_name(ep.proto),
                         server ? "server" : "client"));
      return;
    }
    if (program_step) {
      program_arguments(st, args);
      return;
    }
    if (c == "socket" || c == "accept" || c == "bind") {
      nothing_after(st, args);
      if (c == "accept" && !(tcp && server)) error(tr("only a TCP server accepts"), tr("accept is for 'tcp server'"));
    } else if (c == "listen") {
      if (!(tcp && server)) error(tr("only a TCP server listens"), tr("UDP servers just bind"));
      std::int64_t n = 16;
      if (args.size() == 1 && number(args[0], 0, 4096, n)) st.backlog = static_cast<int>(n);
      if (args.size() > 1) nothing_after(st, args);
    } else if (c == "connect") {
      if (server) error(tr("a server does not connect"), tr("connect is for a client"));
      if (args.size() == 1 && !args[0].quoted) st.to = args[0].text;
      else if (!args.empty()) nothing_after(st, args);
    } else if (c == "send") {
      for (std::size_t k = payload(st, args); k < args.size(); ++k) {
        if (args[k].text == "nowait") st.nowait = true;
        else error(text::format(tr("'%1$s' does not belong after send"), args[k].text), tr("send \"TEXT\" [nowait] or send N bytes [nowait]"));
      }
    } else if (c == "sendto") {
      if (tcp) error(tr("sendto is for UDP"), tr("a TCP endpoint uses send"));
      for (std::size_t k = payload(st, args); k < args.size(); ++k) {
        if (args[k].text == "to" && k + 1 < args.size()) st.to = args[++k].text;
        else error(text::format(tr("'%1$s' does not belong after sendto"), args[k].text), tr("sendto \"TEXT\" [to SERVER]"));
      }
    } else if (c == "recv" || c == "recvfrom") {
      receive_arguments(st, tcp, args);
    } else if (c == "shutdown") {
      shutdown_arguments(st, tcp, args);
    } else if (c == "close") {
      if (args.size() == 1 && args[0].text == "listener") {
        st.listener = true;
        if (!(tcp && server)) error(tr("only a TCP server has a listener"), tr("write just 'close'"));
      } else if (!args.empty()) {
        nothing_after(st, args);
      }
    } else if (c == "setsockopt") {
      setsockopt_args(st, ep, args);
    } else if (c == "sleep") {
      st.ms = args.size() == 1 ? sleep_ms(args[0].text) : 0;
      if (args.size() != 1) error(tr("sleep takes milliseconds"), text::format(tr("e.g. %1$s sleep 300"), st.endpoint));
    } else {
      error(text::format(tr("unknown call '%1$s'"), c), tr(kCallHint));
    }
  }

  // start | type "TEXT" | await CALL [N] | end: the steps of an endpoint that runs a program.
  void program_arguments(Step& st, const std::vector<Token>& args) {
    if (st.call == "start" || st.call == "end") {
      nothing_after(st, args);
    } else if (st.call == "type") {
      if (args.size() != 1 || !args[0].quoted) {
        error(tr("'type' takes one quoted line of text"), tr(kProgramHint));
        return;
      }
      st.data = args[0].text;
      if (st.data.find('\n') != std::string::npos)
        error(tr("'type' types one line: the Enter at its end is added"), tr("write one 'type' line per line typed"));
    } else {  // await
      std::int64_t n = 1;
      if (args.empty() || args.size() > 2 || args[0].quoted) {
        error(tr("'await' needs the call to wait for"), tr(kProgramHint));
        return;
      }
      st.awaited = args[0].text;
      if (!traced_call_name(st.awaited))
        error(text::format(tr("'%1$s' is not a system call that a trace shows: Python's accept(), send() and recv() "
                              "are accept4(), sendto() and recvfrom()"),
                           st.awaited),
              tr(kProgramHint));
      if (args.size() == 2 && number(args[1], 1, 1000, n)) st.count = static_cast<int>(n);
    }
    if (st.call == "end" && st.expect.kind == CallExpect::Kind::Errno)
      error(text::format(tr("'-> %1$s': a program ends with an exit status, a number"), st.expect.text),
            tr("e.g. end -> 0, end -> 3, end -> any"));
    if (st.call != "end" && st.expect.kind != CallExpect::Kind::Default)
      error(text::format(tr("'%1$s' has no result"), st.call), tr("remove the -> part"));
  }

  void nothing_after(const Step& st, const std::vector<Token>& args) {
    if (!args.empty()) error(text::format(tr("'%1$s' takes nothing after it here"), st.call), tr(kCallHint));
  }

  bool number(const Token& t, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
    if (t.quoted || !parse_int(t.text, out) || out < lo || out > hi) {
      error(text::format(tr("'%1$s' should be a number from %2$lld to %3$lld"), t.text, static_cast<long long>(lo),
              static_cast<long long>(hi)),
            tr(kCallHint));
      return false;
    }
    return true;
  }

  // "TEXT" or N bytes, the data a send or sendto carries. Returns how many arguments it used.
  std::size_t payload(Step& st, const std::vector<Token>& args) {
    if (args.empty()) {
      error(text::format(tr("'%1$s' of what?"), st.call), tr("send \"hello\" (quoted text) or send 100 bytes"));
      return 0;
    }
    std::int64_t n = 0;
    if (args[0].quoted) {
      st.data = args[0].text;
      if (st.data.empty()) error(tr("the text is empty"), tr("send at least one byte"));
      return 1;
    }
    if (args.size() >= 2 && !args[1].quoted && args[1].text == "bytes" && parse_int(args[0].text, n)) {
      if (n < 1 || n > 4 * 1024 * 1024) {
        error(text::format(tr("'%1$s bytes': send from 1 to 4194304 bytes"), args[0].text), tr("e.g. send 100 bytes"));
        return 0;
      }
      st.data.resize(static_cast<std::size_t>(n));
      for (std::size_t k = 0; k < st.data.size(); ++k) st.data[k] = static_cast<char>('a' + k % 26);
      return 2;
    }
    error(text::format(tr("'%1$s': send quoted text or N bytes"), args[0].text), tr("send \"hello\" or send 100 bytes"));
    return 0;
  }

  // recv N [all] [nowait], recvfrom N [nowait].
  void receive_arguments(Step& st, bool tcp, const std::vector<Token>& args) {
    if (st.call == "recvfrom" && tcp) error(tr("recvfrom is for UDP"), tr("a TCP endpoint uses recv"));
    std::int64_t n = 0;
    if (args.empty()) {
      error(text::format(tr("%1$s needs its buffer size"), st.call), text::format(tr("e.g. %1$s 1024"), st.call));
    } else if (number(args[0], 1, 4 * 1024 * 1024, n)) {
      st.size = static_cast<std::size_t>(n);
    }
    for (std::size_t k = 1; k < args.size(); ++k) {
      if (args[k].text == "nowait") st.nowait = true;
      else if (args[k].text == "all" && st.call == "recv") st.all = true;
      else
        error(text::format(tr("'%1$s' does not belong after %2$s"), args[k].text, st.call),
              tcp ? text::format(tr("%1$s N [nowait] or recv N all"), st.call) : text::format(tr("%1$s N [nowait]"), st.call));
    }
    if (st.all && st.nowait) error(tr("recv: 'all' waits, 'nowait' does not"), tr("choose one of them"));
  }

  void shutdown_arguments(Step& st, bool tcp, const std::vector<Token>& args) {
    if (!tcp) error(tr("shutdown is for TCP"), tr("a UDP socket has no connection to shut down"));
    const std::string how = args.empty() ? "" : args[0].text;
    if (how == "wr" || how == "SHUT_WR") st.how = SHUT_WR;
    else if (how == "rd" || how == "SHUT_RD") st.how = SHUT_RD;
    else if (how == "rdwr" || how == "SHUT_RDWR") st.how = SHUT_RDWR;
    else error(tr("shutdown takes wr, rd or rdwr"), tr("shutdown wr sends a FIN and keeps reading (a half-close)"));
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
    const std::string hint = tr("setsockopt SO_LINGER 0 | SO_LINGER off | TCP_NODELAY 1 | SO_RCVBUF 2048 | "
                                "SO_SNDBUF 4096 | SO_REUSEADDR 1");
    if (args.empty()) {
      error(tr("setsockopt needs an option"), hint);
      return;
    }
    st.option = args[0].text;
    const std::string v = args.size() > 1 ? args[1].text : "";
    std::int64_t n = 0;
    if (args.size() != 2) {
      error(tr("setsockopt takes an option and one value"), hint);
    } else if (st.option == "SO_LINGER") {
      if (ep.proto != Proto::Tcp) error(tr("SO_LINGER is about closing a TCP connection"), hint);
      if (v == "off") st.values = {-1};
      else if (parse_int(v, n) && n >= 0 && n <= 60) st.values = {static_cast<int>(n)};
      else error(tr("SO_LINGER takes seconds (0 to 60) or off"), tr("SO_LINGER 0: close() sends RST instead of FIN"));
    } else if (st.option == "TCP_NODELAY" || st.option == "SO_REUSEADDR") {
      if (st.option == "TCP_NODELAY" && ep.proto != Proto::Tcp) error(tr("TCP_NODELAY is a TCP option"), hint);
      if (v == "0" || v == "1") st.values = {v == "1" ? 1 : 0};
      else error(text::format(tr("%1$s takes 0 or 1"), st.option), hint);
    } else if (st.option == "SO_RCVBUF" || st.option == "SO_SNDBUF") {
      if (parse_int(v, n) && n >= 1 && n <= 16 * 1024 * 1024) st.values = {static_cast<int>(n)};
      else error(text::format(tr("%1$s takes bytes (1 to 16777216)"), st.option), tr("Linux doubles it and keeps a minimum (socket(7))"));
    } else {
      error(text::format(tr("unknown option '%1$s'"), st.option), hint);
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
    errors.push_back(Diagnostic{path, 0, text::format(tr("cannot read the lesson: %1$s"), std::strerror(errno)),
                                tr("check the path, or give a lesson's name (sockscope lesson list)")});
    return false;
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  if (text.size() > 1024 * 1024) {
    errors.push_back(Diagnostic{path, 0, tr("the file is larger than 1 MiB"), tr("a lesson is a short text file")});
    return false;
  }
  return parse_lesson(text, path, out, errors);
}

}  // namespace sockscope::lesson
