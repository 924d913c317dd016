// Builds decoded packets (sockscope::Packet) for annotator tests: the annotator takes decoded packets,
// so these tests need no bytes. A Conversation keeps each side's next sequence number, so a test reads
// like the exchange it describes: c.syn(); c.synack(); c.ack(); c.data(kClient, "hello").
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "sockscope/annotate/annotate.hpp"
#include "sockscope/decode/packet.hpp"

namespace sockscope::testing {

inline IpAddr ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  IpAddr ip;
  ip.family = 4;
  ip.b[0] = a, ip.b[1] = b, ip.b[2] = c, ip.b[3] = d;
  return ip;
}

enum Who { kClient = 0, kServer = 1 };

struct Seg {
  Who from = kClient;
  std::uint16_t flags = tcpflag::kAck;
  std::uint32_t payload = 0;
  std::int64_t seq_delta = 0;        // added to the side's next seq (negative: re-send old bytes)
  bool advance = true;               // move the side's next seq past this segment
  std::uint16_t window = 512;
  std::int64_t gap_ns = 100'000;     // time since the previous packet
  bool has_ack_override = false;
  std::uint32_t ack_override = 0;    // raw ack value
};

class Conversation {
 public:
  explicit Conversation(std::uint32_t client_isn = 1000, std::uint32_t server_isn = 5000,
                        std::uint16_t cport = 51514, std::uint16_t sport = 9000)
      : isn_{client_isn, server_isn}, next_{client_isn, server_isn}, port_{cport, sport} {
    ip_[0] = ipv4(10, 0, 0, 1);
    ip_[1] = ipv4(10, 0, 0, 2);
  }

  // The receiver's acknowledgement of everything the other side sent so far.
  std::uint32_t ack_for(Who who) const { return next_[1 - who]; }

  Packet make(const Seg& s) {
    Packet p;
    p.frame = ++frame_;
    ts_ += s.gap_ns;
    p.ts.sec = ts_ / 1'000'000'000;
    p.ts.nsec = static_cast<std::uint32_t>(ts_ % 1'000'000'000);
    p.ip.version = 4;
    p.ip.src = ip_[s.from];
    p.ip.dst = ip_[1 - s.from];
    p.ip.proto = 6;
    p.ip.v4.id = static_cast<std::uint16_t>(frame_);
    p.transport = Transport::Tcp;
    p.tcp.sport = port_[s.from];
    p.tcp.dport = port_[1 - s.from];
    p.tcp.seq = static_cast<std::uint32_t>(next_[s.from] + s.seq_delta);
    p.tcp.flags = s.flags;
    p.tcp.window = s.window;
    if (s.flags & tcpflag::kAck) p.tcp.ack = s.has_ack_override ? s.ack_override : ack_for(s.from);
    p.payload_len = s.payload;
    p.payload_captured = s.payload;
    std::uint32_t len = s.payload + ((s.flags & tcpflag::kSyn) ? 1 : 0) + ((s.flags & tcpflag::kFin) ? 1 : 0);
    if (s.advance && s.seq_delta == 0) next_[s.from] += len;
    return p;
  }

  Annotation send(Annotator& an, const Seg& s) { return an.annotate(make(s)); }

  std::uint64_t frame() const { return frame_; }
  std::uint32_t next(Who w) const { return next_[w]; }
  void set_next(Who w, std::uint32_t v) { next_[w] = v; }

 private:
  std::uint32_t isn_[2];
  std::uint32_t next_[2];
  std::uint16_t port_[2];
  IpAddr ip_[2];
  std::uint64_t frame_ = 0;
  std::int64_t ts_ = 1'700'000'000'000'000'000LL;
};

inline Seg syn() { return Seg{kClient, tcpflag::kSyn}; }
inline Seg synack() { return Seg{kServer, tcpflag::kSyn | tcpflag::kAck}; }
inline Seg ack(Who w) { return Seg{w, tcpflag::kAck}; }
inline Seg data(Who w, std::uint32_t n) { return Seg{w, tcpflag::kAck | tcpflag::kPsh, n}; }
inline Seg fin(Who w) { return Seg{w, tcpflag::kFin | tcpflag::kAck}; }
inline Seg rst(Who w) { return Seg{w, tcpflag::kRst | tcpflag::kAck}; }

}  // namespace sockscope::testing
