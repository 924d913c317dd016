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

Value packet_field(const Facts& f, const Term& t) {
  Value v;
  const PacketFact* p = select(f, t.packet, v.why);
  if (!p) return v;
  v.ok = true;
  v.frames.push_back(p->frame);
  const std::string& k = t.field;
  const bool tcp = p->transport == Transport::Tcp;
  auto need_tcp = [&] {
    if (!tcp) {
      v.ok = false;
      v.why = text::format(tr("frame %1$llu is not TCP: it has no %2$s"), static_cast<unsigned long long>(p->frame), k.c_str());
    }
    return tcp;
  };
  const std::int64_t first_ts = f.packets.empty() ? 0 : f.packets.front().ts_ns;
  if (k == "frame") v.n = static_cast<std::int64_t>(p->frame);
  else if (k == "seq") { if (need_tcp()) v.n = p->rel_seq; }
  else if (k == "ack") { if (need_tcp()) v.n = p->rel_ack; }
  else if (k == "raw-seq") { if (need_tcp()) v.n = p->raw_seq; }
  else if (k == "raw-ack") { if (need_tcp()) v.n = p->raw_ack; }
  else if (k == "len") v.n = p->len;
  else if (k == "win") { if (need_tcp()) v.n = p->win; }
  else if (k == "raw-win") { if (need_tcp()) v.n = p->raw_win; }
  else if (k == "sport") v.n = p->sport;
  else if (k == "dport") v.n = p->dport;
  else if (k == "mss") {
    if (need_tcp() && !p->has_mss) v.ok = false, v.why = text::format(tr("frame %llu carries no MSS option"), static_cast<unsigned long long>(p->frame));
    v.n = p->mss;
  } else if (k == "wscale") {
    if (need_tcp() && !p->has_wscale)
      v.ok = false, v.why = text::format(tr("frame %llu carries no window scale option"), static_cast<unsigned long long>(p->frame));
    v.n = p->wscale;
  } else if (k == "ttl") v.n = p->ttl;
  else if (k == "ip-header") v.n = p->ip_header;
  else if (k == "transport-header") v.n = p->transport_header;
  else if (k == "link-header") v.n = p->link_header;
  else if (k == "wire-len") v.n = p->wire_len;
  else if (k == "udp-length") {
    if (p->transport != Transport::Udp) v.ok = false, v.why = text::format(tr("frame %llu is not UDP"), static_cast<unsigned long long>(p->frame));
    v.n = p->udp_length;
  } else if (k == "ip-proto") v.n = p->ip_proto;
  else if (k == "ip-version") v.n = p->ip_version;
  else if (k == "time-us") v.n = (p->ts_ns - first_ts) / 1000;
  else if (k == "time-ms") v.n = (p->ts_ns - first_ts) / 1000000;
  else if (k == "quotes") {
    v.n = static_cast<std::int64_t>(p->quotes_frame);
    if (p->quotes_frame) v.frames.push_back(p->quotes_frame);
  } else if (k == "flags") {
    if (need_tcp()) v.is_text = true, v.text = flags_text(p->tcp_flags);
  } else if (k == "ip-id" || k == "frag-offset" || k == "raw-frag-offset" || k == "mf" || k == "df") {
    if (p->ip_version == 0) {
      v.ok = false;
      v.why = text::format(tr("frame %llu is not an IP packet"), static_cast<unsigned long long>(p->frame));
    }
    // The header's offset field counts 8-byte units (RFC 791, RFC 8200); frag-offset is in bytes.
    v.n = k == "ip-id"             ? p->ip_id
          : k == "frag-offset"     ? p->frag_offset
          : k == "raw-frag-offset" ? p->frag_offset / 8
          : k == "mf"              ? p->mf
                                   : p->df;
  } else if (k == "src-mac" || k == "dst-mac") {
    if (!p->has_macs) {
      v.ok = false;
      v.why = text::format(tr("frame %llu has no Ethernet addresses"), static_cast<unsigned long long>(p->frame));
    }
    const auto& m = k == "src-mac" ? p->src_mac : p->dst_mac;
    char buf[24];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    v.is_text = true;
    v.text = buf;
  } else if (k == "arp-op") {
    if (p->proto != Proto::Arp) {
      v.ok = false;
      v.why = text::format(tr("frame %llu is not ARP"), static_cast<unsigned long long>(p->frame));
    }
    v.n = p->arp_op;
  }
  return v;
}

Value call_field(const Facts& f, const Term& t) {
  Value v;
  const CallFact* c = select(f, t.call, v.why);
  if (!c) return v;
  v.ok = true;
  const std::string& k = t.field;
  if (k == "result") v.n = c->result;
  else if (k == "bytes") v.n = c->result > 0 ? c->result : 0;
  else if (k == "errno") v.is_text = true, v.text = c->err ? errno_name(c->err) : "none";
  else if (k == "state") {
    v.is_text = true;
    v.text = c->state.empty() ? "none" : c->state;
  } else if (k == "data") v.is_text = true, v.text = text::printable(c->data, kDataShown);
  else if (k == "duration-us") v.n = (c->ts_return_ns - c->ts_ns) / 1000;
  else if (k == "duration-ms") v.n = (c->ts_return_ns - c->ts_ns) / 1000000;
  else if (k == "after-frame") {
    v.ok = false;
    for (const auto& pl : f.places)
      if (pl.role == c->role && pl.ts_ns == c->ts_ns) {
        v.ok = true;
        v.n = static_cast<std::int64_t>(pl.after_frame);
        if (pl.after_frame) v.frames.push_back(pl.after_frame);
        break;
      }
    if (!v.ok) v.why = text::format(tr("the timeline did not show %s() returning"), t.call.text.c_str());
  }
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
