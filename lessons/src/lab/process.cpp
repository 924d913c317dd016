// The lab's child processes: iproute2 (ip(8), tc(8)) and nftables (nft(8)) run with fixed argument
// vectors, in a network namespace when asked, bounded in time; no shell ever sees a value, and the
// tool's own message on standard error becomes the one-line error the learner reads.
#include "lab_internal.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>

#include "sockscope/text/i18n.hpp"
#include "sockscope/text/json.hpp"

#include "sockscope/text/format.hpp"

namespace sockscope::lab::detail {

// The first non-empty line of a tool's message, without trailing blanks (one-line errors).
std::string first_line(const std::string& s) {
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    std::string line = s.substr(start, end - start);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t')) line.pop_back();
    if (!line.empty()) return line;
    start = end + 1;
  }
  return {};
}

// The tools are looked up in fixed places, not in PATH: this code runs as root.
std::string find_tool(const char* name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    std::string p = std::string(dir) + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

bool netns_exists(const char* ns) {
  struct stat st {};
  return stat((std::string("/run/netns/") + ns).c_str(), &st) == 0;
}

// An interface of this name in the calling thread's network namespace (if_nametoindex asks through a
// socket, and a socket belongs to the namespace of the thread that made it).
bool iface_here(const char* name) { return if_nametoindex(name) != 0; }

// Makes fd number `to` a copy of `from` that survives exec. Async-signal-safe (for the forked child).
void move_fd(int from, int to) {
  if (from == to)
    fcntl(to, F_SETFD, 0);  // dup2 onto itself would keep FD_CLOEXEC
  else
    dup2(from, to);
}

// Runs argv (argv[0] a full path) in network namespace `ns` (nullptr: the calling thread's), with
// `input` on its standard input, and collects its output. Bounded: a tool that hangs is killed after
// timeout_ms. Between fork and exec the child makes only async-signal-safe calls (signal-safety(7)):
// the parent may have other threads.
Output run(const std::vector<std::string>& argv, const char* ns, const std::string& input, int timeout_ms) {
  Output r;
  if (argv.empty() || argv[0].empty()) {
    r.err = tr("no program was named");
    return r;
  }
  int ns_fd = -1;
  if (ns != nullptr) {
    ns_fd = open((std::string("/run/netns/") + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (ns_fd < 0) {
      r.err = text::format(tr("cannot open /run/netns/%1$s: %2$s"), ns, std::strerror(errno));
      return r;
    }
  }
  // The input fits the pipe's buffer (a ruleset is a few hundred bytes; pipe(7): 64 KiB), so it is
  // written before the child exists: no SIGPIPE if the tool exits without reading it.
  int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {in_p, out_p, err_p})
      for (int i = 0; i < 2; ++i)
        if (p[i] >= 0) {
          close(p[i]);
          p[i] = -1;
        }
    if (ns_fd >= 0) close(ns_fd);
    ns_fd = -1;
  };
  if (input.size() > 60000) {
    r.err = tr("the input is too long for a pipe");
    if (ns_fd >= 0) close(ns_fd);
    return r;
  }
  if (pipe2(in_p, O_CLOEXEC) != 0 || pipe2(out_p, O_CLOEXEC) != 0 || pipe2(err_p, O_CLOEXEC) != 0) {
    r.err = text::format(tr("cannot make a pipe: %s"), std::strerror(errno));
    close_all();
    return r;
  }
  for (std::size_t done = 0; done < input.size();) {
    const ssize_t n = write(in_p[1], input.data() + done, input.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  close(in_p[1]);
  in_p[1] = -1;

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // A fixed environment: messages in English and the same on every machine (they are parsed), and no
  // PATH or loader variables from the caller reach a program run as root.
  static char env_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  static char env_lang[] = "LC_ALL=C";
  char* envp[] = {env_path, env_lang, nullptr};
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) {
    r.err = text::format(tr("cannot start %1$s: %2$s"), argv[0].c_str(), std::strerror(errno));
    close_all();
    return r;
  }
  if (pid == 0) {
    // If this process dies while the tool runs, the tool dies too (prctl(2) PR_SET_PDEATHSIG): no
    // `ip link add` finishing after a watchdog removed the lab.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    if (ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) != 0) _exit(126);
    move_fd(in_p[0], 0);
    move_fd(out_p[1], 1);
    move_fd(err_p[1], 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(args[0], args.data(), envp);
    _exit(127);
  }
  close(in_p[0]);
  in_p[0] = -1;
  close(out_p[1]);
  out_p[1] = -1;
  close(err_p[1]);
  err_p[1] = -1;
  if (ns_fd >= 0) close(ns_fd);
  ns_fd = -1;

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool timed_out = false;
  pollfd fds[2] = {{out_p[0], POLLIN, 0}, {err_p[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    const int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        if (sinks[i]->size() < (1u << 20)) sinks[i]->append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  if (timed_out) kill(pid, SIGKILL);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  close_all();
  if (timed_out) {
    r.err = text::format(tr("did not finish within %d s and was stopped"), timeout_ms / 1000);
  } else if (WIFEXITED(st)) {
    r.status = WEXITSTATUS(st);
    r.ran = r.status != 126 && r.status != 127;
    if (r.status == 126 && r.err.empty()) r.err = text::format(tr("cannot enter the network namespace %s"), ns ? ns : "");
    if (r.status == 127 && r.err.empty()) r.err = text::format(tr("cannot run %s"), argv[0].c_str());
  } else if (WIFSIGNALED(st)) {
    r.err = text::format(tr("ended by signal %d"), WTERMSIG(st));
  }
  return r;
}

// "ip -n sockscope-client addr add ..." for messages: the program's name, not its full path.
std::string shown(const std::vector<std::string>& argv, const char* ns) {
  std::string s;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (i) s += ' ';
    s += i == 0 ? argv[0].substr(argv[0].find_last_of('/') + 1) : argv[i];
  }
  if (ns != nullptr) s += text::format(tr(" (in %s)"), ns);
  return s;
}

// Runs a step of the lab's construction; on failure sets `error` to one line: the command, the tool's
// own words, and what to do.
bool step(const std::vector<std::string>& argv, std::string& error, const char* ns, const std::string& input) {
  const Output o = run(argv, ns, input);
  if (o.ok()) return true;
  std::string why = first_line(o.err);
  if (why.empty()) why = first_line(o.out);
  if (why.empty()) why = text::format(tr("exit status %d"), o.status);
  error = text::format(tr("`%1$s` failed: %2$s"), shown(argv, ns).c_str(), why.c_str());
  return false;
}

}  // namespace sockscope::lab::detail
