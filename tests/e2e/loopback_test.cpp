// End to end on real traffic: the scripted exchange recorded from loopback sockets with tcpdump,
// annotated by the sockscope binary, checked event by event and summary by summary, over IPv4 and
// IPv6, and the same for every way of capturing it (pcap, pcapng, Ethernet, Linux cooked v1 and v2,
// BSD loopback).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "e2e_support.hpp"
#include "recording.hpp"

namespace {

using e2e::has_event;
using e2e::Json;

struct Family {
  const char* name;
  int af;
};

void PrintTo(const Family& f, std::ostream* os) { *os << f.name; }

class LoopbackExchange : public ::testing::TestWithParam<Family> {
 protected:
  const e2e::Recording& rec() { return e2e::recording(GetParam().af); }

  // Annotates a file with --json and parses every line.
  std::vector<Json> annotate_json(const std::string& path, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"annotate", "--json", path};
    args.insert(args.end(), extra.begin(), extra.end());
    const e2e::RunResult r = e2e::sockscope(args);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "");
    std::string error;
    auto lines = e2e::json_lines(r.out, error);
    EXPECT_EQ(error, "");
    return lines;
  }
};

#define REQUIRE_RECORDING() E2E_REQUIRE(rec().ok, rec().why)

std::string strip_checksum_letters(std::string h) {
  // Loopback packets are captured before the checksum is filled in (checksum offload); whether that
  // is reported as Zeek's 'c' letter is not what these tests check: the shape of the conversation is.
  h.erase(std::remove_if(h.begin(), h.end(), [](char c) { return c == 'c' || c == 'C'; }), h.end());
  return h;
}

TEST_P(LoopbackExchange, TcpHandshakeDataAndTeardown) {
  REQUIRE_RECORDING();
  const auto lines = annotate_json(rec().eth);
  std::vector<const Json*> tcp;
  for (const Json* p : e2e::of_type(lines, "packet"))
    if ((*p)["proto"].str() == "tcp") tcp.push_back(p);
  ASSERT_GE(tcp.size(), 12u);

  // The first three TCP frames open the connection (RFC 9293 section 3.5).
  EXPECT_TRUE(has_event(*tcp[0], "handshake-1")) << e2e::events_of(*tcp[0]);
  EXPECT_TRUE(has_event(*tcp[1], "handshake-2")) << e2e::events_of(*tcp[1]);
  EXPECT_TRUE(has_event(*tcp[2], "handshake-3")) << e2e::events_of(*tcp[2]);
  EXPECT_EQ((*tcp[0])["dir"].str(), "c2s");
  EXPECT_EQ((*tcp[1])["dir"].str(), "s2c");
  EXPECT_EQ((*tcp[2])["dir"].str(), "c2s");
  EXPECT_EQ((*tcp[0])["flags"].str(), "S");
  EXPECT_EQ((*tcp[1])["flags"].str(), "S.");
  EXPECT_EQ((*tcp[1])["ack"].i64(), 1);
  EXPECT_EQ((*tcp[2])["state"]["client"].str(), "ESTABLISHED");
  EXPECT_EQ((*tcp[2])["state"]["server"].str(), "ESTABLISHED");

  // Three lines each way: six segments with data, each acknowledged.
  int data_c2s = 0, data_s2c = 0, acks = 0;
  std::set<std::string> events;
  for (const Json* p : tcp) {
    for (const Json& e : (*p)["events"].items) events.insert(e.str());
    if (has_event(*p, "data")) ((*p)["dir"].str() == "c2s" ? data_c2s : data_s2c)++;
    if (has_event(*p, "ack")) ++acks;
    EXPECT_FALSE(has_event(*p, "malformed")) << (*p)["frame"].i64();
    EXPECT_FALSE(has_event(*p, "retransmission")) << (*p)["frame"].i64();
    EXPECT_FALSE(has_event(*p, "dup-ack")) << (*p)["frame"].i64();
    EXPECT_FALSE(has_event(*p, "rst")) << (*p)["frame"].i64();
  }
  EXPECT_EQ(data_c2s, 3);
  EXPECT_EQ(data_s2c, 3);
  EXPECT_GE(acks, 6);
  for (const char* word : {"teardown-1", "teardown-2", "teardown-3", "teardown-4"})
    EXPECT_TRUE(events.count(word)) << word;
  // The client closes first and ends in TIME-WAIT (RFC 9293 section 3.6).
  EXPECT_TRUE(has_event(*tcp.back(), "teardown-4"));
  EXPECT_EQ((*tcp.back())["state"]["client"].str(), "TIME-WAIT");
  EXPECT_EQ((*tcp.back())["state"]["server"].str(), "CLOSED");

  const auto conns = e2e::of_type(lines, "conn");
  const Json* conn = nullptr;
  for (const Json* c : conns)
    if ((*c)["proto"].str() == "tcp") conn = c;
  ASSERT_NE(conn, nullptr);
  const Json& c = *conn;
  EXPECT_EQ(c["conn_state"].str(), "SF");
  const std::string close = c["close"].str();
  EXPECT_TRUE(close == "fin-3" || close == "fin-4") << close;
  EXPECT_EQ(c["close_frames"].size(), close == "fin-3" ? 3u : 4u);
  EXPECT_TRUE(c["handshake"]["complete"].b);
  EXPECT_EQ(c["handshake"]["frames"].dump(), "[" + (*tcp[0])["frame"].text + "," +
                                                 (*tcp[1])["frame"].text + "," +
                                                 (*tcp[2])["frame"].text + "]");
  EXPECT_EQ(c["bytes"]["c2s"].i64(), 5 + 12 + 3);   // "hello", "how are you?", "bye"
  EXPECT_EQ(c["bytes"]["s2c"].i64(), 8 + 12 + 7);   // "hi there", "fine, thanks", "see you"
  EXPECT_EQ(c["packets"].i64(), static_cast<std::int64_t>(tcp.size()));
  EXPECT_EQ(c["retransmissions"].i64(), 0);
  EXPECT_EQ(c["dup_acks"].i64(), 0);
  const std::string port = ":" + std::to_string(rec().exchange.tcp_port);
  const std::string server = c["server"].str();
  EXPECT_EQ(server.substr(server.size() - port.size()), port);
  // Zeek-style history: SYN, SYN-ACK, ACK, data both ways, FIN both ways. Whether the server's
  // first reply is a pure ACK ('a') depends on kernel timing, so check the shape, not every letter.
  const std::string history = strip_checksum_letters(c["history"].str());
  EXPECT_EQ(history.substr(0, 3), "ShA") << c["history"].str();
  for (char letter : {'D', 'd', 'F', 'f'})
    EXPECT_NE(history.find(letter), std::string::npos) << letter << " in " << c["history"].str();
  EXPECT_EQ(history.find_first_of("rRtTgG"), std::string::npos) << c["history"].str();
  EXPECT_LT(history.find('D'), history.find('F'));
}

TEST_P(LoopbackExchange, UdpDatagramsAndSummary) {
  REQUIRE_RECORDING();
  const auto lines = annotate_json(rec().eth);
  int udp = 0;
  for (const Json* p : e2e::of_type(lines, "packet")) {
    if ((*p)["proto"].str() != "udp") continue;
    ++udp;
    EXPECT_TRUE(has_event(*p, "datagram")) << e2e::events_of(*p);
    EXPECT_EQ((*p)["len"].i64(), 6);  // "ping N" / "pong N"
    EXPECT_EQ((*p)["dir"].str(), udp % 2 == 1 ? "c2s" : "s2c");
  }
  EXPECT_EQ(udp, 6);
  const Json* conn = nullptr;
  for (const Json* c : e2e::of_type(lines, "conn"))
    if ((*c)["proto"].str() == "udp") conn = c;
  ASSERT_NE(conn, nullptr);
  EXPECT_EQ((*conn)["datagrams"].dump(), R"({"c2s":3,"s2c":3})");
  EXPECT_EQ((*conn)["conn_state"].str(), "SF");
  EXPECT_EQ((*conn)["bytes"]["c2s"].i64(), 18);
  EXPECT_EQ((*conn)["bytes"]["s2c"].i64(), 18);
  const std::string port = ":" + std::to_string(rec().exchange.udp_port);
  const std::string server = (*conn)["server"].str();
  EXPECT_EQ(server.substr(server.size() - port.size()), port);
}

// Conversation lines come after the last packet of their conversation.
TEST_P(LoopbackExchange, ConversationLinesFollowTheirPackets) {
  REQUIRE_RECORDING();
  const auto lines = annotate_json(rec().eth);
  std::map<std::int64_t, std::size_t> last_packet_line;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i]["type"].str() == "packet") last_packet_line[lines[i]["conn"].i64()] = i;
    if (lines[i]["type"].str() == "conn") {
      const std::int64_t id = lines[i]["conn"].i64();
      ASSERT_TRUE(last_packet_line.count(id)) << id;
      EXPECT_GT(i, last_packet_line[id]);
    }
  }
  EXPECT_EQ(e2e::of_type(lines, "conn").size(), 2u);
}

TEST_P(LoopbackExchange, SameOutputAsPcapAndAsPcapng) {
  REQUIRE_RECORDING();
  const e2e::RunResult a = e2e::sockscope({"annotate", "--json", rec().eth});
  const e2e::RunResult b = e2e::sockscope({"annotate", "--json", rec().pcapng});
  EXPECT_EQ(a.status, 0);
  EXPECT_EQ(b.status, 0) << b.err;
  EXPECT_FALSE(a.out.empty());
  EXPECT_EQ(a.out, b.out);
}

// Ethernet, Linux cooked v1 and v2, and BSD loopback: only the link layer differs, so every event,
// state and summary must be the same.
TEST_P(LoopbackExchange, SameEventsFromEveryLinkType) {
  REQUIRE_RECORDING();
  const auto eth = annotate_json(rec().eth);
  ASSERT_GE(eth.size(), e2e::kMinExchangeFrames);
  for (const std::string& path : {rec().sll, rec().sll2, rec().null}) {
    SCOPED_TRACE(path);
    const auto other = annotate_json(path);
    ASSERT_EQ(other.size(), eth.size());
    for (std::size_t i = 0; i < eth.size(); ++i)
      EXPECT_EQ(e2e::comparable(other[i]), e2e::comparable(eth[i])) << "line " << i + 1;
  }
  // The layers do differ, as they should: the first one names the link header.
  EXPECT_EQ(annotate_json(rec().sll2)[0]["layers"][0]["name"].str(), "sll2");
  EXPECT_EQ(annotate_json(rec().null)[0]["layers"][0]["name"].str(), "null");
  EXPECT_EQ(eth[0]["layers"][0]["name"].str(), "ethernet");
}

TEST_P(LoopbackExchange, StandardInputReadsLikeAFile) {
  REQUIRE_RECORDING();
  const e2e::RunResult file = e2e::sockscope({"annotate", "--json", rec().eth});
  const e2e::RunResult in = e2e::sockscope({"annotate", "--json", "-"}, rec().eth);
  EXPECT_EQ(in.status, 0) << in.err;
  EXPECT_EQ(in.out, file.out);
}

TEST_P(LoopbackExchange, FilterKeepsFrameNumbers) {
  REQUIRE_RECORDING();
  const auto all = annotate_json(rec().eth);
  const auto udp = annotate_json(rec().eth, {"--filter", "udp"});
  std::vector<std::int64_t> want, got;
  for (const Json* p : e2e::of_type(all, "packet"))
    if ((*p)["proto"].str() == "udp") want.push_back((*p)["frame"].i64());
  for (const Json* p : e2e::of_type(udp, "packet")) got.push_back((*p)["frame"].i64());
  EXPECT_EQ(got, want);
  EXPECT_EQ(want.size(), 6u);
}

// Cut the capture in the middle of a frame: the frames before are annotated (their conversations
// summarised), then one line on stderr names the file and the damage, exit status 2.
TEST_P(LoopbackExchange, CutCaptureAnnotatesTheFramesBeforeTheCut) {
  REQUIRE_RECORDING();
  const std::string bytes = e2e::read_file(rec().eth);
  // Classic pcap: a 24-byte file header, then per frame a 16-byte record header and the bytes.
  std::size_t off = 24;
  const int keep = 9;
  for (int i = 0; i < keep; ++i) {
    ASSERT_LE(off + 16, bytes.size());
    const auto b = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
    const std::uint32_t caplen = b(off + 8) | (b(off + 9) << 8) | (b(off + 10) << 16) | (b(off + 11) << 24);
    off += 16 + caplen;
  }
  const std::string cut = sockscope::testing::temp_dir(std::string("cut-") + GetParam().name) + "/cut.pcap";
  e2e::write_file(cut, bytes.substr(0, off + 16 + 20));  // the record header and 20 of its bytes

  const e2e::RunResult r = e2e::sockscope({"annotate", "--json", cut});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("sockscope: " + cut + ": "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cut short after frame 9"), std::string::npos) << r.err;
  std::string error;
  const auto lines = e2e::json_lines(r.out, error);
  EXPECT_EQ(error, "");
  const auto packets = e2e::of_type(lines, "packet");
  ASSERT_EQ(packets.size(), 9u);
  EXPECT_EQ(packets.back()->operator[]("frame").i64(), 9);
  const auto conns = e2e::of_type(lines, "conn");
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_EQ((*conns[0])["conn_state"].str(), "S1");  // established, not closed before the cut
  // The human view says the same before the error.
  const e2e::RunResult h = e2e::sockscope({"annotate", cut});
  EXPECT_EQ(h.status, 2);
  EXPECT_FALSE(h.out.empty());
}

// tshark's TCP analysis and ours agree: a clean loopback exchange has no retransmission and no
// duplicate ACK in either.
TEST_P(LoopbackExchange, TsharkAgreesThereIsNoRetransmissionOrDupAck) {
  REQUIRE_RECORDING();
  E2E_REQUIRE(e2e::have_tool("tshark"), "tshark is not installed");
  const e2e::RunResult t = e2e::run({"tshark", "-r", rec().eth, "-T", "fields", "-e", "frame.number",
                                     "-e", "tcp.analysis.retransmission", "-e",
                                     "tcp.analysis.duplicate_ack", "-e", "tcp.analysis.lost_segment"});
  ASSERT_EQ(t.status, 0) << t.err;
  std::istringstream in(t.out);
  std::string line;
  int frames = 0;
  while (std::getline(in, line)) {
    ++frames;
    // Only the frame number: every analysis field is empty.
    EXPECT_EQ(line.find_first_not_of("0123456789\t"), std::string::npos) << line;
    EXPECT_EQ(line.find_first_of("0123456789", line.find('\t')), std::string::npos) << line;
  }
  const auto lines = annotate_json(rec().eth);
  EXPECT_EQ(frames, static_cast<int>(e2e::of_type(lines, "packet").size()));
  for (const Json* p : e2e::of_type(lines, "packet")) {
    EXPECT_FALSE(has_event(*p, "retransmission"));
    EXPECT_FALSE(has_event(*p, "dup-ack"));
    EXPECT_FALSE(has_event(*p, "lost-segment"));
  }
}

INSTANTIATE_TEST_SUITE_P(Loopback, LoopbackExchange,
                         ::testing::Values(Family{"ipv4", AF_INET}, Family{"ipv6", AF_INET6}),
                         [](const ::testing::TestParamInfo<Family>& i) { return std::string(i.param.name); });

}  // namespace
