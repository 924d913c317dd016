// Our TCP analysis next to Wireshark's: on a capture with a retransmitted segment and a duplicate
// ACK, tshark's tcp.analysis.retransmission / tcp.analysis.duplicate_ack flag the same frames as our
// retransmission / dup-ack events.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>

#include "e2e_support.hpp"
#include "fixtures.hpp"

namespace {

struct Flags {
  std::set<std::int64_t> retransmission, dup_ack;
};

// tshark prints one line per frame: number, then each field (empty when absent).
Flags tshark_flags(const std::string& path, std::string& error) {
  Flags f;
  const e2e::RunResult t = e2e::run({"tshark", "-r", path, "-T", "fields", "-E", "occurrence=f",
                                     "-e", "frame.number", "-e", "tcp.analysis.retransmission",
                                     "-e", "tcp.analysis.duplicate_ack"});
  if (t.status != 0) {
    error = t.err;
    return f;
  }
  std::istringstream in(t.out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string num, re, dup;
    std::getline(fields, num, '\t');
    std::getline(fields, re, '\t');
    std::getline(fields, dup, '\t');
    if (!re.empty()) f.retransmission.insert(std::stoll(num));
    if (!dup.empty()) f.dup_ack.insert(std::stoll(num));
  }
  return f;
}

Flags our_flags(const std::string& path, std::string& error) {
  Flags f;
  const e2e::RunResult r = e2e::sockscope({"annotate", "--json", path});
  if (r.status != 0) {
    error = r.err;
    return f;
  }
  for (const e2e::Json& j : e2e::json_lines(r.out, error)) {
    if (j["type"].str() != "packet") continue;
    if (e2e::has_event(j, "retransmission")) f.retransmission.insert(j["frame"].i64());
    if (e2e::has_event(j, "dup-ack")) f.dup_ack.insert(j["frame"].i64());
  }
  return f;
}

TEST(TsharkCrossCheck, RetransmissionAndDupAckOnTheSameFrames) {
  E2E_REQUIRE(e2e::have_tool("tshark"), "tshark is not installed");
  const std::string path = sockscope::testing::temp_dir("tshark-retrans") + "/retrans.pcap";
  ASSERT_TRUE(sockscope::testing::write_capture(path, sockscope::testing::CaptureFormat::PcapNano, 1,
                                             e2e::retransmission_fixture()));
  std::string error;
  const Flags theirs = tshark_flags(path, error);
  ASSERT_EQ(error, "");
  // The fixture is what we think it is: tshark sees frame 5 as a retransmission, 7 as a dup ACK.
  EXPECT_EQ(theirs.retransmission, (std::set<std::int64_t>{5}));
  EXPECT_EQ(theirs.dup_ack, (std::set<std::int64_t>{7}));
  const Flags ours = our_flags(path, error);
  ASSERT_EQ(error, "");
  EXPECT_EQ(ours.retransmission, theirs.retransmission);
  EXPECT_EQ(ours.dup_ack, theirs.dup_ack);
}

TEST(TsharkCrossCheck, CleanExchangeHasNeither) {
  E2E_REQUIRE(e2e::have_tool("tshark"), "tshark is not installed");
  const std::string path = sockscope::testing::temp_dir("tshark-clean") + "/clean.pcap";
  ASSERT_TRUE(sockscope::testing::write_capture(path, sockscope::testing::CaptureFormat::PcapNano, 1,
                                             e2e::exchange_fixture(false, 1)));
  std::string error;
  const Flags theirs = tshark_flags(path, error);
  ASSERT_EQ(error, "");
  const Flags ours = our_flags(path, error);
  ASSERT_EQ(error, "");
  EXPECT_TRUE(theirs.retransmission.empty());
  EXPECT_TRUE(theirs.dup_ack.empty());
  EXPECT_EQ(ours.retransmission, theirs.retransmission);
  EXPECT_EQ(ours.dup_ack, theirs.dup_ack);
}

}  // namespace
