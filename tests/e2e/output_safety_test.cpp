// Nothing from the wire, a file or a peer reaches the terminal raw. Hostile bytes (ANSI CSI and OSC
// sequences, a cursor-position query, C1 controls, NUL and other C0 controls, DEL, invalid UTF-8,
// bidirectional overrides, a 10 kB line) go through every view of `sockscope annotate`, through
// error messages that echo a file name or a filter, and through `sockscope chat` servers and clients
// talking to a raw socket of the test. stdout and stderr must hold no ESC, no other C0 control but
// newline, no DEL, no C1 control, no bidi override and only valid UTF-8 (the check is
// terminal_safety_problem in tests/fuzz/harness.hpp, the same one the fuzz targets apply).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "../fuzz/harness.hpp"
#include "e2e_support.hpp"
#include "fixtures.hpp"

using namespace sockscope::testing;
using sockscope::fuzz::terminal_safety_problem;
using namespace std::string_literals;

namespace {

// Each is sent as a payload (and a chat line); together they cover what a terminal acts on.
const std::vector<std::string>& hostile_texts() {
  static const std::vector<std::string> v = {
      "\x1b[31mred\x1b[0m and \x1b[2J cleared",        // CSI: colour, erase screen
      "\x1b]0;new title\x07 and \x1b]8;;http://x\x1b\\",  // OSC: window title, hyperlink
      "where am I \x1b[6n",                             // CSI 6n: the terminal answers on stdin
      "c1 csi \xc2\x9b" "6n and raw \x9b" "6n",         // C1 CSI as UTF-8 and as a lone byte
      "nul \0 bs \b cr \r bell \x07 del \x7f"s,
      "bad utf-8 \xff\xfe overlong \xc0\xaf surrogate \xed\xa0\x80 cut \xe4\xb8",
      "bidi \xe2\x80\xae" "evil" "\xe2\x80\xac isolate \xe2\x81\xa6 x \xe2\x81\xa9 ls \xe2\x80\xa8 bom \xef\xbb\xbf",
      "learners write 中文 and é, kept",
  };
  return v;
}

// A 10 kB line, escapes spread through it so a cut anywhere lands near one.
std::string long_line() {
  std::string s;
  while (s.size() < 10000) s += "0123456789abcdef\x1b[1m\xc2\x9b\xff";
  return s;
}

std::string safety(const std::string& stream_name, const std::string& text) {
  const std::string p = terminal_safety_problem(text);
  return p.empty() ? "" : stream_name + ": " + p;
}

// With --color always the views write SGR sequences of their own (ESC [ digits ; ... m); those are
// removed before the check, so any other ESC still fails it.
std::string without_sgr(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
      std::size_t j = i + 2;
      while (j < s.size() && ((s[j] >= '0' && s[j] <= '9') || s[j] == ';')) ++j;
      if (j < s.size() && s[j] == 'm') {
        i = j;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::size_t longest_line(const std::string& s) {
  std::size_t best = 0, start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '\n') {
      best = std::max(best, i - start);
      start = i + 1;
    }
  }
  return best;
}

// A capture with every hostile text as TCP data and as a UDP datagram (IPv4 and IPv6), the 10 kB line
// as one TCP segment, and a hostile datagram in IPv4 fragments (reassembled before it is shown).
std::vector<PcapRecord> hostile_capture() {
  std::vector<PcapRecord> out;
  auto add = [&](const Bytes& ip) {
    PcapRecord r;
    r.ts = e2e::fixture_time(out.size());
    r.data = ethernet_frame(ip);
    out.push_back(std::move(r));
  };
  for (bool v6 : {false, true}) {
    TcpFlow f(v6 ? "2001:db8::1" : "192.0.2.1", 40000, v6 ? "2001:db8::2" : "192.0.2.2", 9000);
    for (const TcpSpec& s : f.handshake()) add(tcp_packet(s));
    for (const std::string& t : hostile_texts()) {
      add(tcp_packet(f.c2s(sockscope::tcpflag::kPsh | sockscope::tcpflag::kAck, t + "\n")));
      add(tcp_packet(f.s2c(sockscope::tcpflag::kPsh | sockscope::tcpflag::kAck, t)));
      UdpSpec u;
      u.ip.src = f.client;
      u.ip.dst = f.server;
      u.payload = bytes_of(t);
      add(udp_packet(u));
    }
    add(tcp_packet(f.c2s(sockscope::tcpflag::kPsh | sockscope::tcpflag::kAck, long_line())));
    add(tcp_packet(f.s2c(sockscope::tcpflag::kAck)));
    add(tcp_packet(f.c2s(sockscope::tcpflag::kFin | sockscope::tcpflag::kAck)));
    add(tcp_packet(f.s2c(sockscope::tcpflag::kFin | sockscope::tcpflag::kAck)));
    add(tcp_packet(f.c2s(sockscope::tcpflag::kAck)));
  }
  UdpSpec big;
  big.ip.df = false;
  big.payload = bytes_of(long_line().substr(0, 3000));
  for (const Bytes& frag : ipv4_fragments(udp_packet(big), 1000)) add(frag);
  return out;
}

const std::vector<std::vector<std::string>>& every_view() {
  static const std::vector<std::vector<std::string>> v = {
      {"annotate"},          {"annotate", "--osi"},   {"annotate", "--ladder"}, {"annotate", "--summary"},
      {"annotate", "--json"}, {"annotate", "--no-payload", "--osi"},
  };
  return v;
}

}  // namespace

TEST(OutputSafety, HostileCaptureThroughEveryView) {
  const std::string dir = sockscope::testing::temp_dir("output-safety-views");
  const auto records = hostile_capture();
  for (CaptureFormat format : {CaptureFormat::PcapNano, CaptureFormat::PcapngNano}) {
    const std::string path = dir + (format == CaptureFormat::PcapNano ? "/hostile.pcap" : "/hostile.pcapng");
    ASSERT_TRUE(write_capture(path, format, sockscope::linktype::kEthernet, records));
    for (auto args : every_view()) {
      args.push_back(path);
      SCOPED_TRACE(args[1] + " " + path);
      const e2e::RunResult r = e2e::sockscope(args);
      ASSERT_EQ(r.status, 0) << r.err;
      ASSERT_GT(r.out.size(), 500u);  // the view did print the packets
      EXPECT_EQ(safety("stdout", r.out), "");
      EXPECT_EQ(safety("stderr", r.err), "");
      if (args[1] == "--json") {
        std::string error;
        const auto lines = e2e::json_lines(r.out, error);
        EXPECT_EQ(error, "");
        EXPECT_EQ(e2e::of_type(lines, "packet").size(), records.size());
      } else {
        // Overlong payloads are cut: no line of a terminal view holds the 10 kB line.
        EXPECT_LT(longest_line(r.out), 1000u);
      }
      // The learner's own script stays readable: 中文 and é pass through as they are.
      if (args.size() == 2 || (args.size() == 3 && args[1] == "--osi")) {
        EXPECT_NE(r.out.find("中文"), std::string::npos);
      }
    }
    // With colour forced on, the only escapes are the views' own SGR sequences.
    for (auto args : every_view()) {
      args.push_back("--color=always");
      args.push_back(path);
      SCOPED_TRACE(args[1] + " --color=always");
      const e2e::RunResult r = e2e::sockscope(args);
      ASSERT_EQ(r.status, 0) << r.err;
      EXPECT_EQ(safety("stdout", without_sgr(r.out)), "");
    }
  }
}

// File names and filter expressions are echoed in error messages: escaped too.
TEST(OutputSafety, HostileFileNamesAndFiltersInErrors) {
  const std::string dir = sockscope::testing::temp_dir("output-safety-names");
  const std::string evil = dir + "/evil\x1b]0;pwned\x07\x1b[2J\xc2\x9b\xe2\x80\xae\xff.pcap";
  // Missing, then empty, then not a capture: three error paths that name the file.
  const std::vector<std::string> contents = {"", "hello \x1b[31m not a capture\n"};
  e2e::RunResult missing = e2e::sockscope({"annotate", evil});
  EXPECT_EQ(missing.status, 2);
  EXPECT_EQ(safety("stderr", missing.err), "");
  for (const std::string& c : contents) {
    e2e::write_file(evil, c);
    const e2e::RunResult r = e2e::sockscope({"annotate", evil});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err, "");
    EXPECT_EQ(safety("stderr", r.err), "");
    EXPECT_EQ(safety("stdout", r.out), "");
  }
  const std::string good = dir + "/good.pcap";
  ASSERT_TRUE(write_capture(good, CaptureFormat::PcapNano, sockscope::linktype::kEthernet, e2e::exchange_fixture(false, 1)));
  for (const std::string& filter : {"tcp port \x1b[6n"s, "host \xc2\x9b\xe2\x80\xae\xff"s}) {
    const e2e::RunResult r = e2e::sockscope({"annotate", "--filter", filter, good});
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(safety("stderr", r.err), "") << r.err;
  }
  // An unknown option or subcommand that carries escapes.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"annotate", "--\x1b[2Jx", good}, std::vector<std::string>{"\x1b]0;t\x07"},
        std::vector<std::string>{"chat", "tcp-\x9bserver"}}) {
    const e2e::RunResult r = e2e::sockscope(args);
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(safety("stderr", r.err), "") << r.err;
    EXPECT_EQ(safety("stdout", r.out), "") << r.out;
  }
}

// Lesson scripts are text a learner downloads: `sockscope lesson check` echoes the words it cannot
// read in its messages, escaped and cut.
TEST(OutputSafety, LessonCheckEchoesHostileTextSafely) {
  const std::string path = sockscope::testing::temp_dir("output-safety-lesson") + "/hostile.lesson";
  std::string text = "title \x1b]0;pwned\x07 t\nsummary s \xc2\x9b\ntcp server\ntcp client\n";
  text += "client send \"a\xc2\x9b b\xe2\x80\xae c \xff\"\n";
  text += "bogus\xe2\x80\xae \xc2\x9b \x9b \xff\n";
  text += "nonsense" + std::string(5000, 'x') + "\n";
  e2e::write_file(path, text);
  const e2e::RunResult r = e2e::sockscope({"lesson", "check", path});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err, "");
  EXPECT_EQ(safety("stderr", r.err), "") << r.err;
  EXPECT_EQ(safety("stdout", r.out), "") << r.out;
  EXPECT_LT(longest_line(r.err), 1000u);
}

namespace {

// A sockscope process: stdin a pipe we hold, stdout and stderr into files we read.
class Proc {
 public:
  Proc() = default;
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;
  ~Proc() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    close_stdin();
  }
  bool start(const std::vector<std::string>& args, const std::string& dir) {
    out_path_ = dir + "/stdout";
    err_path_ = dir + "/stderr";
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return false;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> argv = {SOCKSCOPE_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargs;
    for (auto& a : argv) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    const int rc = posix_spawn(&pid_, cargs[0], &fa, nullptr, cargs.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    in_fd_ = in[1];
    if (rc != 0) pid_ = -1;
    return rc == 0;
  }
  void close_stdin() {
    if (in_fd_ >= 0) ::close(in_fd_);
    in_fd_ = -1;
  }
  std::string out() const { return e2e::read_file(out_path_); }
  std::string err() const { return e2e::read_file(err_path_); }
  bool wait_for_out(const std::string& needle, int timeout_ms) const {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < end) {
      if (out().find(needle) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  // The port from the server's first line "listening on 127.0.0.1:PORT" (0 when it did not come).
  std::uint16_t listening_port(int timeout_ms) const {
    if (!wait_for_out("\n", timeout_ms)) return 0;
    const std::string o = out();
    const std::string prefix = "listening on 127.0.0.1:";
    if (o.rfind(prefix, 0) != 0) return 0;
    return static_cast<std::uint16_t>(std::stoul(o.substr(prefix.size())));
  }
  void signal(int sig) const { ::kill(pid_, sig); }
  int wait_exit(int timeout_ms) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    int st = 0;
    while (std::chrono::steady_clock::now() < end) {
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int in_fd_ = -1;
  std::string out_path_, err_path_;
};

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

bool send_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Every hostile text as one line, the 10 kB line, then a marker the test waits for.
std::string hostile_lines() {
  std::string s;
  for (const std::string& t : hostile_texts()) {
    std::string line = t;
    for (char& c : line)
      if (c == '\n') c = ' ';
    s += line + "\n";
  }
  return s + long_line() + "\nend-of-hostile-lines\n";
}

}  // namespace

// A raw TCP client sends the hostile lines to `sockscope chat tcp-server`: the messages it prints
// (stdout) and the socket calls it reports (stderr, peer bytes shown in recv()) stay safe.
TEST(OutputSafety, ChatTcpServerPrintsHostileLinesSafely) {
  const std::string dir = sockscope::testing::temp_dir("output-safety-chat-server");
  Proc server;
  ASSERT_TRUE(server.start({"chat", "tcp-server", "--port", "0"}, dir));
  const std::uint16_t port = server.listening_port(3000);
  ASSERT_NE(port, 0) << server.out() << server.err();
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  const sockaddr_in a = loopback(port);
  ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
  ASSERT_TRUE(send_all(fd, hostile_lines()));
  EXPECT_TRUE(server.wait_for_out("end-of-hostile-lines", 5000)) << server.out();
  // close() with the room's echo still unread sends RST, not FIN (RFC 1122 4.2.2.13): either way the
  // server notices the client is gone.
  ::close(fd);
  EXPECT_TRUE(server.wait_for_out("left", 3000) || server.out().find("reset the connection (RST)") != std::string::npos)
      << server.out();
  server.signal(SIGINT);
  EXPECT_EQ(server.wait_exit(3000), 0);
  const std::string out = server.out(), err = server.err();
  EXPECT_NE(out.find("red"), std::string::npos) << out;  // the lines were shown, escaped
  EXPECT_NE(out.find("中文"), std::string::npos) << out;
  EXPECT_EQ(safety("server stdout", out), "");
  EXPECT_EQ(safety("server stderr", err), "");
  // The 10 kB line is cut at --max-line (4096 bytes by default); escaping at most quadruples it.
  EXPECT_NE(out.find("longer than 4096 bytes: cut"), std::string::npos) << out;
  EXPECT_LT(longest_line(out), 4u * 4096u + 200u);
}

// The other way: a hostile server (a raw socket of the test) sends the lines to `sockscope chat
// tcp-client`, which prints them and the recv() calls that brought them.
TEST(OutputSafety, ChatTcpClientPrintsHostileLinesSafely) {
  const std::string dir = sockscope::testing::temp_dir("output-safety-chat-client");
  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(lfd, 0);
  sockaddr_in a = loopback(0);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(lfd, 1), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  Proc client;
  ASSERT_TRUE(client.start({"chat", "tcp-client", "--port", std::to_string(ntohs(a.sin_port))}, dir));
  pollfd p{lfd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 3000), 1) << client.err();
  const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, hostile_lines()));
  EXPECT_TRUE(client.wait_for_out("end-of-hostile-lines", 5000)) << client.out();
  ::close(fd);
  ::close(lfd);
  client.close_stdin();
  EXPECT_GE(client.wait_exit(3000), 0);
  const std::string out = client.out(), err = client.err();
  EXPECT_NE(out.find("red"), std::string::npos) << out;
  EXPECT_EQ(safety("client stdout", out), "");
  EXPECT_EQ(safety("client stderr", err), "");
}

// UDP: hostile datagrams to `sockscope chat udp-server`.
TEST(OutputSafety, ChatUdpServerPrintsHostileDatagramsSafely) {
  const std::string dir = sockscope::testing::temp_dir("output-safety-chat-udp");
  Proc server;
  ASSERT_TRUE(server.start({"chat", "udp-server", "--port", "0"}, dir));
  const std::uint16_t port = server.listening_port(3000);
  ASSERT_NE(port, 0) << server.out() << server.err();
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  const sockaddr_in a = loopback(port);
  std::vector<std::string> dgrams = hostile_texts();
  dgrams.push_back(long_line());
  dgrams.push_back("end-of-hostile-lines");
  for (const std::string& d : dgrams) {
    ASSERT_EQ(::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&a), sizeof a),
              static_cast<ssize_t>(d.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // loopback does not drop, but be kind
  }
  EXPECT_TRUE(server.wait_for_out("end-of-hostile-lines", 5000)) << server.out();
  ::close(fd);
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(3000), 0);
  EXPECT_EQ(safety("server stdout", server.out()), "");
  EXPECT_EQ(safety("server stderr", server.err()), "");
}
