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

namespace {

using sockscope::test::TcpFlow;
using sockscope::test::TcpSpec;
namespace tf = sockscope::tcpflag;

struct Step {
  TcpSpec seg;
  std::int64_t at_us;  // capture time in microseconds from the start
};

using Wrap = std::function<sockscope::test::Bytes(const sockscope::test::Bytes& ip)>;

sockscope::test::Bytes plain_ethernet(const sockscope::test::Bytes& ip) { return sockscope::test::ethernet_frame(ip); }

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
    r.data = wrap(sockscope::test::tcp_packet(st.seg));
    out.push_back(std::move(r));
  }
  return out;
}

// Wireshark field -> our event word (GLOSSARY.md "same meaning as Wireshark's tcp.analysis.*").
const std::map<std::string, std::string>& field_to_word() {
  static const std::map<std::string, std::string> m = {
      {"tcp.analysis.retransmission", "retransmission"},
      {"tcp.analysis.fast_retransmission", "fast-retransmission"},
      {"tcp.analysis.spurious_retransmission", "spurious-retransmission"},
      {"tcp.analysis.out_of_order", "out-of-order"},
      {"tcp.analysis.lost_segment", "lost-segment"},
      {"tcp.analysis.ack_lost_segment", "ack-unseen"},
      {"tcp.analysis.duplicate_ack", "dup-ack"},
      {"tcp.analysis.zero_window", "zero-window"},
      {"tcp.analysis.zero_window_probe", "zero-window-probe"},
      {"tcp.analysis.window_update", "window-update"},
      {"tcp.analysis.window_full", "window-full"},
      {"tcp.analysis.keep_alive", "keepalive"},
      {"tcp.analysis.keep_alive_ack", "keepalive-ack"},
  };
  return m;
}

using FramesByWord = std::map<std::string, std::set<std::int64_t>>;

FramesByWord tshark_words(const std::string& path, std::string& error) {
  std::vector<std::string> argv = {"tshark", "-n", "-r", path, "-T", "fields", "-E", "occurrence=f",
                                   "-e", "frame.number"};
  std::vector<std::string> fields;
  for (const auto& [field, word] : field_to_word()) {
    argv.push_back("-e");
    argv.push_back(field);
    fields.push_back(field);
  }
  const e2e::RunResult t = e2e::run(argv);
  FramesByWord out;
  if (t.status != 0) {
    error = t.err;
    return out;
  }
  std::istringstream in(t.out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream cols(line);
    std::string num;
    std::getline(cols, num, '\t');
    for (const auto& field : fields) {
      std::string v;
      std::getline(cols, v, '\t');
      if (!v.empty()) out[field_to_word().at(field)].insert(std::stoll(num));
    }
  }
  return out;
}

// Our words per frame; `tunnel` (if not empty) is the kind every packet must say it came through.
FramesByWord our_words(const std::string& path, std::string& error, const std::string& tunnel = "") {
  FramesByWord out;
  const e2e::RunResult r = e2e::sockscope({"annotate", "--json", path});
  if (r.status != 0) {
    error = r.err;
    return out;
  }
  for (const e2e::Json& j : e2e::json_lines(r.out, error)) {
    if (j["type"].str() != "packet") continue;
    if (!tunnel.empty()) {
      if (j["tunnels"].size() == 0 || j["tunnels"][std::size_t{0}]["kind"].str() != tunnel) {
        error = "frame " + std::to_string(j["frame"].i64()) + " does not say it came through " + tunnel;
        return out;
      }
      if (j["conn"].i64() != 1) {
        error = "frame " + std::to_string(j["frame"].i64()) + " is not in the one inner conversation";
        return out;
      }
    }
    for (const auto& [field, word] : field_to_word())
      if (e2e::has_event(j, word)) out[word].insert(j["frame"].i64());
  }
  return out;
}

std::string show(const std::set<std::int64_t>& s) {
  std::string o = "{";
  for (auto f : s) o += (o.size() > 1 ? "," : "") + std::to_string(f);
  return o + "}";
}

TEST(TsharkCrossCheck, EveryAnalysisWordOnTheSameFramesAsWireshark) {
  E2E_REQUIRE(e2e::have_tool("tshark"), "tshark is not installed");
  const std::string path = sockscope::testing::temp_dir("tshark-analysis") + "/analysis.pcap";
  ASSERT_TRUE(sockscope::test::write_capture(path, sockscope::test::CaptureFormat::PcapNano, 1,
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
  namespace t = sockscope::test;
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
