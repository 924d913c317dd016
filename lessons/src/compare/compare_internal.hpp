// Inside compare: what its run (compare.cpp) and its two endpoints (endpoints.cpp) share.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "sockscope/annotate/calls.hpp"

namespace sockscope::compare::detail {

using Clock = std::chrono::steady_clock;

// The number a message carries in its first bytes ("0007 ..."), 0 when it has none.
int message_number(const std::uint8_t* p, std::size_t n);

struct ServerTally {
  std::vector<std::uint32_t> copies;  // by message number 1..N: how often it arrived
  std::uint64_t recv_calls = 0;       // recv()/recvfrom() calls that returned data
  std::uint64_t merged = 0;           // messages that came in a recv() with (part of) another one
  std::uint64_t foreign = 0;          // messages without a valid number (never expected)
  std::int64_t first_byte_ns = 0;     // when the first recv() with data returned
  void arrived(int number) {
    if (number >= 1 && static_cast<std::size_t>(number) < copies.size())
      ++copies[static_cast<std::size_t>(number)];
    else
      ++foreign;
  }
};

// Where each side of one protocol's run is, shared by its threads.

struct Stage {
  std::mutex m;
  std::condition_variable cv;
  bool server_ready = false, capture_ready = false, client_ready = false, client_done = false, failed = false;
  bool go = false;                // prepared, and root given up: the conversation may start
  Clock::time_point end{};        // set with go: the end of this protocol's run
  std::uint16_t port = 0;
  std::int64_t client_done_ns = 0;
  std::string error;  // the first failure

  void update(const std::function<void(Stage&)>& f) {
    {
      std::lock_guard<std::mutex> lock(m);
      f(*this);
    }
    cv.notify_all();
  }
  void fail(std::string e) {
    update([&](Stage& s) {
      if (!s.failed) s.error = std::move(e);
      s.failed = true;
    });
  }
  bool has_failed() {
    std::lock_guard<std::mutex> lock(m);
    return failed;
  }
  // Waits until pred holds or the run failed or the deadline passed; true when pred holds.
  bool wait(const std::function<bool(const Stage&)>& pred, Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(m);
    cv.wait_until(lock, deadline, [&] { return pred(*this) || failed; });
    return pred(*this);
  }
  // Waits for go (or a failure: the run was called off); true when it came, with the run's deadline.
  // The thread that prepared the run always ends the wait: it sets go or fails the stage.
  bool wait_go(Clock::time_point& run_deadline) {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return go || failed; });
    run_deadline = end;
    return go && !failed;
  }
};

// Calls reported before the capture exists (the server's socket, bind, listen) are kept and handed
// over when it opens: the session puts them in time order before the packets.

// One protocol's run, as the endpoints need it.
struct Setup {
  bool tcp = true;
  bool lab = false;
  std::string server_host;  // where the server binds and the client sends
  std::string interface;    // where the capture listens
  int messages = 10, size = 32, timeout_ms = 20000, gap_ms = 1;
};

// In the server's host (--lab), after it entered it; fails the stage with `who` named when it cannot.
bool enter_host(const Setup& su, const char* ns, Stage& st, const char* who);

// The two endpoints, each in its own thread: the server counts what arrives (tally), the client sends
// the numbered messages; both report their calls to sink.
void server_main(const Setup& su, Stage& st, ServerTally& tally, CallSink& sink);
void client_main(const Setup& su, Stage& st, std::int64_t& first_call_ns, std::uint64_t& sent, CallSink& sink);

}  // namespace sockscope::compare::detail
