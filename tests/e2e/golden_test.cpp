// Golden tests: a fixed capture built byte by byte, annotated with --json, compared line by line with
// the expected output committed in tests/e2e/golden/. SOCKSCOPE_UPDATE_GOLDEN=1 rewrites the files
// (then review the diff with git before committing it).
#include <gtest/gtest.h>
#include "lines.hpp"

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "e2e_support.hpp"
#include "fixtures.hpp"

namespace {

struct Golden {
  const char* name;  // tests/e2e/golden/<name>.jsonl
  std::vector<sockscope::testing::PcapRecord> (*make)();
  std::uint32_t linktype;
};

using sockscope::testing::lines_of;

bool updating() {
  const char* v = std::getenv("SOCKSCOPE_UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

// gtest prints the parameter of a failing test: its name, not its bytes.
void PrintTo(const Golden& g, std::ostream* os) { *os << g.name; }

class GoldenCapture : public ::testing::TestWithParam<Golden> {};

TEST_P(GoldenCapture, JsonMatchesTheCommittedExpectation) {
  const Golden& g = GetParam();
  const std::string dir = sockscope::testing::temp_dir(std::string("golden-") + g.name);
  const std::string capture = dir + "/" + g.name + ".pcap";
  ASSERT_TRUE(sockscope::testing::write_capture(capture, sockscope::testing::CaptureFormat::PcapNano,
                                             g.linktype, g.make()));
  const e2e::RunResult r = e2e::sockscope({"annotate", "--json", capture});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string error;
  e2e::json_lines(r.out, error);
  EXPECT_EQ(error, "");

  const std::string expected_path =
      sockscope::testing::source_dir() + "/tests/e2e/golden/" + g.name + ".jsonl";
  if (updating()) {
    e2e::write_file(expected_path, r.out);
    GTEST_SKIP() << "rewrote " << expected_path;
  }
  const std::string expected = e2e::read_file(expected_path);
  ASSERT_FALSE(expected.empty()) << expected_path
                                 << " is missing: run with SOCKSCOPE_UPDATE_GOLDEN=1 to create it";
  const auto want = lines_of(expected), got = lines_of(r.out);
  for (std::size_t i = 0; i < std::min(want.size(), got.size()); ++i)
    ASSERT_EQ(got[i], want[i]) << "first difference at line " << i + 1 << " of " << expected_path
                               << " (SOCKSCOPE_UPDATE_GOLDEN=1 rewrites it)";
  EXPECT_EQ(got.size(), want.size());
}

std::vector<sockscope::testing::PcapRecord> v4_ethernet() { return e2e::exchange_fixture(false, 1); }
std::vector<sockscope::testing::PcapRecord> v6_sll2() { return e2e::exchange_fixture(true, 276); }
std::vector<sockscope::testing::PcapRecord> v4_null() { return e2e::exchange_fixture(false, 0); }
std::vector<sockscope::testing::PcapRecord> retransmission() { return e2e::retransmission_fixture(); }

INSTANTIATE_TEST_SUITE_P(
    Golden, GoldenCapture,
    ::testing::Values(Golden{"exchange-ipv4-ethernet", v4_ethernet, 1},
                      Golden{"exchange-ipv6-sll2", v6_sll2, 276},
                      Golden{"exchange-ipv4-null", v4_null, 0},
                      Golden{"retransmission-ipv4-ethernet", retransmission, 1}),
    [](const ::testing::TestParamInfo<Golden>& i) {
      std::string n = i.param.name;
      for (char& c : n)
        if (c == '-') c = '_';
      return n;
    });

}  // namespace
