// lesson run --svg: the run drawn as a ladder diagram. On loopback (the handshake lesson) and in the
// lab (the lost SYN, where the first SYN is drawn lost because the capture shows it re-sent), each
// picture checked for its content and rendered to PNG by rsvg-convert to prove it is valid SVG.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "../e2e/e2e_support.hpp"
#include "paths.hpp"

namespace {

std::size_t count_of(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + 1)) ++n;
  return n;
}

void expect_renders(const std::string& svg_path) {
  E2E_REQUIRE(e2e::have_tool("rsvg-convert"), "rsvg-convert (librsvg2-bin) is needed to check the SVG");
  const std::string png = svg_path + ".png";
  const auto r = e2e::run({"rsvg-convert", "-o", png, svg_path});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string bytes = e2e::read_file(png);
  ASSERT_GT(bytes.size(), 8000u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

TEST(LessonPictureLab, HandshakeOnLoopback) {
  E2E_REQUIRE(geteuid() == 0, "lessons capture packets: run the tests as root");
  const std::string dir = sockscope::testing::temp_dir("lesson-svg");
  const std::string svg = dir + "/handshake.svg";
  const auto r = e2e::sockscope({"lesson", "run", "handshake", "--auto", "--svg", svg});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(svg), std::string::npos) << "the run says where the picture is";
  const std::string s = e2e::read_file(svg);
  ASSERT_EQ(s.rfind("<?xml", 0), 0u);
  EXPECT_NE(s.find("The three-way handshake"), std::string::npos) << "the lesson's title";
  // Each arrow's label (each packet also has a <title> with its whole sentence).
  EXPECT_EQ(count_of(s, "SYN  handshake 1/3"), 1u);
  EXPECT_EQ(count_of(s, "SYN,ACK  handshake 2/3"), 1u);
  EXPECT_EQ(count_of(s, "ACK  handshake 3/3"), 1u);
  EXPECT_EQ(count_of(s, "<g class=\"ss-pkt"), count_of(s, "<title>frame ")) << "one arrow per packet";
  EXPECT_NE(s.find("connect()"), std::string::npos) << "the calls are drawn beside their endpoint";
  EXPECT_NE(s.find("accept()"), std::string::npos);
  EXPECT_EQ(count_of(s, "class=\"ss-lost-text\""), 0u) << "nothing is lost on loopback";
  expect_renders(svg);
}

TEST(LessonPictureLab, TheLostSynIsDrawnLost) {
  E2E_REQUIRE(geteuid() == 0, "the lab needs root");
  const std::string dir = sockscope::testing::temp_dir("lesson-svg-lab");
  const std::string svg = dir + "/lost-syn.svg";
  const auto r = e2e::sockscope({"lesson", "run", "lost-syn", "--auto", "--svg", svg});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const std::string s = e2e::read_file(svg);
  EXPECT_EQ(count_of(s, "SYN  handshake 1/3"), 2u) << "two SYNs";
  EXPECT_NE(s.find("retransmission"), std::string::npos);
  EXPECT_EQ(count_of(s, "class=\"ss-lost-text\""), 1u) << "the first SYN, proven lost by its retransmission";
  EXPECT_NE(s.find("ARP request"), std::string::npos) << "the lab's link carries ARP";
  expect_renders(svg);
}

}  // namespace
