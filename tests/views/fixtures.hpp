// Hand-filled packets and annotations for the view tests: the views are tested on their inputs,
// independent of the decoder's and the annotator's correctness.
#pragma once
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "sockscope/annotate/annotate.hpp"
#include "sockscope/views/out_buffer.hpp"
#include "sockscope/decode/packet.hpp"
#include "sockscope/views/views.hpp"

namespace sockscope::testing {

inline IpAddr v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  IpAddr ip;
  ip.family = 4;
  ip.b[0] = a;
  ip.b[1] = b;
  ip.b[2] = c;
  ip.b[3] = d;
  return ip;
}

inline IpAddr v6_loopback() {
  IpAddr ip;
  ip.family = 6;
  ip.b[15] = 1;
  return ip;
}

// A TCP segment between 127.0.0.1:51514 (client) and 127.0.0.1:9000 (server) over Ethernet.
// payload must outlive the packet.
inline Packet tcp_packet(std::uint64_t frame, std::int64_t ts_ns, bool c2s, std::uint16_t flags,
                         std::string_view payload = {}) {
  Packet p;
  p.frame = frame;
  p.ts.sec = 1700000000 + ts_ns / 1000000000;
  p.ts.nsec = static_cast<std::uint32_t>(ts_ns % 1000000000);
  p.link.kind = LinkKind::Ethernet;
  p.link.linktype = linktype::kEthernet;
  p.link.header_len = 14;
  p.link.has_macs = true;
  p.link.ethertype = 0x0800;
  p.ip.version = 4;
  p.ip.src = v4(127, 0, 0, 1);
  p.ip.dst = v4(127, 0, 0, 1);
  p.ip.proto = 6;
  p.ip.header_offset = 14;
  p.ip.header_len = 20;
  p.ip.payload_len = 20 + static_cast<std::uint32_t>(payload.size());
  p.ip.v4.ihl = 20;
  p.ip.v4.ttl = 64;
  p.ip.v4.proto = 6;
  p.ip.v4.df = true;
  p.ip.v4.total_len = static_cast<std::uint16_t>(40 + payload.size());
  p.transport = Transport::Tcp;
  p.tcp.sport = c2s ? 51514 : 9000;
  p.tcp.dport = c2s ? 9000 : 51514;
  p.tcp.seq = c2s ? 1721634020u : 3000000000u;
  p.tcp.ack = 0;
  p.tcp.header_len = 20;
  p.tcp.flags = flags;
  p.tcp.window = 65495;
  p.transport_offset = 34;
  p.transport_header_len = 20;
  p.payload = reinterpret_cast<const std::uint8_t*>(payload.data());
  p.payload_captured = static_cast<std::uint32_t>(payload.size());
  p.payload_len = static_cast<std::uint32_t>(payload.size());
  p.payload_offset = 54;
  p.caplen = p.wirelen = 54 + static_cast<std::uint32_t>(payload.size());
  return p;
}

inline Packet udp_packet(std::uint64_t frame, std::int64_t ts_ns, bool c2s, std::string_view payload) {
  Packet p = tcp_packet(frame, ts_ns, c2s, 0, payload);
  p.transport = Transport::Udp;
  p.ip.proto = p.ip.v4.proto = 17;
  p.udp.sport = c2s ? 40000 : 9001;
  p.udp.dport = c2s ? 9001 : 40000;
  p.udp.length = static_cast<std::uint16_t>(8 + payload.size());
  p.transport_header_len = 8;
  p.payload_offset = 42;
  p.caplen = p.wirelen = 42 + static_cast<std::uint32_t>(payload.size());
  return p;
}

inline Annotation tcp_annotation(bool c2s, std::initializer_list<Event> events) {
  Annotation a;
  a.conn = 1;
  a.proto = Proto::Tcp;
  a.dir = c2s ? Direction::C2S : Direction::S2C;
  for (Event e : events) a.events.add(e);
  a.has_rel = true;
  a.isn_client = 1721634020u;
  a.isn_client_known = true;
  a.isn_server = 3000000000u;
  a.isn_server_known = true;
  a.window = 65495;
  a.client_state = TcpState::Established;
  a.server_state = TcpState::Established;
  return a;
}

inline ConnSummary tcp_summary() {
  ConnSummary s;
  s.conn = 1;
  s.proto = Proto::Tcp;
  s.client = {v4(127, 0, 0, 1), 51514};
  s.server = {v4(127, 0, 0, 1), 9000};
  s.first_frame = 1;
  s.last_frame = 12;
  s.first_ts.sec = 1700000000;
  s.last_ts.sec = 1700000000;
  s.last_ts.nsec = 532000000;
  s.packets = 12;
  s.bytes_c2s = 10;
  s.bytes_s2c = 10;
  s.handshake_complete = true;
  s.handshake_frame_count = 3;
  s.handshake_frames = {1, 2, 3};
  s.close = CloseKind::Fin3;
  s.close_frame_count = 3;
  s.close_frames = {9, 10, 11, 0};
  const char hist[] = "ShADadFf";
  for (std::size_t i = 0; i < sizeof hist; ++i) s.history[i] = hist[i];
  s.conn_state = ConnState::SF;
  s.client_state = TcpState::TimeWait;
  s.server_state = TcpState::Closed;
  return s;
}

inline ConnSummary udp_summary() {
  ConnSummary s;
  s.conn = 2;
  s.proto = Proto::Udp;
  s.client = {v4(127, 0, 0, 1), 40000};
  s.server = {v4(127, 0, 0, 1), 9001};
  s.first_frame = 13;
  s.last_frame = 17;
  s.packets = 5;
  s.bytes_c2s = 15;
  s.bytes_s2c = 10;
  s.datagrams_c2s = 3;
  s.datagrams_s2c = 2;
  s.history[0] = 'D';
  s.history[1] = 'd';
  s.conn_state = ConnState::SF;
  return s;
}

// Collects what a view writes: an OutBuffer over an in-memory FILE.
class Captured {
 public:
  Captured() : f_(open_memstream(&buf_, &len_)), out_(std::make_unique<OutBuffer>(f_)) {}
  ~Captured() {
    out_.reset();  // flushes into f_ before it closes
    std::fclose(f_);
    std::free(buf_);
  }
  Captured(const Captured&) = delete;
  Captured& operator=(const Captured&) = delete;
  OutBuffer& out() { return *out_; }
  std::string text() {
    out_->flush();
    return std::string(buf_, len_);
  }

 private:
  char* buf_ = nullptr;
  std::size_t len_ = 0;
  std::FILE* f_;
  std::unique_ptr<OutBuffer> out_;
};

}  // namespace sockscope::testing
