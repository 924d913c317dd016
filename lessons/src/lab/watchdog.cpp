// The lab's lock and a guard's watchdog (lab.hpp, Guard): one lab on the machine at a time, and a
// lab that goes away however the program that built it ends.
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

namespace sockscope::lab {
namespace detail {

// One lab on the machine, so one user at a time: an exclusive flock(2) on this file while a lab is
// built or removed, and for the whole life of a guard (held by its watchdog, so it is released only
// once the lab is gone). Another lesson started meanwhile waits, then says who holds the lab.
constexpr const char* kLockPath = "/run/sockscope-lab.lock";

// Returns the locked file's descriptor (close it to unlock), or -1 with `error` set.
int lock_lab(int wait_ms, std::string& error) {
  int fd = open(kLockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    error = text::format(tr("cannot open %1$s: %2$s"), kLockPath, std::strerror(errno));
    return -1;
  }
  if (fd < 3) {  // keep 0..2 free for the watchdog's standard streams
    const int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    fd = high;
    if (fd < 0) {
      error = text::format(tr("cannot open %1$s: %2$s"), kLockPath, std::strerror(errno));
      return -1;
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      error = text::format(tr("cannot lock %1$s: %2$s"), kLockPath, std::strerror(errno));
      close(fd);
      return -1;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      char holder[32] = "";
      const ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
      holder[n > 0 ? n : 0] = '\0';
      holder[std::strcspn(holder, "\n")] = '\0';
      error = text::format(tr("the lab is in use by another sockscope run (process %s: a lesson or a comparison); "
                        "wait for it to end and try again"),
                     holder[0] ? holder : "?");
      close(fd);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) == 0 && pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // Only the message of a later waiter would lack the process number.
  }
  return fd;
}

}  // namespace detail

namespace {
constexpr int kGuardLockWaitMs = 60000;  // a guard waits for the lesson before it
}  // namespace

using namespace detail;

Guard::~Guard() {
  std::string ignored;
  down(ignored);
}

UpResult Guard::up(const LabOptions& opts, std::string& error) {
  error.clear();
  if (active()) {
    error = tr("this guard already holds a lab (one guard at a time)");
    return UpResult::Failed;
  }
  if (!may_build(opts, error)) return UpResult::Failed;
  const std::string ip = find_tool("ip");
  if (ip.empty()) {
    error = tr("the ip command (iproute2) is not installed: install the iproute2 package");
    return UpResult::Failed;
  }
  // The watchdog starts before the lab is built, so an interruption while it is being built is
  // cleaned up as well. Everything it needs is prepared here: after fork, the child makes only
  // async-signal-safe calls.
  const std::string script =
      "trap '' INT TERM HUP\n"
      "cat >/dev/null\n" +  // returns at end-of-file: every copy of the write end is closed
      ip + " netns del " + kClientNs + "\n" + ip + " netns del " + kServerNs + "\n" + ip + " link del dev " +
      kClientIf + "\n" + ip + " link del dev " + kServerIf + "\nexit 0\n";
  char sh[] = "/bin/sh";
  char dash_c[] = "-c";
  char name[] = "sockscope-lab-watchdog";
  std::vector<char> script_buf(script.begin(), script.end());
  script_buf.push_back('\0');
  char* argv[] = {sh, dash_c, script_buf.data(), name, nullptr};
  static char env_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {env_path, nullptr};
  const int lock = lock_lab(kGuardLockWaitMs, error);
  if (lock < 0) return UpResult::Failed;
  int p[2];
  // O_CLOEXEC on both ends: programs this process runs later (tools, endpoints) do not keep the
  // write end, or the watchdog would wait for them too.
  if (pipe2(p, O_CLOEXEC) != 0) {
    error = text::format(tr("cannot make a pipe: %s"), std::strerror(errno));
    close(lock);
    return UpResult::Failed;
  }
  const int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  const pid_t pid = fork();
  if (pid < 0) {
    error = text::format(tr("cannot start the lab's watchdog: %s"), std::strerror(errno));
    close(p[0]);
    close(p[1]);
    close(lock);
    if (devnull >= 0) close(devnull);
    return UpResult::Failed;
  }
  if (pid == 0) {
    // Its own process group: Ctrl-C (sent to the terminal's foreground group) and a kill of the
    // whole group do not reach it. Terminal signals are ignored too (dispositions set to SIG_IGN
    // survive execve(2)), and nothing is blocked.
    setpgid(0, 0);
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) sigaction(sig, &ign, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    move_fd(p[0], 0);
    if (devnull >= 0) {
      move_fd(devnull, 1);
      move_fd(devnull, 2);
    }
    // The lock, as fd 3: the watchdog holds it until the lab is removed, even after this process
    // died. Nothing else of this process stays open in it (sockets, files, the pipe's write end).
    move_fd(lock, 3);
    close_range(4, ~0U, 0);
    execve(sh, argv, envp);
    _exit(127);
  }
  close(p[0]);
  close(lock);  // the lock stays held: the watchdog's copy refers to the same open file
  if (devnull >= 0) close(devnull);
  watchdog_pid_ = pid;
  pipe_fd_ = p[1];
  const UpResult r = up_unlocked(opts, error);
  if (r != UpResult::Ok) {
    std::string ignored;
    down(ignored);  // stops the watchdog; up_unlocked left nothing behind
  }
  return r;
}

bool Guard::down(std::string& error) {
  error.clear();
  if (!active()) return true;
  close(pipe_fd_);
  pipe_fd_ = -1;
  // The watchdog removes the lab now; its commands are bounded, but a wait without end would hang
  // the program if something went wrong, so after 10 s it is stopped and the removal done here.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int st = 0;
  bool reaped = false;
  while (!reaped) {
    const pid_t w = waitpid(watchdog_pid_, &st, WNOHANG);
    if (w == watchdog_pid_ || (w < 0 && errno != EINTR)) {
      reaped = true;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!reaped) {
    kill(watchdog_pid_, SIGKILL);
    while (waitpid(watchdog_pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
  watchdog_pid_ = -1;
  const std::vector<std::string> left = find_leftovers();
  if (left.empty()) return true;
  return lab::down(error);
}

}  // namespace sockscope::lab
