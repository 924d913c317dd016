// `sockscope chat tcp-server` as a child process, for the tests that measure it: its memory is its
// own (VmRSS and VmHWM in /proc/PID/status, ru_maxrss from wait4), not mixed with the test's.
#pragma once
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "paths.hpp"

extern char** environ;

namespace chat_proc {

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Raises this process's soft RLIMIT_NOFILE to at least want (up to the hard limit); true if it is
// at least want now. Children inherit it.
inline bool raise_fd_limit(rlim_t want) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return false;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want) ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want;
}

class ServerProc {
 public:
  ServerProc() = default;
  ServerProc(const ServerProc&) = delete;
  ServerProc& operator=(const ServerProc&) = delete;
  ~ServerProc() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // Starts `sockscope chat tcp-server --port 0 ARGS` with stdout and stderr in files under a fresh
  // folder named name, and waits (up to 5 s) for its "listening on ADDRESS:PORT" line. wrapper: a
  // command that runs it (found on PATH), e.g. {"prlimit", "--nofile=100:100", "--"}.
  bool start(const std::string& name, const std::vector<std::string>& args,
             const std::vector<std::string>& wrapper = {}) {
    const std::string dir = sockscope::testing::temp_dir(name);
    out_path_ = dir + "/server.out";
    err_path_ = dir + "/server.err";
    std::vector<std::string> argv = wrapper;
    for (const std::string& a : {sockscope::testing::build_dir() + "/sockscope", std::string("chat"),
                                 std::string("tcp-server"), std::string("--port"), std::string("0")})
      argv.push_back(a);
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargs;
    for (auto& a : argv) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    // The server's notices are read by the tests: in English whatever the machine's language.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string kv = *e;
      if (kv.rfind("LANGUAGE=", 0) == 0 || kv.rfind("LC_ALL=", 0) == 0 || kv.rfind("LC_MESSAGES=", 0) == 0) continue;
      env_strings.push_back(kv);
    }
    env_strings.push_back("LC_ALL=C.UTF-8");
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer keeps freed memory aside (256 MiB by default) to catch use after free: the
    // server's resident size would measure that quarantine, not what the server holds. A small one
    // still catches a use right after a free.
    std::string asan = "ASAN_OPTIONS=";
    for (auto it = env_strings.begin(); it != env_strings.end(); ++it)
      if (it->rfind(asan, 0) == 0) {
        asan = *it + ":";
        env_strings.erase(it);
        break;
      }
    env_strings.push_back(asan + "quarantine_size_mb=1");
#endif
    std::vector<char*> envp;
    for (auto& kv : env_strings) envp.push_back(kv.data());
    envp.push_back(nullptr);
    const int rc = posix_spawnp(&pid_, cargs[0], &fa, nullptr, cargs.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      pid_ = -1;
      return false;
    }
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < end) {
      const std::string o = out();
      const std::size_t at = o.find("listening on ");
      const std::size_t nl = at == std::string::npos ? at : o.find('\n', at);
      if (nl != std::string::npos) {
        const std::size_t colon = o.rfind(':', nl);
        port_ = static_cast<std::uint16_t>(std::atoi(o.c_str() + colon + 1));
        return port_ != 0;
      }
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string out() const { return slurp(out_path_); }
  std::string err() const { return slurp(err_path_); }

  // A "VmRSS" or "VmHWM" line of /proc/PID/status, in KiB (-1 when the process is gone).
  long status_kib(const char* key) const {
    std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    const std::string k = std::string(key) + ":";
    while (std::getline(f, line))
      if (line.rfind(k, 0) == 0) return std::atol(line.c_str() + k.size());
    return -1;
  }

  // Waits (bounded, every 10 ms) until the server's standard output holds text.
  bool wait_out(const std::string& text, int ms) const {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    do {
      if (out().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } while (std::chrono::steady_clock::now() < end);
    return out().find(text) != std::string::npos;
  }

  // SIGTERM (the server closes every socket and ends), waits up to 60 s (then SIGKILL: on a busy
  // machine a server closing a thousand connections takes seconds; a hung one is still caught). Returns the
  // exit status (-1 killed); max_rss_kib gets the child's peak resident size (getrusage(2)).
  int stop(long* max_rss_kib = nullptr) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int st = 0;
    rusage ru{};
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    pid_t got = 0;
    while ((got = ::wait4(pid_, &st, WNOHANG, &ru)) == 0 && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (got != pid_) {
      ::kill(pid_, SIGKILL);
      ::wait4(pid_, &st, 0, &ru);
    }
    pid_ = -1;
    if (max_rss_kib != nullptr) *max_rss_kib = ru.ru_maxrss;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string out_path_, err_path_;
};

}  // namespace chat_proc
