// What the TCP analysis keeps per connection: per endpoint (each direction's sender), as Zeek's
// TCP_Endpoint, what it sent, acknowledged and advertised; per connection, how far it has come.
#pragma once
#include <array>
#include <cstdint>

#include "sockscope/annotate/annotate.hpp"
#include "sockscope/annotate/seqnum.hpp"

namespace sockscope::annotate_detail {

constexpr int kClient = 0;
constexpr int kServer = 1;

// A segment a side sent, remembered to name the frames an ACK covers and the original of a
// retransmission. A small ring: old entries are overwritten.
struct SentSeg {
  SeqNum seq, end;  // sequence space [seq, end) incl. SYN/FIN
  std::uint64_t frame = 0;
  std::int64_t ts = 0;
  std::uint32_t payload = 0;
};
constexpr std::size_t kSegRing = 12;

// TCP only, per direction.
struct TcpEndpoint {
  // Sequence space
  bool isn_known = false;  // saw this side's SYN
  bool base_set = false;   // a base for relative numbers exists (ISN, or inferred mid-stream)
  SeqNum base;             // the ISN (relative 0)
  bool next_known = false;
  SeqNum next;             // highest seq + len seen from this side (Wireshark's nextseq)
  std::int64_t next_ts = 0;
  // The end of what this side sent that the capture saw without a hole (Wireshark's maxseqtobeacked):
  // it moves only with a segment that starts exactly there. An ACK beyond it acknowledges bytes the
  // capture missed (ack-unseen).
  bool max_to_ack_known = false;
  SeqNum max_to_ack;

  // What this side has acknowledged
  bool ack_known = false;
  SeqNum last_ack;
  std::uint64_t last_ack_frame = 0;  // frame of the last ACK that was not a duplicate
  std::int64_t last_ack_ts = 0;      // time of the last ACK of any kind
  // Wireshark's dupacknum: this side's duplicate ACKs in a row, 0 after any other segment of it, -1
  // once the other side acknowledged bytes of this side that the capture missed (ack-unseen is then
  // not said again until this side sends something).
  int dup_acks = 0;
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

inline std::uint32_t rel(SeqNum v, SeqNum base) { return v.v - base.v; }

}  // namespace sockscope::annotate_detail
