// Lesson expectations: matched in order on one conversation, with failures that say what was seen.
#include <gtest/gtest.h>

#include "sockscope/lessons/expect.hpp"

namespace sockscope {
namespace {

SeenPacket seen(std::uint64_t frame, std::uint32_t conn, std::initializer_list<Event> events) {
  SeenPacket p;
  p.frame = frame;
  p.conn = conn;
  for (auto e : events) p.events.add(e);
  return p;
}

std::vector<Event> words(std::string_view text) {
  std::vector<Event> out;
  std::string error;
  EXPECT_TRUE(parse_event_words(text, out, error)) << error;
  return out;
}

TEST(LessonExpect, ParsesGlossaryWordsAndNamesUnknownOnes) {
  std::vector<Event> out;
  std::string error;
  EXPECT_TRUE(parse_event_words("handshake-1, handshake-2 handshake-3", out, error));
  EXPECT_EQ(out.size(), 3u);
  EXPECT_FALSE(parse_event_words("handshake-1 handshake-4", out, error));
  EXPECT_NE(error.find("handshake-4"), std::string::npos);
  EXPECT_FALSE(parse_event_words("  ", out, error));
}

TEST(LessonExpect, HandshakeInOrderOnOneConversation) {
  std::vector<SeenPacket> s = {
      seen(1, 1, {Event::Handshake1}), seen(2, 2, {Event::Datagram}), seen(3, 1, {Event::Handshake2}),
      seen(4, 1, {Event::Handshake3}), seen(5, 1, {Event::Data})};
  ExpectResult r = expect_in_order(s, words("handshake-1 handshake-2 handshake-3 data"));
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.frames, (std::vector<std::uint64_t>{1, 3, 4, 5}));
}

TEST(LessonExpect, OneSegmentMaySatisfyTwoSteps) {
  std::vector<SeenPacket> s = {seen(7, 1, {Event::Teardown1}), seen(8, 1, {Event::Teardown2, Event::Teardown3}),
                               seen(9, 1, {Event::Teardown4})};
  ExpectResult r = expect_in_order(s, words("teardown-1 teardown-2 teardown-3 teardown-4"));
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.frames, (std::vector<std::uint64_t>{7, 8, 8, 9}));
}

TEST(LessonExpect, StepsSplitAcrossConversationsDoNotCount) {
  std::vector<SeenPacket> s = {seen(1, 1, {Event::Handshake1}), seen(2, 2, {Event::Handshake2})};
  ExpectResult r = expect_in_order(s, words("handshake-1 handshake-2"));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("never handshake-2"), std::string::npos) << r.message;
}

TEST(LessonExpect, WrongOrderFailsAndSaysWhatWasSeen) {
  std::vector<SeenPacket> s = {seen(1, 1, {Event::Handshake2}), seen(2, 1, {Event::Handshake1})};
  ExpectResult r = expect_in_order(s, words("handshake-2 handshake-1 handshake-3"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.message,
            "expected handshake-2 handshake-1 handshake-3; the capture showed handshake-2 handshake-1 "
            "(up to frame 2) but never handshake-3 after it");
  ExpectResult none = expect_in_order(s, words("rst"));
  EXPECT_FALSE(none.ok);
  EXPECT_EQ(none.message, "expected rst; the capture never showed rst");
}

TEST(LessonExpect, ConnectionlessWordsMatchAnywhere) {
  std::vector<SeenPacket> s = {seen(1, 1, {Event::Datagram}), seen(2, 0, {Event::IcmpUnreachable})};
  EXPECT_TRUE(expect_in_order(s, words("datagram icmp-unreachable")).ok);
  EXPECT_TRUE(expect_in_order(s, words("icmp-unreachable")).ok);
  EXPECT_EQ(count_event(s, Event::Datagram), 1u);
}

}  // namespace
}  // namespace sockscope
