// What the four chat endpoints share: addresses and the Reporter (socket_calls.hpp), the
// terminal-safe escaper, the clocks, and the source of lines to send (say, script,
// standard input). Private to sockscope_demo.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sockscope/demo/chat.hpp"
#include "sockscope/demo/socket_calls.hpp"

namespace sockscope::demo::detail {

// The address helpers and the Reporter are public (sockscope/socket_calls.hpp): the lesson runner
// makes its calls with them too.
using demo::SockAddr;
using demo::resolve;
using demo::to_endpoint;
using demo::endpoint_text;
using demo::Reporter;

// Terminal-safe text of bytes from a peer: printable ASCII and valid UTF-8 as they are; controls,
// invalid UTF-8, C1 controls and bidirectional overrides escaped (\n, \xNN, \u{XXXX}), so a peer
// cannot move the cursor, clear the screen or reorder what the learner reads. At most max_bytes of
// input are shown, then "…".
std::string escape(std::string_view s, std::size_t max_bytes = static_cast<std::size_t>(-1));

Timestamp realtime_now();  // CLOCK_REALTIME: the clock libpcap stamps packets with
std::int64_t mono_ms();    // CLOCK_MONOTONIC, for deadlines

// Prints one line for the learner on hooks.out (already terminal-safe text) and flushes, so a pipe
// reader (a test, the demo) sees it at once.
void say_line(const ChatHooks& hooks, const std::string& line);
bool stop_requested(const ChatHooks& hooks);

// The lines an endpoint sends: `say` and the script first (paced by line_gap_ms and "sleep MS"),
// then standard input when read_stdin. A line "Q" ends the chat.
class LineSource {
 public:
  // Loads the script file; false with a one-line error when it cannot be read.
  bool init(const ChatOptions& opts, std::string& error);
  // Scripted lines waiting.
  bool scripted_pending() const { return !script_.empty(); }
  // Takes every scripted line out (a server replying line by line uses them as its replies).
  std::vector<std::string> take_script();
  // The next scripted line if it is due at now_ms (nullptr-free: false when none is due yet).
  bool next_scripted(std::int64_t now_ms, std::string& line);
  // Milliseconds until the next scripted line is due (0 if due now, -1 if none).
  std::int64_t ms_until_due(std::int64_t now_ms) const;
  // Starts the pacing clock (the first scripted line is due now).
  void start(std::int64_t now_ms);
  bool started() const { return started_; }

  // Standard input: the fd to poll (-1 when not read or at its end), and the complete lines read.
  int stdin_fd() const { return stdin_open_ ? 0 : -1; }
  // Reads what is available; false at end of input (any unterminated last line is returned first).
  bool read_stdin(std::vector<std::string>& lines);
  bool stdin_open() const { return stdin_open_; }

  // Nothing more will come: script done and standard input (if read) ended.
  // Nothing more to say: the script is done (a last "sleep N" too: it still holds the endpoint
  // that long) and standard input is closed.
  bool exhausted(std::int64_t now_ms) const { return script_.empty() && !stdin_open_ && now_ms >= pause_until_; }

 private:
  std::deque<std::string> script_;
  std::int64_t pause_until_ = 0;  // the end of the last "sleep N" taken from the script
  std::int64_t due_ms_ = 0;
  int gap_ms_ = 0;
  bool started_ = false;
  bool stdin_open_ = false;
  std::string stdin_buf_;
};

// "sleep MS" in a script: the pause in ms, or -1 for any other line.
int sleep_ms_of(std::string_view line);

// poll() wakes at least this often, so the stop flag (Ctrl-C, the demo ending) is seen at once.
inline constexpr int kSliceMs = 100;
// The poll() timeout: the slice, or less when a scripted line (due_in ms, -1 none) or a deadline
// (monotonic ms, -1 none) comes first.
int poll_timeout(std::int64_t now, std::int64_t due_in, std::int64_t deadline);

// The prompt at a terminal.
void maybe_prompt(const ChatOptions& opts, const ChatHooks& hooks);

}  // namespace sockscope::demo::detail

namespace sockscope::demo::detail {

// Prints why a call failed, in a sentence with what to do ("connection refused: no server listens
// there ..."). where: the address involved.
void call_failed(const ChatHooks& hooks, const ChatOptions& opts, const char* call, int err,
                 const std::string& where);

// A notice for the learner, not a message from a peer: "* ..." lines.
void notice(const ChatHooks& hooks, const std::string& text);

// The endpoints (chat_tcp.cpp, chat_udp.cpp). lines: initialised from opts.
int run_tcp_server(const ChatOptions& opts, const ChatHooks& hooks, const SockAddr& addr, LineSource& lines);
int run_tcp_client(const ChatOptions& opts, const ChatHooks& hooks, const SockAddr& server, LineSource& lines);
int run_udp_server(const ChatOptions& opts, const ChatHooks& hooks, const SockAddr& addr, LineSource& lines);
int run_udp_client(const ChatOptions& opts, const ChatHooks& hooks, const SockAddr& server, LineSource& lines);

// The local endpoint of a socket ("" port 0 when unbound).
Endpoint local_endpoint(int fd);

}  // namespace sockscope::demo::detail
