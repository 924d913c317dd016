#include "sockscope/text/escape.hpp"

#include <gtest/gtest.h>

#include <string>

using sockscope::text::display_width;
using sockscope::text::escape_text;
using sockscope::text::json_string;
using sockscope::text::utf8_decode;

namespace {

std::string esc(std::string_view s, std::size_t max = static_cast<std::size_t>(-1)) {
  std::string out;
  escape_text(out, reinterpret_cast<const std::uint8_t*>(s.data()), s.size(), max);
  return out;
}

std::string js(std::string_view s) {
  std::string out;
  json_string(out, s);
  return out;
}

}  // namespace

TEST(Escape, KeepsPrintableAscii) { EXPECT_EQ(esc("hello, world!"), "hello, world!"); }

TEST(Escape, EscapesNewlineTabCarriageReturnAndBackslash) {
  EXPECT_EQ(esc("a\nb\rc\td\\"), "a\\nb\\rc\\td\\\\");
}

TEST(Escape, EscapesQuotes) { EXPECT_EQ(esc("say \"hi\""), "say \\\"hi\\\""); }

TEST(Escape, AnsiEscapeSequenceBecomesHex) {
  EXPECT_EQ(esc("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
}

TEST(Escape, OtherControlsAndDelBecomeHex) {
  EXPECT_EQ(esc(std::string_view("\x00\x01\x07\x7f", 4)), "\\x00\\x01\\x07\\x7f");
}

TEST(Escape, KeepsValidUtf8) { EXPECT_EQ(esc("你好 中文 é"), "你好 中文 é"); }

TEST(Escape, InvalidUtf8BecomesHex) {
  EXPECT_EQ(esc("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(esc("a\x80z"), "a\\x80z");                // lone continuation byte
  EXPECT_EQ(esc("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(esc("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // UTF-16 surrogate
  EXPECT_EQ(esc("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
}

TEST(Escape, SequenceCutByEndOfDataBecomesHex) { EXPECT_EQ(esc("ab\xe4\xb8"), "ab\\xe4\\xb8"); }

TEST(Escape, C1ControlsAndBidiOverridesAreShownAsCodePoints) {
  EXPECT_EQ(esc("\xc2\x9b"), "\\u{009b}");       // U+009B CSI
  EXPECT_EQ(esc("a\xe2\x80\xae" "b"), "a\\u{202e}b");  // RIGHT-TO-LEFT OVERRIDE
}

TEST(Escape, LongInputIsCutWithEllipsis) {
  EXPECT_EQ(esc("abcdefgh", 4), "abcd\xe2\x80\xa6");
  EXPECT_EQ(esc("abcd", 4), "abcd");
}

TEST(Escape, CutNeverSplitsACharacter) {
  // "a中" is 4 bytes; a limit of 2 falls inside 中: stop before it.
  EXPECT_EQ(esc("a中b", 2), "a\xe2\x80\xa6");
}

TEST(Escape, MoreFollowsAddsEllipsis) {
  std::string out;
  const std::uint8_t b[] = {'h', 'i'};
  escape_text(out, b, 2, 40, true);
  EXPECT_EQ(out, "hi\xe2\x80\xa6");
}

TEST(Utf8Decode, ReportsIncompletePrefix) {
  std::uint32_t cp = 0;
  const std::uint8_t b[] = {0xe4, 0xb8, 0xad};
  EXPECT_EQ(utf8_decode(b, 2, cp), -1);
  EXPECT_EQ(utf8_decode(b, 3, cp), 3);
  EXPECT_EQ(cp, 0x4e2du);
}

TEST(JsonString, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(js("a\"b\\c\n\x1b\x7f"), "\"a\\\"b\\\\c\\u000a\\u001b\\u007f\"");
}

TEST(JsonString, KeepsValidUtf8AndReplacesInvalid) {
  EXPECT_EQ(js("中文"), "\"中文\"");
  EXPECT_EQ(js("a\xff" "b"), "\"a\\ufffdb\"");
  EXPECT_EQ(js("\xc2\x9b"), "\"\\u009b\"");
}

TEST(DisplayWidth, CountsWideCharactersTwice) {
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width("中文"), 4u);
  EXPECT_EQ(display_width("──▶"), 3u);
}

// Narration wraps by terminal columns: Chinese text (no spaces) breaks between characters, never
// inside one, and no line starts with closing punctuation (kinsoku); English still breaks at spaces.
// Where two pieces of text join: no space between Chinese characters or their wide punctuation.
TEST(DisplayWidth, WideAtEitherEnd) {
  EXPECT_TRUE(sockscope::text::wide_at_end("然后监听。"));
  EXPECT_TRUE(sockscope::text::wide_at_start("这时线路上"));
  EXPECT_TRUE(sockscope::text::wide_at_end("主题："));
  EXPECT_FALSE(sockscope::text::wide_at_end("listens."));
  EXPECT_FALSE(sockscope::text::wide_at_start("SYN 的序号"));
  EXPECT_FALSE(sockscope::text::wide_at_end("序号 SYN"));
  EXPECT_FALSE(sockscope::text::wide_at_end(""));
  EXPECT_FALSE(sockscope::text::wide_at_start(""));
  // A cut or invalid sequence at the end is not a character.
  EXPECT_FALSE(sockscope::text::wide_at_end(std::string("\xe7\x9b", 2)));
  EXPECT_FALSE(sockscope::text::wide_at_end(std::string("\x80\x80\x80\x80\x80", 5)));
}

TEST(WrapText, ChineseBreaksBetweenCharactersByColumnsAndKeepsPunctuationOnItsLine) {
  const std::string text =
      "三次握手：客户端调用 connect()，内核发出 SYN；服务器回应 SYN-ACK，客户端再发 ACK。"
      "这时双方都进入 ESTABLISHED 状态，accept() 才返回（它等的就是这一刻）。第一个报文段的序号叫作初始序号，"
      "也就是 ISN，它是随机选出来的，这样旧连接的报文段就不会被误认为属于新连接。";
  for (std::size_t width : {40u, 41u, 50u, 63u, 80u}) {
    const std::string out = sockscope::text::wrap_text(text, width, "  │ ", "  │ ");
    std::size_t start = 0, lines = 0;
    std::string joined;
    while (start < out.size()) {
      const std::size_t end = out.find('\n', start);
      ASSERT_NE(end, std::string::npos);
      const std::string line = out.substr(start, end - start);
      ++lines;
      EXPECT_LE(display_width(line), width) << line;
      ASSERT_EQ(line.rfind("  │ ", 0), 0u) << line;
      const std::string body = line.substr(std::string("  │ ").size());
      for (const char* bad : {"，", "。", "：", "；", "、", "！", "？", "）"})
        EXPECT_NE(body.rfind(bad, 0), 0u) << "line starts with " << bad << ": " << line;
      EXPECT_NE(body.back(), ' ');
      for (std::size_t i = 0; i < body.size();) {  // every line is whole characters
        std::uint32_t cp = 0;
        const int len = utf8_decode(reinterpret_cast<const std::uint8_t*>(body.data()) + i, body.size() - i, cp);
        ASSERT_GT(len, 0) << line;
        i += static_cast<std::size_t>(len);
      }
      joined += body;
      start = end + 1;
    }
    EXPECT_GT(lines, 2u);
    // Nothing lost: the lines put together are the text, less the spaces at the breaks.
    std::string squeezed_text, squeezed_out;
    for (char c : text) if (c != ' ') squeezed_text += c;
    for (char c : joined) if (c != ' ') squeezed_out += c;
    EXPECT_EQ(squeezed_out, squeezed_text);
  }
  EXPECT_EQ(sockscope::text::wrap_text("one two three four", 12, "", ""), "one two\nthree four\n");
  EXPECT_EQ(display_width("三次握手 SYN"), 12u);
}
