// The TCP server as a chat room: many clients at once, lines go to the others, and careless or
// hostile clients (vanishing, resetting, sending junk or endless lines, one too many) do not stop it.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "chat_support.hpp"

namespace {

using namespace chat_test;

std::size_t count_accepts(Running& server) { return server.sink.returned("accept").size(); }

TEST(ChatRoom, ALineReachesTheOthersAndNotTheSender) {
  ChatOptions so = server_options(ChatKind::TcpServer);
  Running server(so);
  ASSERT_TRUE(server.start());

  // Two listeners with nothing to say, staying a while.
  ChatOptions lo = client_options(ChatKind::TcpClient, server.port());
  lo.linger_ms = 700;
  Running b(lo), c(lo);
  ASSERT_TRUE(b.start());
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(eventually([&] { return count_accepts(server) == 2; }));

  ChatOptions ao = client_options(ChatKind::TcpClient, server.port());
  ao.say = {"hello room"};
  RecordingSink a_sink;
  Captured a_out;
  ASSERT_EQ(run_client(ao, a_sink, a_out), 0);
  const auto a_conn = a_sink.returned("connect");
  ASSERT_EQ(a_conn.size(), 1u);
  const std::string label = "[127.0.0.1:" + std::to_string(a_conn[0].local.port) + "] hello room";

  ASSERT_TRUE(b.wait_done(1500));
  ASSERT_TRUE(c.wait_done(1500));
  EXPECT_NE(b.out.text().find(label), std::string::npos) << b.out.text();
  EXPECT_NE(c.out.text().find(label), std::string::npos) << c.out.text();
  EXPECT_EQ(a_out.text().find("hello room"), std::string::npos) << a_out.text();
  // The server's own terminal shows it too.
  EXPECT_NE(server.out.text().find(label), std::string::npos) << server.out.text();
  server.finish();
}

TEST(ChatRoom, SurvivesVanishingResettingAndJunkClients) {
  ChatOptions so = server_options(ChatKind::TcpServer);
  so.max_line = 16;
  Running server(so);
  ASSERT_TRUE(server.start());
  const std::uint16_t port = server.port();

  // Vanishes: connects and closes without a word.
  int v = raw_connect(port);
  ASSERT_GE(v, 0);
  ::close(v);
  // Resets: SO_LINGER with a zero timeout makes close() send RST instead of FIN (socket(7)).
  int r = raw_connect(port);
  ASSERT_GE(r, 0);
  ASSERT_TRUE(eventually([&] { return count_accepts(server) >= 2; }));
  linger lg{1, 0};
  ::setsockopt(r, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  ::close(r);
  // Junk: terminal escapes, NUL and invalid UTF-8; then a line far longer than max_line.
  int j = raw_connect(port);
  ASSERT_GE(j, 0);
  const std::string junk("\x1b[2J\x00\xff\xfe ok\n", 11);
  ASSERT_EQ(::send(j, junk.data(), junk.size(), 0), static_cast<ssize_t>(junk.size()));
  const std::string long_line = std::string(100, 'x') + "\nafter\n";
  ASSERT_EQ(::send(j, long_line.data(), long_line.size(), 0), static_cast<ssize_t>(long_line.size()));

  ASSERT_TRUE(eventually([&] { return server.out.text().find("after") != std::string::npos; })) << server.out.text();
  const std::string text = server.out.text();
  // Escaped, never raw.
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_NE(text.find("\\x1b[2J\\x00\\xff\\xfe ok"), std::string::npos) << text;
  // Cut at 16 bytes, with a notice; the next line is intact.
  EXPECT_NE(text.find("] " + std::string(16, 'x') + "\n"), std::string::npos) << text;
  EXPECT_EQ(text.find(std::string(17, 'x')), std::string::npos);
  EXPECT_NE(text.find("cut"), std::string::npos);
  // The junk sender was warned.
  ::shutdown(j, SHUT_WR);
  const std::string warned = read_all(j);
  EXPECT_NE(warned.find("longer than 16 bytes"), std::string::npos) << warned;
  ::close(j);
  // The reset was seen as one.
  EXPECT_TRUE(eventually([&] {
    for (const CallRecord& c : server.sink.returned("recv"))
      if (c.result == -1 && sockscope::errno_name(c.err) == "ECONNRESET") return true;
    return false;
  }));

  // The room still works.
  ChatOptions lo = client_options(ChatKind::TcpClient, port);
  lo.linger_ms = 500;
  Running listener(lo);
  ASSERT_TRUE(listener.start());
  ASSERT_TRUE(eventually([&] { return count_accepts(server) >= 4; }));
  ChatOptions ao = client_options(ChatKind::TcpClient, port);
  ao.say = {"still here"};
  RecordingSink a_sink;
  Captured a_out;
  EXPECT_EQ(run_client(ao, a_sink, a_out), 0);
  ASSERT_TRUE(listener.wait_done(1500));
  EXPECT_NE(listener.out.text().find("still here"), std::string::npos) << listener.out.text();
  server.finish();
  EXPECT_EQ(server.rc, 0);
}

TEST(ChatRoom, OneClientTooManyIsToldTheRoomIsFull) {
  ChatOptions so = server_options(ChatKind::TcpServer);
  so.max_clients = 1;
  Running server(so);
  ASSERT_TRUE(server.start());
  const int first = raw_connect(server.port());
  ASSERT_GE(first, 0);
  ASSERT_TRUE(eventually([&] { return count_accepts(server) == 1; }));
  const int second = raw_connect(server.port());
  ASSERT_GE(second, 0);
  // One line, then the end of stream.
  const std::string got = read_all(second);
  EXPECT_NE(got.find("room full"), std::string::npos) << got;
  ::close(second);
  ::close(first);
  server.finish();
  EXPECT_NE(server.out.text().find("full"), std::string::npos);
}

TEST(ChatRoom, IdleClientsAreClosed) {
  ChatOptions so = server_options(ChatKind::TcpServer);
  so.idle_timeout_s = 1;
  Running server(so);
  ASSERT_TRUE(server.start());
  const int fd = raw_connect(server.port());
  ASSERT_GE(fd, 0);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string got = read_all(fd);  // the notice, then the server's FIN
  ::close(fd);
  EXPECT_NE(got.find("idle"), std::string::npos) << got;
  server.finish();
}

}  // namespace
