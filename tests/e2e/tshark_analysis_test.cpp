// Every TCP analysis word against its Wireshark field, on one capture that makes each of them happen:
// a lost segment, duplicate ACKs, a fast retransmission, a timeout retransmission, a spurious one,
// an out-of-order segment, an ACK of unseen bytes, zero window, probe, window update, window full,
// keep-alive and its ACK, then a reused port. tshark reads the same file; the frames each side
// flags must be the same.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "e2e_support.hpp"
#include "fixtures.hpp"
#include "tshark_words.hpp"

namespace {

using e2e::field_to_word;
using e2e::FramesByWord;
using e2e::our_words;
using e2e::show;
using e2e::tshark_words;
using sockscope::testing::TcpFlow;
using sockscope::testing::TcpSpec;
namespace tf = sockscope::tcpflag;

struct Step {
  TcpSpec seg;
  std::int64_t at_us;  // capture time in microseconds from the start
};

using Wrap = std::function<sockscope::testing::Bytes(const sockscope::testing::Bytes& ip)>;

sockscope::testing::Bytes plain_ethernet(const sockscope::testing::Bytes& ip) { return sockscope::testing::ethernet_frame(ip); }

// Builds the scenario; comments give the frame number and what it shows. `wrap` makes each IP packet
// a frame (plain Ethernet, or inside a tunnel).
std::vector<e2e::PcapRecord> analysis_fixture(const Wrap& wrap = plain_ethernet) {
  TcpFlow f("192.0.2.1", 40000, "192.0.2.2", 9000, 1000, 5000);
  const std::uint16_t pa = tf::kPsh | tf::kAck;
  const std::string chunk(100, 'x');
  std::vector<Step> s;
  std::int64_t t = 0;
  auto at = [&](std::int64_t dt_us) { return t += dt_us; };
  for (const TcpSpec& h : f.handshake()) s.push_back({h, at(1000)});  // 1-3, RTT 1 ms
  s.push_back({f.c2s(pa, chunk), at(1000)});                            // 4: bytes 1..100
  s.push_back({f.s2c(tf::kAck), at(1000)});                             // 5: ack 101
  const TcpSpec lost = f.c2s(pa, chunk);                                 //    bytes 101..200: lost
  s.push_back({f.c2s(pa, chunk), at(1000)});                            // 6: lost-segment
  TcpSpec dup = f.s2c(tf::kAck);
  dup.ack = lost.seq;
  s.push_back({dup, at(1000)});                                         // 7: dup-ack 1 of 5
  s.push_back({f.c2s(pa, chunk), at(1000)});                            // 8: bytes 301..400
  s.push_back({dup, at(1000)});                                         // 9: dup-ack 2 of 5
  s.push_back({lost, at(1000)});                                        // 10: fast retransmission
  s.push_back({f.s2c(tf::kAck), at(1000)});                             // 11: ack 401
  TcpSpec again = f.c2s(pa, chunk);                                      //    bytes 401..500
  s.push_back({again, at(1000)});                                       // 12
  s.push_back({again, at(300000)});                                     // 13: retransmission (timeout)
  s.push_back({f.s2c(tf::kAck), at(1000)});                             // 14: ack 501
  s.push_back({again, at(300000)});                                     // 15: spurious retransmission
  // Out of order: the sender's later segment is captured first, the earlier one right after.
  const TcpSpec first = f.c2s(pa, chunk);
  const TcpSpec second = f.c2s(pa, chunk);
  s.push_back({second, at(1000)});                                      // 16: lost-segment (gap)
  s.push_back({first, at(100)});                                        // 17: out-of-order
  s.push_back({f.s2c(tf::kAck), at(1000)});                             // 18: ack 701
  TcpSpec zero = f.s2c(tf::kAck);
  zero.window = 0;
  s.push_back({zero, at(1000)});                                        // 19: zero-window
  TcpSpec probe = f.c2s(pa, "p");
  s.push_back({probe, at(200000)});                                     // 20: zero-window-probe
  TcpSpec still_zero = f.s2c(tf::kAck);
  still_zero.window = 0;
  still_zero.ack = probe.seq;                                           //    the probe byte not taken
  s.push_back({still_zero, at(1000)});                                  // 21: zero-window
  TcpSpec update = still_zero;
  update.window = 1000;
  s.push_back({update, at(100000)});                                    // 22: window-update
  f.client_next = probe.seq;                                            //    the probe byte is sent again
  s.push_back({f.c2s(pa, std::string(1000, 'y')), at(1000)});          // 23: fills the window: window-full
  s.push_back({f.s2c(tf::kAck), at(1000)});                             // 24: ack
  TcpSpec keepalive = f.c2s(tf::kAck);
  keepalive.seq -= 1;
  s.push_back({keepalive, at(5000000)});                                // 25: keepalive
  s.push_back({f.s2c(tf::kAck), at(1000)});                             // 26: keepalive-ack
  TcpSpec unseen = f.s2c(tf::kAck);
  unseen.ack += 5000;
  s.push_back({unseen, at(1000)});                                      // 27: ack-unseen
  std::vector<e2e::PcapRecord> out;
  for (const Step& st : s) {
    e2e::PcapRecord r;
    r.ts = sockscope::Timestamp{1'700'000'000 + st.at_us / 1'000'000,
                                static_cast<std::uint32_t>(st.at_us % 1'000'000) * 1000u};
    r.data = wrap(sockscope::testing::tcp_packet(st.seg));
    out.push_back(std::move(r));
  }
  return out;
}


TEST(TsharkCrossCheck, EveryAnalysisWordOnTheSameFramesAsWireshark) {
  E2E_REQUIRE(e2e::have_tool("tshark"), "tshark is not installed");
  const std::string path = sockscope::testing::temp_dir("tshark-analysis") + "/analysis.pcap";
  ASSERT_TRUE(sockscope::testing::write_capture(path, sockscope::testing::CaptureFormat::PcapNano, 1,
                                             analysis_fixture()));
  std::string error;
  const FramesByWord theirs = tshark_words(path, error);
  ASSERT_EQ(error, "");
  const FramesByWord ours = our_words(path, error);
  ASSERT_EQ(error, "");
  // The fixture makes every word happen at least once (by tshark's own judgement)...
  for (const auto& [field, word] : field_to_word())
    EXPECT_TRUE(theirs.count(word)) << "the fixture should make tshark flag " << field;
  // ...and we flag exactly the frames tshark flags.
  for (const auto& [field, word] : field_to_word()) {
    const auto t = theirs.count(word) ? theirs.at(word) : std::set<std::int64_t>{};
    const auto o = ours.count(word) ? ours.at(word) : std::set<std::int64_t>{};
    EXPECT_EQ(show(o), show(t)) << word << " (ours) vs " << field << " (tshark)";
  }
}

// The same conversation inside each tunnel: Wireshark analyses the inner TCP stream, and so must we
// (the outer headers change nothing but where the segment starts in the frame).
TEST(TsharkCrossCheck, TheSameWordsInsideTunnels) {
  E2E_REQUIRE(e2e::have_tool("tshark"), "tshark is not installed");
  namespace t = sockscope::testing;
  t::IpSpec outer;
  outer.src = "198.51.100.1";
  outer.dst = "198.51.100.2";
  t::EthSpec inner_eth;
  inner_eth.src = "02:00:00:00:0a:01";
  inner_eth.dst = "02:00:00:00:0a:02";
  t::EthSpec mpls;
  mpls.ethertype = 0x8847;
  const std::vector<std::pair<std::string, Wrap>> tunnels = {
      {"gre", [&](const t::Bytes& ip) { return t::ethernet_frame(t::gre_packet(outer, t::GreSpec{}, ip)); }},
      {"vxlan",
       [&](const t::Bytes& ip) { return t::ethernet_frame(t::vxlan_packet(outer, 4242, t::ethernet_frame(ip, inner_eth))); }},
      {"geneve",
       [&](const t::Bytes& ip) { return t::ethernet_frame(t::geneve_packet(outer, 77, 0x6558, t::ethernet_frame(ip, inner_eth), 2)); }},
      {"erspan",
       [&](const t::Bytes& ip) {
         t::GreSpec g;
         g.protocol = 0x88BE;
         g.seq = 1;
         return t::ethernet_frame(t::gre_packet(outer, g, t::cat({t::erspan2_header(42, 0), t::ethernet_frame(ip, inner_eth)})));
       }},
      {"mpls", [&](const t::Bytes& ip) { return t::ethernet_frame(t::cat({t::mpls_stack({100, 200}), ip}), mpls); }},
  };
  const std::string dir = sockscope::testing::temp_dir("tshark-tunnels");
  for (const auto& [kind, wrap] : tunnels) {
    const std::string path = dir + "/" + kind + ".pcap";
    ASSERT_TRUE(t::write_capture(path, t::CaptureFormat::PcapNano, 1, analysis_fixture(wrap))) << kind;
    std::string error;
    const FramesByWord theirs = tshark_words(path, error);
    ASSERT_EQ(error, "") << kind;
    const FramesByWord ours = our_words(path, error, kind);
    ASSERT_EQ(error, "") << kind;
    EXPECT_TRUE(theirs.count("retransmission")) << "tshark should analyse the TCP stream inside " << kind;
    for (const auto& [field, word] : field_to_word()) {
      const auto th = theirs.count(word) ? theirs.at(word) : std::set<std::int64_t>{};
      const auto o = ours.count(word) ? ours.at(word) : std::set<std::int64_t>{};
      EXPECT_EQ(show(o), show(th)) << kind << ": " << word << " (ours) vs " << field << " (tshark)";
    }
  }
}

}  // namespace

namespace {

// A segment whose TCP header the snapshot length cut: Wireshark still analyses it once the first 16
// bytes (through the window) are there, so the next segment is not "previous segment not captured".
// Cut after 10 to 20 header bytes, each between two whole segments; the same frames flagged as tshark.
TEST(TsharkCrossCheck, SegmentsWithACutHeaderAreAnalysedFromSixteenBytes) {
  E2E_REQUIRE(e2e::have_tool("tshark"), "tshark is not installed");
  namespace t = sockscope::testing;
  t::TcpFlow f("192.0.2.1", 40000, "192.0.2.2", 9000, 1000, 5000);
  std::vector<e2e::PcapRecord> recs;
  std::int64_t us = 0;
  const auto add = [&](const t::TcpSpec& seg, std::size_t keep_tcp_bytes) {
    e2e::PcapRecord r;
    us += 1000;
    r.ts = sockscope::Timestamp{1'700'000'000 + us / 1'000'000, static_cast<std::uint32_t>(us % 1'000'000) * 1000u};
    const t::Bytes frame = t::ethernet_frame(t::tcp_packet(seg));
    r.wirelen = static_cast<std::uint32_t>(frame.size());
    r.data.assign(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(std::min(frame.size(), 34 + keep_tcp_bytes)));
    recs.push_back(std::move(r));
  };
  for (const t::TcpSpec& h : f.handshake()) add(h, 1000);
  const std::uint16_t pa = sockscope::tcpflag::kPsh | sockscope::tcpflag::kAck;
  for (std::size_t k = 10; k <= 20; ++k) {
    add(f.c2s(pa, std::string(100, 'a')), 1000);
    add(f.c2s(pa, std::string(100, 'b')), k);
    add(f.c2s(pa, std::string(100, 'c')), 1000);
  }
  const std::string path = sockscope::testing::temp_dir("tshark-cut-header") + "/cut.pcap";
  ASSERT_TRUE(t::write_capture(path, t::CaptureFormat::PcapMicro, 1, recs));
  std::string error;
  const FramesByWord theirs = tshark_words(path, error);
  ASSERT_EQ(error, "");
  const FramesByWord ours = our_words(path, error);
  ASSERT_EQ(error, "");
  ASSERT_TRUE(theirs.count("lost-segment")) << "tshark should miss the segments cut before byte 16";
  for (const auto& [field, word] : field_to_word()) {
    const auto th = theirs.count(word) ? theirs.at(word) : std::set<std::int64_t>{};
    const auto o = ours.count(word) ? ours.at(word) : std::set<std::int64_t>{};
    EXPECT_EQ(show(o), show(th)) << word << " (ours) vs " << field << " (tshark)";
  }
}

}  // namespace
