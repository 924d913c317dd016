// Socket calls on the timeline, on hand-made CallRecords: one time column shared with the packets,
// client calls left and server calls right, the call lines of docs/glossary.md in JSON (returned calls only),
// failures with errno in words, and nothing a peer sent reaching the terminal raw.
#include <gtest/gtest.h>
#include "lines.hpp"

#include <algorithm>
#include <cerrno>
#include <sstream>
#include <string>
#include <vector>

#include "sockscope/text/escape.hpp"
#include "../e2e/json.hpp"
#include "fixtures.hpp"
#include "sockscope/views/views.hpp"

namespace sockscope {
namespace {

using testing::Captured;
using testing::tcp_annotation;
using testing::tcp_packet;
using testing::v4;

constexpr std::uint16_t kSyn = tcpflag::kSyn, kAck = tcpflag::kAck, kPsh = tcpflag::kPsh;
constexpr std::int64_t kBase = 1700000000;

Timestamp at_us(std::int64_t us) {
  Timestamp t;
  t.sec = kBase + us / 1000000;
  t.nsec = static_cast<std::uint32_t>((us % 1000000) * 1000);
  return t;
}

Endpoint ep(std::uint16_t port) { return {v4(127, 0, 0, 1), port}; }

// A call that returned at once (socket, bind, send, close...).
CallRecord done(CallRole who, std::int64_t us, const char* call, std::int64_t result, std::string args = {}) {
  CallRecord c;
  c.ts = c.ts_return = at_us(us);
  c.endpoint = who;
  c.call = call;
  c.args = std::move(args);
  c.result = result;
  c.proto = Proto::Tcp;
  c.fd = 3;
  return c;
}

// The two reports of a blocking call: its start (no result yet) and its return.
CallRecord started(CallRole who, std::int64_t us, const char* call, std::string args = {}) {
  CallRecord c = done(who, us, call, 0, std::move(args));
  c.blocking = true;
  c.returned = false;
  return c;
}
CallRecord returned(CallRecord c, std::int64_t us, std::int64_t result) {
  c.ts_return = at_us(us);
  c.returned = true;
  c.result = result;
  return c;
}

using sockscope::testing::lines_of;

// The line that contains needle; fails the test when there is none.
std::string line_with(const std::string& text, const std::string& needle) {
  for (const auto& l : lines_of(text))
    if (l.find(needle) != std::string::npos) return l;
  ADD_FAILURE() << "no line with [" << needle << "] in:\n" << text;
  return {};
}

// Column of byte offset `at` in a line (UTF-8 box drawing characters are one column, three bytes).
std::size_t display(const std::string& line, std::size_t at) {
  return text::display_width(std::string_view(line).substr(0, at));
}

// A short TCP life: server set-up, connect, handshake, accept, one message and its ACK, a close.
// Items in timeline order, as LiveSession hands them to a view.
struct Story {
  void play(View& v) {
    const std::string_view hello = "hello";
    CallRecord connect = started(CallRole::Client, 210, "connect", "127.0.0.1:9000");
    CallRecord accept = started(CallRole::Server, 150, "accept");
    CallRecord sock = done(CallRole::Server, 0, "socket", 3, "AF_INET, SOCK_STREAM");
    v.call(sock, 0);
    v.call(done(CallRole::Server, 40, "listen", 0, "backlog 16"), 0);
    v.call(accept, 0);
    v.call(connect, 0);
    v.packet(tcp_packet(1, 231000, true, kSyn), tcp_annotation(true, {Event::Handshake1}));
    v.packet(tcp_packet(2, 262000, false, kSyn | kAck), tcp_annotation(false, {Event::Handshake2}));
    CallRecord connected = returned(connect, 270, 0);
    connected.kernel_state = "ESTABLISHED";
    v.call(connected, 1);
    v.packet(tcp_packet(3, 273000, true, kAck), tcp_annotation(true, {Event::Handshake3}));
    CallRecord accepted = returned(accept, 301, 4);
    accepted.has_peer = true;
    accepted.peer = ep(51514);
    v.call(accepted, 1);
    CallRecord send = done(CallRole::Client, 350, "send", 5);
    send.data = "hello";
    v.call(send, 1);
    v.packet(tcp_packet(4, 361000, true, kPsh | kAck, hello), tcp_annotation(true, {Event::Data}));
    CallRecord eof = done(CallRole::Server, 900, "recv", 0);
    v.call(eof, 1);
    CallRecord close = done(CallRole::Client, 1020, "close", 0);
    close.kernel_state = "TIME-WAIT";
    v.call(close, 1);
    CallRecord refused = done(CallRole::Client, 1500, "connect", -1, "127.0.0.1:9001");
    refused.err = ECONNREFUSED;
    v.call(refused, 0);
    v.finish();
  }
};

TEST(CallsHumanView, CallsShareTheTimeColumnWithPackets) {
  Captured cap;
  ViewOptions vo;
  auto v = make_view(ViewKind::Human, cap.out(), vo);
  Story{}.play(*v);
  const std::string t = cap.text();
  // The first item is a call: it is time zero, and the SYN 231 us later reads 0.231.
  EXPECT_NE(line_with(t, "socket(AF_INET, SOCK_STREAM) = 3").find("0.000"), std::string::npos);
  EXPECT_NE(line_with(t, "TCP [S]").find("  0.231  "), std::string::npos) << t;
  EXPECT_NE(line_with(t, "connect() = 0").find("  0.270  "), std::string::npos) << t;
  EXPECT_NE(line_with(t, "close() = 0").find("  1.020  "), std::string::npos) << t;
  // The header comes once, before the first item, even when that is a call.
  EXPECT_EQ(t.find(" frame  time(ms)"), 0u) << t;
}

TEST(CallsHumanView, SaysWhatEachCallDid) {
  Captured cap;
  ViewOptions vo;
  auto v = make_view(ViewKind::Human, cap.out(), vo);
  Story{}.play(*v);
  const std::string t = cap.text();
  for (const char* s : {"connect(127.0.0.1:9000) ...", "connect() = 0  [kernel: ESTABLISHED]",
                        "accept() = 4 from 127.0.0.1:51514", "send(\"hello\") = 5",
                        "recv() = 0 (the peer closed: end of stream)", "close() = 0  [kernel: TIME-WAIT]",
                        "connect(127.0.0.1:9001) = -1 ECONNREFUSED (nobody listens on that port)", "accept() ..."})
    EXPECT_NE(t.find(s), std::string::npos) << "missing [" << s << "] in:\n" << t;
}

// A local socket (the C library's nscd lookup, a program's own AF_UNIX pair) is shown as made, with
// one note that it makes no packets: under the first one only.
TEST(CallsHumanView, LocalSocketsAreNotedOnceAsMakingNoPackets) {
  Captured cap;
  ViewOptions vo;
  auto v = make_view(ViewKind::Human, cap.out(), vo);
  for (int i = 0; i < 2; ++i) {
    v->call(done(CallRole::Client, 10 + 100 * i, "socket", 3, "AF_UNIX, SOCK_STREAM|SOCK_NONBLOCK"), 0);
    CallRecord lookup = done(CallRole::Client, 20 + 100 * i, "connect", -1, "\"/var/run/nscd/socket\"");
    lookup.err = ENOENT;
    v->call(lookup, 0);
  }
  v->call(done(CallRole::Client, 300, "socket", 4, "AF_INET, SOCK_DGRAM"), 0);
  v->finish();
  const std::string t = cap.text();
  const std::vector<std::string> ls = lines_of(t);
  const std::string note = "never reaches a network, so it makes no packets";
  const auto first = std::find_if(ls.begin(), ls.end(),
                                  [](const std::string& l) { return l.find("socket(AF_UNIX") != std::string::npos; });
  ASSERT_LT(first + 1, ls.end()) << t;
  EXPECT_NE(first[1].find(note), std::string::npos) << t;
  EXPECT_EQ(t.find(note), t.rfind(note)) << t;
  // A failed AF_UNIX socket() made nothing: no note for it.
  Captured cap2;
  auto v2 = make_view(ViewKind::Human, cap2.out(), vo);
  CallRecord failed = done(CallRole::Client, 10, "socket", -1, "AF_UNIX, SOCK_STREAM");
  failed.err = EMFILE;
  v2->call(failed, 0);
  v2->finish();
  EXPECT_EQ(cap2.text().find(note), std::string::npos) << cap2.text();
}

// The line `sockscope chat` prints for a call (describe_call with the peer named): the same words
// as the timeline's, safe for a terminal whatever a peer sent.
std::string chat_line(const CallRecord& c) {
  std::string s;
  describe_call(c, s, true);
  return s;
}

TEST(DescribeCall, TheLinesTheChatPrints) {
  CallRecord c = done(CallRole::Client, 0, "connect", 0, "127.0.0.1:9000");
  c.kernel_state = "ESTABLISHED";
  EXPECT_EQ(chat_line(c), "connect(127.0.0.1:9000) = 0  [kernel: ESTABLISHED]");
  c.returned = false;
  EXPECT_EQ(chat_line(c), "connect(127.0.0.1:9000) ...");

  CallRecord r = done(CallRole::Client, 0, "recv", -1);
  r.err = ECONNRESET;
  EXPECT_EQ(chat_line(r), "recv() = -1 ECONNRESET (the peer reset the connection (RST))");

  CallRecord a = done(CallRole::Server, 0, "accept", 4);
  a.has_peer = true;
  a.peer = ep(51514);
  EXPECT_EQ(chat_line(a), "accept() = 4 from 127.0.0.1:51514");

  // A server with several clients: which one each send, recv and close was for.
  CallRecord s = done(CallRole::Server, 0, "send", 6);
  s.data = "hello\n";
  s.has_peer = true;
  s.peer = ep(51514);
  EXPECT_EQ(chat_line(s), "send(\"hello\\n\") = 6 to 127.0.0.1:51514");
  CallRecord got = done(CallRole::Server, 0, "recv", 2);
  got.data = "hi";
  got.has_peer = true;
  got.peer = ep(51515);
  EXPECT_EQ(chat_line(got), "recv() = 2 \"hi\" from 127.0.0.1:51515");
  CallRecord cl = done(CallRole::Server, 0, "close", 0);
  cl.has_peer = true;
  cl.peer = ep(51515);
  cl.kernel_state = "LAST-ACK";
  EXPECT_EQ(chat_line(cl), "close() = 0 (127.0.0.1:51515)  [kernel: LAST-ACK]");
  // The timeline has a conversation column instead: no peer there.
  std::string timeline;
  describe_call(s, timeline);
  EXPECT_EQ(timeline, "send(\"hello\\n\") = 6");
}

TEST(DescribeCall, PeerBytesAreEscaped) {
  CallRecord r = done(CallRole::Client, 0, "recv", 12);
  r.data = std::string("\x1b]0;pwned\x07\xc2\x9b\xe2\x80\xae", 15);
  const std::string line = chat_line(r);
  for (unsigned char ch : line) EXPECT_TRUE(ch >= 0x20 || ch == '\t') << line;
  EXPECT_NE(line.find("\\x1b]0;pwned\\x07"), std::string::npos) << line;
  EXPECT_NE(line.find("\\u{009b}"), std::string::npos) << line;  // C1 CSI
  EXPECT_NE(line.find("\\u{202e}"), std::string::npos) << line;  // right-to-left override
  // Learners' own languages stay readable.
  CallRecord u = done(CallRole::Client, 0, "recv", 6);
  u.data = "你好";
  EXPECT_NE(chat_line(u).find("你好"), std::string::npos);
}

// An errno is explained for the call that got it: EAGAIN after MSG_DONTWAIT is "would wait", after a
// blocking call its timeout; EADDRNOTAVAIL from connect() is a lack of local ports, not of an address.
TEST(CallsHumanView, ErrnoIsExplainedForTheCallThatGotIt) {
  Captured cap;
  ViewOptions vo;
  auto v = make_view(ViewKind::Human, cap.out(), vo);
  auto failed = [&](const char* call, const char* args, int err) {
    CallRecord c = done(CallRole::Client, 100, call, -1, args);
    c.err = err;
    v->call(c, 0);
  };
  failed("recv", "MSG_DONTWAIT", EAGAIN);
  failed("recv", "", EAGAIN);
  failed("send", "6 bytes, MSG_DONTWAIT|MSG_NOSIGNAL", EAGAIN);
  failed("connect", "127.0.0.1:9000", EADDRNOTAVAIL);
  failed("bind", "10.9.9.9:9000", EADDRNOTAVAIL);
  failed("bind", "0.0.0.0:80", EACCES);
  failed("sendto", "255.255.255.255:9000", EACCES);
  v->finish();
  const std::string t = cap.text();
  for (const char* s : {"recv(MSG_DONTWAIT) = -1 EAGAIN (nothing to read yet, and MSG_DONTWAIT said not to wait)",
                        "recv() = -1 EAGAIN (nothing arrived before the socket's receive timeout (SO_RCVTIMEO)",
                        "send(6 bytes, MSG_DONTWAIT|MSG_NOSIGNAL) = -1 EAGAIN (the send buffer is full, and MSG_DONTWAIT said not to wait)",
                        "connect(127.0.0.1:9000) = -1 EADDRNOTAVAIL (no free local port",
                        "bind(10.9.9.9:9000) = -1 EADDRNOTAVAIL (that address is not one of this machine's)",
                        "bind(0.0.0.0:80) = -1 EACCES (not allowed: ports below 1024 (net.ipv4.ip_unprivileged_port_start) need root or CAP_NET_BIND_SERVICE)",
                        "= -1 EACCES (not allowed: a broadcast address needs the SO_BROADCAST option"})
    EXPECT_NE(t.find(s), std::string::npos) << "missing [" << s << "] in:\n" << t;
}

TEST(CallsHumanView, ClientCallsLeftServerCallsRightInTimelineOrder) {
  Captured cap;
  ViewOptions vo;
  auto v = make_view(ViewKind::Human, cap.out(), vo);
  Story{}.play(*v);
  const std::string t = cap.text();
  const std::string client = line_with(t, "connect(127.0.0.1:9000)");
  const std::string server = line_with(t, "accept() = 4");
  const std::size_t client_col = client.find("connect(");
  const std::size_t server_col = server.find("accept(");
  // Packet lines show "from -> to" where the client's calls are; the server's are further right.
  const std::string syn = line_with(t, "TCP [S]");
  EXPECT_EQ(client_col, display(syn, syn.find("127.0.0.1:51514")));
  EXPECT_GT(server_col, client_col + 20);
  // Lines come in the order the items came: connect ... SYN ... SYN-ACK ... connect() = 0 ... ACK.
  const std::size_t a = t.find("connect(127.0.0.1:9000) ..."), b = t.find("TCP [S]"), c = t.find("TCP [S.]"),
                    d = t.find("connect() = 0"), e = t.find("TCP [.]"), f = t.find("accept() = 4");
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, d);
  EXPECT_LT(d, e);
  EXPECT_LT(e, f);
  // A call that belongs to a conversation carries its number, like the packets.
  EXPECT_NE(line_with(t, "close() = 0").find("#1"), std::string::npos);
  EXPECT_EQ(line_with(t, "listen(").find('#'), std::string::npos);
}

TEST(CallsHumanView, PeerBytesAreEscaped) {
  for (ViewKind kind : {ViewKind::Human, ViewKind::Ladder}) {
    Captured cap;
    ViewOptions vo;
    auto v = make_view(kind, cap.out(), vo);
    CallRecord r = done(CallRole::Server, 0, "recv", 11);
    r.data = "\x1b]0;pwned\x07\x1b[2J\xff";
    v->call(r, 0);
    CallRecord from = done(CallRole::Server, 10, "recvfrom", 2, "\x1b[31m");
    from.data = "\x9b" "1";
    from.proto = Proto::Udp;
    v->call(from, 0);
    v->finish();
    const std::string t = cap.text();
    EXPECT_EQ(t.find('\x1b'), std::string::npos) << t;
    EXPECT_EQ(t.find('\x07'), std::string::npos) << t;
    EXPECT_EQ(t.find('\x9b'), std::string::npos) << t;
    EXPECT_NE(t.find("recv() = 11 \"\\x1b]0;pwned\\x07\\x1b[2J\\xff\""), std::string::npos) << t;
  }
}

TEST(CallsHumanView, LongDataIsCut) {
  Captured cap;
  ViewOptions vo;
  auto v = make_view(ViewKind::Human, cap.out(), vo);
  CallRecord s = done(CallRole::Client, 0, "send", 5000);
  s.data.assign(5000, 'x');
  v->call(s, 0);
  v->finish();
  const std::string t = cap.text();
  EXPECT_LT(t.size(), 400u);
  EXPECT_NE(t.find("\xe2\x80\xa6\") = 5000"), std::string::npos) << t;  // "…"
}

TEST(CallsHumanView, FailuresRedOnlyWithColour) {
  for (bool colour : {false, true}) {
    Captured cap;
    ViewOptions vo;
    vo.color = colour;
    auto v = make_view(ViewKind::Human, cap.out(), vo);
    CallRecord ok = done(CallRole::Client, 0, "socket", 3);
    v->call(ok, 0);
    CallRecord bad = done(CallRole::Client, 5, "connect", -1, "127.0.0.1:1");
    bad.err = ECONNREFUSED;
    v->call(bad, 0);
    v->finish();
    const std::string t = cap.text();
    EXPECT_EQ(line_with(t, "socket()").find('\x1b'), std::string::npos);
    EXPECT_EQ(line_with(t, "ECONNREFUSED").find("\x1b[31m") != std::string::npos, colour) << t;
  }
}

TEST(CallsLadderView, ThreeColumnsClientWireServer) {
  Captured cap;
  ViewOptions vo;
  vo.width = 100;
  vo.calls = true;
  auto v = make_view(ViewKind::Ladder, cap.out(), vo);
  Story{}.play(*v);
  const std::string t = cap.text();
  const std::size_t client_col = line_with(t, "connect(127.0.0.1:9000)").find("connect(");
  const std::string syn = line_with(t, "handshake 1/3");
  const std::size_t arrow_col = display(syn, syn.find("\xe2\x94\x80"));  // the wire's first "─"
  const std::string synack = line_with(t, "handshake 2/3");
  const std::size_t annot_col = display(synack, synack.find("handshake 2/3"));
  const std::size_t server_col = line_with(t, "accept() = 4").find("accept(");
  EXPECT_EQ(client_col, 18u);             // right after frame and time
  EXPECT_GT(arrow_col, client_col + 20);  // the wire is right of the client's column
  EXPECT_EQ(server_col, annot_col);       // the server's calls where the annotations are
  // The header names the three columns, then the conversation's two ends above their columns.
  EXPECT_LT(t.find("wire (packets)"), t.find("socket("));
  const std::string ends = line_with(t, "client 127.0.0.1:51514");
  EXPECT_EQ(ends.find("server 127.0.0.1:9000"), server_col) << t;
  EXPECT_LT(t.find("connect(127.0.0.1:9000) ..."), t.find("handshake 1/3"));
  EXPECT_LT(t.find("handshake 2/3"), t.find("connect() = 0"));
}

TEST(CallsLadderView, FirstItemACallTurnsOnTheColumns) {
  Captured cap;
  ViewOptions vo;  // calls not set
  vo.width = 100;
  auto v = make_view(ViewKind::Ladder, cap.out(), vo);
  Story{}.play(*v);
  const std::string t = cap.text();
  EXPECT_NE(t.find("wire (packets)"), std::string::npos) << t;
  const std::string syn = line_with(t, "handshake 1/3");
  EXPECT_GT(display(syn, syn.find("\xe2\x94\x80")), 18u + 20u);
}

TEST(CallsLadderView, PacketsOnlyLadderUnchanged) {
  // `sockscope annotate --ladder` has no calls: no call columns, the arrow right after the time.
  Captured cap;
  ViewOptions vo;
  vo.width = 100;
  auto v = make_view(ViewKind::Ladder, cap.out(), vo);
  v->packet(tcp_packet(1, 0, true, kSyn), tcp_annotation(true, {Event::Handshake1}));
  v->finish();
  const std::string t = cap.text();
  EXPECT_EQ(t.find("wire (packets)"), std::string::npos);
  EXPECT_EQ(line_with(t, "handshake 1/3").find("\xe2\x94\x80"), 18u);
}

TEST(CallsJsonView, CallLinesAsTheGlossarySays) {
  Captured cap;
  ViewOptions vo;
  auto v = make_view(ViewKind::Json, cap.out(), vo);
  Story{}.play(*v);
  const std::string t = cap.text();
  std::vector<e2e::Json> calls, packets;
  for (const auto& l : lines_of(t)) {
    e2e::Json j;
    e2e::JsonParser p(l);
    ASSERT_TRUE(p.parse(j)) << p.error() << ": " << l;
    if (j["type"].str() == "call") calls.push_back(j);
    if (j["type"].str() == "packet") packets.push_back(j);
  }
  ASSERT_EQ(packets.size(), 4u);
  // socket, listen, connect (returned), accept (returned), send, recv, close, failed connect: the two
  // "started" reports of connect and accept are not lines.
  ASSERT_EQ(calls.size(), 8u) << t;
  for (const auto& c : calls)
    for (const char* k : {"type", "ts", "ts_return", "endpoint", "call", "result", "errno", "kernel_state", "conn",
                          "args", "data", "fd", "local", "peer"})
      EXPECT_TRUE(c.has(k)) << k << " missing in " << c.dump();

  const e2e::Json& connect = calls[2];
  EXPECT_EQ(connect["call"].str(), "connect");
  EXPECT_EQ(connect["endpoint"].str(), "client");
  EXPECT_EQ(connect["result"].i64(), 0);
  EXPECT_TRUE(connect["errno"].is_null());
  EXPECT_EQ(connect["kernel_state"].str(), "ESTABLISHED");
  EXPECT_EQ(connect["conn"].i64(), 1);
  EXPECT_EQ(connect["args"].str(), "127.0.0.1:9000");
  // ts is when it was called, ts_return when it came back, after the SYN-ACK (frame 2).
  EXPECT_EQ(connect["ts"].text, "1700000000.000210000");
  EXPECT_EQ(connect["ts_return"].text, "1700000000.000270000");
  EXPECT_GT(connect["ts_return"].num, packets[1]["ts"].num);

  const e2e::Json& accept = calls[3];
  EXPECT_EQ(accept["endpoint"].str(), "server");
  EXPECT_EQ(accept["peer"].str(), "127.0.0.1:51514");
  EXPECT_TRUE(accept["local"].is_null());
  EXPECT_EQ(calls[4]["data"].str(), "hello");
  EXPECT_TRUE(calls[0]["kernel_state"].is_null());
  EXPECT_EQ(calls[0]["conn"].i64(), 0);

  const e2e::Json& refused = calls[7];
  EXPECT_EQ(refused["result"].i64(), -1);
  EXPECT_EQ(refused["errno"].str(), "ECONNREFUSED");
}

TEST(CallsJsonView, PeerBytesStayValidJson) {
  Captured cap;
  ViewOptions vo;
  auto v = make_view(ViewKind::Json, cap.out(), vo);
  CallRecord r = done(CallRole::Server, 0, "recv", 6);
  r.data = std::string("\x1b[2J\"\\\xff\0", 8);
  v->call(r, 2);
  v->finish();
  const std::string t = cap.text();
  EXPECT_EQ(t.find('\x1b'), std::string::npos);
  e2e::Json j;
  const std::string line = lines_of(t).at(0);
  e2e::JsonParser p(line);
  ASSERT_TRUE(p.parse(j)) << p.error() << ": " << t;
  EXPECT_EQ(j["data"].str().substr(0, 6), "\x1b[2J\"\\");
  EXPECT_EQ(j["conn"].i64(), 2);
}

TEST(CallsSummaryView, CountsReturnedCallsInTheTotals) {
  Captured cap;
  ViewOptions vo;
  auto v = make_view(ViewKind::Summary, cap.out(), vo);
  Story{}.play(*v);
  EXPECT_NE(cap.text().find("8 socket calls"), std::string::npos) << cap.text();

  Captured none;
  auto w = make_view(ViewKind::Summary, none.out(), vo);
  w->finish();
  EXPECT_EQ(none.text().find("socket calls"), std::string::npos);
}

}  // namespace
}  // namespace sockscope
