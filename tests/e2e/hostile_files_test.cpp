// Hostile capture files: cut at every byte, bit-flipped, empty, pcapng blocks and pcap records whose
// lengths lie, and packets with every length field wrong. Each gives a clear one-line error naming the
// file (exit status 2, after whatever could be read) or a `malformed` annotation, never a crash, and
// nothing unsafe reaches the terminal. Runs under ASan+UBSan in build-sanitize/ with the rest.
// In-process runs go through the fuzz harness (every view at once, output checked for terminal
// safety); runs of the binary check the exit status and stderr a learner sees.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "../fuzz/harness.hpp"
#include "e2e_support.hpp"
#include "fixtures.hpp"

using namespace sockscope::testing;
using sockscope::fuzz::run_capture;
using sockscope::fuzz::terminal_safety_problem;

namespace {

using Bytes = std::vector<std::uint8_t>;

int line_count(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

std::uint32_t le32(const Bytes& b, std::size_t at) {
  return b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (static_cast<std::uint32_t>(b[at + 3]) << 24);
}
void put_le32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Four frames: the handshake and one data segment, Ethernet.
std::vector<PcapRecord> small_records() {
  auto all = e2e::exchange_fixture(false, sockscope::linktype::kEthernet);
  all.resize(4);
  return all;
}

// Where each frame's record ends, and where the file's headers end (the first record starts).
struct Layout {
  std::size_t headers_end = 0;
  std::vector<std::size_t> record_end;
};
Layout pcap_layout(const Bytes& b) {
  Layout l;
  l.headers_end = 24;
  for (std::size_t off = 24; off + 16 <= b.size();) {
    off += 16 + le32(b, off + 8);
    l.record_end.push_back(off);
  }
  return l;
}
Layout pcapng_layout(const Bytes& b) {
  Layout l;
  for (std::size_t off = 0; off + 8 <= b.size();) {
    const std::uint32_t type = le32(b, off);
    off += le32(b, off + 4);
    if (type == 6)
      l.record_end.push_back(off);
    else
      l.headers_end = off;
  }
  return l;
}

std::string write_temp(const std::string& test, const std::string& name, const Bytes& bytes) {
  const std::string path = sockscope::testing::temp_dir("hostile-" + test) + "/" + name;
  e2e::write_file(path, std::string(bytes.begin(), bytes.end()));
  return path;
}

// What every run of the binary on a hostile file must satisfy: no crash (a signal), status 0 or 2,
// at most one line on stderr and that line names the file, nothing unsafe on either stream.
void expect_clean_run(const e2e::RunResult& r, const std::string& path) {
  EXPECT_LT(r.status, 128) << "killed by signal " << (r.status - 128) << "\n" << r.err;
  EXPECT_TRUE(r.status == 0 || r.status == 2) << r.status << " " << r.err;
  if (r.status == 2) {
    EXPECT_EQ(line_count(r.err), 1) << r.err;
    EXPECT_EQ(r.err.rfind("sockscope: " + path + ": ", 0), 0u) << r.err;
  } else {
    EXPECT_EQ(r.err, "");
  }
  EXPECT_EQ(terminal_safety_problem(r.out), "");
  EXPECT_EQ(terminal_safety_problem(r.err), "");
}

}  // namespace

// Every cut of a small pcap and pcapng file, at every byte, in process through every view: a cut at
// a record's end is a shorter good file; any other cut is one error line, after exactly the
// complete frames before it.
TEST(HostileFiles, CutAtEveryByteInProcess) {
  for (CaptureFormat format : {CaptureFormat::PcapNano, CaptureFormat::PcapngNano}) {
    const Bytes full = capture_bytes(format, sockscope::linktype::kEthernet, small_records());
    const bool ng = format == CaptureFormat::PcapngNano;
    const Layout layout = ng ? pcapng_layout(full) : pcap_layout(full);
    ASSERT_EQ(layout.record_end.size(), 4u);
    ASSERT_EQ(layout.record_end.back(), full.size());
    for (std::size_t cut = 0; cut < full.size(); ++cut) {
      SCOPED_TRACE(std::string(ng ? "pcapng" : "pcap") + " cut at byte " + std::to_string(cut));
      const auto o = run_capture(full.data(), cut);
      EXPECT_EQ(o.error.find('\n'), std::string::npos) << o.error;
      if (cut == 0) {
        EXPECT_FALSE(o.opened);
        EXPECT_NE(o.error.find("empty"), std::string::npos) << o.error;
        continue;
      }
      if (cut < layout.headers_end) {
        EXPECT_FALSE(o.opened && o.error.empty()) << "a cut file header read as good";
        continue;
      }
      const auto complete = static_cast<std::uint64_t>(
          std::upper_bound(layout.record_end.begin(), layout.record_end.end(), cut) - layout.record_end.begin());
      ASSERT_TRUE(o.opened) << o.error;
      EXPECT_EQ(o.frames, complete);
      const bool at_record_end = cut == layout.headers_end ||
                                 std::binary_search(layout.record_end.begin(), layout.record_end.end(), cut);
      if (at_record_end) {
        EXPECT_EQ(o.error, "");
      } else {
        const std::string expected = complete == 0 ? std::string("cut short inside its first frame")
                                                   : "cut short after frame " + std::to_string(complete);
        EXPECT_NE(o.error.find(expected), std::string::npos) << o.error;
      }
    }
  }
}

// The same through the binary, for every byte of a two-frame pcap: exit 2 and one line naming the
// file for every cut but the record ends, never a crash.
TEST(HostileFiles, CutAtEveryByteThroughTheCli) {
  auto recs = small_records();
  recs.resize(2);
  const Bytes full = capture_bytes(CaptureFormat::PcapMicro, sockscope::linktype::kEthernet, recs);
  const Layout layout = pcap_layout(full);
  const std::string path = write_temp("cut-cli", "cut.pcap", {});
  for (std::size_t cut = 0; cut < full.size(); ++cut) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    e2e::write_file(path, std::string(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut)));
    const e2e::RunResult r = e2e::sockscope({"annotate", "--json", path});
    expect_clean_run(r, path);
    const bool good = cut == 24 || std::binary_search(layout.record_end.begin(), layout.record_end.end(), cut);
    EXPECT_EQ(r.status, good ? 0 : 2) << r.err;
  }
}

// Random damage anywhere in the file (headers included), seeded so a failure is reproducible:
// in process through every view, and a sample through the binary with each view.
TEST(HostileFiles, BitFlippedCapturesNeverCrash) {
  std::mt19937 rng(20240607);
  const auto records = e2e::exchange_fixture(true, sockscope::linktype::kLinuxSll2);
  const CaptureFormat formats[] = {CaptureFormat::PcapMicro, CaptureFormat::PcapNano, CaptureFormat::PcapngMicro,
                                   CaptureFormat::PcapngNano};
  int opened = 0, damaged = 0, runs = 0;
  const std::string path = write_temp("bitflip", "flipped.pcap", {});
  const std::vector<std::vector<std::string>> views = {
      {"annotate"}, {"annotate", "--osi"}, {"annotate", "--ladder"}, {"annotate", "--summary"}, {"annotate", "--json"}};
  for (CaptureFormat format : formats) {
    const Bytes clean = capture_bytes(format, sockscope::linktype::kLinuxSll2, records);
    for (int i = 0; i < 300; ++i) {
      Bytes b = clean;
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int k = 0; k < flips; ++k) {
        // A third of the damage lands in the first 64 bytes: the file and interface headers.
        const std::size_t at = (rng() % 3 == 0) ? rng() % 64 : rng() % b.size();
        if (rng() % 4 == 0)
          b[at] = (rng() % 2) ? 0xff : 0x00;
        else
          b[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
      }
      SCOPED_TRACE("format " + std::to_string(static_cast<int>(format)) + " variant " + std::to_string(i));
      const auto o = run_capture(b.data(), b.size());
      ++runs;
      opened += o.opened;
      damaged += !o.error.empty();
      EXPECT_EQ(o.error.find('\n'), std::string::npos) << o.error;
      if (i % 25 == 0) {
        e2e::write_file(path, std::string(b.begin(), b.end()));
        auto args = views[static_cast<std::size_t>(i / 25) % views.size()];
        args.push_back(path);
        expect_clean_run(e2e::sockscope(args), path);
      }
    }
  }
  // The damage reached both the parsers and the error paths.
  EXPECT_GT(opened, runs / 4);
  EXPECT_GT(damaged, 10);
}

TEST(HostileFiles, ZeroLengthFileInEveryView) {
  const std::string path = write_temp("empty", "empty.pcapng", {});
  for (const char* view : {"--osi", "--ladder", "--summary", "--json", "--no-payload"}) {
    SCOPED_TRACE(view);
    const e2e::RunResult r = e2e::sockscope({"annotate", view, path});
    expect_clean_run(r, path);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("empty"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

// pcapng blocks carry their length twice (RFC draft-ietf-opsawg-pcapng section 3.1: Block Total
// Length before and after the body). Each lie in the second packet's block stops the read there
// with one line, after the first frame is annotated.
TEST(HostileFiles, PcapngBlockLengthsThatLie) {
  const Bytes clean = capture_bytes(CaptureFormat::PcapngNano, sockscope::linktype::kEthernet, small_records());
  const Layout layout = pcapng_layout(clean);
  const std::size_t second = layout.record_end[0];  // the second packet's block starts here
  const std::uint32_t len = le32(clean, second + 4);
  struct Lie {
    const char* name;
    std::size_t at;
    std::uint32_t value;
  };
  const Lie lies[] = {
      {"length beyond the file", second + 4, 0x7ffffff0},
      {"length 0xffffffff", second + 4, 0xffffffff},
      {"length 0", second + 4, 0},
      {"length below the 12-byte minimum", second + 4, 8},
      {"length shorter than the packet it holds", second + 4, 32},
      {"length not a multiple of 4", second + 4, len - 3},
      {"length 4 more (into the next block)", second + 4, len + 4},
      {"trailing copy differs", second + len - 4, len + 8},
      {"captured length beyond the block", second + 20, 5000},
      {"captured length 0xffffffff", second + 20, 0xffffffff},
  };
  for (const Lie& lie : lies) {
    SCOPED_TRACE(lie.name);
    Bytes b = clean;
    put_le32(b, lie.at, lie.value);
    const std::string path = write_temp("pcapng-lie", "lie.pcapng", b);
    const e2e::RunResult r = e2e::sockscope({"annotate", "--json", path});
    expect_clean_run(r, path);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("after frame 1"), std::string::npos) << r.err;
    std::string error;
    const auto lines = e2e::json_lines(r.out, error);
    EXPECT_EQ(error, "");
    EXPECT_EQ(e2e::of_type(lines, "packet").size(), 1u) << r.out;
    const auto o = run_capture(b.data(), b.size());
    EXPECT_EQ(o.frames, 1u);
  }
  // Lies in the section header and interface blocks: the file cannot be opened, one line says so.
  const Lie header_lies[] = {
      {"section header length huge", 4, 0xfffffff0},
      {"section header length 0", 4, 0},
      {"interface block length beyond the file", le32(clean, 4) + 4, 0x00fffff0},
  };
  for (const Lie& lie : header_lies) {
    SCOPED_TRACE(lie.name);
    Bytes b = clean;
    put_le32(b, lie.at, lie.value);
    const std::string path = write_temp("pcapng-header-lie", "lie.pcapng", b);
    const e2e::RunResult r = e2e::sockscope({"annotate", path});
    expect_clean_run(r, path);
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "");
  }
}

// pcap records with lying lengths (the 16-byte record header: ts_sec, ts_frac, incl_len, orig_len).
TEST(HostileFiles, PcapRecordLengthsThatLie) {
  const Bytes clean = capture_bytes(CaptureFormat::PcapMicro, sockscope::linktype::kEthernet, small_records(), 128);
  const Layout layout = pcap_layout(clean);
  const std::size_t second = layout.record_end[0];
  struct Lie {
    const char* name;
    std::size_t at;
    std::uint32_t value;
    bool damaged;  // the read stops with an error after frame 1
  };
  const Lie lies[] = {
      {"caplen absurd (0xfffffff0)", second + 8, 0xfffffff0, true},
      {"caplen 2 GiB", second + 8, 0x80000000, true},
      {"caplen just above libpcap's limit", second + 8, 262145, true},
      {"caplen beyond the end of the file", second + 8, 100000, true},
      // libpcap keeps snaplen bytes of a longer record and skips the rest: a truncated frame.
      {"caplen above the file's snaplen", 16, 40, false},
      {"wire length below caplen", second + 12, 10, false},
      {"wire length 0xffffffff", second + 12, 0xffffffff, false},
  };
  for (const Lie& lie : lies) {
    SCOPED_TRACE(lie.name);
    Bytes b = clean;
    put_le32(b, lie.at, lie.value);
    const std::string path = write_temp("pcap-lie", "lie.pcap", b);
    const e2e::RunResult r = e2e::sockscope({"annotate", "--json", path});
    expect_clean_run(r, path);
    std::string error;
    const auto lines = e2e::json_lines(r.out, error);
    EXPECT_EQ(error, "");
    if (lie.damaged) {
      EXPECT_EQ(r.status, 2);
      EXPECT_NE(r.err.find("after frame 1"), std::string::npos) << r.err;
      EXPECT_EQ(e2e::of_type(lines, "packet").size(), 1u);
    } else {
      EXPECT_EQ(r.status, 0) << r.err;
      EXPECT_EQ(e2e::of_type(lines, "packet").size(), 4u);
    }
    run_capture(b.data(), b.size());
  }
  // A record of zero bytes is a frame with nothing in it: annotated as malformed, not an error.
  Bytes empty_frame = capture_bytes(CaptureFormat::PcapMicro, sockscope::linktype::kEthernet, {PcapRecord{}});
  const std::string path = write_temp("pcap-zero", "zero.pcap", empty_frame);
  const e2e::RunResult r = e2e::sockscope({"annotate", "--json", path});
  expect_clean_run(r, path);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("\"malformed\""), std::string::npos) << r.out;
}

// Packets whose length fields contradict the bytes: each is annotated `malformed`, with the layer
// that lies named in the JSON `error`, and the capture goes on (the last packet is good).
TEST(HostileFiles, EveryLengthFieldWrongIsMalformed) {
  struct Case {
    const char* name;
    Bytes ip;
    const char* layer;
  };
  std::vector<Case> cases;
  auto tcp = [](auto&& change) {
    TcpSpec s;
    s.flags = sockscope::tcpflag::kPsh | sockscope::tcpflag::kAck;
    s.payload = bytes_of("hello");
    change(s);
    return tcp_packet(s);
  };
  auto udp = [](auto&& change) {
    UdpSpec s;
    s.payload = bytes_of("ping");
    change(s);
    return udp_packet(s);
  };
  cases.push_back({"IPv4 total length beyond the frame", tcp([](TcpSpec& s) { s.ip.length = 0xffff; }), "ipv4"});
  cases.push_back({"IPv4 total length below the header", tcp([](TcpSpec& s) { s.ip.length = 12; }), "ipv4"});
  cases.push_back({"IPv4 total length cuts the TCP header", tcp([](TcpSpec& s) { s.ip.length = 30; }), "tcp"});
  cases.push_back({"IPv4 IHL below 5", tcp([](TcpSpec& s) { s.ip.ihl_words = 4; }), "ipv4"});
  cases.push_back({"IPv4 IHL beyond the packet", tcp([](TcpSpec& s) { s.ip.ihl_words = 15; }), "ipv4"});
  cases.push_back({"TCP data offset below 5", tcp([](TcpSpec& s) { s.data_offset_words = 2; }), "tcp"});
  cases.push_back({"TCP data offset beyond the segment", tcp([](TcpSpec& s) { s.data_offset_words = 15; }), "tcp"});
  cases.push_back({"UDP length below 8", udp([](UdpSpec& s) { s.length = 3; }), "udp"});
  cases.push_back({"UDP length beyond the datagram", udp([](UdpSpec& s) { s.length = 4000; }), "udp"});
  cases.push_back({"IPv6 payload length beyond the frame", udp([](UdpSpec& s) {
                     s.ip.src = "2001:db8::1";
                     s.ip.dst = "2001:db8::2";
                     s.ip.length = 0xfff0;
                   }), "ipv6"});
  cases.push_back({"IPv6 payload length shorter than the TCP header", tcp([](TcpSpec& s) {
                     s.ip.src = "2001:db8::1";
                     s.ip.dst = "2001:db8::2";
                     s.ip.length = 4;
                   }), "tcp"});
  std::vector<PcapRecord> records;
  for (const Case& c : cases) {
    PcapRecord r;
    r.ts = e2e::fixture_time(records.size());
    r.data = ethernet_frame(c.ip);
    records.push_back(std::move(r));
  }
  PcapRecord good;
  good.ts = e2e::fixture_time(records.size());
  good.data = ethernet_frame(udp([](UdpSpec&) {}));
  records.push_back(good);
  Bytes file = capture_bytes(CaptureFormat::PcapNano, sockscope::linktype::kEthernet, records);
  const std::string path = write_temp("lengths", "lengths.pcap", file);

  const e2e::RunResult r = e2e::sockscope({"annotate", "--json", path});
  expect_clean_run(r, path);
  ASSERT_EQ(r.status, 0) << r.err;
  std::string error;
  const auto lines = e2e::json_lines(r.out, error);
  ASSERT_EQ(error, "");
  const auto packets = e2e::of_type(lines, "packet");
  ASSERT_EQ(packets.size(), cases.size() + 1);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].name);
    const e2e::Json& p = *packets[i];
    // A length that claims more than the frame holds is noted as `truncated` (tcpdump's
    // "truncated-ip - N bytes missing!") and the headers that are there are decoded, not malformed.
    const std::string name = cases[i].name;
    if (name.find("beyond the frame") != std::string::npos || name == "UDP length beyond the datagram") {
      EXPECT_FALSE(e2e::has_event(p, "malformed")) << p.dump();
      EXPECT_EQ(p["truncated"]["layer"].str(), cases[i].layer) << p.dump();
      EXPECT_GT(p["truncated"]["missing"].i64(), 0) << p.dump();
      continue;
    }
    EXPECT_TRUE(e2e::has_event(p, "malformed")) << p.dump();
    EXPECT_EQ(p["error"]["kind"].str(), "malformed") << p.dump();
    EXPECT_EQ(p["error"]["layer"].str(), cases[i].layer) << p.dump();
    EXPECT_FALSE(p["error"]["what"].str().empty()) << p.dump();
  }
  EXPECT_FALSE(e2e::has_event(*packets.back(), "malformed")) << packets.back()->dump();
  // Every other view reads the same file cleanly.
  for (const char* view : {"--osi", "--ladder", "--summary"}) {
    SCOPED_TRACE(view);
    const e2e::RunResult rv = e2e::sockscope({"annotate", view, path});
    expect_clean_run(rv, path);
    EXPECT_EQ(rv.status, 0);
  }
}

// ICMP errors quote the datagram they answer, cut short by design (RFC 792: the IP header and 64 bits
// of data; RFC 4443 2.4(c): as much as fits). The decoder reads only the addresses and ports of the
// quote, bounded by the quote: lying lengths inside it neither crash nor tie the error to the wrong
// datagram, and a quoted header too short to be one (IHL 2) is not read as a quote at all.
TEST(HostileFiles, IcmpQuotesWithLyingLengths) {
  UdpSpec u;
  u.payload = bytes_of("ping");
  const Bytes original = udp_packet(u);
  UdpSpec lying = u;
  lying.ip.length = 0xffff;
  lying.length = 2;
  UdpSpec short_ihl = u;
  short_ihl.ip.ihl_words = 2;
  std::vector<PcapRecord> records;
  for (const Bytes& ip : {original, icmp_unreachable(udp_packet(lying)), icmp_unreachable(udp_packet(short_ihl))}) {
    PcapRecord r;
    r.ts = e2e::fixture_time(records.size());
    r.data = ethernet_frame(ip);
    records.push_back(std::move(r));
  }
  const std::string path = write_temp("icmp-quotes", "quotes.pcap",
                                      capture_bytes(CaptureFormat::PcapNano, sockscope::linktype::kEthernet, records));
  const e2e::RunResult r = e2e::sockscope({"annotate", "--json", path});
  expect_clean_run(r, path);
  ASSERT_EQ(r.status, 0) << r.err;
  std::string error;
  const auto lines = e2e::json_lines(r.out, error);
  ASSERT_EQ(error, "");
  const auto packets = e2e::of_type(lines, "packet");
  ASSERT_EQ(packets.size(), 3u);
  // Lying total length and UDP length inside the quote: addresses and ports still tie it to frame 1.
  EXPECT_TRUE(e2e::has_event(*packets[1], "icmp-unreachable")) << packets[1]->dump();
  EXPECT_EQ((*packets[1])["quotes"].i64(), 1) << packets[1]->dump();
  // IHL 2: not a quote; the error is tied to nothing.
  EXPECT_TRUE(e2e::has_event(*packets[2], "icmp-unreachable")) << packets[2]->dump();
  EXPECT_TRUE((*packets[2])["quotes"].is_null()) << packets[2]->dump();
}
