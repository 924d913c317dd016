// The annotator: per-conversation state machines over decoded packets (see annotate.hpp).
//
// TCP analysis follows Wireshark's tcp.analysis.* definitions (packet-tcp.c,
// tcp_analyze_sequence_number) so that our words agree with tshark's flags; the endpoint states follow
// RFC 9293 section 3.3.2 as far as the wire shows them; the summary follows Zeek's conn.log
// (history letters and conn_state).
#include <algorithm>

#include "conv_table.hpp"
#include "history.hpp"
#include "sockscope/annotate/annotate.hpp"
#include "sockscope/annotate/seqnum.hpp"

namespace sockscope {

namespace {

using namespace annotate_detail;

// Wireshark's default out-of-order threshold when no RTT is known (tcp_analyze_seq's ooo_thres).
constexpr std::int64_t kOutOfOrderThresholdNs = 3'000'000;
// Wireshark calls a retransmission "fast" when it follows the second dup ACK within 20 ms.
constexpr std::int64_t kFastRetransmitWindowNs = 20'000'000;

}  // namespace

struct Annotator::Impl {
  ConvTable table;

  explicit Impl(AnnotatorLimits limits) : table(limits) {}

  // ---- per packet ---------------------------------------------------------------------------

  Annotation annotate(const Packet& p) {
    Annotation a;
    std::int64_t now = p.ts.ns();
    table.maybe_sweep(now);

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

    // A segment whose header the capture cut after the window field is analysed too (Wireshark does).
    const bool analysable = p.error.status == DecodeStatus::Ok ||
                            (p.transport == Transport::Tcp && p.tcp.cut_after_window &&
                             p.error.status == DecodeStatus::Truncated);
    if (analysable && whole) {
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
    const std::uint32_t slot = table.find(key, hash);
    Conv* c;
    if (slot == ConvIndex::kNone) {
      c = &table.open_conv(key, hash, Proto::Udp, Endpoint{p.ip.src, p.udp.sport}, Endpoint{p.ip.dst, p.udp.dport}, p);
    } else {
      c = &table.slots[slot];
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
    const std::uint32_t slot = table.find(key, FlowKeyHash{}(key));
    if (slot == ConvIndex::kNone) return;
    const Conv& c = table.slots[slot];
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
    const std::uint32_t slot = table.find(key, hash);
    bool syn_only = t.has(tcpflag::kSyn) && !t.has(tcpflag::kAck);
    if (slot != ConvIndex::kNone) {
      Conv& c = table.slots[slot];
      const TcpConnection& k = table.tcp_of(c);
      // A new SYN with another ISN on a known 4-tuple: the old connection is over, the ports are reused.
      const TcpEndpoint& cs = k.end[kClient];
      bool new_isn = !cs.isn_known || cs.base.v != t.seq;
      bool midstream = !cs.isn_known && !k.end[kServer].isn_known;
      if (syn_only && new_isn && (c.closed || k.fin_any || k.rst_seen || k.handshake_done || midstream)) {
        table.release(slot);
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
    return table.open_conv(key, hash, Proto::Tcp, client, server, p);
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
    TcpConnection& tcp = table.tcp_of(conv);
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
    // Mid-stream: the first byte seen is byte 1, as in Wireshark. Not from a RST: a side whose first
    // segment is a RST has no numbering to start (a RST refusing a SYN carries seq 0, RFC 9293
    // 3.10.7.1), so its raw number is shown.
    if (!s.base_set && !g.rst) {
      s.base_set = true;
      s.base = g.seq - 1;
    }
    if (g.has_ack && !r.base_set) {
      r.base_set = true;
      r.base = g.ack - 1;
    }
    Annotation& a = g.a;
    const TcpEndpoint& client = g.tcp.end[kClient];
    const TcpEndpoint& server = g.tcp.end[kServer];
    a.has_rel = true;
    a.rel_seq = s.base_set ? rel(g.seq, s.base) : g.seq.v;
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
      a.keepalive_is_zero_window_probe = r.win_known && r.last_win_raw == 0;
    }
    if (!v.keepalive && s.next_known && !g.syn && !g.rst && g.payload == 1 && g.seq == s.next &&
        r.win_known && r.last_win_raw == 0)
      a.events.add(Event::ZeroWindowProbe);
    if (s.next_known && !g.rst && g.seq > s.next) {
      a.events.add(Event::LostSegment);
      letter_count(g.conv, g.from, 'g');
    }
    if (v.keepalive || (g.payload == 0 && !g.syn && !g.fin)) return v;
    // Old sequence space: a retransmission, unless it is new data right after a one-byte probe.
    const bool old_space =
        s.next_known && g.seq < s.next && !(g.payload > 1 && g.seq == s.next - 1);
    // Bytes the receiver already acknowledged come first, as in Wireshark: a spurious retransmission,
    // however soon it follows newer bytes, and even when the capture saw the ACK before the bytes
    // (the capture point sits near the receiver).
    const bool acked_already = g.payload > 0 && r.ack_known && g.seq + g.payload <= r.last_ack;
    if (!old_space && !acked_already) return v;

    if (const SentSeg* orig = find_seg(s, g.seq)) {
      a.original_frame = orig->frame;
      a.since_original_ns = g.now - orig->ts;
    }
    const std::int64_t ooo_threshold = g.tcp.rtt_ns > 0 ? g.tcp.rtt_ns : kOutOfOrderThresholdNs;
    if (acked_already) {
      a.events.add(Event::SpuriousRetransmission);
      v.retransmission = true;
    } else if (r.dup_acks >= 2 && r.ack_known && r.last_ack == g.seq &&
               g.now - r.last_ack_ts < kFastRetransmitWindowNs) {
      a.events.add(Event::FastRetransmission);
      v.retransmission = true;
    } else if (g.now - s.next_ts < ooo_threshold && g.seq + g.seg_len != s.next) {
      a.events.add(Event::OutOfOrder);
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
    TcpEndpoint& r = g.receiver;
    Annotation& a = g.a;
    const int dup_acks_before = s.dup_acks;
    s.dup_acks = 0;  // any segment but a duplicate ACK (counted on below)
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
        s.dup_acks = dup_acks_before < 0 ? 1 : dup_acks_before + 1;
        a.events.add(Event::DupAck);
        a.dup_ack_of = s.last_ack_frame;
        a.dup_ack_count = s.dup_acks;
        g.conv.sum.dup_acks++;
      }
    }
    // Bytes acknowledged beyond what the capture saw the other side send without a hole. As in
    // Wireshark: said once, then not again until the other side sends a segment (repeated ACKs of a
    // stalled side do not repeat it), and the boundary jumps to what was seen, past the hole.
    if (r.max_to_ack_known && g.ack > r.max_to_ack && !(r.fin_sent && g.ack == r.next + 1)) {
      if (r.dup_acks != -1) a.events.add(Event::AckUnseen);
      r.dup_acks = -1;
      r.max_to_ack = r.next;
    }
    if (!s.ack_known || g.ack > s.last_ack) {
      note_newly_acked(g);
      s.ack_known = true;
      s.last_ack = g.ack;
      s.last_ack_frame = g.p.frame;
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
      letter_seq(g.conv, g.sender, g.from, 's', g.t.seq);
      if (g.fin || g.rst) letter_once(g.conv, g.from, 'q');
      s.state = TcpState::SynSent;
      if (r.state == TcpState::Unknown) r.state = TcpState::Listen;
      if (sum.handshake_frame_count == 0) sum.handshake_frames[sum.handshake_frame_count++] = g.p.frame;
    } else if (g.syn) {
      g.a.events.add(Event::Handshake2);
      tcp.synack_seen = true;
      s.sent_synack = true;
      letter_seq(g.conv, g.sender, g.from, 'h', g.t.seq);
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
    letter_seq(g.conv, g.sender, g.from, 'f', g.t.seq);
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
    letter_seq(g.conv, g.sender, g.from, 'r', g.t.seq);
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
    } else if ((!s.next_known || g.seq > s.next) && !g.rst) {
      // A segment without data (a pure ACK) still carries the next sequence number: after a gap it
      // moves the next expected point, as in Wireshark, so only the first segment after it is "lost".
      s.next = g.seq;
      s.next_ts = g.now;
      s.next_known = true;
    }
    // Wireshark's maxseqtobeacked follows only a segment that starts where it stands (no hole).
    if (s.next_known && !g.rst && !g.a.events.has(Event::ZeroWindowProbe) &&
        (!s.max_to_ack_known || g.seq == s.max_to_ack)) {
      s.max_to_ack = s.next;
      s.max_to_ack_known = true;
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
  out.insert(out.end(), impl_->table.finished.begin(), impl_->table.finished.end());
  impl_->table.finished.clear();
}

void Annotator::finish(std::vector<ConnSummary>& out) {
  while (finish_some(out, static_cast<std::size_t>(-1))) {
  }
}

bool Annotator::finish_some(std::vector<ConnSummary>& out, std::size_t max) {
  const bool more = impl_->table.finish_some(max);
  take_finished(out);
  return more;
}

std::size_t Annotator::open_conversations() const { return impl_->table.open; }

std::uint32_t Annotator::conversation_of(Proto proto, const Endpoint& a, const Endpoint& b) const {
  if (proto != Proto::Tcp && proto != Proto::Udp) return 0;
  const FlowKey key = make_key(a.ip, a.port, b.ip, b.port, proto == Proto::Tcp ? 6 : 17);
  const std::uint32_t slot = impl_->table.find(key, FlowKeyHash{}(key));
  return slot == ConvIndex::kNone ? 0 : impl_->table.slots[slot].id;
}

}  // namespace sockscope
