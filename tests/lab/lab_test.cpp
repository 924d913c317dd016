// The two-host lab, for real: namespaces, veth pair and nftables rules built with ip and nft, sockets
// in threads that entered each host, the loss rules' effect and counters, the CLI, and the guard's
// cleanup when its process is killed. Needs root (skipped elsewhere, a failure in CI). Every suite
// name holds "Lab": these tests share one lab (ctest RESOURCE_LOCK sockscope_lab).
#include <arpa/inet.h>
#include <poll.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "../e2e/e2e_support.hpp"
#include "lines.hpp"
#include "sockscope/text/escape.hpp"
#include "sockscope/lessons/lab.hpp"

namespace {

namespace lab = sockscope::lab;
using Clock = std::chrono::steady_clock;

#define REQUIRE_ROOT() E2E_REQUIRE(geteuid() == 0, "the lab needs root (network namespaces); run the tests as root")

// What the root namespace shows of the lab: its namespaces in `ip netns list`, its veth names in
// `ip link`. Empty when nothing is left.
std::string visible_leftovers() {
  std::string left;
  const e2e::RunResult ns = e2e::run({"ip", "netns", "list"});
  if (ns.out.find("sockscope-") != std::string::npos) left += "ip netns list: " + ns.out;
  const e2e::RunResult links = e2e::run({"ip", "-o", "link", "show"});
  if (links.out.find(lab::kClientIf) != std::string::npos || links.out.find(lab::kServerIf) != std::string::npos)
    left += "ip link: " + links.out;
  for (const auto& l : lab::status().leftovers) left += "status: " + l + "\n";
  return left;
}

// Waits up to `limit` for nothing of the lab to be left; returns what is left at the end.
std::string wait_nothing_left(std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  std::string left = visible_leftovers();
  while (!left.empty() && Clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    left = visible_leftovers();
  }
  return left;
}

void timeout(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

sockaddr_in v4(const char* addr, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, addr, &a.sin_addr);
  return a;
}

sockaddr_in6 v6(const char* addr, std::uint16_t port) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  inet_pton(AF_INET6, addr, &a.sin6_addr);
  return a;
}

// Runs fn in a new thread that first entered network namespace ns; returns fn's result (or an
// "enter failed" text).
std::future<std::string> in_ns(const char* ns, std::function<std::string()> fn) {
  return std::async(std::launch::async, [ns, fn = std::move(fn)] {
    std::string error;
    if (!lab::enter(ns, error)) return "enter failed: " + error;
    return fn();
  });
}

// A UDP server in the server host that reports every datagram it gets within wait_ms.
std::string udp_receive_all(std::promise<void>& ready, std::uint16_t port, int wait_ms) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a = v4(lab::kServerIPv4, port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ready.set_value();
    close(fd);
    return std::string("bind: ") + std::strerror(errno);
  }
  ready.set_value();
  timeout(fd, wait_ms);
  std::string got;
  char buf[2048];
  while (true) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) break;
    got += std::string(buf, static_cast<std::size_t>(n)) + ";";
  }
  close(fd);
  return got;
}

class LabTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (geteuid() != 0) return;
    std::string error;
    EXPECT_TRUE(lab::down(error)) << error;
  }
};

using LabUpDown = LabTest;
using LabNet = LabTest;
using LabLoss = LabTest;
using LabCli = LabTest;
using LabGuard = LabTest;

TEST_F(LabUpDown, TwentyTimesInARowLeaveNothingBehind) {
  REQUIRE_ROOT();
  lab::LabOptions o;
  o.loss_pct = 10;  // every part: namespaces, veth pair, addresses and the nftables table
  o.drop_syn = 1;
  const auto start = Clock::now();
  double slowest_ms = 0;
  for (int i = 0; i < 20; ++i) {
    const auto t0 = Clock::now();
    std::string error;
    ASSERT_EQ(lab::up(o, error), lab::UpResult::Ok) << "round " << i << ": " << error;
    const lab::LabStatus s = lab::status();
    ASSERT_TRUE(s.exists && !s.partial) << "round " << i;
    ASSERT_EQ(s.options.loss_pct, 10);
    ASSERT_TRUE(lab::down(error)) << "round " << i << ": " << error;
    const std::string left = visible_leftovers();
    ASSERT_EQ(left, "") << "round " << i;
    slowest_ms = std::max(slowest_ms, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  const double total_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  std::printf("[ lab      ] 20 x up+down: %.0f ms in all, %.0f ms each on average, slowest %.0f ms\n", total_ms,
              total_ms / 20, slowest_ms);
}

TEST_F(LabUpDown, DownIsIdempotent) {
  REQUIRE_ROOT();
  std::string error;
  ASSERT_EQ(lab::up({}, error), lab::UpResult::Ok) << error;
  EXPECT_TRUE(lab::down(error)) << error;
  EXPECT_TRUE(lab::down(error)) << error;  // nothing to remove is fine
  EXPECT_EQ(error, "");
  EXPECT_EQ(visible_leftovers(), "");
}

TEST_F(LabUpDown, UpReplacesAnEarlierLab) {
  REQUIRE_ROOT();
  std::string error;
  lab::LabOptions o;
  o.mtu = 1400;
  ASSERT_EQ(lab::up(o, error), lab::UpResult::Ok) << error;
  o.mtu = 1300;
  ASSERT_EQ(lab::up(o, error), lab::UpResult::Ok) << error;
  EXPECT_EQ(lab::status().options.mtu, 1300);
}

TEST_F(LabUpDown, StatusOfAPartialLabAndItsRemoval) {
  REQUIRE_ROOT();
  std::string error;
  ASSERT_EQ(lab::up({}, error), lab::UpResult::Ok) << error;
  // One host removed by hand: the other namespace is left, not a lab any more.
  ASSERT_EQ(e2e::run({"ip", "netns", "del", lab::kServerNs}).status, 0);
  lab::LabStatus s = lab::status();
  EXPECT_FALSE(s.exists);
  EXPECT_TRUE(s.partial);
  ASSERT_FALSE(s.leftovers.empty());
  EXPECT_EQ(s.leftovers[0], "namespace sockscope-client");
  for (const auto& l : s.leftovers) EXPECT_EQ(l.find("sockscope-server"), std::string::npos) << l;
  ASSERT_TRUE(lab::down(error)) << error;
  EXPECT_EQ(visible_leftovers(), "");

  // A veth pair left in the root namespace (an interrupted build that made it there).
  ASSERT_EQ(e2e::run({"ip", "link", "add", lab::kClientIf, "type", "veth", "peer", "name", lab::kServerIf}).status, 0);
  s = lab::status();
  EXPECT_FALSE(s.exists);
  EXPECT_TRUE(s.partial);
  EXPECT_NE(std::find(s.leftovers.begin(), s.leftovers.end(), "interface veth-client in the root namespace"),
            s.leftovers.end());
  ASSERT_TRUE(lab::down(error)) << error;
  EXPECT_EQ(visible_leftovers(), "");

  // Nothing at all.
  s = lab::status();
  EXPECT_FALSE(s.exists);
  EXPECT_FALSE(s.partial);
  EXPECT_TRUE(s.leftovers.empty());
}

TEST_F(LabUpDown, BadOptionsBuildNothing) {
  REQUIRE_ROOT();
  std::string error;
  lab::LabOptions o;
  o.loss_pct = 150;
  EXPECT_EQ(lab::up(o, error), lab::UpResult::Failed);
  EXPECT_NE(error.find("0 to 100"), std::string::npos) << error;
  o = {};
  o.mtu = 20;
  EXPECT_EQ(lab::up(o, error), lab::UpResult::Failed);
  EXPECT_NE(error.find("MTU"), std::string::npos) << error;
  EXPECT_EQ(visible_leftovers(), "");
}

TEST_F(LabUpDown, DelayWithoutNetemBuildsNothing) {
  REQUIRE_ROOT();
  lab::LabOptions o;
  o.delay_ms = 20;
  std::string error;
  const lab::UpResult r = lab::up(o, error);
  if (lab::have_netem()) {
    ASSERT_EQ(r, lab::UpResult::Ok) << error;
    EXPECT_EQ(lab::status().options.delay_ms, 20);
    const e2e::RunResult tc = e2e::run({"ip", "netns", "exec", lab::kClientNs, "tc", "qdisc", "show", "dev", lab::kClientIf});
    EXPECT_NE(tc.out.find("netem"), std::string::npos) << tc.out;
  } else {
    EXPECT_EQ(r, lab::UpResult::NoNetem) << error;
    EXPECT_NE(error.find("sch_netem"), std::string::npos) << error;
    EXPECT_EQ(visible_leftovers(), "");
  }
  // The probe's scratch namespace is gone too.
  EXPECT_EQ(e2e::run({"ip", "netns", "list"}).out.find("sockscope-probe"), std::string::npos);
}

TEST_F(LabNet, HostsHaveTheirAddressesMacsAndMtu) {
  REQUIRE_ROOT();
  lab::LabOptions o;
  o.mtu = 1280;
  std::string error;
  ASSERT_EQ(lab::up(o, error), lab::UpResult::Ok) << error;
  const lab::LabStatus s = lab::status();
  EXPECT_TRUE(s.exists);
  EXPECT_FALSE(s.partial);
  EXPECT_EQ(s.client.ipv4, "10.77.0.1/24");
  EXPECT_EQ(s.server.ipv4, "10.77.0.2/24");
  EXPECT_EQ(s.client.ipv6, "fd77::1/64");
  EXPECT_EQ(s.server.ipv6, "fd77::2/64");
  EXPECT_EQ(s.client.mtu, 1280);
  EXPECT_EQ(s.server.mtu, 1280);
  EXPECT_EQ(s.options.mtu, 1280);
  EXPECT_TRUE(s.client.up && s.server.up);
  EXPECT_EQ(s.client.mac.size(), 17u) << s.client.mac;
  EXPECT_NE(s.client.mac, s.server.mac);
  // Read back independently of status().
  const e2e::RunResult link = e2e::run({"ip", "-n", lab::kServerNs, "link", "show", "dev", lab::kServerIf});
  EXPECT_NE(link.out.find("mtu 1280"), std::string::npos) << link.out;
  EXPECT_NE(link.out.find(s.server.mac), std::string::npos) << link.out;
  // lo is up in both hosts.
  for (const char* ns : {lab::kClientNs, lab::kServerNs}) {
    const e2e::RunResult lo = e2e::run({"ip", "-n", ns, "link", "show", "dev", "lo"});
    EXPECT_NE(lo.out.find(",UP"), std::string::npos) << ns << ": " << lo.out;
  }
  EXPECT_EQ(s.options.loss_pct, 0);
  EXPECT_EQ(s.dropped_packets, 0u);
}

// Linux removes IPv6 from a link whose MTU is below 1280 (RFC 8200's minimum): the lab then has, and
// says it has, IPv4 only.
TEST_F(LabNet, BelowTheIpv6MinimumMtuTheHostsHaveNoIpv6) {
  REQUIRE_ROOT();
  const e2e::RunResult up = e2e::sockscope({"lab", "up", "--mtu", "1000"});
  ASSERT_EQ(up.status, 0) << up.out << up.err;
  EXPECT_EQ(up.out.find("fd77::"), std::string::npos) << up.out;
  EXPECT_NE(up.out.find("IPv6 none"), std::string::npos) << up.out;
  EXPECT_NE(up.out.find("1280"), std::string::npos) << up.out;
  const lab::LabStatus s = lab::status();
  EXPECT_EQ(s.client.mtu, 1000);
  EXPECT_EQ(s.client.ipv6, "");
  EXPECT_EQ(s.server.ipv6, "");
  const e2e::RunResult addr = e2e::run({"ip", "-n", lab::kServerNs, "-6", "addr", "show", "dev", lab::kServerIf});
  EXPECT_EQ(addr.out.find("fd77::"), std::string::npos) << addr.out;
  const e2e::RunResult j = e2e::sockscope({"lab", "status", "--json"});
  EXPECT_NE(j.out.find("\"ipv6\":\"\""), std::string::npos) << j.out;
}

TEST_F(LabNet, UdpOverIpv4AndTcpOverIpv6CrossTheCable) {
  REQUIRE_ROOT();
  lab::Guard g;
  std::string error;
  ASSERT_EQ(g.up({}, error), lab::UpResult::Ok) << error;
  ASSERT_TRUE(g.active());

  // UDP over IPv4: a datagram from the client host reaches the server host.
  std::promise<void> udp_ready;
  auto server = in_ns(lab::kServerNs, [&] { return udp_receive_all(udp_ready, 9100, 500); });
  udp_ready.get_future().wait();
  auto client = in_ns(lab::kClientNs, [] {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a = v4(lab::kServerIPv4, 9100);
    // connect(2) on a UDP socket picks the source address (and fixes the peer) before sending.
    const bool connected = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    const ssize_t n = connected ? send(fd, "hello over the cable", 20, 0) : -1;
    sockaddr_in me{};
    socklen_t len = sizeof me;
    getsockname(fd, reinterpret_cast<sockaddr*>(&me), &len);
    char addr[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &me.sin_addr, addr, sizeof addr);
    close(fd);
    return n == 20 ? std::string(addr) : std::string("sendto: ") + std::strerror(errno);
  });
  EXPECT_EQ(client.get(), "10.77.0.1");  // it left from the client host's own address
  EXPECT_EQ(server.get(), "hello over the cable;");

  // TCP over IPv6 (usable at once: nodad).
  std::promise<void> tcp_ready;
  auto tcp_server = in_ns(lab::kServerNs, [&] {
    const int lfd = socket(AF_INET6, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in6 a = v6(lab::kServerIPv6, 9101);
    const bool ok = bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(lfd, 1) == 0;
    tcp_ready.set_value();
    if (!ok) {
      close(lfd);
      return std::string("bind/listen: ") + std::strerror(errno);
    }
    timeout(lfd, 3000);
    const int c = accept(lfd, nullptr, nullptr);
    std::string got;
    if (c >= 0) {
      timeout(c, 3000);
      char buf[64];
      ssize_t n;
      while ((n = recv(c, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<std::size_t>(n));
      close(c);
    }
    close(lfd);
    return got;
  });
  tcp_ready.get_future().wait();
  auto tcp_client = in_ns(lab::kClientNs, [] {
    const int fd = socket(AF_INET6, SOCK_STREAM, 0);
    timeout(fd, 3000);
    sockaddr_in6 a = v6(lab::kServerIPv6, 9101);
    const auto t0 = Clock::now();
    const int rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    std::printf("[ lab      ] TCP connect over IPv6 took %.3f s\n", std::chrono::duration<double>(Clock::now() - t0).count());
    if (rc != 0) {
      const std::string e = std::string("connect: ") + std::strerror(errno);
      close(fd);
      return e;
    }
    const ssize_t n = send(fd, "stream", 6, 0);
    close(fd);
    return n == 6 ? std::string("sent") : std::string("send failed");
  });
  EXPECT_EQ(tcp_client.get(), "sent");
  EXPECT_EQ(tcp_server.get(), "stream");

  // The hosts are apart from this machine's own namespace: no route of its leads onto the cable.
  const e2e::RunResult route = e2e::run({"ip", "route", "get", lab::kServerIPv4});
  EXPECT_EQ(route.out.find("veth"), std::string::npos) << route.out;

  EXPECT_TRUE(g.down(error)) << error;
  EXPECT_FALSE(g.active());
  EXPECT_EQ(visible_leftovers(), "");
}

TEST_F(LabNet, EnterRefusesBadNames) {
  std::string error;
  EXPECT_FALSE(lab::enter("../../proc/1/ns/net", error));
  EXPECT_NE(error.find("not a network namespace name"), std::string::npos) << error;
  EXPECT_FALSE(lab::enter("", error));
  std::thread t([&] { EXPECT_FALSE(lab::enter("sockscope-no-such-host", error)); });
  t.join();
  EXPECT_NE(error.find("sockscope-no-such-host"), std::string::npos) << error;
}

TEST_F(LabLoss, Loss100DropsEveryUdpDatagramAndCountsIt) {
  REQUIRE_ROOT();
  lab::LabOptions o;
  o.loss_pct = 100;
  std::string error;
  ASSERT_EQ(lab::up(o, error), lab::UpResult::Ok) << error;
  ASSERT_EQ(lab::status().options.loss_pct, 100);
  std::promise<void> ready;
  auto server = in_ns(lab::kServerNs, [&] { return udp_receive_all(ready, 9102, 400); });
  ready.get_future().wait();
  auto client = in_ns(lab::kClientNs, [] {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a = v4(lab::kServerIPv4, 9102);
    int sent = 0;
    for (int i = 0; i < 10; ++i) {
      const std::string m = "message " + std::to_string(i);
      if (sendto(fd, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a) == static_cast<ssize_t>(m.size()))
        ++sent;
    }
    close(fd);
    return std::to_string(sent);
  });
  EXPECT_EQ(client.get(), "10");   // every one left the client
  EXPECT_EQ(server.get(), "");     // none arrived
  const lab::LabStatus s = lab::status();
  EXPECT_EQ(s.dropped_packets, 10u);  // the rule's counter saw each
}

TEST_F(LabLoss, DropSynMakesConnectWaitForTheRetransmittedSyn) {
  REQUIRE_ROOT();
  lab::LabOptions o;
  o.drop_syn = 1;
  std::string error;
  ASSERT_EQ(lab::up(o, error), lab::UpResult::Ok) << error;
  EXPECT_EQ(lab::status().options.drop_syn, 1);
  std::promise<void> ready;
  auto server = in_ns(lab::kServerNs, [&] {
    const int lfd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = v4(lab::kServerIPv4, 9103);
    const bool ok = bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(lfd, 1) == 0;
    ready.set_value();
    if (!ok) {
      close(lfd);
      return std::string("bind/listen failed");
    }
    timeout(lfd, 5000);
    const int c = accept(lfd, nullptr, nullptr);
    if (c >= 0) close(c);
    close(lfd);
    return std::string(c >= 0 ? "accepted" : "no connection");
  });
  ready.get_future().wait();
  auto client = in_ns(lab::kClientNs, [] {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    timeout(fd, 5000);
    sockaddr_in a = v4(lab::kServerIPv4, 9103);
    const auto t0 = Clock::now();
    const int rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    close(fd);
    return rc == 0 ? std::to_string(s) : std::string("connect: ") + std::strerror(errno);
  });
  const std::string took = client.get();
  EXPECT_EQ(server.get(), "accepted");
  char* end = nullptr;
  const double seconds = std::strtod(took.c_str(), &end);
  ASSERT_NE(end, took.c_str()) << took;
  // The first SYN is dropped; Linux re-sends it after its initial retransmission timeout, 1 s
  // (RFC 6298 section 2.1), and the second one passes.
  EXPECT_GE(seconds, 0.8) << took;
  EXPECT_LT(seconds, 3.0) << took;
  std::printf("[ lab      ] connect with the first SYN dropped took %.3f s\n", seconds);
  EXPECT_EQ(lab::status().dropped_packets, 1u);
}

TEST_F(LabCli, LossOutOfRangeIsAUsageError) {
  const e2e::RunResult r = e2e::sockscope({"lab", "up", "--loss", "150"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("--loss"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("0 to 100"), std::string::npos) << r.err;
  const e2e::RunResult m = e2e::sockscope({"lab", "up", "--mtu", "abc"});
  EXPECT_EQ(m.status, 2) << m.err;
  EXPECT_NE(m.err.find("mtu"), std::string::npos) << m.err;
  const e2e::RunResult u = e2e::sockscope({"lab", "sideways"});
  EXPECT_EQ(u.status, 2) << u.err;
  if (geteuid() == 0) {
    EXPECT_EQ(visible_leftovers(), "");
  }
}

// Terminal column where `needle` starts in the first line of `text` that holds it.
std::size_t column_of(const std::string& text, const std::string& needle) {
  for (const std::string& l : sockscope::testing::lines_of(text)) {
    const auto at = l.find(needle);
    if (at != std::string::npos) return sockscope::text::display_width(std::string_view(l).substr(0, at));
  }
  ADD_FAILURE() << "no [" << needle << "] in:\n" << text;
  return 0;
}

// lab status as a reader sees it, whatever the language: in the picture the server's heading stands
// over its namespace and the cable ends under it; each host's, the cable's and the loss's values start
// in one column, their second lines too; the two commands at the end start in one column.
void expect_status_columns(const std::string& out) {
  const std::vector<std::string> lines = sockscope::testing::lines_of(out);
  std::size_t ns = 0;
  while (ns < lines.size() && lines[ns].find("    sockscope-client") != 0) ++ns;
  ASSERT_GT(ns, 0u) << out;
  ASSERT_LT(ns + 2, lines.size()) << out;
  const std::string& heading = lines[ns - 1];
  const std::size_t server_col = column_of(out, "sockscope-server");
  const std::size_t heading_server = sockscope::text::display_width(
      std::string_view(heading).substr(0, heading.find_first_not_of(' ', heading.find("  ", 4))));
  EXPECT_EQ(heading_server, server_col) << heading << "\n" << lines[ns];
  EXPECT_EQ(column_of(out, "[veth-server]"), server_col) << out;
  // The block of labelled lines: from the first line after the picture's blank line to the next blank.
  std::size_t first = ns + 3;
  while (first < lines.size() && lines[first].empty()) ++first;
  const std::size_t value = column_of(out, "MAC ");  // a host's second line: its label column is blank
  ASSERT_GT(value, 4u) << out;
  int checked = 0;
  for (std::size_t i = first; i < lines.size() && !lines[i].empty(); ++i, ++checked) {
    const std::string& l = lines[i];
    // "  LABEL  VALUE" (labels may hold one space: "client host"), or "  <blank label> VALUE".
    std::size_t v = l.find_first_not_of(' ');
    if (v == 2) {
      const std::size_t gap = l.find("  ", 2);
      ASSERT_NE(gap, std::string::npos) << l;
      v = l.find_first_not_of(' ', gap);
    }
    ASSERT_NE(v, std::string::npos) << l;
    EXPECT_EQ(sockscope::text::display_width(std::string_view(l).substr(0, v)), value) << l;
  }
  EXPECT_GE(checked, 7) << out;  // two hosts of two lines, the cable, the loss of two lines, dropped
  const std::size_t run = column_of(out, "sudo ip netns exec sockscope-client ping");
  EXPECT_EQ(column_of(out, "sudo ip netns exec sockscope-client sockscope capture"), run) << out;
}

TEST_F(LabCli, UpStatusJsonDown) {
  REQUIRE_ROOT();
  const e2e::RunResult up = e2e::sockscope({"lab", "up", "--loss", "20", "--mtu", "1500"});
  ASSERT_EQ(up.status, 0) << up.err;
  EXPECT_NE(up.out.find("sudo ip netns exec sockscope-client"), std::string::npos) << up.out;
  EXPECT_NE(up.out.find("20%"), std::string::npos) << up.out;
  EXPECT_NE(up.out.find("lab down"), std::string::npos) << up.out;

  const e2e::RunResult st = e2e::sockscope({"lab", "status", "--json"});
  ASSERT_EQ(st.status, 0) << st.err;
  e2e::Json j;
  e2e::JsonParser p(st.out);
  ASSERT_TRUE(p.parse(j)) << p.error() << ": " << st.out;
  EXPECT_EQ(j["type"].str(), "lab");
  EXPECT_TRUE(j["up"].b) << st.out;
  EXPECT_FALSE(j["partial"].b);
  EXPECT_EQ(j["client"]["namespace"].str(), "sockscope-client");
  EXPECT_EQ(j["client"]["ipv4"].str(), "10.77.0.1/24");
  EXPECT_EQ(j["server"]["ipv6"].str(), "fd77::2/64");
  EXPECT_EQ(j["client"]["mac"].str().size(), 17u);
  EXPECT_EQ(j["mtu"].i64(), 1500);
  EXPECT_EQ(j["loss_pct"].i64(), 20);
  EXPECT_EQ(j["dropped_packets"].i64(), 0);

  // The human status in English and in Chinese: labels of any width, values in one column.
  for (const char* lang : {"en", "zh_CN"}) {
    const e2e::RunResult h = e2e::sockscope({"--lang", lang, "lab", "status"});
    ASSERT_EQ(h.status, 0) << h.err;
    expect_status_columns(h.out);
  }

  const e2e::RunResult down = e2e::sockscope({"lab", "down"});
  EXPECT_EQ(down.status, 0) << down.err;
  EXPECT_EQ(visible_leftovers(), "");
  const e2e::RunResult again = e2e::sockscope({"lab", "down"});
  EXPECT_EQ(again.status, 0) << again.err;

  const e2e::RunResult none = e2e::sockscope({"lab", "status", "--json"});
  e2e::Json k;
  e2e::JsonParser q(none.out);
  ASSERT_TRUE(q.parse(k)) << none.out;
  EXPECT_FALSE(k["up"].b);
  EXPECT_EQ(k["leftovers"].size(), 0u);
}

TEST_F(LabCli, DelayWithoutNetemSaysSo) {
  REQUIRE_ROOT();
  if (lab::have_netem()) GTEST_SKIP() << "this kernel has sch_netem (the delay itself is tested above)";
  const e2e::RunResult r = e2e::sockscope({"lab", "up", "--delay", "50"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("sch_netem"), std::string::npos) << r.err;
  EXPECT_EQ(visible_leftovers(), "");
}

TEST_F(LabGuard, DestructorRemovesTheLab) {
  REQUIRE_ROOT();
  {
    lab::Guard g;
    std::string error;
    ASSERT_EQ(g.up({}, error), lab::UpResult::Ok) << error;
    EXPECT_TRUE(lab::status().exists);
    // One guard at a time.
    EXPECT_EQ(g.up({}, error), lab::UpResult::Failed);
  }
  EXPECT_EQ(visible_leftovers(), "");
}

// Whether another process could take the lab's lock now (util-linux flock(1), not waiting).
bool lock_is_free() { return e2e::run({"flock", "-n", "/run/sockscope-lab.lock", "true"}).status == 0; }

TEST_F(LabGuard, HoldsTheLabLockUntilTheLabIsGone) {
  REQUIRE_ROOT();
  E2E_REQUIRE(e2e::have_tool("flock"), "flock (util-linux) is not installed");
  lab::Guard g;
  std::string error;
  ASSERT_EQ(g.up({}, error), lab::UpResult::Ok) << error;
  EXPECT_FALSE(lock_is_free());  // a second lesson would wait for this one
  EXPECT_TRUE(g.down(error)) << error;
  EXPECT_TRUE(lock_is_free());
  EXPECT_EQ(visible_leftovers(), "");
}

TEST_F(LabGuard, FailedUpLeavesNoWatchdogAndNoLab) {
  REQUIRE_ROOT();
  lab::Guard g;
  lab::LabOptions o;
  o.delay_ms = 10;
  std::string error;
  const lab::UpResult r = g.up(o, error);
  if (r == lab::UpResult::Ok) GTEST_SKIP() << "this kernel has sch_netem";
  EXPECT_EQ(r, lab::UpResult::NoNetem) << error;
  EXPECT_FALSE(g.active());
  EXPECT_EQ(visible_leftovers(), "");
}

// A child process holds a guard; the parent kills it with `sig` (to its whole process group, as a
// terminal's Ctrl-C would) and expects the watchdog to remove the lab within 5 s.
void kill_guard_holder(int sig) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    setpgid(0, 0);
    close(ready[0]);
    lab::Guard g;
    std::string error;
    lab::LabOptions o;
    o.loss_pct = 5;
    const char ok = g.up(o, error) == lab::UpResult::Ok ? 'y' : 'n';
    if (write(ready[1], &ok, 1) != 1) _exit(3);
    for (int i = 0; i < 300; ++i) usleep(100000);  // killed long before
    _exit(0);
  }
  setpgid(child, child);
  close(ready[1]);
  char ok = 0;
  pollfd pfd{ready[0], POLLIN, 0};
  const bool reported = poll(&pfd, 1, 15000) == 1 && read(ready[0], &ok, 1) == 1;
  close(ready[0]);
  const bool built = reported && ok == 'y' && lab::status().exists;
  const auto t0 = Clock::now();
  kill(-child, built ? sig : SIGKILL);
  int st = 0;
  waitpid(child, &st, 0);
  ASSERT_TRUE(built) << "the child could not build the lab under a guard";
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == sig);
  EXPECT_EQ(wait_nothing_left(std::chrono::milliseconds(5000)), "");
  // The watchdog held the lock until the lab was gone, then ended.
  for (int i = 0; i < 100 && !lock_is_free(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(lock_is_free());
  std::printf("[ lab      ] after signal %d the lab was gone in %.0f ms\n", sig,
              std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
}

TEST_F(LabGuard, LabIsRemovedWhenTheProcessIsKilled) {
  REQUIRE_ROOT();
  kill_guard_holder(SIGKILL);
}

TEST_F(LabGuard, LabIsRemovedOnCtrlC) {
  REQUIRE_ROOT();
  kill_guard_holder(SIGINT);
}

}  // namespace
