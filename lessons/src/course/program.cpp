// A program as a lesson endpoint (program.hpp): traced in a thread of its own, typed into through a
// pipe, its output read line by line through another.
#include "program.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "sockscope/text/format.hpp"
#include "sockscope/text/i18n.hpp"
#include "sockscope/trace/tracer.hpp"

namespace sockscope::lesson::detail {

namespace {
void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}
}  // namespace

bool ProgramRun::start(const std::vector<std::string>& argv, CallSink& calls,
                       std::function<void(const std::string&)> printed, std::string& error) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) {
    error = text::format(tr("cannot make a pipe: %s"), std::strerror(errno));
    return false;
  }
  if (pipe2(out, O_CLOEXEC) != 0) {
    error = text::format(tr("cannot make a pipe: %s"), std::strerror(errno));
    ::close(in[0]);
    ::close(in[1]);
    return false;
  }
  in_w_ = in[1];
  out_r_ = out[0];
  started_ = true;
  // The tracer owns the child's ends: the program's input and output, closed here once it has ended.
  tracer_ = std::thread([this, argv, &calls, in_r = in[0], out_w = out[1]]() mutable {
    trace::TraceOptions opts;
    opts.argv = argv;
    opts.stdin_fd = in_r;
    opts.stdout_fd = out_w;
    opts.pid = &pid_;
    opts.own_process_group = true;  // stopping it stops what it started too
    trace::TraceResult r;
    std::string path;
    if (const int code = trace::find_program(argv[0], path); code != 0) {
      r.status = code;
      r.error = text::format(code == 127 ? tr("%1$s: no such program") : tr("%1$s: not an executable program"),
                             argv[0]);
    } else {
      r = trace::run_traced(opts, calls);
    }
    ::close(in_r);
    ::close(out_w);
    std::lock_guard<std::mutex> lock(mu_);
    exited_ = true;
    status_ = r.started ? r.status : (r.status != 0 ? r.status : 126);
    error_ = r.error;
    cv_.notify_all();
  });
  reader_ = std::thread([this, printed = std::move(printed)] { read_output(printed); });
  return true;
}

// Whole lines, as the program prints them; a last line without its newline too. Stops at end of file
// (every process that had the pipe has ended) or when told to.
void ProgramRun::read_output(std::function<void(const std::string&)> printed) {
  std::string pending;
  char buf[4096];
  for (;;) {
    pollfd p{out_r_, POLLIN, 0};
    const int ready = ::poll(&p, 1, 50);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) {
      if (stop_reading_.load()) break;
      continue;
    }
    const ssize_t n = ::read(out_r_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
      printed(pending.substr(0, nl));
      pending.erase(0, nl + 1);
    }
    if (pending.size() > 4096) {  // a line that never ends is shown in parts
      printed(pending);
      pending.clear();
    }
  }
  if (!pending.empty()) printed(pending);
}

bool ProgramRun::type(const std::string& line) {
  if (in_w_ < 0) return false;
  const std::string l = line + "\n";
  // A program that has ended no longer reads: writing then raises SIGPIPE, which would end sockscope.
  // It is blocked for this write and, if raised, taken back (the write fails with EPIPE instead).
  sigset_t pipe_signal, before;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &before);
  std::size_t off = 0;
  bool ok = true;
  while (off < l.size()) {
    const ssize_t n = ::write(in_w_, l.data() + off, l.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      if (errno == EPIPE) {
        const timespec now{};
        sigtimedwait(&pipe_signal, nullptr, &now);
      }
      break;
    }
    off += static_cast<std::size_t>(n);
  }
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  return ok;
}

bool ProgramRun::wait_exit(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return exited_; });
}

int ProgramRun::end(int timeout_ms, bool& in_time) {
  in_time = true;
  if (!started_) return 0;
  close_fd(in_w_);
  if (!wait_exit(timeout_ms)) {
    in_time = false;
    // The whole process group: the tracer waits for every process of the program, children included.
    if (const int pid = pid_.load(); pid > 0) ::kill(-pid, SIGTERM);
    if (!wait_exit(1000))
      if (const int pid = pid_.load(); pid > 0) ::kill(-pid, SIGKILL);
    wait_exit(5000);
  }
  if (tracer_.joinable()) tracer_.join();
  // What the program printed last is shown before it is said to have ended; a child it left behind
  // that keeps the pipe open is not waited for.
  stop_reading_.store(true);
  if (reader_.joinable()) reader_.join();
  close_fd(out_r_);
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

bool ProgramRun::ended() const {
  std::lock_guard<std::mutex> lock(mu_);
  return exited_;
}

std::string ProgramRun::error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

ProgramRun::~ProgramRun() {
  bool in_time = false;
  if (started_) end(0, in_time);
}

}  // namespace sockscope::lesson::detail
