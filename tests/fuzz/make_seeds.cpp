// Writes the seed corpora of the fuzz targets from the test builders (tests/support): every sample
// frame, whole conversations, fragments, ICMP errors, payloads with escape sequences, and capture
// files of them in pcap and pcapng. Nothing is downloaded; the seeds change when the builders do.
//   make_seeds DIR   ->  DIR/frame/*, DIR/capture/*
#include <sys/stat.h>

#include <cstdio>
#include <string>
#include <vector>

#include "frame_builder.hpp"
#include "harness.hpp"
#include "pcap_writer.hpp"

using namespace sockscope;
using namespace sockscope::testing;

namespace {

int written = 0;

bool write(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) {
    std::fprintf(stderr, "make_seeds: cannot write %s\n", path.c_str());
    return false;
  }
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok &= std::fclose(f) == 0;
  ++written;
  return ok;
}

const std::uint16_t kPa = tcpflag::kPsh | tcpflag::kAck;

// A whole TCP conversation: handshake, data both ways (one payload with terminal escapes), a
// retransmission, a duplicate ACK, the three-segment close.
std::vector<Bytes> tcp_conversation(bool v6) {
  TcpFlow f(v6 ? "2001:db8::1" : "192.0.2.1", 40000, v6 ? "2001:db8::2" : "192.0.2.2", 9000, 1000, 5000);
  std::vector<TcpSpec> segs = f.handshake();
  segs[0].options = cat({tcp_opt::mss(1460), tcp_opt::sack_permitted(), tcp_opt::timestamps(1, 0),
                         tcp_opt::nop(), tcp_opt::wscale(7)});
  const TcpSpec hello = f.c2s(kPa, "hello\x1b[31m red \x1b]0;title\x07 \xc2\x9b 6n \xe2\x80\xae");
  segs.push_back(hello);
  segs.push_back(hello);  // retransmission
  const TcpSpec ack = f.s2c(tcpflag::kAck);
  segs.push_back(ack);
  segs.push_back(ack);    // duplicate ACK
  segs.push_back(f.s2c(kPa, "hi \xff\xfe invalid"));
  segs.push_back(f.c2s(tcpflag::kFin | tcpflag::kAck));
  segs.push_back(f.s2c(tcpflag::kFin | tcpflag::kAck));
  segs.push_back(f.c2s(tcpflag::kAck));
  std::vector<Bytes> out;
  for (const TcpSpec& s : segs) out.push_back(tcp_packet(s));
  return out;
}

std::vector<Bytes> refused(bool v6) {
  TcpFlow f(v6 ? "::1" : "127.0.0.1", 40001, v6 ? "::1" : "127.0.0.1", 1);
  std::vector<Bytes> out;
  out.push_back(tcp_packet(f.c2s(tcpflag::kSyn)));
  TcpSpec rst = f.s2c(tcpflag::kRst | tcpflag::kAck);
  rst.seq = 0;
  out.push_back(tcp_packet(rst));
  return out;
}

std::vector<Bytes> udp_and_unreachable(bool v6) {
  UdpSpec u;
  u.ip.src = v6 ? "2001:db8::1" : "192.0.2.1";
  u.ip.dst = v6 ? "2001:db8::2" : "192.0.2.2";
  u.payload = bytes_of("ping \x1b[6n");
  std::vector<Bytes> out;
  const Bytes dgram = udp_packet(u);
  out.push_back(dgram);
  out.push_back(icmp_unreachable(dgram));
  UdpSpec back = u;
  std::swap(back.ip.src, back.ip.dst);
  std::swap(back.sport, back.dport);
  back.payload = bytes_of("pong");
  out.push_back(udp_packet(back));
  return out;
}

std::vector<Bytes> fragments(bool v6) {
  UdpSpec u;
  u.ip.src = v6 ? "2001:db8::1" : "192.0.2.1";
  u.ip.dst = v6 ? "2001:db8::2" : "192.0.2.2";
  u.ip.df = false;
  u.payload = Bytes(100, 'x');
  const Bytes whole = udp_packet(u);
  std::vector<Bytes> out = v6 ? ipv6_fragments(whole, 48, 7) : ipv4_fragments(whole, 48);
  std::swap(out.front(), out.back());  // out of order: the last fragment first
  return out;
}

std::vector<Bytes> wrap(std::uint32_t linktype, const std::vector<Bytes>& ips) {
  std::vector<Bytes> out;
  for (const Bytes& ip : ips) out.push_back(link_frame(linktype, ip));
  return out;
}

std::vector<PcapRecord> records(const std::vector<Bytes>& frames) {
  std::vector<PcapRecord> out;
  std::int64_t ms = 0;
  for (const Bytes& b : frames) {
    PcapRecord r;
    r.ts = Timestamp{1'700'000'000 + ms / 1000, static_cast<std::uint32_t>((ms % 1000) * 1'000'000)};
    r.data = b;
    out.push_back(std::move(r));
    ms += 3;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR (writes DIR/frame and DIR/capture)\n");
    return 2;
  }
  const std::string dir = argv[1];
  ::mkdir(dir.c_str(), 0755);
  ::mkdir((dir + "/frame").c_str(), 0755);
  ::mkdir((dir + "/capture").c_str(), 0755);
  bool ok = true;

  // Frame target: every sample frame alone, then sequences.
  for (const SampleFrame& s : sample_frames())
    ok &= write(dir + "/frame/" + s.name, fuzz::frame_input(s.linktype, {s.bytes}));
  struct Seq {
    std::string name;
    std::uint32_t linktype;
    std::vector<Bytes> frames;
  };
  std::vector<Seq> seqs;
  for (bool v6 : {false, true}) {
    const std::string fam = v6 ? "ipv6" : "ipv4";
    seqs.push_back({"tcp-conversation-" + fam, linktype::kEthernet, wrap(linktype::kEthernet, tcp_conversation(v6))});
    seqs.push_back({"tcp-refused-" + fam, linktype::kNull, wrap(linktype::kNull, refused(v6))});
    seqs.push_back({"udp-unreachable-" + fam, linktype::kLinuxSll2, wrap(linktype::kLinuxSll2, udp_and_unreachable(v6))});
    seqs.push_back({"fragments-" + fam, linktype::kRaw, fragments(v6)});
  }
  for (const Seq& s : seqs) ok &= write(dir + "/frame/" + s.name, fuzz::frame_input(s.linktype, s.frames));

  // Capture target: the sequences as files, in each format; kept small (libFuzzer's -max_len).
  const CaptureFormat formats[] = {CaptureFormat::PcapMicro, CaptureFormat::PcapNano, CaptureFormat::PcapngMicro,
                                   CaptureFormat::PcapngNano};
  const char* format_names[] = {"pcap-micro", "pcap-nano", "pcapng-micro", "pcapng-nano"};
  for (std::size_t i = 0; i < 4; ++i) {
    for (const Seq& s : seqs)
      ok &= write(dir + "/capture/" + s.name + "." + format_names[i], capture_bytes(formats[i], s.linktype, records(s.frames)));
    // Every sample frame of one link type in one file, and a snaplen that cuts frames short.
    std::vector<Bytes> eth;
    for (const SampleFrame& sf : sample_frames())
      if (sf.linktype == linktype::kEthernet) eth.push_back(sf.bytes);
    ok &= write(dir + "/capture/samples-ethernet." + std::string(format_names[i]),
                capture_bytes(formats[i], linktype::kEthernet, records(eth)));
    std::vector<PcapRecord> cut = records(wrap(linktype::kEthernet, tcp_conversation(false)));
    for (PcapRecord& r : cut) {
      r.wirelen = static_cast<std::uint32_t>(r.data.size());
      if (r.data.size() > 54) r.data.resize(54);
    }
    ok &= write(dir + "/capture/snaplen-54." + std::string(format_names[i]),
                capture_bytes(formats[i], linktype::kEthernet, cut, 54));
  }
  std::printf("make_seeds: %d seeds in %s\n", written, dir.c_str());
  return ok ? 0 : 1;
}
