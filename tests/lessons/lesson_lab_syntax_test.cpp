// The lesson syntax the lab lessons use: the lab line, repeated calls with numbered text, recv ... all,
// counting only the calls that did not fail, and the packet fields and selectors for ARP, MAC
// addresses and IP fragments.
#include <gtest/gtest.h>

#include "sockscope/lessons/lab.hpp"
#include "sockscope/lessons/lesson.hpp"

namespace sockscope::lesson {
namespace {

Lesson parsed(const std::string& text) {
  Lesson l;
  std::vector<Diagnostic> errors;
  const bool ok = parse_lesson(text, "lab.lesson", l, errors);
  std::string all;
  for (const auto& d : errors) all += format_diagnostic(d) + "\n";
  EXPECT_TRUE(ok) << all;
  return l;
}

std::vector<Diagnostic> errors_of(const std::string& text) {
  Lesson l;
  std::vector<Diagnostic> errors;
  EXPECT_FALSE(parse_lesson(text, "lab.lesson", l, errors)) << text;
  return errors;
}

TEST(LessonLabSyntax, TheLabLinePutsServersOnTheServerHost) {
  const Lesson l = parsed("title T\nsummary S\nlab mtu 1400 loss 20 drop-syn 1\nudp server\nudp client\n"
                          "tcp server t fd77::2\ntcp client c to t\nclient sendto \"x\"\n");
  EXPECT_TRUE(l.lab.on);
  EXPECT_EQ(l.lab.mtu, 1400);
  EXPECT_EQ(l.lab.loss_pct, 20);
  EXPECT_EQ(l.lab.drop_syn, 1);
  ASSERT_EQ(l.endpoints.size(), 4u);
  EXPECT_EQ(l.endpoints[0].address, lab::kServerIPv4);
  EXPECT_EQ(l.endpoints[2].address, lab::kServerIPv6);
}

TEST(LessonLabSyntax, WithoutALabOnlyLoopback) {
  const auto e = errors_of("title T\nsummary S\nudp server 10.77.0.2\nudp client\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].line, 3);
  EXPECT_NE(e[0].message.find("not a loopback address"), std::string::npos);
  EXPECT_NE(e[0].hint.find("'lab' line"), std::string::npos);
}

TEST(LessonLabSyntax, BadLabLines) {
  auto e = errors_of("title T\nsummary S\nlab loss 150\nudp server\nudp client\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].line, 3);
  EXPECT_NE(e[0].hint.find("loss 0..100"), std::string::npos);
  e = errors_of("title T\nsummary S\nudp server\nlab\nudp client\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].message.find("before the endpoints"), std::string::npos);
  e = errors_of("title T\nsummary S\nlab mtu\nudp server\nudp client\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].message.find("needs a number"), std::string::npos);
  e = errors_of("title T\nsummary S\nlab\nudp server 10.77.0.1\nudp client\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].message.find("not the lab's server host"), std::string::npos);
}

TEST(LessonLabSyntax, TimesRepeatsACallWithNumberedText) {
  const Lesson l = parsed("title T\nsummary S\nudp server\nudp client\n"
                          "client sendto \"message {n}\" times 12\nserver recvfrom 100 nowait times 3 -> any\n");
  ASSERT_EQ(l.steps.size(), 15u);
  EXPECT_EQ(l.steps[0].data, "message 01");
  EXPECT_EQ(l.steps[8].data, "message 09");
  EXPECT_EQ(l.steps[11].data, "message 12");
  for (int i = 0; i < 12; ++i) EXPECT_EQ(l.steps[static_cast<std::size_t>(i)].call, "sendto");
  for (std::size_t i = 12; i < 15; ++i) {
    EXPECT_EQ(l.steps[i].call, "recvfrom");
    EXPECT_TRUE(l.steps[i].nowait);
    EXPECT_EQ(l.steps[i].expect.kind, CallExpect::Kind::Any);
    EXPECT_EQ(l.steps[i].line, 6);
  }
  const auto e = errors_of("title T\nsummary S\nudp server\nudp client\nclient sendto \"x\" times 0\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].message.find("from 1 to 1000"), std::string::npos);
}

TEST(LessonLabSyntax, RecvAllWaitsForTheWholeBuffer) {
  const Lesson l = parsed("title T\nsummary S\ntcp server\ntcp client\nserver recv 330 all -> 330\n");
  ASSERT_EQ(l.steps.size(), 1u);
  EXPECT_TRUE(l.steps[0].all);
  EXPECT_EQ(l.steps[0].size, 330u);
  auto e = errors_of("title T\nsummary S\ntcp server\ntcp client\nserver recv 10 all nowait\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].message.find("'all' waits"), std::string::npos);
  e = errors_of("title T\nsummary S\nudp server\nudp client\nserver recvfrom 10 all\n");
  ASSERT_EQ(e.size(), 1u);
}

TEST(LessonLabSyntax, FieldsAndSelectorsForTheLink) {
  const Lesson l = parsed(
      "title T\nsummary S\nlab\nudp server\nudp client\nclient sendto \"hi\"\n"
      "expect arp#1.dst-mac == FF:FF:FF:FF:FF:FF\n"
      "expect datagram.dst-mac == arp#2.src-mac\n"
      "expect arp#2.arp-op == 2\n"
      "expect ip-fragment#2.frag-offset == 1480\n"
      "expect ip-fragment#2.raw-frag-offset == 185\n"
      "expect ip-fragment#3.mf + ip-fragment#1.df == 0\n"
      "expect ip-fragment#2.ip-id == ip-fragment#1.ip-id\n"
      "expect count server.recvfrom ok < count client.sendto\n");
  ASSERT_EQ(l.steps.size(), 9u);
  const Step& arp = l.steps[1];
  ASSERT_EQ(arp.lhs.terms.size(), 1u);
  EXPECT_EQ(arp.lhs.terms[0].packet.proto, Proto::Arp);
  EXPECT_TRUE(arp.lhs.terms[0].packet.any);
  EXPECT_EQ(arp.rhs.terms[0].text, "FF:FF:FF:FF:FF:FF");
  const Step& count = l.steps[8];
  EXPECT_TRUE(count.lhs.terms[0].ok_only);
  EXPECT_FALSE(count.rhs.terms[0].ok_only);
  // A MAC address is a word: it cannot be added.
  const auto e = errors_of("title T\nsummary S\nudp server\nudp client\nexpect datagram.src-mac + 1 == 2\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].message.find("cannot be added"), std::string::npos);
}

}  // namespace
}  // namespace sockscope::lesson
