// The words of the call records: errno names, roles, kernel states, and the one-line description
// `sockscope chat` prints, which must be safe for a terminal whatever a peer sent.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "sockscope/annotate/calls.hpp"
#include "sockscope/demo/chat.hpp"

namespace {

using sockscope::CallRecord;

TEST(CallNames, ErrnoNames) {
  EXPECT_EQ(sockscope::errno_name(ECONNREFUSED), "ECONNREFUSED");
  EXPECT_EQ(sockscope::errno_name(ECONNRESET), "ECONNRESET");
  EXPECT_EQ(sockscope::errno_name(EADDRINUSE), "EADDRINUSE");
  EXPECT_EQ(sockscope::errno_name(EAGAIN), "EAGAIN");
  EXPECT_EQ(sockscope::errno_name(0), "0");
  EXPECT_EQ(sockscope::errno_name(99999), "E?99999");
}

TEST(CallNames, Roles) {
  EXPECT_STREQ(sockscope::call_role_name(sockscope::CallRole::Client), "client");
  EXPECT_STREQ(sockscope::call_role_name(sockscope::CallRole::Server), "server");
}

TEST(CallNames, KernelStateOfSockets) {
  const int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
  EXPECT_EQ(sockscope::demo::tcp_kernel_state(udp), "");
  ::close(udp);
  const int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(tcp, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(tcp, 1), 0);
  EXPECT_EQ(sockscope::demo::tcp_kernel_state(tcp), "LISTEN");
  ::close(tcp);
  // A tuple the kernel never had.
  sockscope::Endpoint l, p;
  l.ip.family = p.ip.family = 4;
  l.ip.b[0] = p.ip.b[0] = 127;
  l.ip.b[3] = p.ip.b[3] = 1;
  l.port = 1;
  p.port = 2;
  EXPECT_EQ(sockscope::demo::tcp_state_by_tuple(l, p), "");
}

CallRecord record(const char* call, std::int64_t result) {
  CallRecord c;
  c.call = call;
  c.result = result;
  return c;
}

TEST(DescribeCall, TheLinesTheChatPrints) {
  CallRecord c = record("connect", 0);
  c.args = "127.0.0.1:9000";
  c.kernel_state = "ESTABLISHED";
  EXPECT_EQ(sockscope::demo::describe_call(c), "connect(127.0.0.1:9000) = 0  [ESTABLISHED]");
  c.returned = false;
  EXPECT_EQ(sockscope::demo::describe_call(c), "connect(127.0.0.1:9000) ...");

  CallRecord r = record("recv", -1);
  r.err = ECONNRESET;
  EXPECT_EQ(sockscope::demo::describe_call(r), "recv() = -1 ECONNRESET");

  CallRecord a = record("accept", 4);
  a.has_peer = true;
  a.peer.ip.family = 4;
  a.peer.ip.b = {127, 0, 0, 1};
  a.peer.port = 51514;
  EXPECT_EQ(sockscope::demo::describe_call(a), "accept() = 4 from 127.0.0.1:51514");

  CallRecord s = record("send", 6);
  s.data = "hello\n";
  EXPECT_EQ(sockscope::demo::describe_call(s), "send(\"hello\\n\") = 6");
}

TEST(DescribeCall, PeerBytesAreEscaped) {
  CallRecord r = record("recv", 12);
  r.data = std::string("\x1b]0;pwned\x07\xc2\x9b\xe2\x80\xae", 15);
  const std::string line = sockscope::demo::describe_call(r);
  for (unsigned char ch : line) EXPECT_TRUE(ch >= 0x20 || ch == '\t') << line;
  EXPECT_NE(line.find("\\x1b]0;pwned\\x07"), std::string::npos) << line;
  EXPECT_NE(line.find("\\u{009b}"), std::string::npos) << line;  // C1 CSI
  EXPECT_NE(line.find("\\u{202e}"), std::string::npos) << line;  // right-to-left override
  // Learners' own languages stay readable.
  CallRecord u = record("recv", 6);
  u.data = "你好";
  EXPECT_NE(sockscope::demo::describe_call(u).find("你好"), std::string::npos);
}

}  // namespace
