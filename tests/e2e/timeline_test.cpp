// The merged timeline of `sockscope demo`: real chat endpoints on loopback, a real libpcap capture,
// and the order of their socket calls and packets checked against what the socket API and RFC 9293
// promise. connect() starts before the SYN and returns after the SYN-ACK; accept() returns after the
// handshake's last ACK; each send() makes a data segment that is acknowledged later; close() comes
// before its FIN; the kernel's states follow the close. For UDP: one datagram per sendto(), no more.
//
// Needs root (the capture). Timestamps are compared as exact nanoseconds ("S.NNNNNNNNN" in JSON), never
// as doubles: a double cannot hold today's epoch seconds to the nanosecond.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e_support.hpp"

namespace {

using e2e::Json;

// "1700000000.000210000" -> nanoseconds since the epoch.
std::int64_t ns_of(const Json& v) {
  const std::string& t = v.text;
  const std::size_t dot = t.find('.');
  std::int64_t sec = std::stoll(t.substr(0, dot));
  std::int64_t frac = 0;
  if (dot != std::string::npos) {
    std::string f = t.substr(dot + 1);
    f.resize(9, '0');
    frac = std::stoll(f);
  }
  return sec * 1000000000LL + frac;
}

struct Line {
  std::size_t index;  // position in the output: the merged timeline order
  const Json* j;
};

struct Timeline {
  std::vector<Json> lines;
  std::vector<Line> packets, calls, conns;

  void load(const std::string& out) {
    std::string error;
    lines = e2e::json_lines(out, error);
    ASSERT_TRUE(error.empty()) << error;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::string type = lines[i]["type"].str();
      if (type == "packet") packets.push_back({i, &lines[i]});
      if (type == "call") calls.push_back({i, &lines[i]});
      if (type == "conn") conns.push_back({i, &lines[i]});
    }
  }

  const Line* packet_with(const std::string& event) const {
    for (const Line& p : packets)
      if (e2e::has_event(*p.j, event)) return &p;
    return nullptr;
  }
  std::vector<Line> calls_of(const std::string& endpoint, const std::string& call) const {
    std::vector<Line> out;
    for (const Line& c : calls)
      if ((*c.j)["endpoint"].str() == endpoint && (*c.j)["call"].str() == call) out.push_back(c);
    return out;
  }
  std::set<std::string> kernel_states(const std::string& endpoint) const {
    std::set<std::string> out;
    for (const Line& c : calls)
      if ((*c.j)["endpoint"].str() == endpoint && !(*c.j)["kernel_state"].is_null())
        out.insert((*c.j)["kernel_state"].str());
    return out;
  }
  std::string dump() const {
    std::string s;
    for (const Json& j : lines) {
      s += j["type"].str() + " ";
      if (j["type"].str() == "packet")
        s += j["frame"].text + " " + j["ts"].text + " " + j["dir"].str() + " len=" + j["len"].text + " [" +
             e2e::events_of(j) + "]";
      else if (j["type"].str() == "call")
        s += j["endpoint"].str() + " " + j["call"].str() + " = " + j["result"].text + " " + j["ts"].text + ".." +
             j["ts_return"].text + " " + (j["kernel_state"].is_null() ? "" : j["kernel_state"].str());
      s += '\n';
    }
    return s;
  }
};

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& w : s) out += (out.empty() ? "" : ",") + w;
  return out;
}

#define REQUIRE_ROOT() E2E_REQUIRE(geteuid() == 0, "sockscope demo captures packets: run the tests as root")

// Each send() of `endpoint` with a result is followed by a data segment in its direction carrying as
// many bytes, and later by a segment of the other side whose ACK covers that segment.
void expect_sends_acknowledged(const Timeline& t, const std::string& endpoint) {
  const std::string dir = endpoint == "client" ? "c2s" : "s2c";
  const auto sends = t.calls_of(endpoint, "send");
  ASSERT_FALSE(sends.empty()) << endpoint << " sent nothing\n" << t.dump();
  std::set<std::int64_t> used;
  for (const Line& s : sends) {
    const std::int64_t len = (*s.j)["result"].i64();
    if (len <= 0) continue;
    const std::int64_t start = ns_of((*s.j)["ts"]);
    const Line* seg = nullptr;
    for (const Line& p : t.packets) {
      const Json& j = *p.j;
      if (j["dir"].str() == dir && e2e::has_event(j, "data") && j["len"].i64() == len && ns_of(j["ts"]) >= start &&
          !used.count(j["frame"].i64())) {
        seg = &p;
        break;
      }
    }
    ASSERT_NE(seg, nullptr) << endpoint << " send() of " << len << " bytes at " << (*s.j)["ts"].text
                            << " has no data segment after it\n" << t.dump();
    const std::int64_t frame = (*seg->j)["frame"].i64();
    used.insert(frame);
    bool acked = false;
    for (const Line& p : t.packets) {
      const Json& j = *p.j;
      if (j["dir"].str() == dir || !e2e::has_event(j, "ack") || ns_of(j["ts"]) < ns_of((*seg->j)["ts"])) continue;
      for (const Json& f : j["acks"]["frames"].items)
        if (f.i64() == frame) acked = true;
      if (acked) break;
    }
    EXPECT_TRUE(acked) << "no ACK covers frame " << frame << " (" << endpoint << " send() of " << len << ")\n"
                       << t.dump();
  }
}

// The parts common to both closes: handshake, connect, accept, data, ACKs.
void expect_tcp_opening_and_data(const Timeline& t) {
  const Line* syn = t.packet_with("handshake-1");
  const Line* synack = t.packet_with("handshake-2");
  const Line* ack3 = t.packet_with("handshake-3");
  ASSERT_TRUE(syn && synack && ack3) << t.dump();

  const auto connects = t.calls_of("client", "connect");
  ASSERT_EQ(connects.size(), 1u) << t.dump();
  const Json& connect = *connects[0].j;
  EXPECT_EQ(connect["result"].i64(), 0);
  // connect() starts the handshake: the call is made before its SYN is on the wire...
  EXPECT_LT(ns_of(connect["ts"]), ns_of((*syn->j)["ts"])) << t.dump();
  // ...and returns once the SYN-ACK arrived (the client is ESTABLISHED on receiving it, RFC 9293 3.5).
  EXPECT_GE(ns_of(connect["ts_return"]), ns_of((*synack->j)["ts"])) << t.dump();
  EXPECT_GT(connects[0].index, synack->index) << t.dump();
  EXPECT_EQ(connect["kernel_state"].str(), "ESTABLISHED");
  EXPECT_GT(connect["conn"].i64(), 0);

  const auto accepts = t.calls_of("server", "accept");
  ASSERT_GE(accepts.size(), 1u) << t.dump();
  const Json& accept = *accepts[0].j;
  EXPECT_GE(accept["result"].i64(), 0);
  // accept() hands over a connection only when the handshake is complete: after handshake 3/3.
  EXPECT_GE(ns_of(accept["ts_return"]), ns_of((*ack3->j)["ts"])) << t.dump();
  EXPECT_GT(accepts[0].index, ack3->index) << t.dump();

  expect_sends_acknowledged(t, "client");
  expect_sends_acknowledged(t, "server");
  EXPECT_TRUE(t.kernel_states("client").count("ESTABLISHED")) << join(t.kernel_states("client"));
  EXPECT_TRUE(t.kernel_states("server").count("ESTABLISHED")) << join(t.kernel_states("server"));
}

// close() of `closer` comes before the first FIN, which is its own.
void expect_close_before_fin(const Timeline& t, const std::string& closer) {
  const Line* fin = t.packet_with("teardown-1");
  ASSERT_NE(fin, nullptr) << t.dump();
  EXPECT_EQ((*fin->j)["dir"].str(), closer == "client" ? "c2s" : "s2c") << t.dump();
  auto closes = t.calls_of(closer, "close");
  const auto shutdowns = t.calls_of(closer, "shutdown");
  closes.insert(closes.end(), shutdowns.begin(), shutdowns.end());
  ASSERT_FALSE(closes.empty()) << t.dump();
  std::int64_t first = INT64_MAX;
  for (const Line& c : closes) first = std::min(first, ns_of((*c.j)["ts"]));
  EXPECT_LT(first, ns_of((*fin->j)["ts"])) << t.dump();
}

// The kernel's states around the close (RFC 9293 3.6), as the endpoints saw them after their calls:
// the side that closes first is in FIN-WAIT-1, FIN-WAIT-2 or already TIME-WAIT when its close()
// returns (how far it got depends on how fast the other side answers: on loopback, often within the
// call); the other side reads end of stream in CLOSE-WAIT and its close() leaves LAST-ACK or, once the
// last ACK came, nothing (CLOSED). Only the first closer ever reaches TIME-WAIT, and the wire agrees.
void expect_states_after_close(const Timeline& t, const std::string& active, const std::string& passive) {
  const auto a_closes = t.calls_of(active, "close");
  bool active_ok = false;
  for (const Line& c : a_closes) {
    const std::string st = (*c.j)["kernel_state"].str();
    if ((*c.j)["conn"].i64() > 0 && (st == "FIN-WAIT-1" || st == "FIN-WAIT-2" || st == "TIME-WAIT")) active_ok = true;
  }
  EXPECT_TRUE(active_ok) << active << " close(): " << join(t.kernel_states(active)) << "\n" << t.dump();
  const auto passive_states = t.kernel_states(passive);
  EXPECT_TRUE(passive_states.count("CLOSE-WAIT")) << join(passive_states) << "\n" << t.dump();
  EXPECT_TRUE(passive_states.count("LAST-ACK") || passive_states.count("CLOSED")) << join(passive_states);
  EXPECT_FALSE(passive_states.count("TIME-WAIT")) << join(passive_states);
  EXPECT_FALSE(passive_states.count("FIN-WAIT-2")) << join(passive_states);
  // The last packet, as the annotator reads the wire: the first closer waits in TIME-WAIT.
  ASSERT_FALSE(t.packets.empty());
  const Json& last = *t.packets.back().j;
  EXPECT_EQ(last["state"][active].str(), "TIME-WAIT") << t.dump();
  EXPECT_EQ(last["state"][passive].str(), "CLOSED") << t.dump();
  // And the recv() that saw the FIN returned 0.
  bool eof = false;
  for (const Line& c : t.calls_of(passive, "recv"))
    if ((*c.j)["result"].i64() == 0 && (*c.j)["kernel_state"].str() == "CLOSE-WAIT") eof = true;
  EXPECT_TRUE(eof) << t.dump();
}

TEST(Timeline, TcpDemoClientCloses) {
  REQUIRE_ROOT();
  const auto r = e2e::sockscope({"demo", "tcp", "--json", "--messages", "3"});
  ASSERT_EQ(r.status, 0) << r.err;
  Timeline t;
  ASSERT_NO_FATAL_FAILURE(t.load(r.out));
  expect_tcp_opening_and_data(t);
  EXPECT_EQ(t.calls_of("client", "send").size(), 3u) << t.dump();
  EXPECT_EQ(t.calls_of("server", "send").size(), 3u) << t.dump();
  expect_close_before_fin(t, "client");
  expect_states_after_close(t, "client", "server");
  ASSERT_EQ(t.conns.size(), 1u);
  EXPECT_EQ((*t.conns[0].j)["conn_state"].str(), "SF");
}

TEST(Timeline, TcpDemoServerCloses) {
  REQUIRE_ROOT();
  const auto r = e2e::sockscope({"demo", "tcp", "--json", "--server-closes"});
  ASSERT_EQ(r.status, 0) << r.err;
  Timeline t;
  ASSERT_NO_FATAL_FAILURE(t.load(r.out));
  expect_tcp_opening_and_data(t);
  expect_close_before_fin(t, "server");
  // TIME-WAIT moves to the server, the side that closed first.
  expect_states_after_close(t, "server", "client");
}

TEST(Timeline, UdpDemoOneDatagramPerSendto) {
  REQUIRE_ROOT();
  const auto r = e2e::sockscope({"demo", "udp", "--json", "--messages", "3"});
  ASSERT_EQ(r.status, 0) << r.err;
  Timeline t;
  ASSERT_NO_FATAL_FAILURE(t.load(r.out));
  ASSERT_FALSE(t.packets.empty()) << r.err;
  for (const Line& p : t.packets) {
    const Json& j = *p.j;
    EXPECT_EQ(j["proto"].str(), "udp");
    EXPECT_TRUE(e2e::has_event(j, "datagram")) << e2e::events_of(j);
    for (const char* w : {"handshake-1", "handshake-2", "handshake-3", "ack", "teardown-1"})
      EXPECT_FALSE(e2e::has_event(j, w)) << w << " in a UDP conversation";
  }
  // One datagram per sendto(), in each direction, of the size sendto() reported.
  for (const std::string who : {"client", "server"}) {
    const std::string dir = who == "client" ? "c2s" : "s2c";
    std::vector<std::int64_t> sent, seen;
    for (const Line& c : t.calls_of(who, "sendto"))
      if ((*c.j)["result"].i64() >= 0) sent.push_back((*c.j)["result"].i64());
    for (const Line& p : t.packets)
      if ((*p.j)["dir"].str() == dir) seen.push_back((*p.j)["len"].i64());
    EXPECT_EQ(sent.size(), 3u) << who << "\n" << t.dump();
    EXPECT_EQ(sent, seen) << who << "\n" << t.dump();
  }
  // recvfrom() returns after its datagram arrived.
  const auto recvs = t.calls_of("server", "recvfrom");
  std::size_t matched = 0;
  for (const Line& c : recvs) {
    const std::int64_t len = (*c.j)["result"].i64();
    if (len < 0) continue;
    for (const Line& p : t.packets) {
      const Json& j = *p.j;
      if (j["dir"].str() != "c2s" || j["len"].i64() != len) continue;
      if (ns_of(j["ts"]) <= ns_of((*c.j)["ts_return"]) && p.index < c.index) {
        ++matched;
        break;
      }
    }
  }
  EXPECT_EQ(matched, 3u) << t.dump();
  ASSERT_EQ(t.conns.size(), 1u);
  EXPECT_EQ((*t.conns[0].j)["datagrams"]["c2s"].i64(), 3);
  // Every sendto() and recvfrom() carries the conversation of its datagram, the first sendto() too
  // (it comes before the datagram that opens the conversation).
  const std::int64_t conn = (*t.conns[0].j)["conn"].i64();
  for (const std::string who : {"client", "server"})
    for (const char* call : {"sendto", "recvfrom"})
      for (const Line& c : t.calls_of(who, call)) {
        if ((*c.j)["result"].i64() < 0) continue;
        EXPECT_EQ((*c.j)["conn"].i64(), conn) << who << " " << call << "\n" << t.dump();
      }
}

TEST(Timeline, HumanDemoTellsTheWholeStory) {
  REQUIRE_ROOT();
  const auto r = e2e::sockscope({"demo", "tcp", "--color", "never"});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* s : {"handshake 1/3", "handshake 2/3", "handshake 3/3", "data", "ack", "teardown",
                        "connect(127.0.0.1:", "accept() = ", "send(\"hello\\n\", MSG_NOSIGNAL) = 6", "close() = 0", "What you saw"})
    EXPECT_NE(r.out.find(s), std::string::npos) << "missing [" << s << "] in:\n" << r.out;
  // Nothing raw for the terminal: no escape sequences when colour is off.
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  // The ladder has the same story in three columns.
  const auto l = e2e::sockscope({"demo", "udp", "--ladder", "--color", "never"});
  ASSERT_EQ(l.status, 0) << l.err;
  EXPECT_NE(l.out.find("wire (packets)"), std::string::npos) << l.out;
  EXPECT_NE(l.out.find("sendto("), std::string::npos) << l.out;
}

TEST(Timeline, DemoSavesAPcapngThatReadsBack) {
  REQUIRE_ROOT();
  const std::string dir = sockscope::testing::temp_dir("timeline-w-" + std::to_string(getpid()));
  const std::string path = dir + "/demo.pcapng";
  const auto r = e2e::sockscope({"demo", "tcp", "--json", "-w", path});
  ASSERT_EQ(r.status, 0) << r.err;
  Timeline t;
  ASSERT_NO_FATAL_FAILURE(t.load(r.out));
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0) << path;
  // sockscope reads back every packet the demo showed.
  const auto back = e2e::sockscope({"annotate", "--json", path});
  ASSERT_EQ(back.status, 0) << back.err;
  Timeline b;
  ASSERT_NO_FATAL_FAILURE(b.load(back.out));
  EXPECT_EQ(b.packets.size(), t.packets.size());
  // Wireshark's reader sees each packet's explanation as its comment.
  if (e2e::have_tool("tshark")) {
    const auto ts = e2e::run({"tshark", "-r", path, "-T", "fields", "-e", "frame.comment"});
    ASSERT_EQ(ts.status, 0) << ts.err;
    std::size_t commented = 0;
    std::istringstream in(ts.out);
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) ++commented;
    EXPECT_EQ(commented, t.packets.size()) << ts.out;
    EXPECT_NE(ts.out.find("handshake 1/3"), std::string::npos) << ts.out;
  }
}

TEST(Timeline, DemoWithoutCaptureRightsSaysHowInOneLine) {
  REQUIRE_ROOT();  // to become somebody without rights
  E2E_REQUIRE(e2e::have_tool("setpriv"), "setpriv (util-linux) runs the demo as an unprivileged user");
  const auto r = e2e::run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                           sockscope::testing::binary_for_other_users(), "demo", "tcp"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("setcap"), std::string::npos) << r.err;
}

// ---- chat --trace -------------------------------------------------------------------------------

// A bare TCP server on 127.0.0.1 for a traced client to talk to: accepts one connection, answers the
// first line with "ok\n", reads until the client closes, closes. Bounded: gives up after 5 s.
class OneShotServer {
 public:
  OneShotServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 4) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return;
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotServer() {
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
  }
  std::uint16_t port() const { return port_; }
  // What the client sent (after the server finished).
  std::string received() {
    if (thread_.joinable()) thread_.join();
    return got_;
  }

 private:
  void serve() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 5000) != 1) return;
    const int c = accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    bool answered = false;
    char buf[4096];
    for (;;) {
      pollfd q{c, POLLIN, 0};
      if (poll(&q, 1, 5000) != 1) break;
      const ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      got_.append(buf, static_cast<std::size_t>(n));
      if (!answered && got_.find('\n') != std::string::npos) {
        answered = send(c, "ok\n", 3, MSG_NOSIGNAL) == 3;
      }
    }
    close(c);
  }
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::string got_;
};

TEST(Timeline, ChatTraceShowsTheClientsCallsWithItsPackets) {
  REQUIRE_ROOT();
  OneShotServer server;
  ASSERT_NE(server.port(), 0);
  const auto r = e2e::sockscope({"chat", "tcp-client", "--port", std::to_string(server.port()), "--say", "hello",
                                 "--trace", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(server.received(), "hello\n");
  Timeline t;
  ASSERT_NO_FATAL_FAILURE(t.load(r.out));  // the chat's own words went to stderr: stdout is JSON only
  const Line* syn = t.packet_with("handshake-1");
  const Line* synack = t.packet_with("handshake-2");
  ASSERT_TRUE(syn && synack) << t.dump();
  const auto connects = t.calls_of("client", "connect");
  ASSERT_EQ(connects.size(), 1u) << t.dump();
  // The capture was open before the first call: the SYN is there, after connect() was called.
  EXPECT_LT(ns_of((*connects[0].j)["ts"]), ns_of((*syn->j)["ts"]));
  EXPECT_GT(connects[0].index, synack->index);
  expect_sends_acknowledged(t, "client");
  expect_close_before_fin(t, "client");
  EXPECT_TRUE(t.calls_of("server", "accept").empty());  // only the client is traced here
  EXPECT_EQ(t.conns.size(), 1u);
}

// Ctrl-C on a traced server: the chat closes, the capture drains and prints its summaries, exit 0.
// Whether a socket listens on TCP port `port` (IPv4), per /proc/net/tcp (proc(5): state 0A is LISTEN).
bool tcp_listening(std::uint16_t port) {
  std::ifstream f("/proc/net/tcp");
  std::string line;
  std::getline(f, line);  // the column names
  char want[8];
  std::snprintf(want, sizeof want, ":%04X", port);
  while (std::getline(f, line)) {
    std::istringstream is(line);
    std::string slot, local, remote, state;
    is >> slot >> local >> remote >> state;
    if (state == "0A" && local.size() > 5 && local.compare(local.size() - 5, 5, want) == 0) return true;
  }
  return false;
}

TEST(Timeline, ChatTraceEndsCleanlyOnCtrlC) {
  REQUIRE_ROOT();
  const std::uint16_t port = e2e::free_port(SOCK_STREAM, AF_INET);
  ASSERT_NE(port, 0);
  const std::string dir = sockscope::testing::temp_dir("timeline-trace-" + std::to_string(getpid()));
  const std::string out_path = dir + "/out", err_path = dir + "/err";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const std::string port_s = std::to_string(port);
  std::vector<std::string> argv = {SOCKSCOPE_BINARY, "chat", "tcp-server", "--port", port_s, "--reply",
                                   "--say", "hi", "--trace", "--json"};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, SOCKSCOPE_BINARY, &fa, nullptr, args.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);

  // Talk to it once it listens (asked of the kernel, not by trying: the capture is already on, and a
  // connect() before listen() would put a refused SYN into what the test checks): one line, its
  // answer, close.
  for (int i = 0; i < 500 && !tcp_listening(port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  int c = -1;
  for (int i = 0; i < 200 && c < 0; ++i) {
    c = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(c);
      c = -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ASSERT_GE(c, 0) << e2e::read_file(err_path);
  ASSERT_EQ(send(c, "hello\n", 6, MSG_NOSIGNAL), 6);
  char buf[64];
  pollfd q{c, POLLIN, 0};
  ASSERT_EQ(poll(&q, 1, 5000), 1);
  EXPECT_EQ(recv(c, buf, sizeof buf, 0), 3);
  close(c);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  kill(pid, SIGINT);
  int st = 0;
  bool exited = false;
  for (int i = 0; i < 500 && !exited; ++i) {
    exited = waitpid(pid, &st, WNOHANG) == pid;
    if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
  }
  ASSERT_TRUE(exited) << "the traced server did not end within 5 s of SIGINT";
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << e2e::read_file(err_path);

  Timeline t;
  ASSERT_NO_FATAL_FAILURE(t.load(e2e::read_file(out_path)));
  EXPECT_EQ(t.calls_of("server", "listen").size(), 1u) << t.dump();
  ASSERT_NE(t.packet_with("handshake-3"), nullptr) << t.dump();
  const auto accepts = t.calls_of("server", "accept");
  ASSERT_FALSE(accepts.empty()) << t.dump();
  EXPECT_GT(accepts[0].index, t.packet_with("handshake-3")->index);
  EXPECT_FALSE(t.calls_of("server", "close").empty()) << t.dump();  // the listening socket, at Ctrl-C
  ASSERT_EQ(t.conns.size(), 1u) << t.dump();                        // the summaries came at the end
  EXPECT_EQ((*t.conns[0].j)["close"].str(), "fin-3") << t.dump();
}

TEST(Timeline, ChatTraceWithoutRightsStillChats) {
  REQUIRE_ROOT();  // to become somebody without rights
  E2E_REQUIRE(e2e::have_tool("setpriv"), "setpriv (util-linux) runs the chat as an unprivileged user");
  OneShotServer server;
  ASSERT_NE(server.port(), 0);
  const auto r = e2e::run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                           sockscope::testing::binary_for_other_users(), "chat", "tcp-client", "--port", std::to_string(server.port()), "--say",
                           "hi", "--trace"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("setcap"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("without the trace"), std::string::npos) << r.err;
  EXPECT_EQ(server.received(), "hi\n");
}

}  // namespace

