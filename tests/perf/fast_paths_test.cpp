// The optimisations change how fast sockscope is, never what it says. Each fast path has a plain
// counterpart that SOCKSCOPE_SLOW_PATHS=1 selects at run time (the RFC 1071 checksum a 16-bit word
// at a time, std::unordered_map for the conversations, a fresh Packet per frame, stdio's default
// read buffer, all summaries released at once at the end); these tests run both and compare:
//  - the checksum loops on every length and alignment, and on the inputs that carry the most;
//  - the flat conversation index against std::unordered_map under random inserts and deletions;
//  - the whole program: `sockscope annotate` in its three forms on a generated capture of tens of
//    thousands of packets (TCP and UDP, IPv4 and IPv6, fragments, retransmissions, the closes),
//    byte for byte.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "conv_index.hpp"
#include "e2e_support.hpp"
#include "tshark_words.hpp"
#include "internal.hpp"

namespace {

namespace dd = sockscope::decode_detail;
using sockscope::annotate_detail::ConvIndex;

TEST(FastPaths, ChecksumEqualsThePlainLoopForEveryLengthAndAlignment) {
  std::mt19937 rng(12345);
  std::vector<std::uint8_t> buf(4096 + 64);
  for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
  int checked = 0;
  for (std::uint32_t off = 0; off < 16; ++off) {
    for (std::uint32_t n = 0; n <= 1600; ++n) {
      const std::uint32_t start = static_cast<std::uint32_t>(rng() & 0xffff);
      ASSERT_EQ(dd::fold(dd::ones_sum_fast(buf.data() + off, n, start)),
                dd::fold(dd::ones_sum_plain(buf.data() + off, n, start)))
          << "offset " << off << ", " << n << " bytes";
      ++checked;
    }
  }
  EXPECT_EQ(checked, 16 * 1601);
}

TEST(FastPaths, ChecksumEqualsThePlainLoopWhenEveryWordCarries) {
  // All 0xff: every addition carries, and the SIMD lanes reach their largest values. 2.2 MiB runs
  // past one block of 65535 iterations, where the lanes are emptied before they could overflow.
  std::vector<std::uint8_t> ones(2'200'000 + 3, 0xff);
  for (std::uint32_t n : {32u, 33u, 4096u, 65535u, 2'097'120u, 2'097'152u, 2'200'003u}) {
    EXPECT_EQ(dd::fold(dd::ones_sum_fast(ones.data(), n)), dd::fold(dd::ones_sum_plain(ones.data(), n)))
        << n << " bytes of 0xff";
  }
  // A known value: RFC 1071 section 3's example, 00 01 f2 03 f4 f5 f6 f7, sums to ddf2.
  const std::uint8_t rfc[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(dd::fold(dd::ones_sum_fast(rfc, 8)), 0xddf2);
  EXPECT_EQ(dd::fold(dd::ones_sum_plain(rfc, 8)), 0xddf2);
}

TEST(FastPaths, FlatIndexAgreesWithUnorderedMap) {
  // Keys 0..499 with a hash of few distinct values: long clusters that wrap around the table's end,
  // which is where backward-shift deletion can go wrong.
  auto hash_of = [](std::uint32_t key) { return std::uint64_t{(key * 2654435761u) % 97u} * 0x10001u; };
  std::vector<std::uint32_t> key_of_slot;  // the caller's storage: slot -> key
  std::unordered_map<std::uint32_t, std::uint32_t> reference;  // key -> slot
  ConvIndex index(16);
  std::mt19937 rng(7);
  std::uint64_t found = 0;
  for (int step = 0; step < 200'000; ++step) {
    const auto key = static_cast<std::uint32_t>(rng() % 500);
    const std::uint64_t h = hash_of(key);
    const std::uint32_t got = index.find(h, [&](std::uint32_t slot) { return key_of_slot[slot] == key; });
    const auto it = reference.find(key);
    ASSERT_EQ(got == ConvIndex::kNone, it == reference.end()) << "step " << step;
    if (it != reference.end()) {
      ASSERT_EQ(got, it->second);
      ++found;
      if (rng() % 2 == 0) {
        ASSERT_TRUE(index.erase(h, got));
        reference.erase(it);
      }
    } else {
      const auto slot = static_cast<std::uint32_t>(key_of_slot.size());
      key_of_slot.push_back(key);
      index.insert(h, slot);
      reference.emplace(key, slot);
    }
    ASSERT_EQ(index.size(), reference.size());
  }
  EXPECT_GT(found, 10'000u);
}

// Runs sockscope with the fast paths and again with SOCKSCOPE_SLOW_PATHS=1.
struct TwoRuns {
  e2e::RunResult fast, slow;
};
TwoRuns both_ways(const std::vector<std::string>& args) {
  TwoRuns r;
  unsetenv("SOCKSCOPE_SLOW_PATHS");
  r.fast = e2e::sockscope(args);
  setenv("SOCKSCOPE_SLOW_PATHS", "1", 1);
  r.slow = e2e::sockscope(args);
  unsetenv("SOCKSCOPE_SLOW_PATHS");
  return r;
}

class GeneratedCapture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // ctest runs each test of this suite in its own process, two at a time: one folder per process.
    dir_ = sockscope::testing::temp_dir("perf-fast-paths-" + std::to_string(getpid()));
    path_ = dir_ + "/gen.pcap";
    const e2e::RunResult g = e2e::run({GEN_CAPTURE_BINARY, "--packets", "40000", "--seed", "7", "-o", path_});
    ASSERT_EQ(g.status, 0) << g.err;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  static std::string dir_, path_;
};
std::string GeneratedCapture::dir_, GeneratedCapture::path_;

TEST_F(GeneratedCapture, JsonIsTheSameWithAndWithoutTheFastPaths) {
  const TwoRuns r = both_ways({"annotate", "--json", path_});
  ASSERT_EQ(r.fast.status, 0) << r.fast.err;
  ASSERT_EQ(r.slow.status, 0) << r.slow.err;
  // Not vacuous: every packet has its line, and the capture has what the fast paths must get right.
  std::string error;
  const auto lines = e2e::json_lines(r.fast.out, error);
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_EQ(e2e::of_type(lines, "packet").size(), 40000u);
  EXPECT_GT(e2e::of_type(lines, "conn").size(), 400u);
  for (const char* word : {"retransmission", "dup-ack", "reassembled", "teardown-4", "abort"})
    EXPECT_NE(r.fast.out.find(word), std::string::npos) << word;
  EXPECT_TRUE(r.fast.out == r.slow.out) << "annotate --json differs with SOCKSCOPE_SLOW_PATHS=1";
}

TEST_F(GeneratedCapture, HumanFormIsTheSameWithAndWithoutTheFastPaths) {
  const TwoRuns r = both_ways({"annotate", "--color", "never", path_});
  ASSERT_EQ(r.fast.status, 0) << r.fast.err;
  EXPECT_GT(r.fast.out.size(), 40000u * 40);
  EXPECT_TRUE(r.fast.out == r.slow.out) << "annotate differs with SOCKSCOPE_SLOW_PATHS=1";
}

TEST_F(GeneratedCapture, SummaryIsTheSameWithAndWithoutTheFastPaths) {
  const TwoRuns r = both_ways({"annotate", "--summary", path_});
  ASSERT_EQ(r.fast.status, 0) << r.fast.err;
  EXPECT_NE(r.fast.out.find("totals: 40000 packets"), std::string::npos) << r.fast.out.substr(0, 400);
  EXPECT_TRUE(r.fast.out == r.slow.out) << "annotate --summary differs with SOCKSCOPE_SLOW_PATHS=1";
}

// What real captures bring, in one generated file (gen_capture --variety --pcapng): two interfaces
// with different link types, GRE and VXLAN tunnels, frames cut by a snapshot length, spurious
// retransmissions and 11-minute silences. The fast and plain paths agree on it, and every frame's
// TCP analysis is the one tshark gives.
class VarietyCapture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = sockscope::testing::temp_dir("perf-variety-" + std::to_string(getpid()));
    path_ = dir_ + "/variety.pcapng";
    const e2e::RunResult g =
        e2e::run({GEN_CAPTURE_BINARY, "--packets", "40000", "--seed", "7", "--variety", "--pcapng", "-o", path_});
    ASSERT_EQ(g.status, 0) << g.err;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  static std::string dir_, path_;
};
std::string VarietyCapture::dir_, VarietyCapture::path_;

TEST_F(VarietyCapture, JsonIsTheSameWithAndWithoutTheFastPathsAndHasEveryCase) {
  const TwoRuns r = both_ways({"annotate", "--json", path_});
  ASSERT_EQ(r.fast.status, 0) << r.fast.err;
  std::string error;
  const auto lines = e2e::json_lines(r.fast.out, error);
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_EQ(e2e::of_type(lines, "packet").size(), 40000u);
  for (const char* what : {"\"interface\":1", "\"kind\":\"gre\"", "\"kind\":\"vxlan\"", "\"spurious-retransmission\"",
                           "\"kind\":\"truncated\""})
    EXPECT_NE(r.fast.out.find(what), std::string::npos) << what;
  EXPECT_TRUE(r.fast.out == r.slow.out) << "annotate --json differs with SOCKSCOPE_SLOW_PATHS=1";
}

TEST_F(VarietyCapture, EveryAnalysisWordOnTheFramesTsharkFlags) {
  E2E_REQUIRE(e2e::have_tool("tshark"), "tshark is not installed");
  std::string error;
  const e2e::FramesByWord theirs = e2e::tshark_words(path_, error);
  ASSERT_EQ(error, "");
  const e2e::FramesByWord ours = e2e::our_words(path_, error);
  ASSERT_EQ(error, "");
  for (const char* word : {"retransmission", "spurious-retransmission", "dup-ack"})
    EXPECT_TRUE(theirs.count(word)) << "the capture should make tshark flag " << word;
  for (const auto& [field, word] : e2e::field_to_word()) {
    const auto t = theirs.count(word) ? theirs.at(word) : std::set<std::int64_t>{};
    const auto o = ours.count(word) ? ours.at(word) : std::set<std::int64_t>{};
    EXPECT_EQ(e2e::show(o), e2e::show(t)) << word << " (ours) vs " << field << " (tshark)";
  }
}

}  // namespace
