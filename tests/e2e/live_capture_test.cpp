// Live capture on loopback with real sockets: the capture is active before the connection, so the
// SYN is never missed; calls reported from another thread come out in time order with the packets;
// privileges are checked and dropped like tcpdump -Z.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "e2e_support.hpp"
#include "sockscope/pcap/live_capture.hpp"
#include "sockscope/pcap/live_session.hpp"
#include "sockscope/views/views.hpp"

namespace {

using sockscope::CallRecord;
using sockscope::LiveSession;
using sockscope::LiveSessionOptions;

#define REQUIRE_CAPTURE() \
  E2E_REQUIRE(sockscope::have_capture_privileges(), "live capture needs root or CAP_NET_RAW")

sockscope::Timestamp now_realtime() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return {static_cast<std::int64_t>(ts.tv_sec), static_cast<std::uint32_t>(ts.tv_nsec)};
}

sockscope::Endpoint endpoint_of(const sockaddr_in& a) {
  sockscope::Endpoint e;
  e.ip.family = 4;
  std::memcpy(e.ip.b.data(), &a.sin_addr, 4);
  e.port = ntohs(a.sin_port);
  return e;
}

// A TCP listener on 127.0.0.1 at a port the kernel picks. listen() sends nothing, so the capture
// can be opened for this port before any packet of the connection exists.
struct Listener {
  int fd = -1;
  std::uint16_t port = 0;
  Listener() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(fd, 4) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
  }
  ~Listener() {
    if (fd >= 0) close(fd);
  }
};

// One connection: connect, "hello" each way, close by the client then the server. Each step may be
// reported as a call through sink (from this thread, not the session's).
struct Conversation {
  bool ok = false;
  sockscope::Endpoint client, server;
};

Conversation talk(const Listener& l, sockscope::CallSink* sink) {
  Conversation conv;
  const int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in srv{};
  srv.sin_family = AF_INET;
  srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  srv.sin_port = htons(l.port);
  CallRecord call;
  call.endpoint = sockscope::CallRole::Client;
  call.proto = sockscope::Proto::Tcp;
  call.fd = c;
  call.call = "connect";
  call.blocking = true;
  call.returned = false;
  call.ts = now_realtime();
  if (sink) sink->on_call(call);
  const int rc = connect(c, reinterpret_cast<sockaddr*>(&srv), sizeof srv);
  call.ts_return = now_realtime();
  call.returned = true;
  call.result = rc;
  sockaddr_in local{};
  socklen_t len = sizeof local;
  getsockname(c, reinterpret_cast<sockaddr*>(&local), &len);
  conv.client = endpoint_of(local);
  conv.server = endpoint_of(srv);
  call.has_local = call.has_peer = true;
  call.local = conv.client;
  call.peer = conv.server;
  if (sink) sink->on_call(call);
  const int a = accept(l.fd, nullptr, nullptr);
  if (rc != 0 || a < 0) {
    close(c);
    if (a >= 0) close(a);
    return conv;
  }
  CallRecord send_call = call;
  send_call.call = "send";
  send_call.blocking = false;
  send_call.ts = now_realtime();
  const ssize_t sent = send(c, "hello", 5, 0);
  send_call.ts_return = now_realtime();
  send_call.result = sent;
  send_call.data = "hello";
  if (sink) sink->on_call(send_call);
  char buf[16];
  const ssize_t got = recv(a, buf, sizeof buf, 0);
  const ssize_t back = send(a, "hello", 5, 0);
  const ssize_t got2 = recv(c, buf, sizeof buf, 0);
  CallRecord close_call = call;
  close_call.call = "close";
  close_call.blocking = false;
  close_call.ts = now_realtime();
  close(c);
  close_call.ts_return = now_realtime();
  close_call.result = 0;
  if (sink) sink->on_call(close_call);
  // The server reads the end of the stream, then closes too.
  const ssize_t eof = recv(a, buf, sizeof buf, 0);
  close(a);
  conv.ok = sent == 5 && got == 5 && back == 5 && got2 == 5 && eof == 0;
  return conv;
}

// The session runs in its own thread until stop; returns its result.
struct SessionThread {
  std::atomic<bool> stop{false};
  sockscope::LiveSessionResult result;
  std::thread thread;
  void start(LiveSession& s) {
    thread = std::thread([this, &s] { result = s.run(stop); });
  }
  // Lets the last packets of a close (sent by the kernel after close() returned) arrive, then stops.
  void finish() {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    stop = true;
    thread.join();
  }
};

// A view that only records what reached it, in order.
struct RecordingView : sockscope::View {
  struct Item {
    bool is_call = false;
    std::int64_t ts = 0;  // packet time, or the call's timeline time
    std::string what;     // events (packet) or call name (+ "-start" for a call not yet returned)
    std::uint32_t conn = 0;
  };
  std::vector<Item> items;
  int conversations = 0;
  bool finished = false;
  void packet(const sockscope::Packet& p, const sockscope::Annotation& a) override {
    Item it;
    it.ts = p.ts.ns();
    it.conn = a.conn;
    for (int i = 0; i < sockscope::kEventCount; ++i) {
      const auto e = static_cast<sockscope::Event>(i);
      if (a.events.has(e)) it.what += std::string(it.what.empty() ? "" : ",") + sockscope::event_name(e);
    }
    items.push_back(it);
  }
  void call(const CallRecord& c, std::uint32_t conn) override {
    Item it;
    it.is_call = true;
    it.ts = c.timeline_ts().ns();
    it.what = c.call + (c.returned ? "" : "-start");
    it.conn = conn;
    items.push_back(it);
  }
  void conversation(const sockscope::ConnSummary&) override { ++conversations; }
  void finish() override { finished = true; }

  int index_of(const std::string& what, bool is_call) const {
    for (std::size_t i = 0; i < items.size(); ++i)
      if (items[i].is_call == is_call && (items[i].what == what || items[i].what.find(what) != std::string::npos))
        return static_cast<int>(i);
    return -1;
  }
};

LiveSessionOptions options_for(std::uint16_t port) {
  LiveSessionOptions o;
  o.capture.interface = "lo";
  o.capture.filter = "tcp port " + std::to_string(port);
  o.drop_privileges = false;
  return o;
}

TEST(LiveCapture, LoopbackAddressesUseLo) {
  std::string err;
  EXPECT_EQ(sockscope::interface_for("127.0.0.1", err), "lo") << err;
  EXPECT_EQ(sockscope::interface_for("127.42.0.9", err), "lo") << err;
  EXPECT_EQ(sockscope::interface_for("::1", err), "lo") << err;
  EXPECT_EQ(sockscope::interface_for("localhost", err), "lo") << err;
  err.clear();
  EXPECT_EQ(sockscope::interface_for("no such host.invalid", err), "");
  EXPECT_NE(err.find("no such host.invalid"), std::string::npos) << err;
  EXPECT_NE(err.find("-i"), std::string::npos) << err;
}

TEST(LiveCapture, PrivilegeHintSaysSudoAndSetcap) {
  const std::string h = sockscope::privilege_hint("/usr/local/bin/sockscope");
  EXPECT_NE(h.find("sudo"), std::string::npos) << h;
  EXPECT_NE(h.find("setcap cap_net_raw,cap_net_admin=eip /usr/local/bin/sockscope"), std::string::npos) << h;
  EXPECT_EQ(h.find('\n'), std::string::npos) << "one line";
}

TEST(LiveCapture, UnknownInterfaceIsOneClearLine) {
  REQUIRE_CAPTURE();
  sockscope::LiveOptions o;
  o.interface = "nosuch0";
  std::string err;
  EXPECT_EQ(sockscope::LiveCapture::open(o, err), nullptr);
  EXPECT_NE(err.find("nosuch0"), std::string::npos) << err;
  EXPECT_NE(err.find("ip link"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
}

TEST(LiveCapture, BadFilterNamesTheExpression) {
  REQUIRE_CAPTURE();
  sockscope::LiveOptions o;
  o.interface = "lo";
  o.filter = "tcp prot 9000";
  std::string err;
  EXPECT_EQ(sockscope::LiveCapture::open(o, err), nullptr);
  EXPECT_NE(err.find("'tcp prot 9000'"), std::string::npos) << err;
  EXPECT_NE(err.find("pcap-filter"), std::string::npos) << err;
}

// Run in a child: privileges cannot come back once dropped, so the test process keeps its own.
// Returns the child's exit status (0 when every check in it passed, else the number of the check).
template <typename Fn>
int in_child(Fn fn) {
  const pid_t pid = fork();
  if (pid == 0) _exit(fn());
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

TEST(LiveCapture, DropPrivilegesToNamedUserCannotBeUndone) {
  E2E_REQUIRE(geteuid() == 0, "dropping privileges is tested as root");
  const int rc = in_child([] {
    std::string err;
    if (!sockscope::drop_privileges("nobody", err)) return 1;
    if (getuid() != 65534 || geteuid() != 65534) return 2;
    if (setuid(0) == 0 || seteuid(0) == 0) return 3;          // root cannot be regained
    if (sockscope::have_capture_privileges()) return 4;        // and neither can CAP_NET_RAW
    gid_t groups[64];
    const int n = getgroups(64, groups);
    for (int i = 0; i < n; ++i)
      if (groups[i] == 0) return 5;                            // root's group is gone too
    return 0;
  });
  EXPECT_EQ(rc, 0) << "check " << rc << " failed in the child";
}

TEST(LiveCapture, DropPrivilegesToSudoUser) {
  E2E_REQUIRE(geteuid() == 0, "dropping privileges is tested as root");
  const int rc = in_child([] {
    setenv("SUDO_UID", "65534", 1);
    setenv("SUDO_GID", "65534", 1);
    std::string err;
    if (!sockscope::drop_privileges("", err)) return 1;
    if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534 || getegid() != 65534) return 2;
    if (setuid(0) == 0) return 3;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "check " << rc << " failed in the child";
}

TEST(LiveCapture, DropPrivilegesWithoutSudoOrUserKeepsRoot) {
  E2E_REQUIRE(geteuid() == 0, "dropping privileges is tested as root");
  const int rc = in_child([] {
    unsetenv("SUDO_UID");
    unsetenv("SUDO_GID");
    std::string err;
    if (!sockscope::drop_privileges("", err)) return 1;
    if (geteuid() != 0) return 2;
    if (sockscope::drop_privileges("no-such-user-xyz", err)) return 3;
    if (err.find("no-such-user-xyz") == std::string::npos) return 4;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "check " << rc << " failed in the child";
}

TEST(LiveSession, SeesTheWholeConnectionFromItsSyn) {
  REQUIRE_CAPTURE();
  Listener l;
  ASSERT_NE(l.port, 0);
  std::FILE* json = std::tmpfile();
  ASSERT_NE(json, nullptr);
  SessionThread st;
  {
    sockscope::OutBuffer out(json);
    auto view = sockscope::make_view(sockscope::ViewKind::Json, out, {});
    std::string err;
    auto session = LiveSession::open(options_for(l.port), *view, out, err);
    ASSERT_NE(session, nullptr) << err;
    // The capture is active now: the connection starts only after open() returned.
    st.start(*session);
    const Conversation conv = talk(l, nullptr);
    EXPECT_TRUE(conv.ok);
    st.finish();
  }
  std::rewind(json);
  std::string text;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, json)) > 0) text.append(buf, n);
  std::fclose(json);

  std::string error;
  const auto lines = e2e::json_lines(text, error);
  EXPECT_EQ(error, "");
  const auto packets = e2e::of_type(lines, "packet");
  ASSERT_GE(packets.size(), 9u) << text;  // 3 to open, 2 data + 2 ACKs, 3 or 4 to close
  EXPECT_TRUE(e2e::has_event(*packets[0], "handshake-1")) << e2e::events_of(*packets[0]);
  EXPECT_EQ(packets[0]->operator[]("frame").i64(), 1) << "the SYN is the first frame captured";
  EXPECT_TRUE(e2e::has_event(*packets[1], "handshake-2")) << e2e::events_of(*packets[1]);
  EXPECT_TRUE(e2e::has_event(*packets[2], "handshake-3")) << e2e::events_of(*packets[2]);
  bool fin = false;
  for (const auto* p : packets) fin = fin || e2e::has_event(*p, "teardown-1");
  EXPECT_TRUE(fin);
  EXPECT_EQ(e2e::of_type(lines, "conn").size(), 1u);
  // Lose none: every frame libpcap delivered was annotated.
  EXPECT_EQ(st.result.packets, st.result.stats.received);
  EXPECT_EQ(st.result.packets, packets.size());
  EXPECT_EQ(st.result.stats.dropped_kernel, 0u);
  EXPECT_TRUE(st.result.ok) << st.result.error;
}

// sockscope trace's case: whether a packet is kept depends on an address the tracer reads only when
// the call that gave it returns. However late that is (here the "tracer" answers after the whole
// connection has come and gone), the packets wait for it instead of being dropped after the hold-back.
TEST(LiveSession, KeptPacketsWaitForTheCallThatRevealsTheirSocket) {
  REQUIRE_CAPTURE();
  Listener l;
  ASSERT_NE(l.port, 0);
  RecordingView view;
  sockscope::OutBuffer out(nullptr);
  std::atomic<bool> known{false};
  std::atomic<std::int64_t> settled{now_realtime().ns()};  // a call is under way from now on
  LiveSessionOptions o = options_for(l.port);
  o.keep = [&known](const sockscope::Packet&) { return known.load(); };
  o.settled_ns = [&settled] { return settled.load(); };
  o.max_wait_ms = 60000;
  std::string err;
  auto session = LiveSession::open(o, view, out, err);
  ASSERT_NE(session, nullptr) << err;
  SessionThread st;
  st.start(*session);
  const Conversation conv = talk(l, nullptr);
  EXPECT_TRUE(conv.ok);
  // A slow tracer: the connection is over, and ten hold-backs later the address is still unknown.
  std::this_thread::sleep_for(std::chrono::milliseconds(10 * o.holdback_ms));
  known = true;
  settled = std::numeric_limits<std::int64_t>::max();
  st.finish();
  ASSERT_TRUE(view.finished);
  ASSERT_GE(view.items.size(), 9u);
  EXPECT_EQ(view.items[0].what, "handshake-1");
  EXPECT_EQ(st.result.packets, st.result.stats.received);
}

TEST(LiveSession, CallsFromAnotherThreadMergeInTimeOrder) {
  REQUIRE_CAPTURE();
  Listener l;
  ASSERT_NE(l.port, 0);
  RecordingView view;
  sockscope::OutBuffer out(nullptr);
  std::string err;
  auto session = LiveSession::open(options_for(l.port), view, out, err);
  ASSERT_NE(session, nullptr) << err;
  SessionThread st;
  st.start(*session);
  // A call reported late by a slow reporter: stamped before the connection, pushed after it (within
  // the hold-back), it must still come out first.
  CallRecord early;
  early.call = "socket";
  early.ts = early.ts_return = now_realtime();
  const Conversation conv = talk(l, session.get());
  session->on_call(early);
  EXPECT_TRUE(conv.ok);
  st.finish();

  ASSERT_TRUE(view.finished);
  EXPECT_EQ(st.result.calls, 5u);  // socket, connect (start and return), send, close
  for (std::size_t i = 1; i < view.items.size(); ++i)
    EXPECT_LE(view.items[i - 1].ts, view.items[i].ts) << "item " << i << " (" << view.items[i].what
                                                      << ") is earlier than the one before it";
  const int socket_call = view.index_of("socket", true);
  const int connect_start = view.index_of("connect-start", true);
  int connect_returned = -1;
  for (std::size_t i = 0; i < view.items.size(); ++i)
    if (view.items[i].is_call && view.items[i].what == "connect") connect_returned = static_cast<int>(i);
  const int syn = view.index_of("handshake-1", false);
  const int synack = view.index_of("handshake-2", false);
  const int send_call = view.index_of("send", true);
  const int data = view.index_of("data", false);
  const int close_call = view.index_of("close", true);
  const int fin = view.index_of("teardown-1", false);
  ASSERT_GE(socket_call, 0);
  ASSERT_GE(syn, 0);
  ASSERT_GE(synack, 0);
  ASSERT_GE(data, 0);
  ASSERT_GE(fin, 0);
  EXPECT_LT(socket_call, connect_start);
  EXPECT_LT(connect_start, syn) << "connect() is called before its SYN";
  EXPECT_GT(connect_returned, synack) << "connect() returns after handshake 2/3";
  EXPECT_GT(send_call, connect_returned);
  EXPECT_LT(close_call, fin) << "close() is called before its FIN";
  // Calls with both addresses are tied to the conversation of their packets.
  EXPECT_EQ(view.items[static_cast<std::size_t>(send_call)].conn, view.items[static_cast<std::size_t>(data)].conn);
  EXPECT_NE(view.items[static_cast<std::size_t>(send_call)].conn, 0u);
  EXPECT_EQ(view.items[static_cast<std::size_t>(socket_call)].conn, 0u);
  EXPECT_EQ(view.conversations, 1);
  EXPECT_EQ(st.result.packets, st.result.stats.received);
}

}  // namespace
