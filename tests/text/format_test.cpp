// printf-style formatting through {fmt} (sockscope/text/format.hpp).
#include "sockscope/text/format.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sockscope::text {
namespace {

TEST(Format, PrintfSyntax) {
  EXPECT_EQ(format("%s: %d messages of %llu bytes, %.1f %%", "TCP", 3, 1400ULL, 12.34), "TCP: 3 messages of 1400 bytes, 12.3 %");
  EXPECT_EQ(format("%04d|%-5s|%5s|%x", 7, "ab", "cd", 255u), "0007|ab   |   cd|ff");
}

TEST(Format, StdStringArguments) { EXPECT_EQ(format("[%s]", std::string("中文")), "[中文]"); }

TEST(Format, PositionalArgumentsLetATranslationReorder) {
  EXPECT_EQ(format("%2$s, then %1$s", "connect()", "socket()"), "socket(), then connect()");
}

TEST(Format, AFormatThatDoesNotFitItsArgumentsGivesTheFormat) {
  // A broken translation: a placeholder with no argument. printf would read garbage.
  EXPECT_EQ(format("frame %d of %s", 3), "frame %d of %s");
}

}  // namespace
}  // namespace sockscope::text
