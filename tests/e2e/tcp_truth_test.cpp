// What the views say about TCP segments must be true: captures built byte by byte, checked against
// the bytes and, where tshark is installed, against what Wireshark calls the same frame.
#include <gtest/gtest.h>

#include <string>

#include "e2e_support.hpp"
#include "fixtures.hpp"

namespace {

using sockscope::testing::TcpFlow;
using sockscope::testing::TcpSpec;
namespace tf = sockscope::tcpflag;

std::string write(const std::string& name, const std::vector<TcpSpec>& segs) {
  std::vector<e2e::PcapRecord> recs;
  std::uint32_t us = 0;
  for (const TcpSpec& s : segs) {
    e2e::PcapRecord r;
    r.ts = sockscope::Timestamp{1'700'000'000, us += 1000};
    r.data = sockscope::testing::ethernet_frame(sockscope::testing::tcp_packet(s));
    recs.push_back(std::move(r));
  }
  const std::string path = sockscope::testing::temp_dir("tcp-numbers-" + name) + "/" + name + ".pcap";
  EXPECT_TRUE(sockscope::testing::write_capture(path, sockscope::testing::CaptureFormat::PcapNano, 1, recs));
  return path;
}

// The JSON line of one frame of `annotate --json` on this capture (a null Json if missing).
e2e::Json packet_line(const std::string& path, std::int64_t frame) {
  const e2e::RunResult j = e2e::sockscope({"annotate", "--json", path});
  EXPECT_EQ(j.status, 0) << j.err;
  std::string error;
  for (const e2e::Json& l : e2e::json_lines(j.out, error))
    if (l["type"].str() == "packet" && l["frame"].i64() == frame) return l;
  ADD_FAILURE() << "no packet line for frame " << frame << error;
  return e2e::Json{};
}

// A closed port answers a SYN with RST,ACK, seq 0 (RFC 9293 3.10.7.1): the server never chose an ISN,
// so there is no relative number to give; the views show the 0 that is on the wire, not "seq 1".
TEST(TcpTruth, RefusingRstShowsItsRawSequenceNumberZero) {
  TcpFlow f("192.0.2.1", 40000, "192.0.2.2", 9000, 1000, 5000);
  const TcpSpec syn = f.handshake().front();
  TcpSpec rst;
  rst.ip = f.s2c(tf::kAck).ip;
  rst.sport = 9000;
  rst.dport = 40000;
  rst.flags = tf::kRst | tf::kAck;
  rst.seq = 0;
  rst.ack = syn.seq + 1;
  rst.window = 0;
  const std::string path = write("refused", {syn, rst});

  const e2e::Json l = packet_line(path, 2);
  EXPECT_TRUE(e2e::has_event(l, "refused"));
  EXPECT_EQ(l["seq"].i64(), 0);
  EXPECT_EQ(l["ack"].i64(), 1);  // the client's ISN + 1: relative to a known ISN

  const e2e::RunResult h = e2e::sockscope({"annotate", "--color", "never", path});
  ASSERT_EQ(h.status, 0) << h.err;
  EXPECT_NE(h.out.find("[R.] seq 0 ack 1"), std::string::npos) << h.out;
}

// Linux probes a zero window with the number of the last acknowledged byte and no data (tcp_xmit_probe_skb,
// seq = SND.UNA - 1): the shape of a keep-alive, but the connection is not idle. The sentence says
// zero-window probe; the JSON event stays Wireshark's (keep-alive).
TEST(TcpTruth, LinuxZeroWindowProbeIsCalledOneAndMapsToWiresharksKeepAlive) {
  TcpFlow f("192.0.2.1", 40000, "192.0.2.2", 9000, 1000, 5000);
  std::vector<TcpSpec> segs = f.handshake();                  // 1-3
  segs.push_back(f.c2s(tf::kPsh | tf::kAck, std::string(100, 'x')));  // 4
  TcpSpec full = f.s2c(tf::kAck);
  full.window = 0;
  segs.push_back(full);                                       // 5: zero window
  TcpSpec probe = f.c2s(tf::kAck);
  probe.seq -= 1;
  segs.push_back(probe);                                      // 6: the probe
  const std::string path = write("zero-window-probe", segs);

  const e2e::Json l = packet_line(path, 6);
  EXPECT_TRUE(e2e::has_event(l, "keepalive"));
  EXPECT_NE(l["text"].str().find("zero-window probe"), std::string::npos) << l["text"].str();
  EXPECT_NE(l["text"].str().find("Wireshark labels it Keep-Alive"), std::string::npos);
  EXPECT_EQ(l["text"].str().find("idle"), std::string::npos);

  if (!e2e::have_tool("tshark")) return;
  const e2e::RunResult t = e2e::run({"tshark", "-n", "-r", path, "-Y", "tcp.analysis.keep_alive", "-T", "fields",
                                     "-e", "frame.number"});
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_EQ(t.out, "6\n");
}

// A pure ACK carries its sender's next sequence number (RFC 9293 3.4): after a gap it is the first
// segment to show it, and the data after it continues from there. Only the ACK is "previous segment
// not captured", in Wireshark and here.
TEST(TcpTruth, PureAckAfterAGapMovesTheNextExpectedNumber) {
  TcpFlow f("192.0.2.1", 40000, "192.0.2.2", 9000, 1000, 5000);
  std::vector<TcpSpec> segs = f.handshake();                            // 1-3
  segs.push_back(f.c2s(tf::kPsh | tf::kAck, std::string(100, 'x')));  // 4: bytes 1..100
  f.c2s(tf::kPsh | tf::kAck, std::string(100, 'x'));                   //    bytes 101..200: not captured
  segs.push_back(f.c2s(tf::kAck));                                      // 5: pure ACK, seq 201
  segs.push_back(f.c2s(tf::kPsh | tf::kAck, std::string(100, 'x')));  // 6: bytes 201..300
  const std::string path = write("pure-ack-gap", segs);

  EXPECT_TRUE(e2e::has_event(packet_line(path, 5), "lost-segment"));
  EXPECT_FALSE(e2e::has_event(packet_line(path, 6), "lost-segment"));

  if (!e2e::have_tool("tshark")) return;
  const e2e::RunResult t = e2e::run({"tshark", "-n", "-r", path, "-Y", "tcp.analysis.lost_segment", "-T", "fields",
                                     "-e", "frame.number"});
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_EQ(t.out, "5\n");
}

// Bytes the receiver already acknowledged, sent again soon after newer bytes: Wireshark's spurious
// retransmission takes precedence over its out-of-order timing rule.
TEST(TcpTruth, AcknowledgedBytesSentAgainAreASpuriousRetransmission) {
  TcpFlow f("192.0.2.1", 40000, "192.0.2.2", 9000, 1000, 5000);
  std::vector<TcpSpec> segs = f.handshake();                 // 1-3, 1 ms apart
  const TcpSpec first = f.c2s(tf::kPsh | tf::kAck, std::string(10, 'x'));
  segs.push_back(first);                                     // 4: bytes 1..10
  segs.push_back(f.c2s(tf::kPsh | tf::kAck, std::string(10, 'y')));  // 5: bytes 11..20
  segs.push_back(f.s2c(tf::kAck));                           // 6: ack 21
  segs.push_back(first);                                     // 7: bytes 1..10 again, within a round trip
  std::vector<e2e::PcapRecord> recs;
  const std::uint32_t at_us[] = {0, 1000, 2000, 3000, 3100, 3200, 3300};
  for (std::size_t i = 0; i < segs.size(); ++i) {
    e2e::PcapRecord r;
    r.ts = sockscope::Timestamp{1'700'000'000, at_us[i] * 1000u};
    r.data = sockscope::testing::ethernet_frame(sockscope::testing::tcp_packet(segs[i]));
    recs.push_back(std::move(r));
  }
  const std::string path = sockscope::testing::temp_dir("tcp-truth-spurious") + "/spurious.pcap";
  ASSERT_TRUE(sockscope::testing::write_capture(path, sockscope::testing::CaptureFormat::PcapNano, 1, recs));

  const e2e::Json l = packet_line(path, 7);
  EXPECT_TRUE(e2e::has_event(l, "spurious-retransmission"));
  EXPECT_FALSE(e2e::has_event(l, "out-of-order"));

  if (!e2e::have_tool("tshark")) return;
  const e2e::RunResult t = e2e::run({"tshark", "-n", "-r", path, "-Y", "tcp.analysis.spurious_retransmission",
                                     "-T", "fields", "-e", "frame.number"});
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_EQ(t.out, "7\n");
}

}  // namespace
