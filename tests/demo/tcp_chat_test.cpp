// The TCP chat endpoints on real loopback sockets: which calls they make, in which order, with which
// results and kernel states (TCP_INFO, and NETLINK_SOCK_DIAG after close()).
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <set>

#include "chat_support.hpp"

namespace {

using namespace chat_test;

std::size_t index_of(const std::vector<CallRecord>& v, const std::string& call, bool returned, std::size_t from = 0) {
  for (std::size_t i = from; i < v.size(); ++i)
    if (v[i].call == call && v[i].returned == returned) return i;
  return v.size();
}

TEST(TcpChat, ScriptedExchangeReportsEveryCallInOrder) {
  ChatOptions so = server_options(ChatKind::TcpServer);
  so.reply_per_line = true;
  so.say = {"hi there", "fine, thanks", "see you"};
  Running server(so);
  ASSERT_TRUE(server.start());

  ChatOptions co = client_options(ChatKind::TcpClient, server.port());
  co.say = {"hello", "how are you?", "bye"};
  co.line_gap_ms = 20;
  RecordingSink client_sink;
  Captured client_out;
  const std::int64_t before = std::time(nullptr);
  ASSERT_EQ(run_client(co, client_sink, client_out), 0) << client_out.text();
  // The server reads the end of stream and closes its side by itself.
  ASSERT_TRUE(eventually([&] { return !server.sink.returned("close").empty(); })) << server.out.text();
  server.finish();
  EXPECT_EQ(server.rc, 0);

  const auto c = client_sink.calls();
  ASSERT_GE(c.size(), 4u);
  // socket, then connect reported twice: as it starts and as it returns.
  EXPECT_EQ(c[0].call, "socket");
  EXPECT_EQ(c[0].args, "AF_INET, SOCK_STREAM");
  EXPECT_GE(c[0].result, 0);
  EXPECT_EQ(c[0].proto, sockscope::Proto::Tcp);
  const std::size_t cs = index_of(c, "connect", false);
  const std::size_t cr = index_of(c, "connect", true);
  ASSERT_LT(cs, cr);
  ASSERT_LT(cr, c.size());
  EXPECT_TRUE(c[cs].blocking);
  EXPECT_EQ(c[cs].args, "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(c[cr].result, 0);
  EXPECT_EQ(c[cr].err, 0);
  EXPECT_EQ(c[cr].kernel_state, "ESTABLISHED");
  ASSERT_TRUE(c[cr].has_local);
  ASSERT_TRUE(c[cr].has_peer);
  EXPECT_EQ(c[cr].peer.port, server.port());
  EXPECT_LE(c[cr].ts.ns(), c[cr].ts_return.ns());
  // CLOCK_REALTIME, the clock of packet timestamps.
  EXPECT_NEAR(static_cast<double>(c[cr].ts.sec), static_cast<double>(before), 5.0);
  // Nothing but the start and the return of connect between socket and the first send.
  EXPECT_LT(cr, index_of(c, "send", true));

  // The server's accept: start, then return with the client's own address as the peer.
  const auto s = server.sink.calls();
  const std::size_t as = index_of(s, "accept", false);
  const std::size_t ar = index_of(s, "accept", true);
  ASSERT_LT(as, ar);
  ASSERT_LT(ar, s.size());
  EXPECT_GE(s[ar].result, 0);
  EXPECT_TRUE(s[ar].has_peer);
  EXPECT_EQ(s[ar].peer, c[cr].local);
  EXPECT_EQ(s[ar].kernel_state, "ESTABLISHED");

  // Every byte sent arrived: send results = the lines, recv results add up to them.
  const auto csend = client_sink.returned("send");
  ASSERT_EQ(csend.size(), 3u);
  EXPECT_EQ(csend[0].data, "hello\n");
  EXPECT_EQ(csend[0].result, 6);
  EXPECT_EQ(joined_data(csend), "hello\nhow are you?\nbye\n");
  EXPECT_EQ(joined_data(server.sink.returned("recv")), joined_data(csend));
  EXPECT_EQ(sum_results(server.sink.returned("recv")), sum_results(csend));
  const auto ssend = server.sink.returned("send");
  EXPECT_EQ(joined_data(ssend), "hi there\nfine, thanks\nsee you\n");
  EXPECT_EQ(joined_data(client_sink.returned("recv")), joined_data(ssend));
  for (const CallRecord& r : client_sink.returned("recv")) {
    EXPECT_EQ(r.result, static_cast<std::int64_t>(r.data.size()));
    EXPECT_TRUE(r.blocking);
  }

  // The client closes first: its connection lives on in the kernel after close(). Linux delays the
  // ACK of the FIN hoping to send it with the server's own FIN, so FIN-WAIT-1 is common here.
  const auto cclose = client_sink.returned("close");
  ASSERT_EQ(cclose.size(), 1u);
  EXPECT_EQ(cclose[0].result, 0);
  const std::set<std::string> closing = {"FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"};
  EXPECT_TRUE(closing.count(cclose[0].kernel_state)) << cclose[0].kernel_state;

  // The server: recv() = 0 (end of stream, CLOSE-WAIT), then close() (LAST-ACK, or CLOSED once the
  // last ACK came back).
  const auto srecv = server.sink.returned("recv");
  ASSERT_FALSE(srecv.empty());
  EXPECT_EQ(srecv.back().result, 0);
  EXPECT_EQ(srecv.back().kernel_state, "CLOSE-WAIT");
  const auto sclose = server.sink.returned("close");
  ASSERT_GE(sclose.size(), 1u);
  EXPECT_TRUE(sclose[0].kernel_state == "LAST-ACK" || sclose[0].kernel_state == "CLOSED") << sclose[0].kernel_state;

  // And the kernel's socket table (sock_diag) now holds the client's side in TIME-WAIT.
  EXPECT_TRUE(eventually([&] { return tcp_state_by_tuple(c[cr].local, c[cr].peer) == "TIME-WAIT"; }, 1000))
      << tcp_state_by_tuple(c[cr].local, c[cr].peer);

  // What each side printed.
  EXPECT_NE(client_out.text().find("see you"), std::string::npos) << client_out.text();
  EXPECT_NE(server.out.text().find("] how are you?"), std::string::npos) << server.out.text();
}

TEST(TcpChat, ServerClosingFirstEndsInTimeWaitOnTheServerSide) {
  ChatOptions so = server_options(ChatKind::TcpServer);
  so.reply_per_line = true;
  so.say = {"one", "two"};
  so.server_closes_after = 2;
  Running server(so);
  ASSERT_TRUE(server.start());

  ChatOptions co = client_options(ChatKind::TcpClient, server.port());
  co.say = {"a", "b", "sleep 300", "c"};
  co.line_gap_ms = 20;
  RecordingSink client_sink;
  Captured client_out;
  EXPECT_EQ(run_client(co, client_sink, client_out), 0);
  // The client saw the end of stream before its third line: it never sent it.
  const auto crecv = client_sink.returned("recv");
  ASSERT_FALSE(crecv.empty());
  EXPECT_EQ(crecv.back().result, 0);
  EXPECT_EQ(crecv.back().kernel_state, "CLOSE-WAIT");
  EXPECT_EQ(client_sink.returned("send").size(), 2u);
  const auto cclose = client_sink.returned("close");
  ASSERT_EQ(cclose.size(), 1u);
  EXPECT_TRUE(cclose[0].kernel_state == "LAST-ACK" || cclose[0].kernel_state == "CLOSED") << cclose[0].kernel_state;

  // The server's close() record may still be on its way (it asks the kernel's table first).
  ASSERT_TRUE(eventually([&] { return !server.sink.returned("close").empty(); }));
  const auto sclose = server.sink.returned("close");
  const CallRecord& first = sclose[0];
  EXPECT_TRUE(first.kernel_state == "FIN-WAIT-1" || first.kernel_state == "FIN-WAIT-2" ||
              first.kernel_state == "TIME-WAIT")
      << first.kernel_state;
  ASSERT_TRUE(first.has_local && first.has_peer);
  EXPECT_TRUE(eventually([&] { return tcp_state_by_tuple(first.local, first.peer) == "TIME-WAIT"; }, 1000));
  server.finish();
}

TEST(TcpChat, HalfCloseStillReceivesTheServersLaterData) {
  ChatOptions so = server_options(ChatKind::TcpServer);
  so.reply_per_line = true;
  so.say = {"r1", "r2"};
  Running server(so);
  ASSERT_TRUE(server.start());

  ChatOptions co = client_options(ChatKind::TcpClient, server.port());
  co.say = {"one", "two"};
  co.half_close = true;
  RecordingSink client_sink;
  Captured client_out;
  EXPECT_EQ(run_client(co, client_sink, client_out), 0);
  server.finish();

  const auto c = client_sink.calls();
  const std::size_t sh = index_of(c, "shutdown", true);
  ASSERT_LT(sh, c.size());
  EXPECT_EQ(c[sh].args, "SHUT_WR");
  EXPECT_EQ(c[sh].result, 0);
  // After the shutdown, the replies still arrive, then the end of stream.
  std::string after;
  bool eof = false;
  for (std::size_t i = sh; i < c.size(); ++i) {
    if (c[i].call != "recv" || !c[i].returned) continue;
    after += c[i].data;
    if (c[i].result == 0) eof = true;
    // Our FIN is out: the kernel says FIN-WAIT-something (or TIME-WAIT once the server closed too).
    EXPECT_TRUE(c[i].kernel_state.rfind("FIN-WAIT", 0) == 0 || c[i].kernel_state == "TIME-WAIT" ||
                c[i].kernel_state == "CLOSING")
        << c[i].kernel_state;
  }
  EXPECT_EQ(after, "r1\nr2\n");
  EXPECT_TRUE(eof);
  EXPECT_NE(client_out.text().find("r2"), std::string::npos);
}

TEST(TcpChat, ConnectToAClosedPortIsRefused) {
  ChatOptions co = client_options(ChatKind::TcpClient, closed_port(SOCK_STREAM));
  co.say = {"anyone?"};
  RecordingSink sink;
  Captured out;
  EXPECT_EQ(run_client(co, sink, out), 1);
  const auto connects = sink.returned("connect");
  ASSERT_EQ(connects.size(), 1u);
  EXPECT_EQ(connects[0].result, -1);
  EXPECT_EQ(sockscope::errno_name(connects[0].err), "ECONNREFUSED");
  EXPECT_EQ(connects[0].kernel_state, "CLOSED");
  EXPECT_TRUE(sink.returned("send").empty());
  EXPECT_EQ(sink.returned("close").size(), 1u);
  EXPECT_NE(out.text().find("connection refused"), std::string::npos) << out.text();
}

TEST(TcpChat, Ipv6Loopback) {
  ChatOptions so = server_options(ChatKind::TcpServer, "::1");
  so.reply_per_line = true;
  so.say = {"hello v6"};
  Running server(so);
  if (!server.start()) {
    server.finish();
    if (const char* ci = std::getenv("CI"); ci && std::string(ci) == "true") FAIL() << server.out.text();
    GTEST_SKIP() << "no IPv6 loopback (::1) on this machine: " << server.out.text();
  }
  ChatOptions co = client_options(ChatKind::TcpClient, server.port(), "::1");
  co.say = {"hi"};
  RecordingSink sink;
  Captured out;
  EXPECT_EQ(run_client(co, sink, out), 0);
  server.finish();
  EXPECT_EQ(sink.calls().at(0).args, "AF_INET6, SOCK_STREAM");
  const auto conn = sink.returned("connect");
  ASSERT_EQ(conn.size(), 1u);
  EXPECT_EQ(conn[0].args, "[::1]:" + std::to_string(server.port()));
  EXPECT_EQ(conn[0].local.ip.family, 6);
  EXPECT_EQ(conn[0].kernel_state, "ESTABLISHED");
  EXPECT_NE(out.text().find("hello v6"), std::string::npos);
  EXPECT_EQ(server.out.text().rfind("listening on [::1]:", 0), 0u) << server.out.text();
  const auto close = sink.returned("close");
  ASSERT_EQ(close.size(), 1u);
  EXPECT_NE(close[0].kernel_state, "");
}

TEST(TcpChat, StopFlagClosesAnIdleClientCleanly) {
  ChatOptions so = server_options(ChatKind::TcpServer);
  Running server(so);
  ASSERT_TRUE(server.start());
  // A client with nothing to say that reads standard input would wait; here it waits on stop.
  ChatOptions co = client_options(ChatKind::TcpClient, server.port());
  co.say = {"sleep 5000", "late"};
  Running client(co);
  ASSERT_TRUE(client.start());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  client.finish();
  EXPECT_EQ(client.rc, 0);
  EXPECT_TRUE(client.sink.returned("send").empty());
  EXPECT_EQ(client.sink.returned("close").size(), 1u);
  server.finish();
  // The server closes the listening socket too, and says so.
  EXPECT_GE(server.sink.returned("close").size(), 1u);
}

}  // namespace
