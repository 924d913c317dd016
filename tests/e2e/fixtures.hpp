// Deterministic captures for the golden and analysis tests, built byte by byte with the frame
// builder (fixed addresses, ports, ISNs and times), so the expected output can be committed.
#pragma once
#include <string>
#include <vector>

#include "frame_builder.hpp"
#include "pcap_writer.hpp"

namespace e2e {

using sockscope::testing::PcapRecord;
namespace tcpflag = sockscope::tcpflag;

// Frame i (0-based) at t0 + i ms, plus extra_ms.
inline sockscope::Timestamp fixture_time(std::size_t i, std::int64_t extra_ms = 0) {
  const std::int64_t ns = static_cast<std::int64_t>(i) * 1'000'000 + extra_ms * 1'000'000;
  return sockscope::Timestamp{1'700'000'000 + ns / 1'000'000'000,
                              static_cast<std::uint32_t>(ns % 1'000'000'000)};
}

// The demo's scripted exchange as Linux puts it on the wire: handshake, three lines each way, the
// three-segment close, then three UDP datagrams each way.
inline std::vector<PcapRecord> exchange_fixture(bool v6, std::uint32_t linktype) {
  using namespace sockscope::testing;
  const std::string client = v6 ? "2001:db8::1" : "192.0.2.1";
  const std::string server = v6 ? "2001:db8::2" : "192.0.2.2";
  TcpFlow f(client, 40000, server, 9000, 1000, 5000);
  std::vector<TcpSpec> tcp = f.handshake();
  const std::uint16_t pa = tcpflag::kPsh | tcpflag::kAck;
  tcp.push_back(f.c2s(pa, "hello"));
  tcp.push_back(f.s2c(tcpflag::kAck));
  tcp.push_back(f.s2c(pa, "hi there"));
  tcp.push_back(f.c2s(tcpflag::kAck));
  tcp.push_back(f.c2s(pa, "how are you?"));
  tcp.push_back(f.s2c(pa, "fine, thanks"));
  tcp.push_back(f.c2s(pa, "bye"));
  tcp.push_back(f.s2c(pa, "see you"));
  tcp.push_back(f.c2s(tcpflag::kFin | tcpflag::kAck));
  tcp.push_back(f.s2c(tcpflag::kFin | tcpflag::kAck));
  tcp.push_back(f.c2s(tcpflag::kAck));

  std::vector<PcapRecord> out;
  for (const TcpSpec& s : tcp) {
    PcapRecord r;
    r.ts = fixture_time(out.size());
    r.data = link_frame(linktype, tcp_packet(s));
    out.push_back(std::move(r));
  }
  for (int i = 1; i <= 3; ++i) {
    for (bool from_client : {true, false}) {
      UdpSpec u;
      u.ip.src = from_client ? client : server;
      u.ip.dst = from_client ? server : client;
      u.sport = from_client ? 40001 : 9001;
      u.dport = from_client ? 9001 : 40001;
      u.payload = bytes_of(std::string(from_client ? "ping " : "pong ") + std::to_string(i));
      PcapRecord r;
      r.ts = fixture_time(out.size());
      r.data = link_frame(linktype, udp_packet(u));
      out.push_back(std::move(r));
    }
  }
  return out;
}

// A TCP conversation with a retransmitted data segment (frame 5: the same bytes as frame 4, 200 ms
// later) and a duplicate ACK (frame 7 repeats frame 6's ACK), to compare with tshark's analysis.
inline std::vector<PcapRecord> retransmission_fixture() {
  using namespace sockscope::testing;
  TcpFlow f("192.0.2.1", 40000, "192.0.2.2", 9000, 1000, 5000);
  std::vector<std::pair<TcpSpec, std::int64_t>> segs;  // segment, extra delay in ms
  for (const TcpSpec& s : f.handshake()) segs.push_back({s, 0});
  const std::uint16_t pa = tcpflag::kPsh | tcpflag::kAck;
  const TcpSpec hello = f.c2s(pa, "hello");
  segs.push_back({hello, 0});                 // 4
  segs.push_back({hello, 200});               // 5: retransmission of 4
  const TcpSpec ack = f.s2c(tcpflag::kAck);
  segs.push_back({ack, 200});                 // 6
  segs.push_back({ack, 200});                 // 7: duplicate ACK of 6
  segs.push_back({f.s2c(pa, "hi there"), 200});  // 8
  segs.push_back({f.c2s(tcpflag::kAck), 200});   // 9
  std::vector<PcapRecord> out;
  for (const auto& [s, delay] : segs) {
    PcapRecord r;
    r.ts = fixture_time(out.size(), delay);
    r.data = ethernet_frame(tcp_packet(s));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace e2e
