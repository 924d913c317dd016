// Helpers for the end-to-end tests: run the sockscope binary, read its JSON lines, and record real
// loopback traffic with tcpdump while the scripted exchange runs.
#pragma once
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "json.hpp"
#include "paths.hpp"
#include "pcap_writer.hpp"
#include "sockscope/pcap/pcap_source.hpp"

extern char** environ;

namespace e2e {

inline bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// A test that needs root or a tool: skipped on a developer's machine, a failure in CI (where root
// and the tools are part of the contract).
#define E2E_REQUIRE(cond, why)                   \
  do {                                           \
    if (!(cond)) {                               \
      if (::e2e::in_ci()) FAIL() << (why);       \
      GTEST_SKIP() << (why);                     \
    }                                            \
  } while (0)

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void write_file(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

inline bool have_tool(const std::string& name) {
  const std::string cmd = "command -v " + name + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

struct RunResult {
  int status = -1;  // exit status, or 128 + signal
  std::string out, err;
};

// Runs argv[0] (looked up in PATH) with stdin from stdin_path, capturing stdout and stderr.
inline RunResult run(const std::vector<std::string>& argv, const std::string& stdin_path = "/dev/null") {
  static int counter = 0;
  const std::string dir = sockscope::testing::temp_dir("run-" + std::to_string(getpid()) + "-" +
                                                       std::to_string(++counter));
  const std::string out_path = dir + "/stdout", err_path = dir + "/stderr";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, stdin_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  RunResult r;
  pid_t pid = -1;
  if (posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    r.err = "cannot start " + argv[0];
    return r;
  }
  posix_spawn_file_actions_destroy(&fa);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return r;
}

inline RunResult sockscope(std::vector<std::string> args, const std::string& stdin_path = "/dev/null") {
  args.insert(args.begin(), SOCKSCOPE_BINARY);
  return run(args, stdin_path);
}

// Parses JSON lines; every non-empty line must be one JSON object.
inline std::vector<Json> json_lines(const std::string& text, std::string& error) {
  std::vector<Json> out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    Json j;
    JsonParser p(line);
    if (!p.parse(j) || j.kind != Json::Kind::Object) {
      if (error.empty()) error = "line " + std::to_string(n) + ": " + p.error() + ": " + line;
      continue;
    }
    out.push_back(std::move(j));
  }
  return out;
}

inline std::vector<const Json*> of_type(const std::vector<Json>& lines, const std::string& type) {
  std::vector<const Json*> out;
  for (const Json& j : lines)
    if (j["type"].str() == type) out.push_back(&j);
  return out;
}

inline bool has_event(const Json& packet, const std::string& word) {
  for (const Json& e : packet["events"].items)
    if (e.str() == word) return true;
  return false;
}

inline std::string events_of(const Json& packet) {
  std::string s;
  for (const Json& e : packet["events"].items) s += (s.empty() ? "" : ",") + e.str();
  return s;
}

// The part of a line that must not depend on how the traffic was captured: everything but the
// timestamp and the layer breakdown (link headers differ by design).
inline std::string comparable(const Json& line) {
  Json copy;
  copy.kind = Json::Kind::Object;
  for (const auto& [k, v] : line.members)
    if (k != "ts" && k != "layers") copy.members.emplace_back(k, v);
  return copy.dump();
}

// Frames readable from a capture file (stops quietly at a partly written last frame).
inline std::uint64_t count_frames(const std::string& path) {
  std::string err;
  auto src = sockscope::PcapSource::open(path, "", err);
  if (!src) return 0;
  sockscope::Frame f;
  std::uint64_t n = 0;
  while (src->next(f) == sockscope::ReadResult::Frame) ++n;
  return n;
}

// Reads every frame of a capture (for rewriting it into another form).
inline bool read_records(const std::string& path, std::vector<sockscope::testing::PcapRecord>& out,
                         std::uint32_t& linktype) {
  std::string err;
  auto src = sockscope::PcapSource::open(path, "", err);
  if (!src) return false;
  linktype = src->linktype();
  sockscope::Frame f;
  sockscope::ReadResult r;
  while ((r = src->next(f)) == sockscope::ReadResult::Frame) {
    sockscope::testing::PcapRecord rec;
    rec.ts = f.ts;
    rec.data.assign(f.data, f.data + f.caplen);
    rec.wirelen = f.wirelen;
    out.push_back(std::move(rec));
  }
  return r == sockscope::ReadResult::End;
}

// A free port of the given type on loopback (the kernel picks one; we release it for the exchange).
inline std::uint16_t free_port(int type, int family) {
  const int fd = socket(family, type, 0);
  if (fd < 0) return 0;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(sockaddr_in);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    len = sizeof(sockaddr_in6);
  }
  std::uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
    port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                   : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  close(fd);
  return port;
}

// tcpdump in the background, writing a capture file.
class Tcpdump {
 public:
  Tcpdump() = default;
  Tcpdump(const Tcpdump&) = delete;
  Tcpdump& operator=(const Tcpdump&) = delete;
  ~Tcpdump() { stop(); }

  // extra: e.g. {"-i", "lo"} or {"-i", "any", "-y", "LINUX_SLL2"}.
  bool start(const std::vector<std::string>& extra, const std::string& filter, const std::string& path) {
    path_ = path;
    err_path_ = path + ".stderr";
    // -U: a packet is written as soon as it arrives; --immediate-mode with a large buffer (-B, KiB):
    // packets are delivered at once and a burst on "any" is not dropped; -Z root: keep the rights
    // to write the file where the test asks.
    std::vector<std::string> argv = {"tcpdump", "-U", "--immediate-mode", "-B", "16384", "-Z", "root",
                                     "-w", path};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(filter);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = posix_spawnp(&pid_, "tcpdump", &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      pid_ = -1;
      return false;
    }
    return true;
  }

  // tcpdump says "listening on" once the capture and its filter are in place.
  bool wait_listening(std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (stderr_text().find("listening on") != std::string::npos) return true;
      int st = 0;
      if (pid_ < 0 || waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  // Waits until the file holds at least min_frames and has not grown for a moment.
  void wait_frames(std::uint64_t min_frames, std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    std::uint64_t last = 0;
    int stable = 0;
    while (std::chrono::steady_clock::now() < end) {
      const std::uint64_t n = count_frames(path_);
      stable = (n == last) ? stable + 1 : 0;
      last = n;
      if (n >= min_frames && stable >= 10) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // Stops tcpdump as Ctrl-C would: it flushes and closes the file.
  void stop() {
    if (pid_ < 0) return;
    kill(pid_, SIGINT);
    int st = 0;
    for (int i = 0; i < 300; ++i) {
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &st, 0);
    pid_ = -1;
  }

  std::string stderr_text() const { return read_file(err_path_); }

 private:
  pid_t pid_ = -1;
  std::string path_, err_path_;
};

}  // namespace e2e
