// Writes a realistic synthetic capture of any size for the benchmark (fixed seed: the same file every
// time). Interleaved TCP connections (handshake, data both ways, piggy-backed and pure ACKs,
// retransmissions, duplicate ACKs, the three closes: fin-3, fin-4, rst), UDP flows, IPv4 fragments and
// IPv6, on Ethernet, streamed to a nanosecond pcap file.
//
//   gen_capture --packets 1000000 --seed 1 -o bench-1m.pcap
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "frame_builder.hpp"

namespace {

using sockscope::test::Bytes;
using sockscope::test::TcpFlow;
using sockscope::test::TcpSpec;
namespace tf = sockscope::tcpflag;

class PcapOut {
 public:
  explicit PcapOut(std::FILE* f) : f_(f) {
    std::uint8_t h[24] = {};
    put32(h, 0xa1b23c4d);  // nanosecond pcap
    put16(h + 4, 2);
    put16(h + 6, 4);
    put32(h + 16, 262144);
    put32(h + 20, 1);  // Ethernet
    std::fwrite(h, 1, sizeof h, f_);
  }
  void write(std::uint64_t ns, const Bytes& frame) {
    std::uint8_t h[16];
    put32(h, static_cast<std::uint32_t>(ns / 1'000'000'000ULL));
    put32(h + 4, static_cast<std::uint32_t>(ns % 1'000'000'000ULL));
    put32(h + 8, static_cast<std::uint32_t>(frame.size()));
    put32(h + 12, static_cast<std::uint32_t>(frame.size()));
    std::fwrite(h, 1, sizeof h, f_);
    std::fwrite(frame.data(), 1, frame.size(), f_);
    bytes_ += 16 + frame.size();
    ++count_;
  }
  std::uint64_t count() const { return count_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  static void put16(std::uint8_t* p, std::uint16_t v) { std::memcpy(p, &v, 2); }  // host order, as pcap
  static void put32(std::uint8_t* p, std::uint32_t v) { std::memcpy(p, &v, 4); }
  std::FILE* f_;
  std::uint64_t count_ = 0, bytes_ = 0;
};

// One conversation that produces its packets one at a time.
struct Flow {
  bool tcp = true;
  bool v6 = false;
  int stage = 0;         // TCP: 0..2 handshake, 3 exchanging, 4.. closing; UDP: exchanging
  int exchanges_left = 0;
  int close_kind = 0;    // 0 fin-3, 1 fin-4, 2 rst
  TcpFlow tcpf{"", 0, "", 0};
  std::vector<TcpSpec> pending;  // segments queued for the next steps (retransmissions, ACKs)
  std::string client, server;
  std::uint16_t cport = 0, sport = 0;
  bool done = false;
};

class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {}

  Flow make_flow() {
    Flow f;
    const std::uint32_t n = next_id_++;
    f.v6 = pick(100) < 30;
    f.tcp = pick(100) < 72;
    const std::uint32_t host = 1 + n % 250;
    if (f.v6) {
      f.client = "2001:db8::" + hex(0x1000 + n % 4000);
      f.server = "2001:db8:1::" + hex(host);
    } else {
      f.client = "10." + std::to_string((n >> 16) & 255) + "." + std::to_string((n >> 8) & 255) + "." +
                 std::to_string(1 + n % 250);
      f.server = "192.0.2." + std::to_string(host);
    }
    f.cport = static_cast<std::uint16_t>(20000 + n % 40000);
    // Chat-like ports: tcpdump prints these as plain TCP/UDP, no application dissector.
    f.sport = static_cast<std::uint16_t>(9000 + pick(10));
    f.exchanges_left = 3 + static_cast<int>(pick(300));  // a few thousand conversations a million packets
    f.close_kind = pick(100) < 60 ? 0 : pick(100) < 75 ? 1 : 2;
    f.tcpf = TcpFlow(f.client, f.cport, f.server, f.sport, static_cast<std::uint32_t>(rng_()),
                     static_cast<std::uint32_t>(rng_()));
    return f;
  }

  // Appends the flow's next packet(s) as IP packets to out.
  void step(Flow& f, std::vector<Bytes>& out) {
    if (!f.pending.empty()) {
      out.push_back(sockscope::test::tcp_packet(f.pending.front()));
      f.pending.erase(f.pending.begin());
      return;
    }
    if (!f.tcp) return udp_step(f, out);
    const std::uint16_t pa = tf::kPsh | tf::kAck;
    switch (f.stage) {
      case 0: {
        auto hs = f.tcpf.handshake();
        out.push_back(sockscope::test::tcp_packet(hs[0]));
        f.pending.push_back(hs[1]);
        f.pending.push_back(hs[2]);
        f.stage = 3;
        return;
      }
      case 3: {
        if (f.exchanges_left-- <= 0) {
          f.stage = 4;
          return step(f, out);
        }
        const bool from_client = pick(100) < 55;
        const std::string payload(300 + pick(1160), 'a' + static_cast<char>(pick(26)));
        TcpSpec seg = from_client ? f.tcpf.c2s(pa, payload) : f.tcpf.s2c(pa, payload);
        out.push_back(sockscope::test::tcp_packet(seg));
        const std::uint32_t r = pick(1000);
        if (r < 15) {
          f.pending.push_back(seg);  // a retransmission of the same bytes
        } else if (r < 25) {
          // The receiver ACKs twice (a duplicate ACK), then the data goes on.
          TcpSpec a = from_client ? f.tcpf.s2c(tf::kAck) : f.tcpf.c2s(tf::kAck);
          f.pending.push_back(a);
          f.pending.push_back(a);
        } else if (r < 300) {
          f.pending.push_back(from_client ? f.tcpf.s2c(tf::kAck) : f.tcpf.c2s(tf::kAck));
        }
        return;
      }
      case 4:
        if (f.close_kind == 2) {
          out.push_back(sockscope::test::tcp_packet(f.tcpf.c2s(tf::kRst | tf::kAck)));
          f.done = true;
          return;
        }
        out.push_back(sockscope::test::tcp_packet(f.tcpf.c2s(tf::kFin | tf::kAck)));
        if (f.close_kind == 1) f.pending.push_back(f.tcpf.s2c(tf::kAck));
        f.pending.push_back(f.tcpf.s2c(tf::kFin | tf::kAck));
        f.pending.push_back(f.tcpf.c2s(tf::kAck));
        f.stage = 5;
        return;
      default:
        f.done = true;
        return;
    }
  }

  std::uint32_t pick(std::uint32_t n) { return static_cast<std::uint32_t>(rng_() % n); }

 private:
  void udp_step(Flow& f, std::vector<Bytes>& out) {
    if (f.exchanges_left-- <= 0) {
      f.done = true;
      return;
    }
    sockscope::test::UdpSpec u;
    const bool from_client = (f.exchanges_left & 1) == 0;
    u.ip.src = from_client ? f.client : f.server;
    u.ip.dst = from_client ? f.server : f.client;
    u.sport = from_client ? f.cport : f.sport;
    u.dport = from_client ? f.sport : f.cport;
    u.ip.id = static_cast<std::uint16_t>(rng_());
    const bool big = !f.v6 && pick(100) < 3;  // a datagram larger than the MTU: IPv4 fragments
    u.payload.assign(big ? 3000 : 60 + pick(1300), static_cast<std::uint8_t>('0' + pick(10)));
    Bytes packet = sockscope::test::udp_packet(u);
    if (big) {
      for (auto& frag : sockscope::test::ipv4_fragments(packet, 1480)) out.push_back(std::move(frag));
    } else {
      out.push_back(std::move(packet));
    }
  }

  static std::string hex(std::uint32_t v) {
    char b[16];
    std::snprintf(b, sizeof b, "%x", v);
    return b;
  }

  std::mt19937_64 rng_;
  std::uint32_t next_id_ = 1;
};

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t packets = 100000;
  std::uint32_t seed = 1;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--packets" && i + 1 < argc) packets = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--seed" && i + 1 < argc) seed = static_cast<std::uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    else if (a == "-o" && i + 1 < argc) path = argv[++i];
    else {
      std::fprintf(stderr, "usage: gen_capture --packets N [--seed S] -o FILE.pcap\n");
      return 2;
    }
  }
  if (path.empty()) {
    std::fprintf(stderr, "gen_capture: give the output file with -o FILE.pcap\n");
    return 2;
  }
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) {
    std::perror(path.c_str());
    return 1;
  }
  std::vector<char> buf(1 << 20);
  std::setvbuf(file, buf.data(), _IOFBF, buf.size());
  PcapOut out(file);
  Generator gen(seed);
  constexpr std::size_t kActive = 400;  // conversations in progress at any time
  std::vector<Flow> flows;
  for (std::size_t i = 0; i < kActive; ++i) flows.push_back(gen.make_flow());
  std::uint64_t ns = 1'700'000'000ULL * 1'000'000'000ULL;
  std::vector<Bytes> ips;
  while (out.count() < packets) {
    Flow& f = flows[gen.pick(kActive)];
    ips.clear();
    gen.step(f, ips);
    for (const Bytes& ip : ips) {
      if (out.count() >= packets) break;
      ns += 5'000 + gen.pick(60'000);
      out.write(ns, sockscope::test::ethernet_frame(ip));
    }
    if (f.done) f = gen.make_flow();
  }
  std::fclose(file);
  std::fprintf(stderr, "gen_capture: %s: %llu packets, %.1f MB, %.0f bytes a packet on average\n", path.c_str(),
               static_cast<unsigned long long>(out.count()), static_cast<double>(out.bytes()) / 1e6,
               static_cast<double>(out.bytes()) / static_cast<double>(out.count()) - 16);
  return 0;
}
