// The UDP chat endpoints: one sendto() per line, one datagram per message, replies by recvfrom().
#include <gtest/gtest.h>

#include "chat_support.hpp"

namespace {

using namespace chat_test;

TEST(UdpChat, OneSendtoPerLineAndRepliesByRecvfrom) {
  ChatOptions so = server_options(ChatKind::UdpServer);
  so.reply_per_line = true;
  so.say = {"pong 1", "pong 2", "pong 3"};
  Running server(so);
  ASSERT_TRUE(server.start());

  ChatOptions co = client_options(ChatKind::UdpClient, server.port());
  co.say = {"ping 1", "ping 2", "ping 3"};
  co.line_gap_ms = 10;
  RecordingSink sink;
  Captured out;
  EXPECT_EQ(run_client(co, sink, out), 0);
  server.finish();

  const auto calls = sink.calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls[0].call, "socket");
  EXPECT_EQ(calls[0].args, "AF_INET, SOCK_DGRAM");
  // No connect, no listen, no accept: UDP has no connection.
  EXPECT_TRUE(sink.returned("connect").empty());
  const auto sent = sink.returned("sendto");
  ASSERT_EQ(sent.size(), 3u);
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].data, "ping " + std::to_string(i + 1));
    EXPECT_EQ(sent[i].result, 6);
    EXPECT_EQ(sent[i].args, "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(sent[i].proto, sockscope::Proto::Udp);
    EXPECT_EQ(sent[i].kernel_state, "");
    EXPECT_TRUE(sent[i].has_peer);
    EXPECT_EQ(sent[i].peer.port, server.port());
  }
  const auto got = sink.returned("recvfrom");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].data, "pong 1");
  EXPECT_EQ(got[2].data, "pong 3");
  EXPECT_TRUE(got[0].blocking);
  EXPECT_EQ(got[0].peer.port, server.port());
  EXPECT_EQ(sink.returned("close").size(), 1u);
  EXPECT_EQ(sink.returned("close")[0].kernel_state, "");

  // The server: one recvfrom per datagram, the sender as the peer, one reply each.
  const auto srecv = server.sink.returned("recvfrom");
  ASSERT_EQ(srecv.size(), 3u);
  EXPECT_EQ(srecv[1].data, "ping 2");
  EXPECT_EQ(srecv[1].peer, sent[1].local);
  EXPECT_EQ(server.sink.returned("sendto").size(), 3u);
  EXPECT_TRUE(server.sink.returned("listen").empty());
  EXPECT_NE(out.text().find("pong 3"), std::string::npos) << out.text();
  EXPECT_NE(server.out.text().find("] ping 3"), std::string::npos) << server.out.text();
}

TEST(UdpChat, NobodyListeningMeansNoReplyAndNoError) {
  // An unconnected UDP socket is not told about the ICMP port unreachable (udp(7)): sendto succeeds,
  // and the client simply hears nothing back.
  ChatOptions co = client_options(ChatKind::UdpClient, closed_port(SOCK_DGRAM));
  co.say = {"hello?"};
  co.linger_ms = 100;
  RecordingSink sink;
  Captured out;
  EXPECT_EQ(run_client(co, sink, out), 0);
  const auto sent = sink.returned("sendto");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].result, 6);
  EXPECT_TRUE(sink.returned("recvfrom").empty());
}

TEST(UdpChat, Ipv6Loopback) {
  ChatOptions so = server_options(ChatKind::UdpServer, "::1");
  so.reply_per_line = true;
  so.say = {"v6 reply"};
  Running server(so);
  if (!server.start()) {
    server.finish();
    if (const char* ci = std::getenv("CI"); ci && std::string(ci) == "true") FAIL() << server.out.text();
    GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";
  }
  ChatOptions co = client_options(ChatKind::UdpClient, server.port(), "::1");
  co.say = {"v6 hello"};
  RecordingSink sink;
  Captured out;
  EXPECT_EQ(run_client(co, sink, out), 0);
  server.finish();
  EXPECT_EQ(sink.calls().at(0).args, "AF_INET6, SOCK_DGRAM");
  EXPECT_NE(out.text().find("v6 reply"), std::string::npos) << out.text();
}

}  // namespace
