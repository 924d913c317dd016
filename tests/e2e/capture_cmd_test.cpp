// `sockscope capture` as a learner runs it: live on loopback, Ctrl-C (SIGINT) ends it cleanly with a
// complete -w file whose frames and comments match what was shown; bad paths and missing privileges
// give one clear line.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e_support.hpp"
#include "sockscope/pcap/live_capture.hpp"

namespace {

using e2e::Json;

#define REQUIRE_CAPTURE() \
  E2E_REQUIRE(sockscope::have_capture_privileges(), "live capture needs root or CAP_NET_RAW")

// The binary running in the background, its output going to files.
class Background {
 public:
  explicit Background(const std::string& dir) : out_(dir + "/stdout"), err_(dir + "/stderr") {}
  ~Background() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool start(std::vector<std::string> args, const std::vector<std::pair<std::string, std::string>>& env = {}) {
    args.insert(args.begin(), SOCKSCOPE_BINARY);
    pid_ = fork();
    if (pid_ == 0) {
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      const int in = open("/dev/null", O_RDONLY), o = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644),
                e = open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(in, 0);
      dup2(o, 1);
      dup2(e, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    return pid_ > 0;
  }
  // The capture is active once it says so on stderr (like tcpdump's "listening on").
  bool wait_capturing() {
    for (int i = 0; i < 500; ++i) {
      if (err().find("capturing on") != std::string::npos) return true;
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  void signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }
  // Exit status, or -1 if it did not end within limit.
  int wait(std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    if (pid_ < 0) return status_;
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return status_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  std::string out() const { return e2e::read_file(out_); }
  std::string err() const { return e2e::read_file(err_); }

 private:
  std::string out_, err_;
  pid_t pid_ = -1;
  int status_ = -1;
};

// A TCP conversation on 127.0.0.1:port: connect, a line each way, the client closes first.
bool tcp_conversation(std::uint16_t port) {
  const int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(l, 1) == 0;
  const int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ok = ok && connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  const int s = ok ? accept(l, nullptr, nullptr) : -1;
  char buf[64];
  ok = ok && s >= 0 && send(c, "hello\n", 6, 0) == 6 && recv(s, buf, sizeof buf, 0) == 6 &&
       send(s, "hi there\n", 9, 0) == 9 && recv(c, buf, sizeof buf, 0) == 9;
  close(c);
  ok = ok && recv(s, buf, sizeof buf, 0) == 0;
  if (s >= 0) close(s);
  close(l);
  return ok;
}

std::vector<Json> parse(const std::string& text) {
  std::string error;
  auto lines = e2e::json_lines(text, error);
  EXPECT_EQ(error, "");
  return lines;
}

std::string last_line(const std::string& s) {
  std::string t = s;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  const auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

// Comments per frame as tshark reads them.
std::vector<std::string> tshark_comments(const std::string& path) {
  const e2e::RunResult r = e2e::run({"tshark", "-r", path, "-T", "fields", "-e", "frame.comment"});
  EXPECT_EQ(r.status, 0) << r.err;
  std::vector<std::string> v;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) v.push_back(line);
  return v;
}

std::vector<std::string> comparable_lines(const std::vector<Json>& lines) {
  std::vector<std::string> v;
  for (const Json& j : lines) v.push_back(e2e::comparable(j));
  return v;
}

TEST(CaptureCmd, HelpSaysDefaultInterfaceAndPrivileges) {
  const e2e::RunResult r = e2e::sockscope({"capture", "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("default lo"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("setcap cap_net_raw,cap_net_admin=eip"), std::string::npos) << r.out;
  const e2e::RunResult main_help = e2e::sockscope({"--help"});
  EXPECT_NE(main_help.out.find("sockscope capture"), std::string::npos) << main_help.out;
}

TEST(CaptureCmd, UsageErrorsExitTwo) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"capture", "--port", "9000", "--filter", "tcp"},
        {"capture", "--json", "--ladder"},
        {"capture", "--port", "70000"},
        {"capture", "--count", "0"},
        {"capture", "--duration", "-1"},
        {"capture", "--color", "sometimes"},
        {"capture", "extra-word"}}) {
    const e2e::RunResult r = e2e::sockscope(args);
    EXPECT_EQ(r.status, 2) << args[1] << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

// Without root or CAP_NET_RAW: one line saying how to grant it, exit 1. The binary runs as nobody.
TEST(CaptureCmd, WithoutPrivilegesSaysHowToGrantThem) {
  E2E_REQUIRE(geteuid() == 0, "switching to nobody for this test needs root");
  const std::string dir = sockscope::testing::temp_dir("capture-noroot-" + std::to_string(getpid()));
  const std::string out = dir + "/out", err = dir + "/err";
  const std::string binary = sockscope::testing::binary_for_other_users();
  const pid_t pid = fork();
  if (pid == 0) {
    const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(126);
    execl(binary.c_str(), binary.c_str(), "capture", "--count", "1", static_cast<char*>(nullptr));
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 1);
  const std::string text = e2e::read_file(err);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_NE(text.find("sudo"), std::string::npos) << text;
  EXPECT_NE(text.find("setcap cap_net_raw,cap_net_admin=eip " + binary), std::string::npos)
      << text;
  EXPECT_EQ(e2e::read_file(out), "");
}

TEST(CaptureCmd, SigintLeavesACompletePcapngMatchingTheAnnotations) {
  REQUIRE_CAPTURE();
  const std::string dir = sockscope::testing::temp_dir("capture-sigint-" + std::to_string(getpid()));
  const std::string file = dir + "/live.pcapng";
  const std::uint16_t port = e2e::free_port(SOCK_STREAM, AF_INET);
  ASSERT_NE(port, 0);
  Background bg(dir);
  ASSERT_TRUE(bg.start({"capture", "-i", "lo", "--port", std::to_string(port), "-w", file, "--json"}));
  ASSERT_TRUE(bg.wait_capturing()) << bg.err();
  ASSERT_TRUE(tcp_conversation(port));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  bg.signal(SIGINT);
  ASSERT_EQ(bg.wait(), 0) << bg.err();

  const auto live = parse(bg.out());
  const auto packets = e2e::of_type(live, "packet");
  ASSERT_GE(packets.size(), 9u) << bg.out();
  EXPECT_TRUE(e2e::has_event(*packets[0], "handshake-1"));
  EXPECT_TRUE(e2e::has_event(*packets[1], "handshake-2"));
  EXPECT_TRUE(e2e::has_event(*packets[2], "handshake-3"));
  EXPECT_EQ(e2e::of_type(live, "conn").size(), 1u) << "the summary is printed at Ctrl-C";

  const std::string n = std::to_string(packets.size());
  EXPECT_EQ(last_line(bg.err()), n + " packets captured, 0 dropped by the kernel, " + n + " saved to " + file);
  EXPECT_EQ(e2e::count_frames(file), packets.size());
  std::vector<std::string> entries;
  for (const auto& e : std::filesystem::directory_iterator(dir)) entries.push_back(e.path().filename().string());
  for (const auto& e : entries) EXPECT_EQ(e.find(".partial"), std::string::npos) << "left behind: " << e;

  // The file, read again, says exactly what was shown live.
  const e2e::RunResult again = e2e::sockscope({"annotate", "--json", file});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(comparable_lines(parse(again.out)), comparable_lines(live));

  if (e2e::have_tool("tshark")) {
    const auto comments = tshark_comments(file);
    ASSERT_EQ(comments.size(), packets.size());
    for (std::size_t i = 0; i < packets.size(); ++i)
      EXPECT_EQ(comments[i], (*packets[i])["text"].str()) << "frame " << i + 1;
  } else {
    E2E_REQUIRE(false, "tshark is not installed (apt-get install tshark)");
  }
}

TEST(CaptureCmd, CountStopsAndPcapReadsBackWithTheSameEvents) {
  REQUIRE_CAPTURE();
  const std::string dir = sockscope::testing::temp_dir("capture-count-" + std::to_string(getpid()));
  const std::string file = dir + "/live.pcap";
  const std::uint16_t port = e2e::free_port(SOCK_STREAM, AF_INET);
  Background bg(dir);
  ASSERT_TRUE(bg.start({"capture", "--port", std::to_string(port), "-w", file, "--json", "--count", "5"}));
  ASSERT_TRUE(bg.wait_capturing()) << bg.err();
  ASSERT_TRUE(tcp_conversation(port));
  ASSERT_EQ(bg.wait(), 0) << "--count ends the run by itself: " << bg.err();
  const auto live = parse(bg.out());
  const auto packets = e2e::of_type(live, "packet");
  ASSERT_EQ(packets.size(), 5u);
  EXPECT_EQ(last_line(bg.err()), "5 packets captured, 0 dropped by the kernel, 5 saved to " + file);
  const e2e::RunResult again = e2e::sockscope({"annotate", "--json", file});
  ASSERT_EQ(again.status, 0) << again.err;
  const auto back = parse(again.out);
  const auto back_packets = e2e::of_type(back, "packet");
  ASSERT_EQ(back_packets.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(e2e::events_of(*back_packets[i]), e2e::events_of(*packets[i])) << "frame " << i + 1;
    EXPECT_EQ((*back_packets[i])["ts"].text, (*packets[i])["ts"].text) << "nanosecond timestamps kept";
  }
}

// Started through sudo (SUDO_UID/SUDO_GID set), the capture keeps working as the invoking user and
// the saved file is theirs; a folder only root may write is refused with one line, before capturing.
TEST(CaptureCmd, UnderSudoRunsAsTheInvokingUser) {
  REQUIRE_CAPTURE();
  E2E_REQUIRE(geteuid() == 0, "dropping to the sudo user needs root");
  // The invoking user must reach the folder, wherever the clone is (/root is mode 700).
  const std::string dir = sockscope::testing::shared_temp_dir("capture-sudo-" + std::to_string(getpid()));
  const std::string mine = dir + "/nobody";
  std::filesystem::create_directory(mine);
  ASSERT_EQ(chown(mine.c_str(), 65534, 65534), 0);
  const std::vector<std::pair<std::string, std::string>> env = {{"SUDO_UID", "65534"}, {"SUDO_GID", "65534"}};
  const std::uint16_t port = e2e::free_port(SOCK_STREAM, AF_INET);
  {
    Background bg(dir);
    ASSERT_TRUE(bg.start({"capture", "--port", std::to_string(port), "-w", mine + "/live.pcapng", "--count", "3",
                          "--summary"},
                         env));
    ASSERT_TRUE(bg.wait_capturing()) << bg.err();
    ASSERT_TRUE(tcp_conversation(port));
    ASSERT_EQ(bg.wait(), 0) << bg.err();
    EXPECT_EQ(last_line(bg.err()), "3 packets captured, 0 dropped by the kernel, 3 saved to " + mine + "/live.pcapng");
    struct stat st {};
    ASSERT_EQ(stat((mine + "/live.pcapng").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 65534u) << "the file belongs to the invoking user";
    EXPECT_EQ(e2e::count_frames(mine + "/live.pcapng"), 3u);
  }
  const e2e::RunResult r = e2e::run({"env", "SUDO_UID=65534", "SUDO_GID=65534", SOCKSCOPE_BINARY, "capture",
                                     "--port", "9", "-w", dir + "/root-only.pcap", "--count", "1"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("no permission to write in " + dir), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/root-only.pcap"));
}

TEST(CaptureCmd, DurationEndsAQuietRun) {
  REQUIRE_CAPTURE();
  const std::string dir = sockscope::testing::temp_dir("capture-duration-" + std::to_string(getpid()));
  Background bg(dir);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(bg.start({"capture", "--filter", "udp port 9 and host 127.0.0.254", "--duration", "0.3"}));
  EXPECT_EQ(bg.wait(), 0) << bg.err();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  EXPECT_EQ(last_line(bg.err()), "0 packets captured, 0 dropped by the kernel");
}

TEST(CaptureCmd, UnwritablePathFailsWithOneLineAndNoFile) {
  REQUIRE_CAPTURE();
  const std::string dir = sockscope::testing::temp_dir("capture-unwritable-" + std::to_string(getpid()));
  for (const std::string& path : {dir + "/missing/live.pcapng", std::string("/proc/live.pcap"), dir}) {
    const e2e::RunResult r = e2e::sockscope({"capture", "--port", "9", "-w", path, "--count", "1"});
    EXPECT_EQ(r.status, 1) << path << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir)) << "no stray partial file";
}

TEST(CaptureCmd, UnknownInterfaceFailsWithOneLine) {
  REQUIRE_CAPTURE();
  const e2e::RunResult r = e2e::sockscope({"capture", "-i", "nosuch0", "--count", "1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("nosuch0"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
