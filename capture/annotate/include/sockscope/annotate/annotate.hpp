// The annotator: decoded packets in, events out. Pure: no I/O, no clock (time comes from the packets'
// timestamps), no globals. One Annotator per capture; state per conversation, released when the
// conversation ends (or idles out) so memory follows open conversations, not capture length.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "sockscope/annotate/events.hpp"
#include "sockscope/decode/packet.hpp"

namespace sockscope {

// RFC 9293 section 3.3.2 states, as inferred from the wire.
enum class TcpState : std::uint8_t {
  Unknown,  // no evidence yet (a conversation picked up mid-stream)
  Closed, Listen, SynSent, SynReceived, Established,
  FinWait1, FinWait2, CloseWait, Closing, LastAck, TimeWait,
};
const char* tcp_state_name(TcpState s);  // "SYN-SENT", "TIME-WAIT", ... ("UNKNOWN")

enum class Direction : std::uint8_t { None, C2S, S2C };
enum class Proto : std::uint8_t { Other, Tcp, Udp, Icmp, Arp };
const char* proto_name(Proto p);  // "tcp", "udp", "icmp", "arp", "other"

struct Endpoint {
  IpAddr ip;
  std::uint16_t port = 0;
  friend constexpr bool operator==(const Endpoint&, const Endpoint&) = default;
};

// What the annotator says about one packet. Fixed size: no heap.
struct Annotation {
  std::uint32_t conn = 0;  // 1-based conversation id, 0 for none
  Proto proto = Proto::Other;
  Direction dir = Direction::None;
  EventSet events;

  // TCP, relative to each side's ISN (raw numbers stay in Packet::tcp).
  bool has_rel = false;       // false when the conversation was picked up mid-stream without ISNs
  std::uint32_t rel_seq = 0;
  std::uint32_t rel_ack = 0;  // meaningful when the ACK flag is set
  std::uint32_t seg_len = 0;  // payload bytes (+1 for SYN, +1 for FIN: the sequence space used)
  std::uint32_t isn_client = 0, isn_server = 0;  // raw ISNs, when known
  bool isn_client_known = false, isn_server_known = false;
  std::uint32_t window = 0;   // advertised window in bytes, scaled when the handshake agreed a scale
  TcpState client_state = TcpState::Unknown;
  TcpState server_state = TcpState::Unknown;

  // data: relative bytes first..last carried by this segment
  std::uint32_t data_first = 0, data_last = 0;

  // ack: the new bytes this segment acknowledges (relative, inclusive) and the frames that carried them
  std::uint32_t acked_first = 0, acked_last = 0;
  std::uint8_t acked_frame_count = 0;          // frames listed in acked_frames
  bool acked_frames_more = false;               // more frames than fit were acknowledged
  std::array<std::uint64_t, 6> acked_frames{};
  bool acks_fin = false;                        // acknowledges the other side's FIN
  bool acks_syn = false;                        // acknowledges the other side's SYN

  // retransmission / out-of-order: the frame that first carried these bytes, and how long ago
  std::uint64_t original_frame = 0;
  std::int64_t since_original_ns = 0;

  // keepalive sent while the receiver's last advertised window was 0: Linux's zero-window probe
  // (seq = SND.UNA - 1, no data), which Wireshark labels Keep-Alive
  bool keepalive_is_zero_window_probe = false;

  // dup-ack
  std::uint64_t dup_ack_of = 0;
  std::uint32_t dup_ack_count = 0;

  // teardown-2 and teardown-3 in one segment: the three-segment close
  bool fin_carries_ack = false;
  // RST: the state the connection was in (to explain refused vs abort)
  TcpState rst_sender_state = TcpState::Unknown;

  // UDP: 1-based datagram number in this direction
  std::uint64_t datagram_index = 0;

  // IP fragments
  std::uint16_t fragment_count = 0;    // with Reassembled: how many fragments made the datagram
  // ICMP unreachable: the frame and conversation of the datagram it answers (0 when not seen)
  std::uint64_t quotes_frame = 0;
  std::uint32_t quotes_conn = 0;

  // checksum-bad: true when the packet was sent by this host (checksum offload leaves the field unset)
  bool checksum_offload_likely = false;
};

enum class CloseKind : std::uint8_t { Open, Fin4, Fin3, Simultaneous, Rst, Refused, HalfClosed };
const char* close_kind_name(CloseKind k);  // "open", "fin-4", "fin-3", "simultaneous", "rst", "refused", "half-closed"

// Zeek conn.log's conn_state
enum class ConnState : std::uint8_t { S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH };
const char* conn_state_name(ConnState s);

// One conversation, summarised when it ends.
struct ConnSummary {
  std::uint32_t conn = 0;
  Proto proto = Proto::Other;
  Endpoint client, server;
  std::uint64_t first_frame = 0, last_frame = 0;
  Timestamp first_ts, last_ts;
  std::uint64_t packets = 0;
  std::uint64_t bytes_c2s = 0, bytes_s2c = 0;  // payload bytes
  // TCP
  bool handshake_complete = false;
  std::uint8_t handshake_frame_count = 0;
  std::array<std::uint64_t, 3> handshake_frames{};
  CloseKind close = CloseKind::Open;
  std::uint8_t close_frame_count = 0;
  std::array<std::uint64_t, 4> close_frames{};
  std::uint64_t retransmissions = 0, dup_acks = 0;
  std::array<char, 40> history{};  // NUL-terminated Zeek history string
  ConnState conn_state = ConnState::OTH;
  TcpState client_state = TcpState::Unknown, server_state = TcpState::Unknown;
  // UDP
  std::uint64_t datagrams_c2s = 0, datagrams_s2c = 0;
};

struct AnnotatorLimits {
  // Conversations are released (summarised) when closed and quiet for closed_linger_ns; a TCP
  // conversation that never got past its SYNs when quiet for attempt_timeout_ns; a UDP one when
  // quiet for udp_idle_timeout_ns; and, beyond max_conversations, the least recently active first.
  // An open TCP connection is never released for being quiet: TCP has no idle timeout (RFC 9293
  // section 3.8.4), and its next segment, however late, continues the same conversation.
  std::uint32_t max_conversations = 100000;
  std::int64_t closed_linger_ns = 4'000'000'000LL;
  std::int64_t attempt_timeout_ns = 600'000'000'000LL;
  std::int64_t udp_idle_timeout_ns = 120'000'000'000LL;
  // The plain reference structures instead of the fast ones (std::unordered_map for the
  // conversation index): only for tests/perf, which show that both print the same.
  bool reference_paths = false;
};

class Annotator {
 public:
  explicit Annotator(AnnotatorLimits limits = {});
  ~Annotator();
  Annotator(const Annotator&) = delete;
  Annotator& operator=(const Annotator&) = delete;

  // Annotates the next packet (packets must come in capture order).
  Annotation annotate(const Packet& p);

  // Moves the summaries of conversations released so far into out (appending). A conversation's
  // summary becomes available only after its last packet, so callers can print it after the packets.
  void take_finished(std::vector<ConnSummary>& out);

  // End of capture: releases every conversation still tracked, in order of conversation id.
  void finish(std::vector<ConnSummary>& out);
  // The same in steps of at most `max` conversations (same order), so a caller that prints each
  // step holds a few summaries at a time instead of one per open conversation. Returns false when
  // nothing remains. Call it until it returns false; do not annotate afterwards.
  bool finish_some(std::vector<ConnSummary>& out, std::size_t max);

  std::size_t open_conversations() const;

  // The id of the tracked conversation between these two endpoints (either order), 0 if none: ties a
  // socket call (calls.hpp) to the packets of its connection.
  std::uint32_t conversation_of(Proto proto, const Endpoint& a, const Endpoint& b) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sockscope
