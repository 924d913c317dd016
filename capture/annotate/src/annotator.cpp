// The annotator: per-conversation state machines over decoded packets (see annotate.hpp).
//
// TCP analysis follows Wireshark's tcp.analysis.* definitions (packet-tcp.c,
// tcp_analyze_sequence_number) so that our words agree with tshark's flags; the endpoint states follow
// RFC 9293 section 3.3.2 as far as the wire shows them; the summary follows Zeek's conn.log
// (history letters and conn_state).
#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <unordered_map>

#include "conv_index.hpp"
#include "sockscope/annotate/annotate.hpp"
#include "sockscope/annotate/seqnum.hpp"

namespace sockscope {

namespace {

constexpr int kClient = 0;
constexpr int kServer = 1;

// Wireshark's default out-of-order threshold when no RTT is known (tcp_analyze_seq's ooo_thres).
constexpr std::int64_t kOutOfOrderThresholdNs = 3'000'000;
// Wireshark calls a retransmission "fast" when it follows the second dup ACK within 20 ms.
constexpr std::int64_t kFastRetransmitWindowNs = 20'000'000;

using annotate_detail::BlockPool;
using annotate_detail::ConvIndex;

struct FlowKey {
  IpAddr a, b;  // a <= b (normalised so both directions find the same conversation)
  std::uint16_t pa = 0, pb = 0;
  std::uint8_t proto = 0;
  std::uint8_t zero = 0;  // fills what would be padding, so the bytes compare as one block
  friend bool operator==(const FlowKey& x, const FlowKey& y) { return std::memcmp(&x, &y, sizeof x) == 0; }
};
static_assert(std::has_unique_object_representations_v<FlowKey>, "FlowKey must have no padding");

struct FlowKeyHash {
  // Eight bytes at a time with a multiply-xorshift mix (the murmur3 finaliser): fast, and good
  // enough to spread 4-tuples that differ only in a port or the last address byte.
  static std::uint64_t load64(const std::uint8_t* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  static std::uint64_t mix(std::uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
  }
  std::size_t operator()(const FlowKey& k) const noexcept {
    std::uint64_t h = (std::uint64_t{k.pa} << 32) | (std::uint64_t{k.pb} << 16) | k.proto;
    h = mix(h ^ load64(k.a.b.data()));
    h = mix(h ^ load64(k.b.b.data()));
    if (k.a.family == 6) {
      h = mix(h ^ load64(k.a.b.data() + 8));
      h = mix(h ^ load64(k.b.b.data() + 8));
    }
    return static_cast<std::size_t>(h);
  }
};

// The address bytes [at, at + 8) as a big-endian number: comparing two of them orders the bytes as
// memcmp would (lexicographically), without a library call per packet.
std::uint64_t be64_at(const IpAddr& ip, std::size_t at) {
  std::uint64_t v;
  std::memcpy(&v, ip.b.data() + at, 8);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

bool endpoint_less(const IpAddr& ia, std::uint16_t pa, const IpAddr& ib, std::uint16_t pb) {
  if (ia.family != ib.family) return ia.family < ib.family;
  const std::uint64_t a0 = be64_at(ia, 0), b0 = be64_at(ib, 0);
  if (a0 != b0) return a0 < b0;
  const std::uint64_t a1 = be64_at(ia, 8), b1 = be64_at(ib, 8);
  if (a1 != b1) return a1 < b1;
  return pa < pb;
}

FlowKey make_key(const IpAddr& src, std::uint16_t sport, const IpAddr& dst, std::uint16_t dport,
                 std::uint8_t proto) {
  FlowKey k;
  k.proto = proto;
  if (endpoint_less(src, sport, dst, dport)) {
    k.a = src, k.pa = sport, k.b = dst, k.pb = dport;
  } else {
    k.a = dst, k.pa = dport, k.b = src, k.pb = sport;
  }
  return k;
}

// A segment a side sent, remembered to name the frames an ACK covers and the original of a
// retransmission. A small ring: old entries are overwritten.
struct SentSeg {
  SeqNum seq, end;  // sequence space [seq, end) incl. SYN/FIN
  std::uint64_t frame = 0;
  std::int64_t ts = 0;
  std::uint32_t payload = 0;
};
constexpr std::size_t kSegRing = 12;

struct IpIdFrame {
  std::uint16_t ip_id = 0;
  std::uint64_t frame = 0;
};
constexpr std::size_t kIpIdRing = 4;

// What both UDP and TCP keep per direction.
struct ConvDirection {
  std::uint64_t last_frame = 0;
  // The last IPv4 ids sent, to find the datagram an ICMP error quotes.
  std::array<IpIdFrame, kIpIdRing> ipids{};
  std::uint8_t ipid_head = 0;
  // History bookkeeping (Zeek): letters seen once, and the counted letters c g t w.
  std::uint32_t once_mask = 0;
  std::array<std::uint32_t, 4> letter_count{};
};

// TCP only, per direction.
struct TcpEndpoint {
  // Sequence space
  bool isn_known = false;  // saw this side's SYN
  bool base_set = false;   // a base for relative numbers exists (ISN, or inferred mid-stream)
  SeqNum base;             // the ISN (relative 0)
  bool next_known = false;
  SeqNum next;             // highest seq + len seen from this side (Wireshark's nextseq)
  std::int64_t next_ts = 0;
  // What this side has acknowledged
  bool ack_known = false;
  SeqNum last_ack;
  std::uint64_t last_ack_frame = 0;  // frame of the last ACK that was not a duplicate
  std::int64_t last_ack_ts = 0;      // time of the last ACK of any kind
  std::uint32_t dup_acks = 0;
  std::uint32_t last_win_raw = 0;
  bool win_known = false;
  // Window scale (RFC 7323 2.2): used only when both SYNs carried the option.
  bool wscale_offered = false;
  std::uint8_t wscale = 0;
  // FIN
  bool fin_sent = false;
  SeqNum fin_seq;
  std::uint64_t fin_frame = 0;
  bool fin_acked = false;
  bool last_was_keepalive = false;
  bool sent_rst = false;
  bool sent_syn = false, sent_synack = false;
  TcpState state = TcpState::Unknown;
  // The segments sent, a ring
  std::array<SentSeg, kSegRing> segs{};
  std::uint8_t seg_head = 0, seg_count = 0;
  // History bookkeeping (Zeek): the last seq for f/h/r/s.
  std::uint32_t seq_letter_mask = 0;
  std::array<std::uint32_t, 4> letter_seq{};  // f h r s
};

constexpr std::uint32_t kNoTcp = 0xffffffffu;

// One conversation. TCP's state (two TcpEndpoints and the connection's progress, about 1 KiB) lives apart in
// a TcpConnection, so a UDP conversation, which has no end on the wire and is held until it idles out,
// costs only this (about 0.5 KiB).
struct Conv {
  std::uint32_t id = 0;
  std::uint32_t tcp = kNoTcp;  // index of its TcpConnection
  FlowKey key;
  ConnSummary sum;
  std::array<ConvDirection, 2> dir;
  bool in_use = false;
  bool closed = false;  // both FINs acknowledged, or a RST
  std::uint8_t history_len = 0;
  std::int64_t last_ts = 0;
};

struct TcpConnection {
  std::array<TcpEndpoint, 2> end;
  bool syn_seen = false, synack_seen = false, handshake_done = false;
  bool fin_any = false;
  int first_fin_side = -1;
  bool teardown2_seen = false, teardown4_seen = false;
  bool simultaneous = false;
  bool three_segment = false;
  bool rst_seen = false, refused = false;
  std::uint64_t rst_frame = 0;
  std::array<std::uint64_t, 4> teardown_frames{};  // frames of teardown 1..4 (0 = not seen)
  // The initial round trip, as Wireshark's tcp.analysis.initial_rtt: from the most recent SYN (a
  // re-sent SYN restarts it) to the first segment with ACK and without SYN; 0 until then.
  std::int64_t rtt_ns = 0;
  std::int64_t syn_ts = 0;
};

std::uint32_t rel(SeqNum v, SeqNum base) { return v.v - base.v; }

}  // namespace

struct Annotator::Impl {
  AnnotatorLimits limits;
  // key -> slot. The flat table (conv_index.hpp); std::unordered_map instead when the environment
  // sets SOCKSCOPE_SLOW_PATHS=1, so tests/perf can show that both give the same output.
  const bool slow_paths;
  ConvIndex index;
  std::unordered_map<FlowKey, std::uint32_t, FlowKeyHash> slow_index;
  BlockPool<Conv> slots;
  BlockPool<TcpConnection> tcps;
  std::uint32_t open = 0;
  std::vector<ConnSummary> finished;
  std::vector<std::uint32_t> victims;  // sweep's scratch, reused
  // finish_some(): the slots still to release, in order of id
  bool finishing = false;
  std::vector<std::uint32_t> closing;
  std::size_t closing_next = 0;
  std::uint32_t next_id = 1;
  std::int64_t last_sweep_ts = 0;
  std::uint64_t packets_since_sweep = 0;

  explicit Impl(AnnotatorLimits l) : limits(l), slow_paths(env_slow_paths()) {
    if (slow_paths) slow_index.reserve(1024);
  }

  static bool env_slow_paths() {
    const char* v = std::getenv("SOCKSCOPE_SLOW_PATHS");
    return v != nullptr && v[0] == '1' && v[1] == '\0';
  }

  // ---- conversation table -------------------------------------------------------------------

  // The slot of the conversation with this key, ConvIndex::kNone if none.
  std::uint32_t find(const FlowKey& key, std::uint64_t hash) const {
    if (slow_paths) {
      auto it = slow_index.find(key);
      return it == slow_index.end() ? ConvIndex::kNone : it->second;
    }
    return index.find(hash, [&](std::uint32_t slot) { return slots[slot].key == key; });
  }

  TcpConnection& tcp_of(Conv& c) { return tcps[c.tcp]; }
  const TcpConnection& tcp_of(const Conv& c) const { return tcps[c.tcp]; }

  Conv& new_conv(const FlowKey& key, std::uint64_t hash, Proto proto, const Endpoint& client,
                 const Endpoint& server, const Packet& p) {
    if (open >= limits.max_conversations) evict_oldest();
    const std::uint32_t slot = slots.acquire();
    Conv& c = slots[slot];
    if (proto == Proto::Tcp) c.tcp = tcps.acquire();
    c.in_use = true;
    c.id = next_id++;
    c.key = key;
    c.sum.conn = c.id;
    c.sum.proto = proto;
    c.sum.client = client;
    c.sum.server = server;
    c.sum.first_frame = p.frame;
    c.sum.first_ts = p.ts;
    if (slow_paths) slow_index.emplace(key, slot);
    else index.insert(hash, slot);
    ++open;
    return c;
  }

  void release(std::uint32_t slot) {
    Conv& c = slots[slot];
    finalize_summary(c);
    finished.push_back(c.sum);
    if (slow_paths) slow_index.erase(c.key);
    else index.erase(FlowKeyHash{}(c.key), slot);
    if (c.tcp != kNoTcp) tcps.release(c.tcp);
    c.tcp = kNoTcp;
    c.in_use = false;
    slots.release(slot);
    --open;
  }

  // Beyond max_conversations: the least recently active goes first (the oldest of those that tie).
  void evict_oldest() {
    std::uint32_t best = 0;
    bool found = false;
    for (std::uint32_t i = 0; i < slots.size(); ++i) {
      const Conv& c = slots[i];
      if (!c.in_use) continue;
      if (!found || c.last_ts < slots[best].last_ts ||
          (c.last_ts == slots[best].last_ts && c.id < slots[best].id))
        best = i, found = true;
    }
    if (found) release(best);
  }

  // Releases conversations that ended (closed and quiet) or went idle, judged by capture time.
  // Rare path (once per capture second or 65536 packets): a scan of the slots.
  void sweep(std::int64_t now) {
    victims.clear();
    for (std::uint32_t i = 0; i < slots.size(); ++i) {
      const Conv& c = slots[i];
      if (!c.in_use) continue;
      std::int64_t quiet = now - c.last_ts;
      std::int64_t idle = c.sum.proto == Proto::Udp ? limits.udp_idle_timeout_ns : limits.idle_timeout_ns;
      if ((c.closed && quiet > limits.closed_linger_ns) || quiet > idle) victims.push_back(i);
    }
    std::sort(victims.begin(), victims.end(),
              [this](std::uint32_t a, std::uint32_t b) { return slots[a].id < slots[b].id; });
    for (auto s : victims) release(s);
  }

  void maybe_sweep(std::int64_t now) {
    ++packets_since_sweep;
    if (now - last_sweep_ts >= 1'000'000'000LL || packets_since_sweep >= 65536) {
      if (last_sweep_ts != 0) sweep(now);
      last_sweep_ts = now;
      packets_since_sweep = 0;
    }
  }

  // ---- history (Zeek conn.log) --------------------------------------------------------------

  void add_letter(Conv& c, int side, char lower) {
    if (c.history_len + 1u >= c.sum.history.size()) return;
    char ch = side == kClient ? static_cast<char>(lower - 'a' + 'A') : lower;
    c.sum.history[c.history_len++] = ch;
    c.sum.history[c.history_len] = '\0';
  }
  // a, d, i, q: at most once per direction.
  void letter_once(Conv& c, int side, char l) {
    std::uint32_t bit = 1u << (l - 'a');
    if (c.dir[side].once_mask & bit) return;
    c.dir[side].once_mask |= bit;
    add_letter(c, side, l);
  }
  // f, h, r, s: again only with a new sequence number.
  void letter_seq(Conv& c, int side, char l, std::uint32_t seq) {
    int i = l == 'f' ? 0 : l == 'h' ? 1 : l == 'r' ? 2 : 3;
    TcpEndpoint& s = tcp_of(c).end[side];
    if ((s.seq_letter_mask & (1u << i)) && s.letter_seq[i] == seq) return;
    s.seq_letter_mask |= 1u << i;
    s.letter_seq[i] = seq;
    add_letter(c, side, l);
  }
  // c, g, t, w: first time, then at 10, 100, 1000 ... (log scale).
  void letter_count(Conv& c, int side, char l) {
    int i = l == 'c' ? 0 : l == 'g' ? 1 : l == 't' ? 2 : 3;
    std::uint32_t n = ++c.dir[side].letter_count[i];
    if (n == 1 || n == 10 || n == 100 || n == 1000 || n == 10000) add_letter(c, side, l);
  }

  // ---- summaries ----------------------------------------------------------------------------

  static void add_close_frame(ConnSummary& s, std::uint64_t f) {
    if (f == 0) return;
    for (std::uint8_t i = 0; i < s.close_frame_count; ++i)
      if (s.close_frames[i] == f) return;
    if (s.close_frame_count < s.close_frames.size()) s.close_frames[s.close_frame_count++] = f;
  }

  void finalize_summary(Conv& c) {
    ConnSummary& s = c.sum;
    s.client_state = s.server_state = TcpState::Unknown;  // no states without TCP
    if (s.proto == Proto::Udp) {
      s.conn_state = s.datagrams_s2c > 0 ? ConnState::SF : ConnState::S0;
      if (s.datagrams_c2s == 0) s.conn_state = ConnState::SHR;
      return;
    }
    if (s.proto != Proto::Tcp || c.tcp == kNoTcp) return;
    const TcpConnection& k = tcp_of(c);
    s.client_state = k.end[kClient].state;
    s.server_state = k.end[kServer].state;
    s.handshake_complete = k.handshake_done;
    // close kind and frames
    s.close_frame_count = 0;
    if (k.refused) {
      s.close = CloseKind::Refused;
      add_close_frame(s, k.rst_frame);
    } else if (k.rst_seen) {
      s.close = CloseKind::Rst;
      add_close_frame(s, k.rst_frame);
    } else if (k.fin_any) {
      bool both = k.end[kClient].fin_sent && k.end[kServer].fin_sent;
      if (!both) s.close = CloseKind::HalfClosed;
      else if (k.simultaneous) s.close = CloseKind::Simultaneous;
      else if (k.three_segment) s.close = CloseKind::Fin3;
      else s.close = CloseKind::Fin4;
      for (auto f : k.teardown_frames) add_close_frame(s, f);
    } else {
      s.close = CloseKind::Open;
    }
    // conn_state (Zeek)
    const TcpEndpoint& o = k.end[kClient];
    const TcpEndpoint& r = k.end[kServer];
    if (!k.syn_seen) {
      if (k.synack_seen && r.sent_rst) s.conn_state = ConnState::RSTRH;
      else if (k.synack_seen && r.fin_sent) s.conn_state = ConnState::SHR;
      else s.conn_state = ConnState::OTH;
    } else if (!k.synack_seen) {
      if (r.sent_rst) s.conn_state = ConnState::REJ;
      else if (o.sent_rst) s.conn_state = ConnState::RSTOS0;
      else if (o.fin_sent) s.conn_state = ConnState::SH;
      else s.conn_state = ConnState::S0;
    } else {
      if (o.sent_rst) s.conn_state = ConnState::RSTO;
      else if (r.sent_rst) s.conn_state = ConnState::RSTR;
      else if (o.fin_sent && r.fin_sent) s.conn_state = ConnState::SF;
      else if (o.fin_sent) s.conn_state = ConnState::S2;
      else if (r.fin_sent) s.conn_state = ConnState::S3;
      else s.conn_state = ConnState::S1;
    }
  }

  // ---- per packet ---------------------------------------------------------------------------

  Annotation annotate(const Packet& p) {
    Annotation a;
    std::int64_t now = p.ts.ns();
    maybe_sweep(now);

    if (p.error.status != DecodeStatus::Ok) a.events.add(Event::Malformed);
    if (p.ip.version == 4 && !p.ip.v4.checksum_ok) a.events.add(Event::ChecksumBad);  // IPv4 header
    if (p.ip.is_fragment) a.events.add(Event::IpFragment);
    if (p.ip.reassembled) {
      a.events.add(Event::Reassembled);
      a.fragment_count = p.ip.frag_count;
    }
    // A fragment that does not complete its datagram carries no usable transport header.
    bool whole = !p.ip.is_fragment || p.ip.reassembled;
    if (p.transport == Transport::Arp) a.proto = Proto::Arp;

    if (p.error.status == DecodeStatus::Ok && whole) {
      if (p.transport == Transport::Tcp) {
        tcp(p, a, now);
      } else if (p.transport == Transport::Udp) {
        udp(p, a, now);
      } else if (p.transport == Transport::Icmp) {
        icmp(p, a);
      }
    } else if (p.transport == Transport::Tcp || p.ip.proto == 6) {
      a.proto = Proto::Tcp;
    } else if (p.transport == Transport::Udp || p.ip.proto == 17) {
      a.proto = Proto::Udp;
    } else if (p.transport == Transport::Icmp || p.ip.proto == 1 || p.ip.proto == 58) {
      a.proto = Proto::Icmp;
    }
    return a;
  }

  void note_checksum(const Packet& p, Annotation& a, Conv& c, int side) {
    if (p.transport_checksum_checked && !p.transport_checksum_ok && !p.transport_checksum_partial) {
      a.events.add(Event::ChecksumBad);
      // Outgoing packets on Linux cooked captures: the NIC fills the checksum in after the capture.
      a.checksum_offload_likely = (p.link.kind == LinkKind::Sll || p.link.kind == LinkKind::Sll2) &&
                                  p.link.sll_pkttype == 4;
      letter_count(c, side, 'c');
    }
  }

  static void remember_ipid(ConvDirection& s, const Packet& p) {
    if (p.ip.version != 4) return;
    s.ipids[s.ipid_head] = {p.ip.v4.id, p.frame};
    s.ipid_head = static_cast<std::uint8_t>((s.ipid_head + 1) % kIpIdRing);
  }

  // ---- UDP (RFC 768): no connection; a conversation is the pair of endpoints ------------------

  void udp(const Packet& p, Annotation& a, std::int64_t now) {
    a.proto = Proto::Udp;
    const FlowKey key = make_key(p.ip.src, p.udp.sport, p.ip.dst, p.udp.dport, 17);
    const std::uint64_t hash = FlowKeyHash{}(key);
    const std::uint32_t slot = find(key, hash);
    Conv* c;
    if (slot == ConvIndex::kNone) {
      c = &new_conv(key, hash, Proto::Udp, Endpoint{p.ip.src, p.udp.sport}, Endpoint{p.ip.dst, p.udp.dport}, p);
    } else {
      c = &slots[slot];
    }
    int side = (c->sum.client.ip == p.ip.src && c->sum.client.port == p.udp.sport) ? kClient : kServer;
    a.conn = c->id;
    a.dir = side == kClient ? Direction::C2S : Direction::S2C;
    a.events.add(Event::Datagram);
    a.datagram_index = side == kClient ? ++c->sum.datagrams_c2s : ++c->sum.datagrams_s2c;
    (side == kClient ? c->sum.bytes_c2s : c->sum.bytes_s2c) += p.payload_len;
    c->sum.packets++;
    c->sum.last_frame = p.frame;
    c->sum.last_ts = p.ts;
    c->last_ts = now;
    letter_once(*c, side, 'd');
    note_checksum(p, a, *c, side);
    remember_ipid(c->dir[side], p);
    c->dir[side].last_frame = p.frame;
  }

  // ---- ICMP: tie an unreachable to the datagram it quotes ------------------------------------

  void icmp(const Packet& p, Annotation& a) {
    a.proto = Proto::Icmp;
    if (!p.icmp.unreachable) return;
    a.events.add(Event::IcmpUnreachable);
    if (!p.icmp.has_quote || !p.icmp.quoted_ports) return;
    std::uint8_t proto = p.icmp.quoted_proto;
    if (proto != 6 && proto != 17) return;
    const FlowKey key = make_key(p.icmp.quoted_src, p.icmp.quoted_sport, p.icmp.quoted_dst, p.icmp.quoted_dport, proto);
    const std::uint32_t slot = find(key, FlowKeyHash{}(key));
    if (slot == ConvIndex::kNone) return;
    const Conv& c = slots[slot];
    int side = (c.sum.client.ip == p.icmp.quoted_src && c.sum.client.port == p.icmp.quoted_sport) ? kClient : kServer;
    const ConvDirection& s = c.dir[side];
    a.quotes_conn = c.id;
    a.quotes_frame = s.last_frame;
    if (p.icmp.quoted_src.family == 4) {
      for (const auto& e : s.ipids)
        if (e.frame != 0 && e.ip_id == p.icmp.quoted_ip_id) a.quotes_frame = e.frame;
    }
  }

  // ---- TCP ----------------------------------------------------------------------------------

  static void push_seg(TcpEndpoint& s, SeqNum seq, SeqNum end, std::uint64_t frame, std::int64_t ts, std::uint32_t payload) {
    s.segs[s.seg_head] = SentSeg{seq, end, frame, ts, payload};
    s.seg_head = static_cast<std::uint8_t>((s.seg_head + 1) % kSegRing);
    if (s.seg_count < kSegRing) ++s.seg_count;
  }

  // The earliest remembered segment that carried sequence number `seq`.
  static const SentSeg* find_seg(const TcpEndpoint& s, SeqNum seq) {
    const SentSeg* best = nullptr;
    for (std::uint8_t i = 0; i < s.seg_count; ++i) {
      const SentSeg& g = s.segs[i];
      if (g.frame == 0) continue;
      if (g.seq <= seq && seq < g.end && (!best || g.frame < best->frame)) best = &g;
    }
    return best;
  }

  static std::uint32_t scaled_window(const TcpConnection& k, int side, std::uint16_t raw, bool syn) {
    const TcpEndpoint& s = k.end[side];
    const TcpEndpoint& o = k.end[1 - side];
    // RFC 7323 2.2: the window field of a SYN is never scaled; the scale applies only when both sent it.
    if (!syn && s.wscale_offered && o.wscale_offered) return std::uint32_t{raw} << std::min<std::uint8_t>(s.wscale, 14);
    return raw;
  }

  Conv& tcp_conv(const Packet& p, Annotation& a) {
    const TcpInfo& t = p.tcp;
    const FlowKey key = make_key(p.ip.src, t.sport, p.ip.dst, t.dport, 6);
    const std::uint64_t hash = FlowKeyHash{}(key);
    const std::uint32_t slot = find(key, hash);
    bool syn_only = t.has(tcpflag::kSyn) && !t.has(tcpflag::kAck);
    if (slot != ConvIndex::kNone) {
      Conv& c = slots[slot];
      const TcpConnection& k = tcp_of(c);
      // A new SYN with another ISN on a known 4-tuple: the old connection is over, the ports are reused.
      const TcpEndpoint& cs = k.end[kClient];
      bool new_isn = !cs.isn_known || cs.base.v != t.seq;
      bool midstream = !cs.isn_known && !k.end[kServer].isn_known;
      if (syn_only && new_isn && (c.closed || k.fin_any || k.rst_seen || k.handshake_done || midstream)) {
        release(slot);
        a.events.add(Event::PortReuse);
      } else {
        return c;
      }
    }
    Endpoint src{p.ip.src, t.sport}, dst{p.ip.dst, t.dport};
    Endpoint client = src, server = dst;
    if (t.has(tcpflag::kSyn) && t.has(tcpflag::kAck)) {
      client = dst, server = src;  // we missed the SYN: the SYN-ACK comes from the server
    } else if (!t.has(tcpflag::kSyn)) {
      // Mid-stream: guess the server is the side on a well-known (lower) port.
      if (t.sport < 1024 && t.dport >= 1024) client = dst, server = src;
    }
    return new_conv(key, hash, Proto::Tcp, client, server, p);
  }

  // One TCP segment and what the analysis steps share about it: the segment's fields, its direction
  // and the two endpoints' state (the sender's and the receiver's).
  struct Segment {
    const Packet& p;
    const TcpInfo& t;
    Annotation& a;
    Conv& conv;
    TcpConnection& tcp;
    int from, to;  // kClient or kServer
    TcpEndpoint& sender;
    TcpEndpoint& receiver;
    bool syn, fin, rst, has_ack;
    std::uint32_t payload;
    std::uint32_t seg_len;  // sequence space used: payload, +1 for SYN, +1 for FIN
    SeqNum seq, ack;
    std::int64_t now;
    TcpState sender_state_before;
  };

  // What the sequence analysis found, for the steps after it.
  struct SequenceVerdict {
    bool keepalive = false;
    bool retransmission = false;
  };

  // The steps, in Wireshark's order (tcp_analyze_sequence_number), then RFC 9293's connection
  // tracking; each history letter is added by the step that sees it, so the letters keep their order.
  void tcp(const Packet& p, Annotation& a, std::int64_t now) {
    a.proto = Proto::Tcp;
    Conv& conv = tcp_conv(p, a);
    Segment seg = make_segment(p, a, conv, now);
    count_packet(seg);
    number_sequence(seg);
    const SequenceVerdict verdict = analyse_sequence(seg);
    analyse_window(seg);
    analyse_ack(seg);
    measure_initial_rtt(seg);
    track_handshake(seg);
    note_data(seg, verdict);
    track_teardown(seg);
    track_reset(seg);
    note_checksum(p, a, conv, seg.from);
    remember_sent(seg, verdict);
  }

  Segment make_segment(const Packet& p, Annotation& a, Conv& conv, std::int64_t now) {
    const TcpInfo& t = p.tcp;
    TcpConnection& tcp = tcp_of(conv);
    const int from = (conv.sum.client.ip == p.ip.src && conv.sum.client.port == t.sport) ? kClient : kServer;
    const bool syn = t.has(tcpflag::kSyn), fin = t.has(tcpflag::kFin);
    return Segment{p, t, a, conv, tcp, from, 1 - from, tcp.end[from], tcp.end[1 - from],
                   syn, fin, t.has(tcpflag::kRst), t.has(tcpflag::kAck),
                   p.payload_len, p.payload_len + (syn ? 1u : 0u) + (fin ? 1u : 0u),
                   SeqNum(t.seq), SeqNum(t.ack), now, tcp.end[from].state};
  }

  void count_packet(Segment& g) {
    g.a.conn = g.conv.id;
    g.a.dir = g.from == kClient ? Direction::C2S : Direction::S2C;
    g.a.seg_len = g.seg_len;
    g.conv.sum.packets++;
    g.conv.sum.last_frame = g.p.frame;
    g.conv.sum.last_ts = g.p.ts;
    g.conv.last_ts = g.now;
  }

  // Relative numbers (RFC 9293 3.4: the ISN is the SYN's sequence number) and the scaled window.
  void number_sequence(Segment& g) {
    TcpEndpoint& s = g.sender;
    TcpEndpoint& r = g.receiver;
    if (g.syn && !s.isn_known) {
      s.isn_known = true;
      s.base_set = true;
      s.base = g.seq;
      if (g.t.has_wscale) s.wscale_offered = true, s.wscale = g.t.wscale;
    }
    if (!s.base_set) {
      s.base_set = true;
      s.base = g.seq - 1;  // mid-stream: the first byte seen is byte 1, as in Wireshark
    }
    if (g.has_ack && !r.base_set) {
      r.base_set = true;
      r.base = g.ack - 1;
    }
    Annotation& a = g.a;
    const TcpEndpoint& client = g.tcp.end[kClient];
    const TcpEndpoint& server = g.tcp.end[kServer];
    a.has_rel = true;
    a.rel_seq = rel(g.seq, s.base);
    a.rel_ack = g.has_ack ? rel(g.ack, r.base) : 0;
    a.isn_client = client.base.v;
    a.isn_server = server.base.v;
    a.isn_client_known = client.isn_known;
    a.isn_server_known = server.isn_known;
    a.window = scaled_window(g.tcp, g.from, g.t.window, g.syn);
  }

  // Keep-alive, zero-window probe, lost segment, then the retransmission family.
  SequenceVerdict analyse_sequence(Segment& g) {
    SequenceVerdict v;
    const TcpEndpoint& s = g.sender;
    const TcpEndpoint& r = g.receiver;
    Annotation& a = g.a;
    if (s.next_known && !g.syn && !g.fin && !g.rst && g.payload <= 1 && g.seq == s.next - 1) {
      v.keepalive = true;
      a.events.add(Event::Keepalive);
    }
    if (!v.keepalive && s.next_known && !g.syn && !g.rst && g.payload == 1 && g.seq == s.next &&
        r.win_known && r.last_win_raw == 0)
      a.events.add(Event::ZeroWindowProbe);
    if (s.next_known && !g.rst && g.seq > s.next) {
      a.events.add(Event::LostSegment);
      letter_count(g.conv, g.from, 'g');
    }
    const bool sends_old_space = (g.payload > 0 || g.syn || g.fin) && g.seq < s.next;
    if (v.keepalive || !s.next_known || !sends_old_space) return v;

    if (const SentSeg* orig = find_seg(s, g.seq)) {
      a.original_frame = orig->frame;
      a.since_original_ns = g.now - orig->ts;
    }
    const std::int64_t ooo_threshold = g.tcp.rtt_ns > 0 ? g.tcp.rtt_ns : kOutOfOrderThresholdNs;
    if (r.dup_acks >= 2 && r.ack_known && r.last_ack == g.seq &&
        g.now - r.last_ack_ts < kFastRetransmitWindowNs) {
      a.events.add(Event::FastRetransmission);
      v.retransmission = true;
    } else if (g.now - s.next_ts < ooo_threshold && g.seq + g.seg_len != s.next) {
      a.events.add(Event::OutOfOrder);
    } else if (g.payload > 0 && r.ack_known && g.seq + g.seg_len <= r.last_ack) {
      a.events.add(Event::SpuriousRetransmission);
      v.retransmission = true;
    } else {
      v.retransmission = true;
    }
    if (v.retransmission) {
      a.events.add(Event::Retransmission);
      g.conv.sum.retransmissions++;
      if (g.payload > 0) letter_count(g.conv, g.from, 't');
    }
    return v;
  }

  // Zero window (the sender's own) and window full (the receiver's last advertised window).
  void analyse_window(Segment& g) {
    if (g.t.window == 0 && !g.syn && !g.fin && !g.rst) {
      g.a.events.add(Event::ZeroWindow);
      letter_count(g.conv, g.from, 'w');
    }
    const TcpEndpoint& r = g.receiver;
    if (g.payload > 0 && r.win_known && r.ack_known && !g.syn && !g.rst) {
      const std::uint32_t rwin = scaled_window(g.tcp, g.to, static_cast<std::uint16_t>(r.last_win_raw), false);
      if (rwin > 0 && g.seq + g.payload == r.last_ack + rwin) g.a.events.add(Event::WindowFull);
    }
  }

  // A repeated ACK (dup-ack, window update or keep-alive ACK), an ACK of unseen bytes, the bytes and
  // frames newly acknowledged; then the sender's last ACK and window are remembered.
  void analyse_ack(Segment& g) {
    TcpEndpoint& s = g.sender;
    const TcpEndpoint& r = g.receiver;
    Annotation& a = g.a;
    if (g.rst) return;
    if (!g.has_ack) {
      s.last_win_raw = g.t.window;
      s.win_known = true;
      return;
    }
    // Wireshark: same ack, same non-zero window, no payload, seq == nextseq, no SYN/FIN/RST.
    const bool pure = g.payload == 0 && !g.syn && !g.fin;
    if (s.ack_known && g.ack == s.last_ack && pure && g.t.window != 0 && s.next_known && g.seq == s.next) {
      if (g.t.window != s.last_win_raw) {
        a.events.add(Event::WindowUpdate);
      } else if (r.last_was_keepalive) {
        a.events.add(Event::KeepaliveAck);
      } else {
        ++s.dup_acks;
        a.events.add(Event::DupAck);
        a.dup_ack_of = s.last_ack_frame;
        a.dup_ack_count = s.dup_acks;
        g.conv.sum.dup_acks++;
      }
    }
    if (r.next_known && g.ack > r.next && !(r.fin_sent && g.ack == r.next + 1)) a.events.add(Event::AckUnseen);
    if (!s.ack_known || g.ack > s.last_ack) {
      note_newly_acked(g);
      s.ack_known = true;
      s.last_ack = g.ack;
      s.last_ack_frame = g.p.frame;
      s.dup_acks = 0;
    }
    s.last_win_raw = g.t.window;
    s.win_known = true;
    s.last_ack_ts = g.now;
  }

  // The new bytes this ACK covers, [previous ack, ack): which are data (not the SYN, not the FIN, not
  // bytes the capture never saw sent), and the frames that carried them.
  static void note_newly_acked(Segment& g) {
    const TcpEndpoint& s = g.sender;
    const TcpEndpoint& r = g.receiver;
    Annotation& a = g.a;
    SeqNum first = s.ack_known ? s.last_ack : r.base;
    if (r.isn_known && first <= r.base) {
      if (g.ack > r.base) a.acks_syn = true;
      first = r.base + 1;
    }
    SeqNum last_excl = g.ack;
    if (r.fin_sent && g.ack > r.fin_seq) {
      a.acks_fin = true;
      if (last_excl > r.fin_seq) last_excl = r.fin_seq;
    }
    if (r.next_known && last_excl > r.next) last_excl = r.next;
    if (!s.ack_known || !(first < last_excl)) return;
    a.events.add(Event::Ack);
    a.acked_first = rel(first, r.base);
    a.acked_last = rel(last_excl, r.base) - 1;
    std::array<std::uint64_t, kSegRing> frames{};
    std::size_t n = 0;
    for (std::uint8_t i = 0; i < r.seg_count; ++i) {
      const SentSeg& sent = r.segs[i];
      if (sent.frame == 0 || sent.payload == 0) continue;
      if (sent.seq < last_excl && first < sent.seq + sent.payload) frames[n++] = sent.frame;
    }
    const auto begin = frames.begin(), end = frames.begin() + static_cast<std::ptrdiff_t>(n);
    std::sort(begin, end);
    n = static_cast<std::size_t>(std::unique(begin, end) - begin);
    for (std::size_t i = 0; i < n; ++i) {
      if (a.acked_frame_count < a.acked_frames.size()) a.acked_frames[a.acked_frame_count++] = frames[i];
      else a.acked_frames_more = true;
    }
  }

  // Wireshark's tcp.analysis.initial_rtt: from the latest SYN to the first ACK without SYN.
  static void measure_initial_rtt(Segment& g) {
    if (g.has_ack && !g.syn && g.tcp.syn_seen && g.tcp.rtt_ns == 0) g.tcp.rtt_ns = g.now - g.tcp.syn_ts;
  }

  // RFC 9293 3.5: SYN, SYN-ACK, the ACK of the SYN-ACK; or an endpoint seen mid-stream.
  void track_handshake(Segment& g) {
    TcpConnection& tcp = g.tcp;
    TcpEndpoint& s = g.sender;
    TcpEndpoint& r = g.receiver;
    ConnSummary& sum = g.conv.sum;
    if (g.syn && !g.has_ack) {
      g.a.events.add(Event::Handshake1);
      tcp.syn_ts = g.now;
      tcp.syn_seen = true;
      s.sent_syn = true;
      letter_seq(g.conv, g.from, 's', g.t.seq);
      if (g.fin || g.rst) letter_once(g.conv, g.from, 'q');
      s.state = TcpState::SynSent;
      if (r.state == TcpState::Unknown) r.state = TcpState::Listen;
      if (sum.handshake_frame_count == 0) sum.handshake_frames[sum.handshake_frame_count++] = g.p.frame;
    } else if (g.syn) {
      g.a.events.add(Event::Handshake2);
      tcp.synack_seen = true;
      s.sent_synack = true;
      letter_seq(g.conv, g.from, 'h', g.t.seq);
      if (g.fin || g.rst) letter_once(g.conv, g.from, 'q');
      s.state = TcpState::SynReceived;
      if (r.state == TcpState::SynSent || r.state == TcpState::Unknown) r.state = TcpState::Established;
      if (sum.handshake_frame_count == 1) sum.handshake_frames[sum.handshake_frame_count++] = g.p.frame;
    } else if (g.has_ack && !g.rst && !tcp.handshake_done && tcp.synack_seen && g.from == kClient &&
               tcp.end[kServer].isn_known && g.ack == tcp.end[kServer].base + 1) {
      g.a.events.add(Event::Handshake3);
      tcp.handshake_done = true;
      s.state = TcpState::Established;
      if (r.state == TcpState::SynReceived || r.state == TcpState::Unknown) r.state = TcpState::Established;
      if (sum.handshake_frame_count == 2) sum.handshake_frames[sum.handshake_frame_count++] = g.p.frame;
    } else if (!g.rst && g.has_ack && s.state == TcpState::Unknown) {
      s.state = TcpState::Established;  // mid-stream: an endpoint that sends ACKs is synchronised
      if (r.state == TcpState::Unknown) r.state = TcpState::Established;
    }
  }

  // Payload bytes, a half-close (RFC 9293 3.6: data after the peer's FIN), and the a/d/i letters.
  void note_data(Segment& g, const SequenceVerdict& v) {
    Annotation& a = g.a;
    if (g.payload > 0) {
      a.events.add(Event::Data);
      a.data_first = a.rel_seq + (g.syn ? 1u : 0u);
      a.data_last = a.data_first + g.payload - 1;
      (g.from == kClient ? g.conv.sum.bytes_c2s : g.conv.sum.bytes_s2c) += g.payload;
      letter_once(g.conv, g.from, 'd');
      if (g.receiver.fin_sent && !g.sender.fin_sent && !v.retransmission) a.events.add(Event::HalfClose);
    } else if (g.has_ack && !g.syn && !g.fin && !g.rst) {
      letter_once(g.conv, g.from, 'a');
    }
    if (g.fin && g.rst) letter_once(g.conv, g.from, 'i');  // Zeek: inconsistent flags
  }

  // RFC 9293 3.6: the sender's first FIN (teardown 1 or 3, with 2 when it carries the ACK of the
  // peer's FIN), or an ACK of the peer's FIN (teardown 2 or 4).
  void track_teardown(Segment& g) {
    const TcpEndpoint& r = g.receiver;
    const bool acks_peer_fin = g.has_ack && !g.rst && r.fin_sent && !r.fin_acked && g.ack > r.fin_seq;
    if (g.fin && !g.rst && !g.sender.fin_sent) {
      send_fin(g, acks_peer_fin);
    } else if (acks_peer_fin) {
      ack_peer_fin(g);
    }
  }

  void send_fin(Segment& g, bool acks_peer_fin) {
    TcpConnection& tcp = g.tcp;
    TcpEndpoint& s = g.sender;
    TcpEndpoint& r = g.receiver;
    Annotation& a = g.a;
    s.fin_sent = true;
    s.fin_seq = g.seq + g.payload + (g.syn ? 1u : 0u);
    s.fin_frame = g.p.frame;
    letter_seq(g.conv, g.from, 'f', g.t.seq);
    if (!tcp.fin_any) {
      tcp.fin_any = true;
      tcp.first_fin_side = g.from;
      a.events.add(Event::Teardown1);
      tcp.teardown_frames[0] = g.p.frame;
      s.state = TcpState::FinWait1;
      r.state = TcpState::CloseWait;
      return;
    }
    a.events.add(Event::Teardown3);
    tcp.teardown_frames[2] = g.p.frame;
    if (acks_peer_fin && !tcp.teardown2_seen) {
      // The ACK of the first FIN rides on the second FIN: the three-segment close.
      a.events.add(Event::Teardown2);
      a.fin_carries_ack = true;
      tcp.teardown2_seen = true;
      tcp.three_segment = true;
      tcp.teardown_frames[1] = g.p.frame;
      r.fin_acked = true;
      s.state = TcpState::LastAck;
      r.state = TcpState::TimeWait;
    } else if (!r.fin_acked && !acks_peer_fin) {
      // Both FINs were sent before either was acknowledged.
      a.events.add(Event::SimultaneousClose);
      tcp.simultaneous = true;
      s.state = TcpState::Closing;
      r.state = TcpState::Closing;
    } else {
      s.state = TcpState::LastAck;
      r.state = r.fin_acked ? TcpState::TimeWait : TcpState::Closing;
    }
  }

  void ack_peer_fin(Segment& g) {
    TcpConnection& tcp = g.tcp;
    TcpEndpoint& s = g.sender;
    TcpEndpoint& r = g.receiver;
    r.fin_acked = true;
    if (g.to == tcp.first_fin_side && !tcp.teardown2_seen) {
      g.a.events.add(Event::Teardown2);
      tcp.teardown2_seen = true;
      tcp.teardown_frames[1] = g.p.frame;
      if (r.state == TcpState::FinWait1) r.state = TcpState::FinWait2;
      if (r.state == TcpState::Closing) r.state = TcpState::TimeWait;
    } else if (!tcp.teardown4_seen) {
      g.a.events.add(Event::Teardown4);
      tcp.teardown4_seen = true;
      tcp.teardown_frames[3] = g.p.frame;
      r.state = r.state == TcpState::Closing ? TcpState::TimeWait : TcpState::Closed;
      if (s.state == TcpState::FinWait2 || s.state == TcpState::FinWait1) s.state = TcpState::TimeWait;
    }
    if (tcp.end[kClient].fin_acked && tcp.end[kServer].fin_acked) g.conv.closed = true;
  }

  // RFC 9293 3.5.2: a RST that answers the SYN refuses the connection; any other aborts it.
  void track_reset(Segment& g) {
    if (!g.rst) return;
    TcpConnection& tcp = g.tcp;
    g.a.events.add(Event::Rst);
    g.a.rst_sender_state = g.sender_state_before;
    letter_seq(g.conv, g.from, 'r', g.t.seq);
    g.sender.sent_rst = true;
    if (tcp.syn_seen && !tcp.synack_seen && g.from == kServer && !tcp.rst_seen) {
      g.a.events.add(Event::Refused);
      tcp.refused = true;
    } else {
      g.a.events.add(Event::Abort);
    }
    if (!tcp.rst_seen) tcp.rst_frame = g.p.frame;
    tcp.rst_seen = true;
    g.conv.closed = true;
    g.sender.state = TcpState::Closed;
    g.receiver.state = TcpState::Closed;
  }

  // The sender's next expected sequence number and its ring of sent segments; the states after.
  static void remember_sent(Segment& g, const SequenceVerdict& v) {
    TcpEndpoint& s = g.sender;
    if (g.seg_len > 0 && !g.rst) {
      const SeqNum end = g.seq + g.seg_len;
      // As in Wireshark, a zero-window probe's byte does not move the next expected number: the
      // receiver has no room for it, so the sender will send it again.
      const bool probe = g.a.events.has(Event::ZeroWindowProbe);
      if ((!s.next_known || end > s.next) && !probe) {
        s.next = end;
        s.next_ts = g.now;
        s.next_known = true;
      }
      push_seg(s, g.seq, end, g.p.frame, g.now, g.payload);
    } else if (!s.next_known && !g.rst) {
      s.next = g.seq;
      s.next_ts = g.now;
      s.next_known = true;
    }
    s.last_was_keepalive = v.keepalive;
    g.conv.dir[g.from].last_frame = g.p.frame;
    remember_ipid(g.conv.dir[g.from], g.p);
    g.a.client_state = g.tcp.end[kClient].state;
    g.a.server_state = g.tcp.end[kServer].state;
  }
};

Annotator::Annotator(AnnotatorLimits limits) : impl_(std::make_unique<Impl>(limits)) {}
Annotator::~Annotator() = default;

Annotation Annotator::annotate(const Packet& p) { return impl_->annotate(p); }

void Annotator::take_finished(std::vector<ConnSummary>& out) {
  out.insert(out.end(), impl_->finished.begin(), impl_->finished.end());
  impl_->finished.clear();
}

void Annotator::finish(std::vector<ConnSummary>& out) {
  while (finish_some(out, static_cast<std::size_t>(-1))) {
  }
}

bool Annotator::finish_some(std::vector<ConnSummary>& out, std::size_t max) {
  Impl& m = *impl_;
  if (!m.finishing) {
    // The open conversations in order of id, once; then released a step at a time.
    m.finishing = true;
    m.closing.clear();
    m.closing_next = 0;
    for (std::uint32_t i = 0; i < m.slots.size(); ++i)
      if (m.slots[i].in_use) m.closing.push_back(i);
    std::sort(m.closing.begin(), m.closing.end(),
              [&m](std::uint32_t a, std::uint32_t b) { return m.slots[a].id < m.slots[b].id; });
  }
  for (std::size_t n = 0; n < max && m.closing_next < m.closing.size(); ++n)
    m.release(m.closing[m.closing_next++]);
  take_finished(out);
  if (m.closing_next < m.closing.size()) return true;
  m.finishing = false;
  m.closing.clear();
  return false;
}

std::size_t Annotator::open_conversations() const { return impl_->open; }

std::uint32_t Annotator::conversation_of(Proto proto, const Endpoint& a, const Endpoint& b) const {
  if (proto != Proto::Tcp && proto != Proto::Udp) return 0;
  const FlowKey key = make_key(a.ip, a.port, b.ip, b.port, proto == Proto::Tcp ? 6 : 17);
  const std::uint32_t slot = impl_->find(key, FlowKeyHash{}(key));
  return slot == ConvIndex::kNone ? 0 : impl_->slots[slot].id;
}

}  // namespace sockscope
