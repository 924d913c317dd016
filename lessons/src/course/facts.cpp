// What a lesson run saw, and the values its expectations, quizzes and narration ask for.
#include <algorithm>
#include <cstdio>
#include <set>

#include "lesson_internal.hpp"
#include "sockscope/text/escape.hpp"
#include "sockscope/text/format.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope::lesson::detail {

void Facts::add_packet(const Packet& p, const Annotation& a) {
  PacketFact f;
  f.frame = p.frame;
  f.ts_ns = p.ts.ns();
  f.conn = a.conn;
  f.dir = a.dir;
  f.events = a.events;
  f.transport = p.transport;
  f.has_rel = a.has_rel;
  f.rel_seq = a.rel_seq;
  f.rel_ack = a.rel_ack;
  f.win = a.window;
  if (p.transport == Transport::Tcp) {
    f.raw_seq = p.tcp.seq;
    f.raw_ack = p.tcp.ack;
    f.raw_win = p.tcp.window;
    f.sport = p.tcp.sport;
    f.dport = p.tcp.dport;
    f.tcp_flags = p.tcp.flags;
    f.has_mss = p.tcp.has_mss;
    f.mss = p.tcp.mss;
    f.has_wscale = p.tcp.has_wscale;
    f.wscale = p.tcp.wscale;
  } else if (p.transport == Transport::Udp) {
    f.sport = p.udp.sport;
    f.dport = p.udp.dport;
    f.udp_length = p.udp.length;
  }
  f.len = p.payload_len;
  f.ttl = p.ip.version == 4 ? p.ip.v4.ttl : p.ip.v6.hop_limit;
  f.ip_header = p.ip.header_len;
  f.transport_header = p.transport_header_len;
  f.link_header = p.link.header_len;
  f.wire_len = p.wirelen;
  f.ip_proto = p.ip.proto;
  f.ip_version = p.ip.version;
  f.quotes_frame = a.quotes_frame;
  f.proto = a.proto;
  if (p.ip.version == 4) {
    f.ip_id = p.ip.v4.id;
    f.frag_offset = p.ip.v4.frag_offset;
    f.mf = p.ip.v4.mf;
    f.df = p.ip.v4.df;
  } else if (p.ip.version == 6 && p.ip.v6.has_fragment) {
    f.ip_id = static_cast<std::uint16_t>(p.ip.v6.frag_id);
    f.frag_offset = p.ip.v6.frag_offset;
    f.mf = p.ip.v6.frag_more;
  }
  f.has_macs = p.link.has_macs;
  f.src_mac = p.link.src_mac.b;
  f.dst_mac = p.link.dst_mac.b;
  if (a.proto == Proto::Arp) f.arp_op = p.arp.op;
  std::lock_guard<std::mutex> lock(mu);
  packets.push_back(f);
}

void Facts::add_call(const std::string& endpoint, const CallRecord& c) {
  CallFact f;
  f.endpoint = endpoint;
  f.role = c.endpoint;
  f.call = c.call;
  f.result = c.result;
  f.err = c.err;
  f.state = c.kernel_state;
  f.data = c.data;
  f.ts_ns = c.ts.ns();
  f.ts_return_ns = c.ts_return.ns();
  std::lock_guard<std::mutex> lock(mu);
  calls.push_back(std::move(f));
}

void Facts::add_place(const CallRecord& c, std::uint64_t after_frame) {
  std::lock_guard<std::mutex> lock(mu);
  places.push_back(CallPlace{c.endpoint, c.ts.ns(), after_frame});
}

std::string Value::shown() const { return is_text ? text : std::to_string(n); }

std::string frames_text(const std::vector<std::uint64_t>& frames) {
  std::vector<std::uint64_t> f;
  for (auto x : frames)
    if (x != 0 && std::find(f.begin(), f.end(), x) == f.end()) f.push_back(x);
  if (f.empty()) return {};
  std::sort(f.begin(), f.end());
  std::string list;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (i) list += ", ";
    list += std::to_string(f[i]);
  }
  return text::format(trn("frame %s", "frames %s", f.size()), list.c_str());
}

namespace {

// The bytes of a call, shown terminal-safe (a lesson's own bytes, but a peer could send anything).
constexpr std::size_t kDataShown = 200;

bool matches(const PacketFact& p, const PacketSelector& s) {
  if (s.side != Direction::None && p.dir != s.side) return false;
  if (s.proto != Proto::Other && p.proto != s.proto) return false;
  return s.any || p.events.has(s.word);
}

// "the SYN packet sent by the client": whole phrases, so a translator can order the words.
std::string packet_words(const PacketSelector& s) {
  const std::string kind = s.proto == Proto::Arp ? std::string("ARP") : s.any ? std::string() : std::string(event_name(s.word));
  if (s.side == Direction::C2S)
    return kind.empty() ? std::string(tr("packet sent by the client")) : text::format(tr("%s packet sent by the client"), kind.c_str());
  if (s.side == Direction::S2C)
    return kind.empty() ? std::string(tr("packet sent by the server")) : text::format(tr("%s packet sent by the server"), kind.c_str());
  return kind.empty() ? std::string(tr("packet")) : text::format(tr("%s packet"), kind.c_str());
}

const PacketFact* select(const Facts& f, const PacketSelector& s, std::string& why) {
  std::vector<const PacketFact*> m;
  for (const auto& p : f.packets)
    if (matches(p, s)) m.push_back(&p);
  const std::string what = packet_words(s);
  const long n = static_cast<long>(m.size());
  const long i = s.index > 0 ? s.index - 1 : n + s.index;
  if (i < 0 || i >= n) {
    why = n == 0 ? text::format(tr("the capture has no %s"), what.c_str())
                 : text::format(tr("there is no %1$s #%2$ld: the capture has only %3$ld"), what.c_str(),
                             static_cast<long>(s.index), n);
    return nullptr;
  }
  return m[static_cast<std::size_t>(i)];
}

const CallFact* select(const Facts& f, const CallSelector& s, std::string& why) {
  std::vector<const CallFact*> m;
  for (const auto& c : f.calls)
    if (c.endpoint == s.endpoint && c.call == s.call) m.push_back(&c);
  const long n = static_cast<long>(m.size());
  const long i = s.index > 0 ? s.index - 1 : n + s.index;
  if (i < 0 || i >= n) {
    why = n == 0 ? text::format(tr("%1$s made no %2$s() call"), s.endpoint.c_str(), s.call.c_str())
                 : text::format(trn("%1$s made only %2$ld %3$s() call", "%1$s made only %2$ld %3$s() calls",
                                 static_cast<unsigned long>(n)),
                             s.endpoint.c_str(), n, s.call.c_str());
    return nullptr;
  }
  return m[static_cast<std::size_t>(i)];
}

std::string flags_text(std::uint16_t f) {
  std::string s;
  if (f & tcpflag::kSyn) s += 'S';
  if (f & tcpflag::kFin) s += 'F';
  if (f & tcpflag::kRst) s += 'R';
  if (f & tcpflag::kPsh) s += 'P';
  if (f & tcpflag::kUrg) s += 'U';
  if (f & tcpflag::kAck) s += '.';
  return s;
}

// What a packet must be for a field to have a value; the sentence when it is not.
enum class Needs : std::uint8_t { Any, Tcp, Udp, Ip, Ethernet, Arp };

bool meets(const PacketFact& p, Needs n, const std::string& field, std::string& why) {
  const auto frame = static_cast<unsigned long long>(p.frame);
  switch (n) {
    case Needs::Any: return true;
    case Needs::Tcp:
      if (p.transport == Transport::Tcp) return true;
      why = text::format(tr("frame %1$llu is not TCP: it has no %2$s"), frame, field.c_str());
      return false;
    case Needs::Udp:
      if (p.transport == Transport::Udp) return true;
      why = text::format(tr("frame %llu is not UDP"), frame);
      return false;
    case Needs::Ip:
      if (p.ip_version != 0) return true;
      why = text::format(tr("frame %llu is not an IP packet"), frame);
      return false;
    case Needs::Ethernet:
      if (p.has_macs) return true;
      why = text::format(tr("frame %llu has no Ethernet addresses"), frame);
      return false;
    case Needs::Arp:
      if (p.proto == Proto::Arp) return true;
      why = text::format(tr("frame %llu is not ARP"), frame);
      return false;
  }
  return true;
}

Value mac_text(const std::array<std::uint8_t, 6>& m) {
  Value v;
  char buf[24];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  v.is_text = true;
  v.text = buf;
  return v;
}

Value number(std::int64_t n) {
  Value v;
  v.n = n;
  return v;
}

// The one table of packet fields a lesson may ask about (`expect packet(...).FIELD`): the parser
// accepts exactly these names, and each row says how its value is read. `first_ts` is the capture's
// first timestamp (for time-us, time-ms).
struct PacketFieldRow {
  const char* name;
  Needs needs;
  Value (*read)(const PacketFact& p, std::int64_t first_ts);
};

constexpr PacketFieldRow kPacketFields[] = {
    {"frame", Needs::Any, [](const PacketFact& p, std::int64_t) { return number(static_cast<std::int64_t>(p.frame)); }},
    {"seq", Needs::Tcp, [](const PacketFact& p, std::int64_t) { return number(p.rel_seq); }},
    {"ack", Needs::Tcp, [](const PacketFact& p, std::int64_t) { return number(p.rel_ack); }},
    {"raw-seq", Needs::Tcp, [](const PacketFact& p, std::int64_t) { return number(p.raw_seq); }},
    {"raw-ack", Needs::Tcp, [](const PacketFact& p, std::int64_t) { return number(p.raw_ack); }},
    {"len", Needs::Any, [](const PacketFact& p, std::int64_t) { return number(p.len); }},
    {"win", Needs::Tcp, [](const PacketFact& p, std::int64_t) { return number(p.win); }},
    {"raw-win", Needs::Tcp, [](const PacketFact& p, std::int64_t) { return number(p.raw_win); }},
    {"sport", Needs::Any, [](const PacketFact& p, std::int64_t) { return number(p.sport); }},
    {"dport", Needs::Any, [](const PacketFact& p, std::int64_t) { return number(p.dport); }},
    {"mss", Needs::Tcp,
     [](const PacketFact& p, std::int64_t) {
       Value v = number(p.mss);
       if (!p.has_mss) v.why = text::format(tr("frame %llu carries no MSS option"), static_cast<unsigned long long>(p.frame));
       return v;
     }},
    {"wscale", Needs::Tcp,
     [](const PacketFact& p, std::int64_t) {
       Value v = number(p.wscale);
       if (!p.has_wscale)
         v.why = text::format(tr("frame %llu carries no window scale option"), static_cast<unsigned long long>(p.frame));
       return v;
     }},
    {"ttl", Needs::Any, [](const PacketFact& p, std::int64_t) { return number(p.ttl); }},
    {"ip-header", Needs::Any, [](const PacketFact& p, std::int64_t) { return number(p.ip_header); }},
    {"transport-header", Needs::Any, [](const PacketFact& p, std::int64_t) { return number(p.transport_header); }},
    {"link-header", Needs::Any, [](const PacketFact& p, std::int64_t) { return number(p.link_header); }},
    {"wire-len", Needs::Any, [](const PacketFact& p, std::int64_t) { return number(p.wire_len); }},
    {"udp-length", Needs::Udp, [](const PacketFact& p, std::int64_t) { return number(p.udp_length); }},
    {"ip-proto", Needs::Any, [](const PacketFact& p, std::int64_t) { return number(p.ip_proto); }},
    {"ip-version", Needs::Any, [](const PacketFact& p, std::int64_t) { return number(p.ip_version); }},
    {"time-us", Needs::Any, [](const PacketFact& p, std::int64_t first) { return number((p.ts_ns - first) / 1000); }},
    {"time-ms", Needs::Any, [](const PacketFact& p, std::int64_t first) { return number((p.ts_ns - first) / 1000000); }},
    {"quotes", Needs::Any,
     [](const PacketFact& p, std::int64_t) {
       Value v = number(static_cast<std::int64_t>(p.quotes_frame));
       if (p.quotes_frame) v.frames.push_back(p.quotes_frame);
       return v;
     }},
    {"flags", Needs::Tcp,
     [](const PacketFact& p, std::int64_t) {
       Value v;
       v.is_text = true;
       v.text = flags_text(p.tcp_flags);
       return v;
     }},
    {"ip-id", Needs::Ip, [](const PacketFact& p, std::int64_t) { return number(p.ip_id); }},
    // The header's offset field counts 8-byte units (RFC 791, RFC 8200); frag-offset is in bytes.
    {"frag-offset", Needs::Ip, [](const PacketFact& p, std::int64_t) { return number(p.frag_offset); }},
    {"raw-frag-offset", Needs::Ip, [](const PacketFact& p, std::int64_t) { return number(p.frag_offset / 8); }},
    {"mf", Needs::Ip, [](const PacketFact& p, std::int64_t) { return number(p.mf); }},
    {"df", Needs::Ip, [](const PacketFact& p, std::int64_t) { return number(p.df); }},
    {"src-mac", Needs::Ethernet, [](const PacketFact& p, std::int64_t) { return mac_text(p.src_mac); }},
    {"dst-mac", Needs::Ethernet, [](const PacketFact& p, std::int64_t) { return mac_text(p.dst_mac); }},
    {"arp-op", Needs::Arp, [](const PacketFact& p, std::int64_t) { return number(p.arp_op); }},
};

const PacketFieldRow* find_packet_field(std::string_view name) {
  for (const PacketFieldRow& r : kPacketFields)
    if (name == r.name) return &r;
  return nullptr;
}

Value packet_field(const Facts& f, const Term& t) {
  Value v;
  const PacketFact* p = select(f, t.packet, v.why);
  const PacketFieldRow* row = find_packet_field(t.field);
  if (!p || !row) return v;
  std::string why;
  if (!meets(*p, row->needs, t.field, why)) {
    v.why = why;
    v.frames.push_back(p->frame);
    return v;
  }
  v = row->read(*p, f.packets.empty() ? 0 : f.packets.front().ts_ns);
  v.ok = v.why.empty();
  v.frames.insert(v.frames.begin(), p->frame);
  return v;
}

// The one table of call fields (`expect call(...).FIELD`), as for packets.
struct CallFieldRow {
  const char* name;
  Value (*read)(const Facts& f, const CallFact& c, const Term& t);
};

constexpr CallFieldRow kCallFields[] = {
    {"result", [](const Facts&, const CallFact& c, const Term&) { return number(c.result); }},
    {"errno",
     [](const Facts&, const CallFact& c, const Term&) {
       Value v;
       v.is_text = true;
       v.text = c.err ? errno_name(c.err) : "none";
       return v;
     }},
    {"bytes", [](const Facts&, const CallFact& c, const Term&) { return number(c.result > 0 ? c.result : 0); }},
    {"state",
     [](const Facts&, const CallFact& c, const Term&) {
       Value v;
       v.is_text = true;
       v.text = c.state.empty() ? "none" : c.state;
       return v;
     }},
    {"after-frame",
     [](const Facts& f, const CallFact& c, const Term& t) {
       for (const auto& pl : f.places)
         if (pl.role == c.role && pl.ts_ns == c.ts_ns) {
           Value v = number(static_cast<std::int64_t>(pl.after_frame));
           if (pl.after_frame) v.frames.push_back(pl.after_frame);
           return v;
         }
       Value v;
       v.why = text::format(tr("the timeline did not show %s() returning"), t.call.text.c_str());
       return v;
     }},
    {"duration-ms", [](const Facts&, const CallFact& c, const Term&) { return number((c.ts_return_ns - c.ts_ns) / 1000000); }},
    {"duration-us", [](const Facts&, const CallFact& c, const Term&) { return number((c.ts_return_ns - c.ts_ns) / 1000); }},
    {"data",
     [](const Facts&, const CallFact& c, const Term&) {
       Value v;
       v.is_text = true;
       v.text = text::printable(c.data, kDataShown);
       return v;
     }},
};

const CallFieldRow* find_call_field(std::string_view name) {
  for (const CallFieldRow& r : kCallFields)
    if (name == r.name) return &r;
  return nullptr;
}

Value call_field(const Facts& f, const Term& t) {
  Value v;
  const CallFact* c = select(f, t.call, v.why);
  const CallFieldRow* row = find_call_field(t.field);
  if (!c || !row) return v;
  v = row->read(f, *c, t);
  v.ok = v.why.empty();
  return v;
}

Value count_packets(const Facts& f, const Term& t) {
  Value v;
  v.ok = true;
  for (const auto& p : f.packets)
    if (matches(p, t.packet)) {
      ++v.n;
      if (v.frames.size() < 12) v.frames.push_back(p.frame);
    }
  return v;
}

Value count_calls(const Facts& f, const Term& t) {
  Value v;
  v.ok = true;
  for (const auto& c : f.calls)
    if (c.endpoint == t.call.endpoint && c.call == t.call.call && (!t.ok_only || (c.result >= 0 && c.err == 0))) ++v.n;
  return v;
}

}  // namespace

bool is_packet_field(std::string_view f) { return find_packet_field(f) != nullptr; }
bool is_call_field(std::string_view f) { return find_call_field(f) != nullptr; }

std::string packet_field_names() {
  return row_names(kPacketFields, [](const PacketFieldRow&) { return true; });
}

std::string call_field_names() {
  return row_names(kCallFields, [](const CallFieldRow&) { return true; });
}

Value eval(const Expr& e, const Facts& facts) {
  Value total;
  total.ok = true;
  for (const Term& t : e.terms) {
    Value v;
    switch (t.kind) {
      case Term::Kind::Number:
        v.ok = true;
        v.n = t.number;
        break;
      case Term::Kind::Text:
        v.ok = true;
        v.is_text = true;
        v.text = t.text;
        break;
      case Term::Kind::PacketField: v = packet_field(facts, t); break;
      case Term::Kind::CallField: v = call_field(facts, t); break;
      case Term::Kind::CountPackets: v = count_packets(facts, t); break;
      case Term::Kind::CountCalls: v = count_calls(facts, t); break;
    }
    if (!v.ok) {
      v.why = t.source + ": " + v.why;
      return v;
    }
    if (v.is_text) return v;  // words stand alone (the parser sees to it)
    total.n += t.sign * v.n;
    total.frames.insert(total.frames.end(), v.frames.begin(), v.frames.end());
  }
  return total;
}

std::vector<SeenPacket> seen_packets(const Facts& facts) {
  std::vector<SeenPacket> s;
  s.reserve(facts.packets.size());
  for (const auto& p : facts.packets) s.push_back(SeenPacket{p.frame, p.conn, p.dir, p.events});
  return s;
}

std::string fill_placeholders(const std::string& text, const Lesson& lesson, const Facts& facts) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto open = text.find('{', i);
    if (open == std::string::npos) break;
    const auto close = text.find('}', open);
    if (close == std::string::npos) break;
    out += text.substr(i, open - i);
    Expr e;
    std::string why;
    Value v;
    if (parse_expr(text.substr(open + 1, close - open - 1), lesson, e, why)) v = eval(e, facts);
    out += v.ok ? v.shown() : "?";
    i = close + 1;
  }
  out += text.substr(i);
  return out;
}

}  // namespace sockscope::lesson::detail
