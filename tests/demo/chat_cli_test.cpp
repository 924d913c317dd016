// `sockscope chat` as a learner runs it: two processes, a server that prints the port it listens on,
// a client driven by --say or by lines on a pipe, calls on stderr, messages on stdout, Q to quit.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "paths.hpp"

extern char** environ;

namespace {

std::string binary() { return sockscope::testing::build_dir() + "/sockscope"; }

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A sockscope process with pipes to its stdin and from its stdout, and stderr in a file.
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
    if (out_fd_ >= 0) ::close(out_fd_);
  }

  bool start(const std::vector<std::string>& args, const std::string& err_path) {
    std::vector<std::string> argv = {binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return start_program(argv, err_path);
  }

  // Any program: argv[0] is its path.
  bool start_program(std::vector<std::string> argv, const std::string& err_path) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return false;
    if (::pipe2(out, O_CLOEXEC) != 0) return false;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> cargs;
    for (auto& a : argv) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    const int rc = posix_spawn(&pid_, cargs[0], &fa, nullptr, cargs.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    in_fd_ = in[1];
    out_fd_ = out[0];
    err_path_ = err_path;
    if (rc != 0) pid_ = -1;
    return rc == 0;
  }

  bool write_stdin(const std::string& s) {
    return ::write(in_fd_, s.data(), s.size()) == static_cast<ssize_t>(s.size());
  }
  void close_stdin() {
    if (in_fd_ >= 0) ::close(in_fd_);
    in_fd_ = -1;
  }

  // Reads stdout until it holds needle; false after timeout_ms or at its end without it.
  bool wait_for(const std::string& needle, int timeout_ms) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (text_.find(needle) == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
      if (left <= 0) return false;
      pollfd p{out_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      if (!read_some()) return text_.find(needle) != std::string::npos;
    }
    return true;
  }

  // Waits for the exit (bounded): the exit status, or -1 when it did not end in time.
  int wait_exit(int timeout_ms) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    int st = 0;
    while (std::chrono::steady_clock::now() < end) {
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        while (read_some()) {
        }
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return -1;
  }

  void signal(int sig) { ::kill(pid_, sig); }
  const std::string& out() const { return text_; }
  std::string err() const { return slurp(err_path_); }

 private:
  bool read_some() {
    char buf[4096];
    const ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    text_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int in_fd_ = -1, out_fd_ = -1;
  std::string text_, err_path_;
};

class ChatCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(binary())) FAIL() << binary() << " is missing: build the sockscope target first";
    dir_ = sockscope::testing::temp_dir("chat-cli-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  std::string path(const char* name) const { return dir_ + "/" + name; }

  // Starts a server on a port the kernel picks and returns that port (0 on failure).
  unsigned start_server(Proc& p, std::vector<std::string> extra) {
    std::vector<std::string> args = {"chat", "tcp-server", "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    if (!p.start(args, path("server.err"))) return 0;
    if (!p.wait_for("\n", 1500)) return 0;
    const std::string first = p.out().substr(0, p.out().find('\n'));
    const std::string prefix = "listening on 127.0.0.1:";
    if (first.rfind(prefix, 0) != 0) return 0;
    return static_cast<unsigned>(std::stoul(first.substr(prefix.size())));
  }

  std::string dir_;
};

TEST_F(ChatCli, ServerAndClientWithSayLines) {
  Proc server;
  const unsigned port = start_server(server, {"--reply", "--say", "hi there", "--say", "see you"});
  ASSERT_NE(port, 0u) << server.out() << server.err();

  Proc client;
  ASSERT_TRUE(client.start({"chat", "tcp-client", "--port", std::to_string(port), "--say", "hello", "--say", "bye",
                            "--gap-ms", "20"},
                           path("client.err")));
  client.close_stdin();
  EXPECT_EQ(client.wait_exit(1500), 0) << client.err();
  // The server sees the client leave; Ctrl-C then ends it, closing its listening socket.
  EXPECT_TRUE(server.wait_for("left", 1000)) << server.out();
  server.signal(SIGINT);
  EXPECT_EQ(server.wait_exit(1500), 0);

  const std::string cerr = client.err();
  const std::string p = std::to_string(port);
  EXPECT_NE(cerr.find("client  socket(AF_INET, SOCK_STREAM) = "), std::string::npos) << cerr;
  EXPECT_NE(cerr.find("client  connect(127.0.0.1:" + p + ") = 0  [kernel: ESTABLISHED]"), std::string::npos) << cerr;
  EXPECT_NE(cerr.find("client  send(\"hello\\n\", MSG_NOSIGNAL) = 6"), std::string::npos) << cerr;
  EXPECT_NE(cerr.find("client  close() = 0"), std::string::npos) << cerr;
  EXPECT_NE(client.out().find("hi there"), std::string::npos) << client.out();
  EXPECT_NE(client.out().find("see you"), std::string::npos) << client.out();

  const std::string serr = server.err();
  EXPECT_NE(serr.find("server  listen(16) = 0  [kernel: LISTEN]"), std::string::npos) << serr;
  EXPECT_NE(serr.find("server  accept() = "), std::string::npos) << serr;
  EXPECT_NE(serr.find(" from 127.0.0.1:"), std::string::npos) << serr;
  EXPECT_NE(serr.find("server  recv() = 0"), std::string::npos) << serr;
  EXPECT_NE(serr.find("[kernel: CLOSE-WAIT]"), std::string::npos) << serr;
  // The listening socket's close() on Ctrl-C is the last line.
  EXPECT_NE(serr.rfind("server  close() = 0  [kernel: CLOSED]"), std::string::npos) << serr;
  EXPECT_NE(server.out().find("] hello"), std::string::npos) << server.out();
}

TEST_F(ChatCli, LinesFromPipesAndQOnTheServer) {
  Proc server;
  const unsigned port = start_server(server, {});
  ASSERT_NE(port, 0u) << server.out() << server.err();
  Proc client;
  ASSERT_TRUE(client.start({"chat", "tcp-client", "--port", std::to_string(port), "--quiet"}, path("client.err")));
  ASSERT_TRUE(server.wait_for("joined", 1500)) << server.out();
  // The server's typed line goes to the client.
  ASSERT_TRUE(server.write_stdin("hi from the server\n"));
  ASSERT_TRUE(client.wait_for("hi from the server", 1500)) << client.out();
  // The client's lines go to the server; the end of its input ends the chat.
  ASSERT_TRUE(client.write_stdin("hello\nworld\n"));
  client.close_stdin();
  EXPECT_EQ(client.wait_exit(1500), 0);
  EXPECT_TRUE(server.wait_for("] world", 1500)) << server.out();
  EXPECT_NE(server.out().find("] hello"), std::string::npos);
  EXPECT_EQ(client.err(), "");  // --quiet
  // Q alone ends the server.
  ASSERT_TRUE(server.write_stdin("Q\n"));
  EXPECT_EQ(server.wait_exit(1500), 0) << server.err();
}

TEST_F(ChatCli, UdpPair) {
  Proc server;
  ASSERT_TRUE(server.start({"chat", "udp-server", "--port", "0", "--reply", "--say", "pong"}, path("server.err")));
  ASSERT_TRUE(server.wait_for("\n", 1500));
  const std::string prefix = "listening on 127.0.0.1:";
  ASSERT_EQ(server.out().rfind(prefix, 0), 0u) << server.out();
  const std::string port = server.out().substr(prefix.size(), server.out().find('\n') - prefix.size());
  Proc client;
  ASSERT_TRUE(client.start({"chat", "udp-client", "--port", port, "--say", "ping"}, path("client.err")));
  client.close_stdin();
  EXPECT_EQ(client.wait_exit(1500), 0);
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(1500), 0);
  EXPECT_NE(client.err().find("client  sendto(\"ping\", 127.0.0.1:" + port + ") = 4"), std::string::npos) << client.err();
  EXPECT_NE(client.err().find("client  recvfrom() = 4 \"pong\" from 127.0.0.1:" + port), std::string::npos) << client.err();
  EXPECT_NE(client.out().find("pong"), std::string::npos);
}

// --framing recv: sockscope's chat and a tutorial-style program (demo/python: each recv() is one
// message, no newline sent, turn by turn) understand each other in both directions.
TEST_F(ChatCli, RecvFramingTalksWithTutorialStylePrograms) {
  const std::string py = sockscope::testing::source_dir() + "/demo/python/";
  {
    Proc server;
    const unsigned port = start_server(server, {"--framing", "recv", "--reply", "--say", "hello from sockscope",
                                                "--say", "second answer"});
    ASSERT_NE(port, 0u) << server.out() << server.err();
    Proc client;
    ASSERT_TRUE(client.start_program({"/usr/bin/env", "python3", py + "tcp_client.py", "127.0.0.1",
                                      std::to_string(port)},
                                     path("pyclient.err")));
    ASSERT_TRUE(client.write_stdin("hi there\nhow are you\nQ\n"));
    client.close_stdin();
    EXPECT_EQ(client.wait_exit(30000), 0) << client.err();
    EXPECT_NE(client.out().find("server: hello from sockscope\n"), std::string::npos) << client.out();
    EXPECT_NE(client.out().find("server: second answer\n"), std::string::npos) << client.out();
    ASSERT_TRUE(server.wait_for("] how are you\n", 30000)) << server.out();
    // The server says once what the framing assumes.
    EXPECT_NE(server.out().find("TCP is a byte stream"), std::string::npos) << server.out();
    server.signal(SIGINT);
    EXPECT_EQ(server.wait_exit(30000), 0);
    // Sent as the tutorial's programs send: no newline.
    EXPECT_NE(server.err().find("send(\"hello from sockscope\", MSG_DONTWAIT|MSG_NOSIGNAL) = 20"), std::string::npos)
        << server.err();
  }
  {
    Proc server;
    ASSERT_TRUE(server.start_program({"/usr/bin/env", "python3", py + "tcp_server.py", "127.0.0.1", "0"},
                                     path("pyserver.err")));
    ASSERT_TRUE(server.write_stdin("welcome\nbye now\n"));
    ASSERT_TRUE(server.wait_for("\n", 30000)) << server.err();
    const std::string first = server.out().substr(0, server.out().find('\n'));
    const std::string port = first.substr(first.rfind(' ') + 1);
    Proc client;
    ASSERT_TRUE(client.start({"chat", "tcp-client", "--port", port, "--framing", "recv", "--say", "hello", "--say",
                              "again"},
                             path("client.err")));
    client.close_stdin();
    ASSERT_TRUE(client.wait_for("bye now\n", 30000)) << client.out() << client.err();
    EXPECT_EQ(client.wait_exit(30000), 0) << client.err();
    EXPECT_NE(client.out().find("welcome\n"), std::string::npos) << client.out();
    EXPECT_EQ(server.wait_exit(30000), 0) << server.err();
    EXPECT_NE(server.out().find("client: hello\n"), std::string::npos) << server.out();
    EXPECT_NE(server.out().find("client: again\n"), std::string::npos) << server.out();
  }
  // UDP has no use for it.
  Proc bad;
  ASSERT_TRUE(bad.start({"chat", "udp-client", "--framing", "recv"}, path("bad.err")));
  EXPECT_EQ(bad.wait_exit(30000), 2);
  EXPECT_NE(bad.err().find("--framing is for TCP"), std::string::npos) << bad.err();
}

TEST_F(ChatCli, RefusedConnectAndBadUsage) {
  Proc client;
  // Port 1 on loopback: nothing listens there on a test machine.
  ASSERT_TRUE(client.start({"chat", "tcp-client", "--port", "1", "--say", "x"}, path("client.err")));
  EXPECT_EQ(client.wait_exit(1500), 1);
  EXPECT_NE(client.err().find("client  connect(127.0.0.1:1) = -1 ECONNREFUSED"), std::string::npos) << client.err();
  EXPECT_NE(client.out().find("connection refused"), std::string::npos) << client.out();

  Proc bad;
  ASSERT_TRUE(bad.start({"chat", "tcp-sever"}, path("bad.err")));
  EXPECT_EQ(bad.wait_exit(1500), 2);
  EXPECT_NE(bad.err().find("tcp-sever"), std::string::npos) << bad.err();
}

}  // namespace
