// The words of the call records: errno names, roles, kernel states (the line `sockscope chat` prints
// is the views' describe_call: tests/views/calls_view_test.cpp).
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

}  // namespace
