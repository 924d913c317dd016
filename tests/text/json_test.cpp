// The JSON writer and reader off the per-packet path (sockscope/text/json.hpp): the same policy as
// json_string, so a lesson's or a peer's bytes never make invalid JSON or act on a terminal.
#include "sockscope/text/json.hpp"

#include <gtest/gtest.h>

#include <string>

#include "sockscope/text/escape.hpp"

namespace sockscope::text {
namespace {

std::string dump_string(const std::string& s) { return json_dump(Json(s)); }

std::string via_json_string(const std::string& s) {
  std::string out;
  json_string(out, s);
  return out;
}

TEST(JsonDump, KeepsChineseTextAsItIs) { EXPECT_EQ(dump_string("你好，世界"), "\"你好，世界\""); }

TEST(JsonDump, ReplacesInvalidUtf8) {
  // A stray byte, a sequence cut short, an overlong form, a UTF-16 surrogate.
  const std::string out = dump_string("a\xff" "b\xe4\xb8" "c\xc0\xaf" "d\xed\xa0\x80" "e");
  EXPECT_EQ(out.find('\xff'), std::string::npos);
  const auto back = json_parse(out);
  ASSERT_TRUE(back.has_value()) << out;
  EXPECT_EQ(back->get<std::string>().front(), 'a');
  EXPECT_NE(back->get<std::string>().find("\xef\xbf\xbd"), std::string::npos) << "U+FFFD stands for the bad bytes";
}

TEST(JsonDump, EscapesC0ControlsAndDel) {
  const std::string out = dump_string(std::string("\x1b[2J\x7f\x01", 6) + std::string(1, '\0'));
  for (char c : out) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f) << out;
  EXPECT_NE(out.find("\\u001b"), std::string::npos) << out;
  EXPECT_NE(out.find("\\u007f"), std::string::npos) << out;
  EXPECT_EQ(json_parse(out)->get<std::string>(), std::string("\x1b[2J\x7f\x01", 6) + std::string(1, '\0'));
}

TEST(JsonDump, EscapesC1AndBidiControlsAsJsonStringDoes) {
  // U+009B (CSI on some terminals), U+202E (right-to-left override), U+2066 (isolate), U+FEFF.
  const std::string s = "x\xc2\x9b" "y\xe2\x80\xae" "z\xe2\x81\xa6" "w\xef\xbb\xbf";
  EXPECT_EQ(dump_string(s), "\"x\\u009by\\u202ez\\u2066w\\ufeff\"");
  EXPECT_EQ(dump_string(s), via_json_string(s));
  EXPECT_EQ(json_parse(dump_string(s))->get<std::string>(), s);
}

TEST(JsonDump, ObjectsKeepTheirKeysInOrder) {
  const Json j{{"type", "check"}, {"line", 3}, {"ok", true}, {"frames", {1, 2}}, {"note", nullptr}};
  EXPECT_EQ(json_dump(j), R"({"type":"check","line":3,"ok":true,"frames":[1,2],"note":null})");
}

TEST(JsonParse, ReadsEscapesAndNestedValues) {
  const auto j = json_parse(R"([{"ifname":"veth\"0\\","mtu":1500,"flags":["UP"],"x":"\u4e2d"}])");
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ((*j)[0]["ifname"], "veth\"0\\");
  EXPECT_EQ((*j)[0]["mtu"], 1500);
  EXPECT_EQ((*j)[0]["flags"][0], "UP");
  EXPECT_EQ((*j)[0]["x"], "中");
}

TEST(JsonParse, SaysWhyTextIsNotJson) {
  std::string why;
  EXPECT_FALSE(json_parse("{\"a\":", &why).has_value());
  EXPECT_FALSE(why.empty());
  EXPECT_FALSE(json_parse("[1] trailing").has_value());
}

}  // namespace
}  // namespace sockscope::text
