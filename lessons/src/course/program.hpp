// A lesson endpoint that is a program ("tcp server ... run python3 tcp_server.py {address} {port}"):
// the program runs under trace, so its own socket calls are the endpoint's calls; the lesson types
// lines into its standard input and shows what it prints.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sockscope/annotate/calls.hpp"

namespace sockscope::lesson::detail {

class ProgramRun {
 public:
  ProgramRun() = default;
  ProgramRun(const ProgramRun&) = delete;
  ProgramRun& operator=(const ProgramRun&) = delete;
  ~ProgramRun();  // a program still running is stopped

  // Starts argv under trace in a thread made by the calling thread (so it keeps that thread's network
  // namespace: the lab's hosts). Calls go to `calls`; each line the program prints goes to `printed`
  // (from another thread). False with `error` when the pipes or the thread could not be made; a program
  // that cannot be found or executed ends at once with status 127 or 126 and its reason in error().
  bool start(const std::vector<std::string>& argv, CallSink& calls, std::function<void(const std::string&)> printed,
             std::string& error);
  // Types one line (the Enter is added). False once the program's input is closed or it has ended.
  bool type(const std::string& line);
  // Closes the program's input (end of file, as Ctrl-D) and waits up to timeout_ms for it to end; a
  // program still running then gets SIGTERM, and SIGKILL a second later. Returns its status as a shell
  // reports it (128+N after signal N); `in_time` says whether it ended by itself.
  int end(int timeout_ms, bool& in_time);
  bool started() const { return started_; }
  bool ended() const;  // it has ended (every process of it): it makes no more calls
  // Why it could not run ("could not start the program: No such file or directory"), else empty.
  std::string error() const;

 private:
  void read_output(std::function<void(const std::string&)> printed);
  bool wait_exit(int timeout_ms);

  bool started_ = false;
  int in_w_ = -1, out_r_ = -1;
  std::atomic<int> pid_{0};
  std::thread tracer_, reader_;
  std::atomic<bool> stop_reading_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool exited_ = false;
  int status_ = 0;
  std::string error_;
};

}  // namespace sockscope::lesson::detail
