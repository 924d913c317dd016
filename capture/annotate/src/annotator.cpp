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
struct End {
  std::uint64_t last_frame = 0;
  // The last IPv4 ids sent, to find the datagram an ICMP error quotes.
  std::array<IpIdFrame, kIpIdRing> ipids{};
  std::uint8_t ipid_head = 0;
  // History bookkeeping (Zeek): letters seen once, and the counted letters c g t w.
  std::uint32_t once_mask = 0;
  std::array<std::uint32_t, 4> letter_count{};
};

// TCP only, per direction.
struct Side {
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

// One conversation. TCP's state (two Sides and the connection's progress, about 1 KiB) lives apart in
// a TcpConv, so a UDP conversation, which has no end on the wire and is held until it idles out,
// costs only this (about 0.5 KiB).
struct Conv {
  std::uint32_t id = 0;
  std::uint32_t tcp = kNoTcp;  // index of its TcpConv
  FlowKey key;
  ConnSummary sum;
  std::array<End, 2> end;
  bool in_use = false;
  bool closed = false;  // both FINs acknowledged, or a RST
  std::uint8_t history_len = 0;
  std::int64_t last_ts = 0;
};

struct TcpConv {
  std::array<Side, 2> side;
  bool syn_seen = false, synack_seen = false, handshake_done = false;
  bool fin_any = false;
  int first_fin_side = -1;
  bool td2_done = false, td3_done = false, td4_done = false;
  bool simultaneous = false;
  bool three_segment = false;
  bool rst_seen = false, refused = false;
  std::uint64_t rst_frame = 0;
  std::array<std::uint64_t, 4> td_frames{};  // frames of teardown 1..4 (0 = not seen)
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
  BlockPool<TcpConv> tcps;
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

  TcpConv& tcp_of(Conv& c) { return tcps[c.tcp]; }
  const TcpConv& tcp_of(const Conv& c) const { return tcps[c.tcp]; }

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
    if (c.end[side].once_mask & bit) return;
    c.end[side].once_mask |= bit;
    add_letter(c, side, l);
  }
  // f, h, r, s: again only with a new sequence number.
  void letter_seq(Conv& c, int side, char l, std::uint32_t seq) {
    int i = l == 'f' ? 0 : l == 'h' ? 1 : l == 'r' ? 2 : 3;
    Side& s = tcp_of(c).side[side];
    if ((s.seq_letter_mask & (1u << i)) && s.letter_seq[i] == seq) return;
    s.seq_letter_mask |= 1u << i;
    s.letter_seq[i] = seq;
    add_letter(c, side, l);
  }
  // c, g, t, w: first time, then at 10, 100, 1000 ... (log scale).
  void letter_count(Conv& c, int side, char l) {
    int i = l == 'c' ? 0 : l == 'g' ? 1 : l == 't' ? 2 : 3;
    std::uint32_t n = ++c.end[side].letter_count[i];
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
    const TcpConv& k = tcp_of(c);
    s.client_state = k.side[kClient].state;
    s.server_state = k.side[kServer].state;
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
      bool both = k.side[kClient].fin_sent && k.side[kServer].fin_sent;
      if (!both) s.close = CloseKind::HalfClosed;
      else if (k.simultaneous) s.close = CloseKind::Simultaneous;
      else if (k.three_segment) s.close = CloseKind::Fin3;
      else s.close = CloseKind::Fin4;
      for (auto f : k.td_frames) add_close_frame(s, f);
    } else {
      s.close = CloseKind::Open;
    }
    // conn_state (Zeek)
    const Side& o = k.side[kClient];
    const Side& r = k.side[kServer];
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

  static void remember_ipid(End& s, const Packet& p) {
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
    remember_ipid(c->end[side], p);
    c->end[side].last_frame = p.frame;
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
    const End& s = c.end[side];
    a.quotes_conn = c.id;
    a.quotes_frame = s.last_frame;
    if (p.icmp.quoted_src.family == 4) {
      for (const auto& e : s.ipids)
        if (e.frame != 0 && e.ip_id == p.icmp.quoted_ip_id) a.quotes_frame = e.frame;
    }
  }

  // ---- TCP ----------------------------------------------------------------------------------

  static void push_seg(Side& s, SeqNum seq, SeqNum end, std::uint64_t frame, std::int64_t ts, std::uint32_t payload) {
    s.segs[s.seg_head] = SentSeg{seq, end, frame, ts, payload};
    s.seg_head = static_cast<std::uint8_t>((s.seg_head + 1) % kSegRing);
    if (s.seg_count < kSegRing) ++s.seg_count;
  }

  // The earliest remembered segment that carried sequence number `seq`.
  static const SentSeg* find_seg(const Side& s, SeqNum seq) {
    const SentSeg* best = nullptr;
    for (std::uint8_t i = 0; i < s.seg_count; ++i) {
      const SentSeg& g = s.segs[i];
      if (g.frame == 0) continue;
      if (g.seq <= seq && seq < g.end && (!best || g.frame < best->frame)) best = &g;
    }
    return best;
  }

  static std::uint32_t scaled_window(const TcpConv& k, int side, std::uint16_t raw, bool syn) {
    const Side& s = k.side[side];
    const Side& o = k.side[1 - side];
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
      const TcpConv& k = tcp_of(c);
      // A new SYN with another ISN on a known 4-tuple: the old connection is over, the ports are reused.
      const Side& cs = k.side[kClient];
      bool new_isn = !cs.isn_known || cs.base.v != t.seq;
      bool midstream = !cs.isn_known && !k.side[kServer].isn_known;
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

  void tcp(const Packet& p, Annotation& a, std::int64_t now) {
    a.proto = Proto::Tcp;
    const TcpInfo& t = p.tcp;
    Conv& c = tcp_conv(p, a);
    TcpConv& k = tcp_of(c);
    const int si = (c.sum.client.ip == p.ip.src && c.sum.client.port == t.sport) ? kClient : kServer;
    const int ri = 1 - si;
    Side& s = k.side[si];
    Side& r = k.side[ri];
    a.conn = c.id;
    a.dir = si == kClient ? Direction::C2S : Direction::S2C;

    const bool syn = t.has(tcpflag::kSyn), fin = t.has(tcpflag::kFin), rst = t.has(tcpflag::kRst);
    const bool ackf = t.has(tcpflag::kAck);
    const std::uint32_t payload = p.payload_len;
    const std::uint32_t seg_len = payload + (syn ? 1u : 0u) + (fin ? 1u : 0u);
    const SeqNum seq(t.seq), ack(t.ack);
    a.seg_len = seg_len;

    c.sum.packets++;
    c.sum.last_frame = p.frame;
    c.sum.last_ts = p.ts;
    c.last_ts = now;

    // Relative numbering bases (RFC 9293 3.4: the ISN is the SYN's sequence number).
    if (syn && !s.isn_known) {
      s.isn_known = true;
      s.base_set = true;
      s.base = seq;
      if (t.has_wscale) s.wscale_offered = true, s.wscale = t.wscale;
    }
    if (!s.base_set) {
      s.base_set = true;
      s.base = seq - 1;  // mid-stream: number this side's first byte seen as 1, as Wireshark does
    }
    if (ackf && !r.base_set) {
      r.base_set = true;
      r.base = ack - 1;
    }
    a.has_rel = true;
    a.rel_seq = rel(seq, s.base);
    a.rel_ack = ackf ? rel(ack, r.base) : 0;
    a.isn_client = k.side[kClient].base.v;
    a.isn_server = k.side[kServer].base.v;
    a.isn_client_known = k.side[kClient].isn_known;
    a.isn_server_known = k.side[kServer].isn_known;
    a.window = scaled_window(k, si, t.window, syn);

    const TcpState s_before = s.state;

    // ---- sequence analysis (Wireshark's order: keep-alive, lost, retransmission family) ----
    bool keepalive = false, retrans = false;
    if (s.next_known && !syn && !fin && !rst && payload <= 1 && seq == s.next - 1) {
      keepalive = true;
      a.events.add(Event::Keepalive);
    }
    if (!keepalive && s.next_known && !syn && !rst && payload == 1 && seq == s.next && r.win_known &&
        r.last_win_raw == 0) {
      a.events.add(Event::ZeroWindowProbe);
    }
    if (s.next_known && !rst && seq > s.next) {
      a.events.add(Event::LostSegment);
      letter_count(c, si, 'g');
    }
    if (!keepalive && s.next_known && (payload > 0 || syn || fin) && seq < s.next) {
      const SentSeg* orig = find_seg(s, seq);
      if (orig) {
        a.original_frame = orig->frame;
        a.since_original_ns = now - orig->ts;
      }
      std::int64_t ooo_threshold = k.rtt_ns > 0 ? k.rtt_ns : kOutOfOrderThresholdNs;
      if (r.dup_acks >= 2 && r.ack_known && r.last_ack == seq && now - r.last_ack_ts < kFastRetransmitWindowNs) {
        a.events.add(Event::FastRetransmission);
        a.events.add(Event::Retransmission);
        retrans = true;
      } else if (now - s.next_ts < ooo_threshold && seq + seg_len != s.next) {
        a.events.add(Event::OutOfOrder);
      } else if (payload > 0 && r.ack_known && seq + seg_len <= r.last_ack) {
        a.events.add(Event::SpuriousRetransmission);
        a.events.add(Event::Retransmission);
        retrans = true;
      } else {
        a.events.add(Event::Retransmission);
        retrans = true;
      }
      if (retrans) {
        c.sum.retransmissions++;
        if (payload > 0) letter_count(c, si, 't');
      }
    }
    if (t.window == 0 && !syn && !fin && !rst) {
      a.events.add(Event::ZeroWindow);
      letter_count(c, si, 'w');
    }
    if (payload > 0 && r.win_known && r.ack_known && !syn && !rst) {
      std::uint32_t rwin = scaled_window(k, ri, static_cast<std::uint16_t>(r.last_win_raw), false);
      if (rwin > 0 && seq + payload == r.last_ack + rwin) a.events.add(Event::WindowFull);
    }

    // ---- acknowledgement analysis ----
    bool pure = payload == 0 && !syn && !fin && !rst;
    if (ackf && !rst) {
      // Wireshark: same ack, same non-zero window, no payload, seq == nextseq, no SYN/FIN/RST.
      if (s.ack_known && ack == s.last_ack && pure && t.window != 0 && s.next_known && seq == s.next) {
        if (t.window != s.last_win_raw) {
          a.events.add(Event::WindowUpdate);
        } else if (r.last_was_keepalive) {
          a.events.add(Event::KeepaliveAck);
        } else {
          ++s.dup_acks;
          a.events.add(Event::DupAck);
          a.dup_ack_of = s.last_ack_frame;
          a.dup_ack_count = s.dup_acks;
          c.sum.dup_acks++;
        }
      }
      if (r.next_known && ack > r.next && !(r.fin_sent && ack == r.next + 1)) {
        a.events.add(Event::AckUnseen);
      }
      SeqNum prev = s.ack_known ? s.last_ack : r.base;
      if (!s.ack_known || ack > s.last_ack) {
        // New bytes acknowledged: [prev, ack). Which of them are data (not the SYN, not the FIN)?
        SeqNum first = prev;
        if (r.isn_known && first <= r.base) {
          if (ack > r.base) a.acks_syn = true;
          first = r.base + 1;
        }
        SeqNum last_excl = ack;
        if (r.fin_sent && ack > r.fin_seq) {
          a.acks_fin = true;
          if (last_excl > r.fin_seq) last_excl = r.fin_seq;
        }
        // Bytes the capture never saw sent (ack-unseen) are not reported as received data.
        if (r.next_known && last_excl > r.next) last_excl = r.next;
        if (s.ack_known && first < last_excl) {
          a.events.add(Event::Ack);
          a.acked_first = rel(first, r.base);
          a.acked_last = rel(last_excl, r.base) - 1;
          // The frames that carried those bytes, in capture order.
          std::array<std::uint64_t, kSegRing> frames{};
          std::size_t n = 0;
          for (std::uint8_t i = 0; i < r.seg_count; ++i) {
            const SentSeg& g = r.segs[i];
            if (g.frame == 0 || g.payload == 0) continue;
            SeqNum dfirst = g.seq, dend = g.seq + g.payload;
            if (dfirst < last_excl && first < dend) frames[n++] = g.frame;
          }
          std::sort(frames.begin(), frames.begin() + static_cast<std::ptrdiff_t>(n));
          n = static_cast<std::size_t>(std::unique(frames.begin(), frames.begin() + static_cast<std::ptrdiff_t>(n)) - frames.begin());
          for (std::size_t i = 0; i < n; ++i) {
            if (a.acked_frame_count < a.acked_frames.size()) a.acked_frames[a.acked_frame_count++] = frames[i];
            else a.acked_frames_more = true;
          }
        }
        s.ack_known = true;
        s.last_ack = ack;
        s.last_ack_frame = p.frame;
        s.dup_acks = 0;
      }
      s.last_win_raw = t.window;
      s.win_known = true;
      s.last_ack_ts = now;
    }
    if (!ackf && !rst) {
      s.last_win_raw = t.window;
      s.win_known = true;
    }

    if (ackf && !syn && k.syn_seen && k.rtt_ns == 0) k.rtt_ns = now - k.syn_ts;

    // ---- handshake (RFC 9293 3.5) ----
    if (syn && !ackf) {
      a.events.add(Event::Handshake1);
      k.syn_ts = now;
      k.syn_seen = true;
      s.sent_syn = true;
      letter_seq(c, si, 's', t.seq);
      if (t.has(tcpflag::kFin) || rst) letter_once(c, si, 'q');
      s.state = TcpState::SynSent;
      if (r.state == TcpState::Unknown) r.state = TcpState::Listen;
      if (c.sum.handshake_frame_count == 0) c.sum.handshake_frames[c.sum.handshake_frame_count++] = p.frame;
    } else if (syn && ackf) {
      a.events.add(Event::Handshake2);
      k.synack_seen = true;
      s.sent_synack = true;
      letter_seq(c, si, 'h', t.seq);
      if (t.has(tcpflag::kFin) || rst) letter_once(c, si, 'q');
      s.state = TcpState::SynReceived;
      if (r.state == TcpState::SynSent || r.state == TcpState::Unknown) r.state = TcpState::Established;
      if (c.sum.handshake_frame_count == 1) c.sum.handshake_frames[c.sum.handshake_frame_count++] = p.frame;
    } else if (ackf && !rst && !k.handshake_done && k.synack_seen && si == kClient &&
               k.side[kServer].isn_known && ack == k.side[kServer].base + 1) {
      a.events.add(Event::Handshake3);
      k.handshake_done = true;
      s.state = TcpState::Established;
      if (r.state == TcpState::SynReceived || r.state == TcpState::Unknown) r.state = TcpState::Established;
      if (c.sum.handshake_frame_count == 2) c.sum.handshake_frames[c.sum.handshake_frame_count++] = p.frame;
    } else if (!syn && !rst && ackf && s.state == TcpState::Unknown) {
      // Mid-stream: an endpoint that sends ACKs is synchronised.
      s.state = TcpState::Established;
      if (r.state == TcpState::Unknown) r.state = TcpState::Established;
    }

    // ---- data ----
    if (payload > 0) {
      a.events.add(Event::Data);
      a.data_first = a.rel_seq + (syn ? 1u : 0u);
      a.data_last = a.data_first + payload - 1;
      (si == kClient ? c.sum.bytes_c2s : c.sum.bytes_s2c) += payload;
      letter_once(c, si, 'd');
      // RFC 9293 3.6: after the peer's FIN, this side may still send (a half-close).
      if (r.fin_sent && !s.fin_sent && !retrans) a.events.add(Event::HalfClose);
    } else if (pure && ackf) {
      letter_once(c, si, 'a');
    }
    if (fin && rst) letter_once(c, si, 'i');  // Zeek: inconsistent flags

    // ---- teardown (RFC 9293 3.6) ----
    // An ACK of the peer's FIN.
    bool acks_peer_fin = ackf && !rst && r.fin_sent && !r.fin_acked && ack > r.fin_seq;
    if (fin && !rst && !s.fin_sent) {
      s.fin_sent = true;
      s.fin_seq = seq + payload + (syn ? 1u : 0u);
      s.fin_frame = p.frame;
      letter_seq(c, si, 'f', t.seq);
      if (!k.fin_any) {
        k.fin_any = true;
        k.first_fin_side = si;
        a.events.add(Event::Teardown1);
        k.td_frames[0] = p.frame;
        s.state = TcpState::FinWait1;
        r.state = TcpState::CloseWait;
      } else {
        a.events.add(Event::Teardown3);
        k.td3_done = true;
        k.td_frames[2] = p.frame;
        if (acks_peer_fin && !k.td2_done) {
          // The ACK of the first FIN rides on the second FIN: the three-segment close.
          a.events.add(Event::Teardown2);
          a.fin_carries_ack = true;
          k.td2_done = true;
          k.three_segment = true;
          k.td_frames[1] = p.frame;
          r.fin_acked = true;
          s.state = TcpState::LastAck;
          r.state = TcpState::TimeWait;
        } else if (!r.fin_acked && !acks_peer_fin) {
          // This FIN does not acknowledge the other FIN: both were sent before either was ACKed.
          a.events.add(Event::SimultaneousClose);
          k.simultaneous = true;
          s.state = TcpState::Closing;
          r.state = TcpState::Closing;
        } else {
          s.state = TcpState::LastAck;
          r.state = r.fin_acked ? TcpState::TimeWait : TcpState::Closing;
        }
      }
      acks_peer_fin = acks_peer_fin && !a.fin_carries_ack && !k.simultaneous;
    }
    if (acks_peer_fin && !r.fin_acked) {
      r.fin_acked = true;
      if (ri == k.first_fin_side && !k.td2_done) {
        a.events.add(Event::Teardown2);
        k.td2_done = true;
        k.td_frames[1] = p.frame;
        if (r.state == TcpState::FinWait1) r.state = TcpState::FinWait2;
        if (r.state == TcpState::Closing) r.state = TcpState::TimeWait;
      } else if (!k.td4_done) {
        a.events.add(Event::Teardown4);
        k.td4_done = true;
        k.td_frames[3] = p.frame;
        if (r.state == TcpState::Closing) r.state = TcpState::TimeWait;
        else r.state = TcpState::Closed;
        if (s.state == TcpState::FinWait2 || s.state == TcpState::FinWait1) s.state = TcpState::TimeWait;
      }
      if (k.side[0].fin_acked && k.side[1].fin_acked) c.closed = true;
    }

    // ---- reset (RFC 9293 3.5.2) ----
    if (rst) {
      a.events.add(Event::Rst);
      a.rst_sender_state = s_before;
      letter_seq(c, si, 'r', t.seq);
      s.sent_rst = true;
      if (k.syn_seen && !k.synack_seen && si == kServer && !k.rst_seen) {
        a.events.add(Event::Refused);
        k.refused = true;
      } else {
        a.events.add(Event::Abort);
      }
      if (!k.rst_seen) k.rst_frame = p.frame;
      k.rst_seen = true;
      c.closed = true;
      s.state = TcpState::Closed;
      r.state = TcpState::Closed;
    }

    note_checksum(p, a, c, si);

    // ---- remember what this side sent ----
    if (seg_len > 0 && !rst) {
      SeqNum end = seq + seg_len;
      // As Wireshark does, a zero-window probe's byte does not move the next expected number: the
      // receiver has no room for it, so the sender will send it again.
      bool probe = a.events.has(Event::ZeroWindowProbe);
      if ((!s.next_known || end > s.next) && !probe) {
        s.next = end;
        s.next_ts = now;
        s.next_known = true;
      }
      SeqNum data_seq = seq + (syn ? 1u : 0u);
      push_seg(s, syn ? seq : data_seq, end, p.frame, now, payload);
    } else if (!s.next_known && !rst) {
      s.next = seq;
      s.next_ts = now;
      s.next_known = true;
    }
    s.last_was_keepalive = keepalive;
    c.end[si].last_frame = p.frame;
    remember_ipid(c.end[si], p);
    a.client_state = k.side[kClient].state;
    a.server_state = k.side[kServer].state;
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
