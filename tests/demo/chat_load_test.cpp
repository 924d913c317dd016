// The TCP chat room under load: a thousand clients at once on loopback, each saying numbered lines.
// Every line must reach every other client of the room, in the order it was said, once: TCP keeps
// each connection's bytes in order (RFC 9293 section 3.1), and the server must neither drop, repeat
// nor reorder a line when it fans it out. The server runs as its own process, so its peak resident
// size (getrusage(2) ru_maxrss) is its own. One line of figures goes to standard output:
//   chat load: clients=1000 lines=10000 deliveries=9990000 lost=0 duplicated=0 ...
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "chat_server_proc.hpp"

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;  // slower code and more memory per allocation: looser bounds
#else
constexpr bool kSanitized = false;
#endif

constexpr int kClients = 1000;
constexpr int kLines = 10;  // per client (at most 16: one bit each below)
// Rounds in flight: every client says line r once line r-kWindow has reached everyone. People in a
// room talk at the pace they read; without it a thousand clients would bury the server (each line
// goes out 999 times) and a queue bound must cut someone off.
constexpr int kWindow = 2;
constexpr auto kDeadline = std::chrono::seconds(kSanitized ? 40 : 25);

struct Client {
  int fd = -1;
  std::uint16_t port = 0;
  std::string in;  // bytes of a line not complete yet
};

struct Tally {
  std::uint64_t deliveries = 0, duplicated = 0, out_of_order = 0, own = 0, misattributed = 0, garbled = 0;
};

// "[127.0.0.1:PORT] c<sender> <line>": checks who sent it (the label's port is the sender's own),
// marks it seen for this receiver, and counts anything wrong.
void on_line(std::string_view line, int self, const std::vector<int>& index_of_port, std::vector<std::uint16_t>& seen,
             std::vector<std::uint8_t>& highest, std::vector<std::uint64_t>& per_round, Tally& t) {
  constexpr std::string_view kHead = "[127.0.0.1:";
  auto number = [&](std::size_t& at) {
    long v = -1;
    if (at < line.size() && line[at] >= '0' && line[at] <= '9') {
      v = 0;
      while (at < line.size() && line[at] >= '0' && line[at] <= '9' && v < 1000000) v = v * 10 + (line[at++] - '0');
    }
    return v;
  };
  if (line.substr(0, kHead.size()) != kHead) {
    ++t.garbled;
    return;
  }
  std::size_t at = kHead.size();
  const long port = number(at);
  if (port < 0 || port > 65535 || line.substr(at, 3) != "] c") {
    ++t.garbled;
    return;
  }
  at += 3;
  const long sender = number(at);
  if (sender < 0 || sender >= kClients || at >= line.size() || line[at] != ' ') {
    ++t.garbled;
    return;
  }
  ++at;
  const long round = number(at);
  if (round < 0 || round >= kLines || at != line.size()) {
    ++t.garbled;
    return;
  }
  if (index_of_port[static_cast<std::size_t>(port)] != sender) ++t.misattributed;
  if (sender == self) {
    ++t.own;  // the room does not echo a line to the one who said it
    return;
  }
  const std::size_t pair = static_cast<std::size_t>(self) * kClients + static_cast<std::size_t>(sender);
  const std::uint16_t bit = static_cast<std::uint16_t>(1u << round);
  if ((seen[pair] & bit) != 0) {
    ++t.duplicated;
    return;
  }
  if (seen[pair] != 0 && round < highest[pair]) ++t.out_of_order;
  seen[pair] = static_cast<std::uint16_t>(seen[pair] | bit);
  if (round > highest[pair]) highest[pair] = static_cast<std::uint8_t>(round);
  ++per_round[static_cast<std::size_t>(round)];
  ++t.deliveries;
}

TEST(ChatLoad, AThousandClientsEveryLineReachesEveryoneInOrder) {
  static_assert(kLines <= 16, "one bit per line in `seen`");
  // Each client is a descriptor here and one in the server (which raises its own limit too).
  if (!chat_proc::raise_fd_limit(kClients + 256)) {
    if (const char* ci = std::getenv("CI"); ci && std::string(ci) == "true")
      FAIL() << "RLIMIT_NOFILE's hard limit is below " << kClients + 256 << ": raise it (ulimit -Hn)";
    GTEST_SKIP() << "RLIMIT_NOFILE's hard limit is below " << kClients + 256;
  }
  const auto t0 = std::chrono::steady_clock::now();
  chat_proc::ServerProc server;
  // --backlog: a thousand connect()s arrive before the server has accepted the first ones.
  ASSERT_TRUE(server.start("chat_load", {"--max-clients", std::to_string(kClients + 24), "--backlog", "1024"}))
      << server.out() << server.err();

  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(server.port());
  std::vector<Client> clients(kClients);
  std::vector<int> index_of_port(65536, -1);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(ep, 0);
  for (int i = 0; i < kClients; ++i) {
    Client& c = clients[static_cast<std::size_t>(i)];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(c.fd, 0) << "client " << i << ": " << std::strerror(errno);
    // The handshake completes in the kernel (into the listen backlog) whether or not accept() has run.
    ASSERT_EQ(::connect(c.fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0) << "client " << i << ": " << std::strerror(errno);
    const int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    sockaddr_in me{};
    socklen_t len = sizeof me;
    ::getsockname(c.fd, reinterpret_cast<sockaddr*>(&me), &len);
    c.port = ntohs(me.sin_port);
    index_of_port[c.port] = i;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev), 0);
  }
  // A line reaches those in the room when it is said: everyone must be in before the first one.
  ASSERT_TRUE(server.wait_out("(" + std::to_string(kClients) + " in the room)", 15000))
      << server.out().substr(0, 2000) << server.err();
  const auto t_joined = std::chrono::steady_clock::now();

  std::vector<std::uint16_t> seen(static_cast<std::size_t>(kClients) * kClients, 0);
  std::vector<std::uint8_t> highest(static_cast<std::size_t>(kClients) * kClients, 0);
  std::vector<std::uint64_t> per_round(kLines, 0);
  const std::uint64_t per_round_expected = static_cast<std::uint64_t>(kClients) * (kClients - 1);
  Tally t;
  int rounds_sent = 0;
  std::uint64_t send_failures = 0, closed_by_server = 0;
  std::vector<epoll_event> events(256);
  std::vector<char> buf(1 << 16);
  const auto deadline = t0 + kDeadline;
  bool timed_out = false;
  while (true) {
    const bool all_said = rounds_sent == kLines;
    if (all_said && per_round[kLines - 1] == per_round_expected &&
        (kLines < 2 || per_round[kLines - 2] == per_round_expected))
      break;
    if (std::chrono::steady_clock::now() > deadline) {
      timed_out = true;
      break;
    }
    if (!all_said && (rounds_sent < kWindow || per_round[static_cast<std::size_t>(rounds_sent - kWindow)] == per_round_expected)) {
      for (int i = 0; i < kClients; ++i) {
        const std::string line = "c" + std::to_string(i) + " " + std::to_string(rounds_sent) + "\n";
        if (::send(clients[static_cast<std::size_t>(i)].fd, line.data(), line.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(line.size()))
          ++send_failures;
      }
      ++rounds_sent;
    }
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 20);
    for (int e = 0; e < n; ++e) {
      const int self = static_cast<int>(events[static_cast<std::size_t>(e)].data.u32);
      Client& c = clients[static_cast<std::size_t>(self)];
      while (true) {
        const ssize_t got = ::recv(c.fd, buf.data(), buf.size(), 0);
        if (got <= 0) {
          if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
            ++closed_by_server;
            epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
          }
          break;
        }
        c.in.append(buf.data(), static_cast<std::size_t>(got));
        std::size_t start = 0, nl;
        while ((nl = c.in.find('\n', start)) != std::string::npos) {
          on_line(std::string_view(c.in).substr(start, nl - start), self, index_of_port, seen, highest, per_round, t);
          start = nl + 1;
        }
        c.in.erase(0, start);
        if (static_cast<std::size_t>(got) < buf.size()) break;
      }
    }
  }
  const auto t_end = std::chrono::steady_clock::now();

  // Every line said, counted per (receiver, sender) pair: what never arrived is lost.
  std::uint64_t lost = 0;
  for (int r = 0; r < kClients; ++r)
    for (int s = 0; s < kClients; ++s)
      if (r != s)
        lost += static_cast<std::uint64_t>(kLines - std::popcount(seen[static_cast<std::size_t>(r) * kClients + static_cast<std::size_t>(s)]));
  for (Client& c : clients) ::close(c.fd);
  ::close(ep);
  // Every line reached the room: the server's own terminal shows each one.
  const std::string out = server.out();
  std::size_t shown = 0;
  for (std::size_t at = out.find("] c"); at != std::string::npos; at = out.find("] c", at + 1)) ++shown;
  long max_rss_kib = 0;
  const int rc = server.stop(&max_rss_kib);

  const double seconds = std::chrono::duration<double>(t_end - t0).count();
  const double relay_seconds = std::chrono::duration<double>(t_end - t_joined).count();
  std::printf("chat load: clients=%d lines=%d deliveries=%llu lost=%llu duplicated=%llu out_of_order=%llu "
              "peak_rss=%.1fMiB time=%.1fs (relaying %.1fs)%s\n",
              kClients, kClients * kLines, static_cast<unsigned long long>(t.deliveries),
              static_cast<unsigned long long>(lost), static_cast<unsigned long long>(t.duplicated),
              static_cast<unsigned long long>(t.out_of_order), static_cast<double>(max_rss_kib) / 1024.0, seconds,
              relay_seconds, kSanitized ? " [sanitized build]" : "");
  std::fflush(stdout);

  EXPECT_FALSE(timed_out) << "not every line arrived within " << kDeadline.count() << " s";
  EXPECT_EQ(send_failures, 0u);
  EXPECT_EQ(closed_by_server, 0u) << "the server dropped clients that read as fast as they could";
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(t.duplicated, 0u);
  EXPECT_EQ(t.out_of_order, 0u);
  EXPECT_EQ(t.own, 0u) << "a line came back to the client that said it";
  EXPECT_EQ(t.misattributed, 0u) << "a line carried another client's address";
  EXPECT_EQ(t.garbled, 0u);
  EXPECT_EQ(t.deliveries, per_round_expected * kLines);
  EXPECT_EQ(shown, static_cast<std::size_t>(kClients) * kLines);
  EXPECT_EQ(rc, 0) << server.err();
  // About 30 KiB waits per client per round in flight, most of it briefly: far below the bound the
  // queues allow (1024 clients * 256 KiB). AddressSanitizer's shadow memory, redzones and its own
  // allocator make a sanitized server's figure several times larger: only a loose bound there.
  EXPECT_GT(max_rss_kib, 0);
  EXPECT_LT(max_rss_kib, (kSanitized ? 1024L : 160L) * 1024) << "peak RSS " << max_rss_kib << " KiB";
}

}  // namespace
