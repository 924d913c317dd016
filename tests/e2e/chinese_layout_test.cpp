// Column layouts in Chinese, run as a learner runs them (build/sockscope --lang zh_CN): Chinese
// characters take two terminal columns, so every heading must still stand over its column and every
// table column must still end where its heading ends. Positions are display columns
// (text::display_width), not bytes.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "e2e_support.hpp"
#include "lines.hpp"
#include "sockscope/pcap/live_capture.hpp"
#include "sockscope/text/escape.hpp"

namespace {

using sockscope::text::display_width;

using sockscope::testing::lines_of;

// The first line that holds every needle; fails the test when there is none.
std::string line_with(const std::string& text, std::initializer_list<const char*> needles) {
  for (const std::string& l : lines_of(text)) {
    bool all = true;
    for (const char* n : needles) all = all && l.find(n) != std::string::npos;
    if (all) return l;
  }
  std::string shown;
  for (const char* n : needles) shown += std::string("[") + n + "]";
  ADD_FAILURE() << "no line with " << shown << " in:\n" << text;
  return {};
}

// The longest start of `line` that takes at most `cols` terminal columns, whole characters only.
std::string prefix_of_width(const std::string& line, std::size_t cols) {
  std::size_t end = 0;
  while (end < line.size()) {
    std::size_t next = end + 1;
    while (next < line.size() && (static_cast<unsigned char>(line[next]) & 0xC0) == 0x80) ++next;
    if (display_width(std::string_view(line).substr(0, next)) > cols) break;
    end = next;
  }
  return line.substr(0, end);
}

// Display column where `needle` starts in `line`, or where it ends (end = true).
std::size_t column(const std::string& line, const std::string& needle, bool end = false) {
  const auto at = line.find(needle);
  EXPECT_NE(at, std::string::npos) << "[" << needle << "] not in: " << line;
  if (at == std::string::npos) return 0;
  return display_width(std::string_view(line).substr(0, at + (end ? needle.size() : 0)));
}

#define REQUIRE_CAPTURE() \
  E2E_REQUIRE(sockscope::have_capture_privileges(), "a live demo needs root or CAP_NET_RAW")

TEST(ChineseLayout, TimelineHeadingsStandOverTheirColumns) {
  REQUIRE_CAPTURE();
  const auto r = e2e::sockscope({"--lang", "zh_CN", "demo", "tcp", "--messages", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  // The packet columns: "帧" ends where the frame numbers end, "时间(ms)" where the times end.
  const std::string head = line_with(r.out, {"帧", "时间(ms)", "说明"});
  const std::string syn = line_with(r.out, {"TCP [S] "});
  EXPECT_EQ(column(head, "帧", true), column(syn, "1 ", true) - 1) << head << "\n" << syn;
  const std::size_t time_end = column(head, "时间(ms)", true);
  const std::string syn_time = syn.substr(0, syn.find('.') + 4);  // "     1     0.683"
  EXPECT_EQ(time_end, display_width(syn_time)) << head << "\n" << syn;
  // The call columns: client calls start under "客户端调用", server calls under "服务器调用".
  const std::string calls = line_with(r.out, {"客户端调用", "服务器调用"});
  EXPECT_EQ(column(calls, "客户端调用"), column(line_with(r.out, {"connect(127.0.0.1"}), "connect(")) << r.out;
  EXPECT_EQ(column(calls, "服务器调用"), column(line_with(r.out, {"listen("}), "listen(")) << r.out;
  // A Chinese explanation starts under the conversation column, as in English.
  const std::string explained = line_with(r.out, {"三次握手 第1步"});
  EXPECT_EQ(column(explained, "三次握手"), column(syn, "#1")) << explained << "\n" << syn;
  EXPECT_EQ(column(explained, "三次握手"), column(head, "连接")) << explained << "\n" << head;
}

TEST(ChineseLayout, LadderHeadingsStandOverClientWireAndServer) {
  REQUIRE_CAPTURE();
  const auto r = e2e::sockscope({"--lang", "zh_CN", "demo", "tcp", "--messages", "1", "--ladder"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string head = line_with(r.out, {"客户端", "线路上", "服务器"});
  EXPECT_EQ(column(head, "客户端"), column(line_with(r.out, {"connect(127.0.0.1"}), "connect(")) << r.out;
  EXPECT_EQ(column(head, "服务器"), column(line_with(r.out, {"listen("}), "listen(")) << r.out;
  // The wire's heading lies over the arrows: between the client's arrow start and the arrow head.
  const std::string syn = line_with(r.out, {"SYN seq=0"});
  const std::size_t wire_from = column(syn, "─"), wire_to = column(syn, "▶", true);
  const std::size_t heading_from = column(head, "线路上"), heading_to = heading_from + display_width("线路上（数据包）");
  EXPECT_GE(heading_from, wire_from) << head << "\n" << syn;
  EXPECT_LE(heading_to, wire_to) << head << "\n" << syn;
}

TEST(ChineseLayout, CompareTableNumbersEndUnderTheirProtocol) {
  REQUIRE_CAPTURE();
  const auto r = e2e::sockscope({"--lang", "zh_CN", "compare", "--messages", "5"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> lines = lines_of(r.out);
  std::size_t at = 0;
  while (at < lines.size() && !(lines[at].find_first_not_of(' ') == lines[at].find("TCP") &&
                                lines[at].find("UDP") != std::string::npos))
    ++at;
  ASSERT_LT(at, lines.size()) << "no table heading in:\n" << r.out;
  const std::string& head = lines[at];
  const std::size_t tcp_end = column(head, "TCP", true), udp_end = column(head, "UDP", true);
  // Every row, whatever the width of its Chinese label ("纯 ACK", "第 2 层首部（数据链路层）"): the
  // UDP value ends under "UDP", the TCP value under "TCP" (a space after it, text before it).
  int rows = 0;
  for (std::size_t i = at + 1; i < lines.size() && !lines[i].empty(); ++i, ++rows) {
    const std::string& row = lines[i];
    EXPECT_EQ(display_width(row), udp_end) << row;
    const std::string upto_tcp = prefix_of_width(row, tcp_end);
    ASSERT_EQ(display_width(upto_tcp), tcp_end) << row;
    EXPECT_NE(upto_tcp.back(), ' ') << row;
    EXPECT_EQ(row[upto_tcp.size()], ' ') << row;
  }
  EXPECT_GE(rows, 15) << r.out;
  const std::string widest = line_with(r.out, {"第 2 层首部（数据链路层）"});
  EXPECT_EQ(display_width(widest), udp_end) << widest;
  // The verdict below the table wraps by columns and never starts a line with closing punctuation.
  for (const std::string& l : lines) {
    EXPECT_LE(display_width(l), 100u) << l;
    const auto first = l.find_first_not_of(' ');
    if (first == std::string::npos) continue;
    for (const char* p : {"，", "。", "：", "；", "）"}) EXPECT_NE(l.compare(first, std::string(p).size(), p), 0) << l;
  }
}

TEST(ChineseLayout, ExchangeHeadingsStandOverTheirColumns) {
  const auto r = e2e::sockscope({"--lang", "zh_CN", "exchange"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string head = line_with(r.out, {"时间(ms)", "角色", "调用"});
  const std::string server = line_with(r.out, {"服务器  socket("});
  const std::string client = line_with(r.out, {"客户端  socket("});
  EXPECT_EQ(column(head, "角色"), column(server, "服务器")) << head << "\n" << server;
  EXPECT_EQ(column(head, "调用"), column(server, "socket(")) << head << "\n" << server;
  EXPECT_EQ(column(client, "socket("), column(server, "socket(")) << client << "\n" << server;
}

TEST(ChineseLayout, LessonListTitlesAndSummariesShareAColumn) {
  const auto r = e2e::sockscope({"--lang", "zh_CN", "lesson", "list"});
  ASSERT_EQ(r.status, 0) << r.err;
  // "  handshake       三次握手" and its summary below: every title and every summary line starts in
  // the same column, whatever the width of the Chinese text before it.
  std::size_t title_col = 0;
  int seen = 0;
  for (const std::string& l : lines_of(r.out)) {
    if (l.size() < 3 || l.rfind("  ", 0) != 0) continue;
    const std::size_t text_at = l.find_first_not_of(' ', l[2] == ' ' ? 2 : l.find(' ', 2));
    if (text_at == std::string::npos) continue;
    const std::size_t col = display_width(std::string_view(l).substr(0, text_at));
    if (title_col == 0) title_col = col;
    EXPECT_EQ(col, title_col) << l;
    ++seen;
  }
  EXPECT_GE(seen, 16) << r.out;
}

}  // namespace
