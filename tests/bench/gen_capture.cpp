// Writes a realistic synthetic capture of any size for the benchmark (fixed seed: the same file every
// time). Interleaved TCP connections (handshake, data both ways, piggy-backed and pure ACKs,
// retransmissions, duplicate ACKs, the three closes: fin-3, fin-4, rst), UDP flows, IPv4 fragments and
// IPv6, on Ethernet, streamed to a nanosecond pcap file.
//
// --variety adds what real captures bring (the tests run over it): conversations inside GRE and
// VXLAN tunnels, frames cut by a snapshot length, spurious retransmissions (bytes re-sent after their
// ACK), and an 11-minute silence of the whole capture every 100,000 packets, which open connections
// must survive. --pcapng writes a pcapng file with two interfaces of different link types (Ethernet
// and Linux cooked), each conversation on one of them.
//
//   gen_capture --packets 1000000 --seed 1 -o bench-1m.pcap
//   gen_capture --packets 40000 --variety --pcapng -o mixed.pcapng
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "frame_builder.hpp"

namespace {

using sockscope::testing::Bytes;
using sockscope::testing::TcpFlow;
using sockscope::testing::TcpSpec;
namespace tf = sockscope::tcpflag;

class PcapOut {
 public:
  explicit PcapOut(std::FILE* f) : f_(f) {
    if (f_ == nullptr) return;  // pcapng instead
    std::uint8_t h[24] = {};
    put32(h, 0xa1b23c4d);  // nanosecond pcap
    put16(h + 4, 2);
    put16(h + 6, 4);
    put32(h + 16, 262144);
    put32(h + 20, 1);  // Ethernet
    std::fwrite(h, 1, sizeof h, f_);
  }
  void write(std::uint64_t ns, const Bytes& frame, std::uint32_t caplen) {
    std::uint8_t h[16];
    put32(h, static_cast<std::uint32_t>(ns / 1'000'000'000ULL));
    put32(h + 4, static_cast<std::uint32_t>(ns % 1'000'000'000ULL));
    put32(h + 8, caplen);
    put32(h + 12, static_cast<std::uint32_t>(frame.size()));
    std::fwrite(h, 1, sizeof h, f_);
    std::fwrite(frame.data(), 1, caplen, f_);
    bytes_ += 16 + caplen;
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

// The same records as a pcapng file: a section header, two interfaces (0: Ethernet, 1: Linux cooked
// capture, snapshot length 65535 and nanosecond timestamps), then one enhanced packet block each.
class PcapngOut {
 public:
  explicit PcapngOut(std::FILE* f) : f_(f) {
    Bytes shb;
    le32(shb, 0x0A0D0D0A);
    le32(shb, 28);
    le32(shb, 0x1A2B3C4D);
    le16(shb, 1);
    le16(shb, 0);
    le32(shb, 0xffffffff);  // section length unknown
    le32(shb, 0xffffffff);
    le32(shb, 28);
    put(shb);
    idb(1, "eth0");
    idb(113, "any");
  }
  void write(std::uint32_t interface, std::uint64_t ns, const Bytes& frame, std::uint32_t caplen) {
    const std::uint32_t padded = (caplen + 3u) & ~3u;
    Bytes b;
    le32(b, 6);
    le32(b, 32 + padded);
    le32(b, interface);
    le32(b, static_cast<std::uint32_t>(ns >> 32));
    le32(b, static_cast<std::uint32_t>(ns));
    le32(b, caplen);
    le32(b, static_cast<std::uint32_t>(frame.size()));
    b.insert(b.end(), frame.begin(), frame.begin() + caplen);
    b.resize(b.size() + (padded - caplen), 0);
    le32(b, 32 + padded);
    put(b);
    ++count_;
  }
  std::uint64_t count() const { return count_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  void idb(std::uint16_t linktype, const std::string& name) {
    Bytes opt;
    le16(opt, 2);  // if_name
    le16(opt, static_cast<std::uint16_t>(name.size()));
    opt.insert(opt.end(), name.begin(), name.end());
    while (opt.size() % 4) opt.push_back(0);
    le16(opt, 9);  // if_tsresol: 10^-9
    le16(opt, 1);
    opt.push_back(9);
    opt.resize(opt.size() + 3, 0);
    le32(opt, 0);  // opt_endofopt
    Bytes b;
    const auto len = static_cast<std::uint32_t>(20 + opt.size());
    le32(b, 1);
    le32(b, len);
    le16(b, linktype);
    le16(b, 0);
    le32(b, 65535);
    b.insert(b.end(), opt.begin(), opt.end());
    le32(b, len);
    put(b);
  }
  void put(const Bytes& b) {
    std::fwrite(b.data(), 1, b.size(), f_);
    bytes_ += b.size();
  }
  static void le16(Bytes& b, std::uint32_t v) {
    b.push_back(static_cast<std::uint8_t>(v));
    b.push_back(static_cast<std::uint8_t>(v >> 8));
  }
  static void le32(Bytes& b, std::uint32_t v) {
    le16(b, v);
    le16(b, v >> 16);
  }
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
  int tunnel = 0;             // --variety: 0 none, 1 GRE, 2 VXLAN
  std::uint32_t interface = 0;  // --pcapng: 0 Ethernet, 1 Linux cooked
};

class Generator {
 public:
  Generator(std::uint32_t seed, bool variety) : rng_(seed), variety_(variety) {}

  Flow make_flow() {
    Flow f;
    const std::uint32_t n = next_id_++;
    f.v6 = pick(100) < 30;
    f.tcp = pick(100) < 72;
    if (variety_) {
      const std::uint32_t t = pick(100);
      f.tunnel = t < 5 ? 1 : t < 10 ? 2 : 0;
      f.interface = pick(100) < 30 ? 1 : 0;
    }
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
      out.push_back(sockscope::testing::tcp_packet(f.pending.front()));
      f.pending.erase(f.pending.begin());
      return;
    }
    if (!f.tcp) return udp_step(f, out);
    const std::uint16_t pa = tf::kPsh | tf::kAck;
    switch (f.stage) {
      case 0: {
        auto hs = f.tcpf.handshake();
        out.push_back(sockscope::testing::tcp_packet(hs[0]));
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
        out.push_back(sockscope::testing::tcp_packet(seg));
        const std::uint32_t r = pick(1000);
        if (variety_ && r < 5) {
          // The ACK comes, then the same bytes again: a spurious retransmission.
          f.pending.push_back(from_client ? f.tcpf.s2c(tf::kAck) : f.tcpf.c2s(tf::kAck));
          f.pending.push_back(seg);
        } else if (r < 15) {
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
          out.push_back(sockscope::testing::tcp_packet(f.tcpf.c2s(tf::kRst | tf::kAck)));
          f.done = true;
          return;
        }
        out.push_back(sockscope::testing::tcp_packet(f.tcpf.c2s(tf::kFin | tf::kAck)));
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
    sockscope::testing::UdpSpec u;
    const bool from_client = (f.exchanges_left & 1) == 0;
    u.ip.src = from_client ? f.client : f.server;
    u.ip.dst = from_client ? f.server : f.client;
    u.sport = from_client ? f.cport : f.sport;
    u.dport = from_client ? f.sport : f.cport;
    u.ip.id = static_cast<std::uint16_t>(rng_());
    const bool big = !f.v6 && pick(100) < 3;  // a datagram larger than the MTU: IPv4 fragments
    u.payload.assign(big ? 3000 : 60 + pick(1300), static_cast<std::uint8_t>('0' + pick(10)));
    Bytes packet = sockscope::testing::udp_packet(u);
    if (big) {
      for (auto& frag : sockscope::testing::ipv4_fragments(packet, 1480)) out.push_back(std::move(frag));
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
  bool variety_ = false;
  std::uint32_t next_id_ = 1;
};

// The frame for an IP packet of the flow: on its interface's link type, inside its tunnel.
Bytes frame_for(const Flow& f, const Bytes& ip) {
  namespace t = sockscope::testing;
  Bytes inner = ip;
  if (f.tunnel != 0) {
    t::IpSpec outer;
    outer.src = "198.51.100.1";
    outer.dst = "198.51.100.2";
    t::GreSpec gre;
    gre.protocol = f.v6 ? 0x86DD : 0x0800;
    inner = f.tunnel == 1 ? t::gre_packet(outer, gre, ip)
                          : t::vxlan_packet(outer, 100 + f.cport % 50, t::ethernet_frame(ip));
  }
  return f.interface == 1 ? t::sll_frame(inner) : t::ethernet_frame(inner);
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t packets = 100000;
  std::uint32_t seed = 1;
  std::string path;
  bool variety = false, pcapng = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--packets" && i + 1 < argc) packets = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--seed" && i + 1 < argc) seed = static_cast<std::uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    else if (a == "-o" && i + 1 < argc) path = argv[++i];
    else if (a == "--variety") variety = true;
    else if (a == "--pcapng") pcapng = true;
    else {
      std::fprintf(stderr, "usage: gen_capture --packets N [--seed S] [--variety] [--pcapng] -o FILE\n");
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
  PcapOut out(pcapng ? nullptr : file);
  std::unique_ptr<PcapngOut> ng;
  if (pcapng) ng = std::make_unique<PcapngOut>(file);
  Generator gen(seed, variety);
  constexpr std::size_t kActive = 400;  // conversations in progress at any time
  std::vector<Flow> flows;
  for (std::size_t i = 0; i < kActive; ++i) flows.push_back(gen.make_flow());
  std::uint64_t ns = 1'700'000'000ULL * 1'000'000'000ULL;
  std::vector<Bytes> ips;
  std::uint64_t written = 0;
  while (written < packets) {
    Flow& f = flows[gen.pick(kActive)];
    ips.clear();
    gen.step(f, ips);
    for (const Bytes& ip : ips) {
      if (written >= packets) break;
      ns += 5'000 + gen.pick(60'000);
      if (variety && written > 0 && written % 100'000 == 0) ns += 660ULL * 1'000'000'000ULL;  // 11 quiet minutes
      const Bytes frame = frame_for(f, ip);
      // 1 frame in 100 cut by a 96-byte snapshot length (--variety).
      const auto caplen = static_cast<std::uint32_t>(variety && gen.pick(100) == 0 && frame.size() > 96 ? 96 : frame.size());
      if (ng)
        ng->write(f.interface, ns, frame, caplen);
      else
        out.write(ns, frame, caplen);
      ++written;
    }
    if (f.done) f = gen.make_flow();
  }
  std::fclose(file);
  const std::uint64_t bytes = ng ? ng->bytes() : out.bytes();
  std::fprintf(stderr, "gen_capture: %s: %llu packets, %.1f MB, %.0f bytes a packet on average\n", path.c_str(),
               static_cast<unsigned long long>(written), static_cast<double>(bytes) / 1e6,
               static_cast<double>(bytes) / static_cast<double>(written) - 16);
  return 0;
}
