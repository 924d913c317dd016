// The lesson expression language: packet and call selectors ("handshake-2", "client connect#2"),
// fields, counts and arithmetic, as expectations, quizzes and {placeholders} write them. The line
// parser (parse.cpp) hands the text of each to parse_expr.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "lesson_internal.hpp"
#include "sockscope/annotate/calls.hpp"
#include "sockscope/lessons/expect.hpp"
#include "sockscope/lessons/lesson.hpp"
#include "sockscope/text/format.hpp"
#include "sockscope/text/i18n.hpp"
#include "sockscope/trace/tracer.hpp"

namespace sockscope::lesson::detail {

bool parse_int(std::string_view s, std::int64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  std::size_t i = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    i = 1;
    if (s.size() == 1) return false;
  }
  std::int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = neg ? -v : v;
  return true;
}

namespace {

// "#N" suffix: the Nth (1-based, negative from the end).
bool split_index(std::string& s, int& index, std::string& error) {
  index = 1;
  const auto hash = s.find('#');
  if (hash == std::string::npos) return true;
  std::int64_t n = 0;
  if (!parse_int(std::string_view(s).substr(hash + 1), n) || n == 0 || n > 100000 || n < -100000) {
    error = text::format(tr("'%1$s' is not a position: write #1 for the first, #2 for the second, #-1 for the last"),
                         s.substr(hash));
    return false;
  }
  index = static_cast<int>(n);
  s.resize(hash);
  return true;
}

}  // namespace

bool traced_call_name(std::string_view c) {
  static const std::vector<const char*> names = trace::shown_call_names();
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return c == n; });
}

bool parse_packet_selector(const std::string& text, PacketSelector& out, std::string& error) {
  out = PacketSelector{};
  out.text = text;
  std::string s = text;
  if (!split_index(s, out.index, error)) return false;
  const auto at = s.find('@');
  if (at != std::string::npos) {
    const std::string side = s.substr(at + 1);
    if (side == "client") {
      out.side = Direction::C2S;
    } else if (side == "server") {
      out.side = Direction::S2C;
    } else {
      error = text::format(tr("'@%1$s': a packet is sent by @client or @server"), side);
      return false;
    }
    s.resize(at);
  }
  if (s == "packet") {
    out.any = true;
    return true;
  }
  if (s == "arp") {  // ARP has no event word of its own: any ARP packet
    out.any = true;
    out.proto = Proto::Arp;
    return true;
  }
  auto e = event_from_name(s);
  if (!e) {
    error = text::format(tr("'%1$s' is not an event word (the words are in docs/reading-output.md; 'packet' means any "
                             "packet)"),
                         s);
    return false;
  }
  out.word = *e;
  return true;
}

bool parse_call_selector(const std::string& text, const Lesson& lesson, CallSelector& out, std::string& error) {
  out = CallSelector{};
  out.text = text;
  const auto dot = text.find('.');
  if (dot == std::string::npos) {
    error = text::format(tr("'%1$s' is not a call: write ENDPOINT.CALL, e.g. client.connect"), text);
    return false;
  }
  out.endpoint = text.substr(0, dot);
  std::string call = text.substr(dot + 1);
  if (!split_index(call, out.index, error)) return false;
  out.call = call;
  const EndpointDecl* ep = lesson.endpoint(out.endpoint);
  if (!ep) {
    error = text::format(tr("no endpoint is named '%1$s' (declare it first, e.g. 'tcp client')"), out.endpoint);
    return false;
  }
  // A program's calls are the system calls it made (accept4, sendto, recvfrom, write ...): any name a
  // trace shows; sockscope's own endpoints make the calls a lesson names.
  if (ep->program() && !traced_call_name(out.call)) {
    error = text::format(tr("'%1$s' is not a system call that a trace shows: Python's accept(), send() and recv() "
                            "are accept4(), sendto() and recvfrom()"),
                         out.call);
    return false;
  }
  if (!ep->program() && !is_call_name(out.call)) {
    error = text::format(tr("'%1$s' is not a socket call (%2$s)"), out.call, lesson_call_names());
    return false;
  }
  return true;
}

bool parse_expr(const std::string& text, const Lesson& lesson, Expr& out, std::string& error) {
  out = Expr{};
  out.source = trim(text);
  // Tokens are separated by spaces: '-' also occurs inside words (handshake-1, raw-seq, TIME-WAIT).
  std::vector<std::string> toks;
  {
    std::istringstream is(out.source);
    std::string t;
    while (is >> t) {
      // count(datagram) is the same as count datagram
      if (t.rfind("count(", 0) == 0 && t.size() > 7 && t.back() == ')') {
        toks.push_back("count");
        toks.push_back(t.substr(6, t.size() - 7));
      } else {
        toks.push_back(t);
      }
    }
  }
  if (toks.empty()) {
    error = tr("an expression is missing");
    return false;
  }
  int sign = 1;
  bool want_term = true;
  for (std::size_t i = 0; i < toks.size(); ++i) {
    const std::string& t = toks[i];
    if (!want_term) {
      if (t == "+" || t == "-") {
        sign = t == "+" ? 1 : -1;
        want_term = true;
        continue;
      }
      error = text::format(tr("expected + or - before '%1$s' (put spaces around + and -)"), t);
      return false;
    }
    Term term;
    term.sign = sign;
    term.source = t;
    std::int64_t n = 0;
    if (t == "count") {
      if (i + 1 >= toks.size()) {
        error = tr("count of what? e.g. count datagram, count data@client, count client.recv");
        return false;
      }
      const std::string sel = toks[++i];
      term.source = "count " + sel;
      if (sel.find('.') != std::string::npos) {
        term.kind = Term::Kind::CountCalls;
        if (!parse_call_selector(sel, lesson, term.call, error)) return false;
        // "count server.recvfrom ok": only the calls that did not fail
        if (i + 1 < toks.size() && toks[i + 1] == "ok") {
          term.ok_only = true;
          term.source += " ok";
          ++i;
        }
      } else {
        term.kind = Term::Kind::CountPackets;
        if (!parse_packet_selector(sel, term.packet, error)) return false;
      }
    } else if (parse_int(t, n)) {
      term.kind = Term::Kind::Number;
      term.number = n;
    } else if (t.find('.') != std::string::npos) {
      const auto last = t.rfind('.');
      const std::string sel = t.substr(0, last);
      term.field = t.substr(last + 1);
      if (sel.find('.') != std::string::npos) {
        term.kind = Term::Kind::CallField;
        if (!parse_call_selector(sel, lesson, term.call, error)) return false;
        if (!is_call_field(term.field)) {
          error = text::format(tr("'%1$s' is not a field of a call (%2$s)"), term.field, call_field_names());
          return false;
        }
      } else {
        term.kind = Term::Kind::PacketField;
        if (!parse_packet_selector(sel, term.packet, error)) return false;
        if (!is_packet_field(term.field)) {
          error = text::format(tr("'%1$s' is not a field of a packet (%2$s)"), term.field, packet_field_names());
          return false;
        }
      }
    } else if (!t.empty() && std::isupper(static_cast<unsigned char>(t[0])) &&
               std::all_of(t.begin(), t.end(), [](char c) {
                 return std::isupper(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
                        c == '-' || c == '_' || c == ':';  // ':' for MAC addresses: FF:FF:FF:FF:FF:FF
               })) {
      term.kind = Term::Kind::Text;
      term.text = t;
    } else {
      error = text::format(tr("'%1$s' is not a number, a field (handshake-2.ack, client.recv.result), a count "
                              "(count datagram) or a word in capitals (TIME-WAIT, ECONNREFUSED)"),
                           t);
      return false;
    }
    out.terms.push_back(std::move(term));
    want_term = false;
  }
  if (want_term) {
    error = tr("the expression ends with + or -");
    return false;
  }
  const bool has_text = std::any_of(out.terms.begin(), out.terms.end(), [](const Term& t) {
    return t.kind == Term::Kind::Text || ((t.kind == Term::Kind::CallField) &&
                                          (t.field == "errno" || t.field == "state" || t.field == "data")) ||
           (t.kind == Term::Kind::PacketField &&
            (t.field == "flags" || t.field == "src-mac" || t.field == "dst-mac"));
  });
  if (has_text && out.terms.size() > 1) {
    error = tr("words (errno, state, data, flags, TIME-WAIT) cannot be added: compare them alone");
    return false;
  }
  return true;
}

}  // namespace sockscope::lesson::detail
