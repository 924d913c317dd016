// Replays every saved fuzz input in tests/fuzz/regressions/<target>/ through the same code path as
// the libFuzzer target (harness.hpp), in the normal build and under ASan+UBSan (build-sanitize).
// A crash the fuzzer finds is saved there (scripts/fuzz.sh prints how) and stays a test for good.
// The folders also hold hand-made hostile inputs: a frame with every length field wrong, a pcapng
// block that lies about its length, a pcap record larger than anything libpcap accepts.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "harness.hpp"
#include "lesson_harness.hpp"
#include "paths.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> inputs_of(const std::string& target) {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(sockscope::testing::source_dir()) / "tests/fuzz/regressions" / target;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().filename().string()[0] != '.' && e.path().extension() != ".md")
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::uint8_t> slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(FuzzRegressions, FrameInputsRunClean) {
  const auto inputs = inputs_of("frame");
  ASSERT_FALSE(inputs.empty()) << "tests/fuzz/regressions/frame/ is empty or missing";
  for (const fs::path& p : inputs) {
    SCOPED_TRACE(p.filename().string());
    const auto bytes = slurp(p);
    // Aborts (failing the test binary, with the input named above) on a sanitizer report or
    // unsafe output; returning is the pass.
    sockscope::fuzz::run_frames(bytes.data(), bytes.size());
  }
}

TEST(FuzzRegressions, CaptureInputsRunCleanWithOneLineErrors) {
  const auto inputs = inputs_of("capture");
  ASSERT_FALSE(inputs.empty()) << "tests/fuzz/regressions/capture/ is empty or missing";
  for (const fs::path& p : inputs) {
    SCOPED_TRACE(p.filename().string());
    const auto bytes = slurp(p);
    const sockscope::fuzz::CaptureOutcome o = sockscope::fuzz::run_capture(bytes.data(), bytes.size());
    // A damaged file always says so in one line that names it; a clean one reads to its end.
    if (!o.error.empty()) {
      EXPECT_EQ(o.error.find('\n'), std::string::npos) << o.error;
      EXPECT_EQ(o.error.rfind("/proc/self/fd/", 0), 0u) << o.error;
    }
  }
}

TEST(FuzzRegressions, LessonInputsRunClean) {
  const auto inputs = inputs_of("lesson");
  ASSERT_FALSE(inputs.empty()) << "tests/fuzz/regressions/lesson/ is empty or missing";
  for (const fs::path& p : inputs) {
    SCOPED_TRACE(p.filename().string());
    const auto bytes = slurp(p);
    sockscope::fuzz::run_lesson_text(bytes.data(), bytes.size());
  }
}

// The terminal-safety check itself: it must catch what it is there to catch, or the fuzz runs
// prove nothing about output.
TEST(FuzzHarness, TerminalSafetyCheckCatchesEscapesAndBadUtf8) {
  using sockscope::fuzz::terminal_safety_problem;
  EXPECT_EQ(terminal_safety_problem("plain text\nwith 中文 and é\n"), "");
  EXPECT_NE(terminal_safety_problem("red \x1b[31m"), "");
  EXPECT_NE(terminal_safety_problem("bell \x07"), "");
  EXPECT_NE(terminal_safety_problem(std::string("nul \0", 5)), "");
  EXPECT_NE(terminal_safety_problem("cr \r"), "");
  EXPECT_NE(terminal_safety_problem("del \x7f"), "");
  EXPECT_NE(terminal_safety_problem("c1 csi \xc2\x9b"), "");
  EXPECT_NE(terminal_safety_problem("raw c1 \x9b"), "");
  EXPECT_NE(terminal_safety_problem("rlo \xe2\x80\xae"), "");
  EXPECT_NE(terminal_safety_problem("overlong \xc0\xaf"), "");
  EXPECT_NE(terminal_safety_problem("surrogate \xed\xa0\x80"), "");
  EXPECT_NE(terminal_safety_problem("cut \xe4\xb8"), "");
}

TEST(FuzzHarness, FramesSplitAtTheSeparator) {
  const auto input = sockscope::fuzz::frame_input(276, {{1, 2}, {}, {3}});
  EXPECT_EQ(sockscope::fuzz::kLinkTypes[input[0]], 276u);
  const auto frames = sockscope::fuzz::split_frames(input.data() + 1, input.size() - 1);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].second, 2u);
  EXPECT_EQ(frames[1].second, 0u);
  EXPECT_EQ(frames[2].second, 1u);
}
