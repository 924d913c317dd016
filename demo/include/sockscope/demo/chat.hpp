// The chat endpoints: a TCP and a UDP chat server and client on the plain socket API (socket, bind,
// listen, accept, connect, send, recv, sendto, recvfrom, shutdown, close), the calls a tutorial
// teaches. Each reports every call it makes to a CallSink (calls.hpp) with its result, errno and the
// socket's kernel state. Interactive at a terminal (type a line, it is sent; 'Q' alone quits) and
// scriptable (say lines, a script file, or lines on standard input).
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "sockscope/annotate/calls.hpp"

namespace sockscope::demo {

enum class ChatKind : std::uint8_t { TcpServer, TcpClient, UdpServer, UdpClient };

struct ChatOptions {
  ChatKind kind = ChatKind::TcpClient;
  std::string host = "127.0.0.1";  // server: address to bind; client: server to reach (IPv4 or IPv6)
  std::uint16_t port = 9000;       // server port (0 for a server: let the kernel choose; see on_ready)
  // Lines to send, in order, then (client) close or (server) keep serving until stop. A line "Q"
  // ends the chat like typing Q; "sleep MS" in a script pauses.
  std::vector<std::string> say;
  std::string script_path;         // more lines from a file (# starts a comment)
  bool read_stdin = false;         // lines typed on standard input (interactive when a terminal)
  int line_gap_ms = 0;             // pause between scripted lines
  // Server: send the next `say` line to a client each time a line arrives from it (a scripted reply),
  // instead of sending them all at once.
  bool reply_per_line = false;
  // Client: after the last line, wait this long for replies before closing (TCP: shut down, read to
  // the end; UDP: recvfrom with a timeout).
  int linger_ms = 200;
  // TCP client: close with shutdown(SHUT_WR) first and read until the server closes (a half-close).
  bool half_close = false;
  // TCP server: close a client's connection after replying to this many lines (0: never; the client
  // closes). With it the server closes first: FIN-WAIT-2 and TIME-WAIT move to the server's side.
  int server_closes_after = 0;
  // Server limits (hostile or careless peers).
  std::size_t max_clients = 64;
  std::size_t max_line = 4096;      // longer lines are cut and the client warned
  int idle_timeout_s = 600;
  int timeout_ms = 10000;           // every blocking call gives up after this (scripted runs)
  // TCP server: bytes waiting in the server for one client that does not read fast enough. At this
  // the room stops reading lines until the client takes some; one whose socket takes nothing for 3 s
  // is disconnected (a reset), so a client that never reads can neither stall the room for long nor
  // grow the server's memory: at most 2 * max_clients * max_queue bytes wait.
  std::size_t max_queue = 256 * 1024;
  // TCP: each recv() is one whole message and nothing ends a message (no newline is sent), as simple
  // tutorial programs do. TCP is a byte stream, so this holds only for small messages sent in turns.
  bool frame_by_recv = false;
  // TCP server: listen(2)'s backlog, the connections the kernel completes before accept() takes
  // them. A burst of many clients at once needs more than the default.
  int backlog = 16;
};

// What the endpoint prints for a human: messages that arrive and notices, on `out`.
// Returns 0 on success, 1 on a failed call (the error was reported as a call and printed), 2 on bad
// options (one line on stderr). Stops when the script ends (client), Q, `stop` becomes true, or the
// peer goes away.
// on_ready (optional) is called once the server listens / the client is connected, with the local
// endpoint: tests and the demo use it to start the other side.
struct ChatHooks {
  CallSink* calls = nullptr;
  std::FILE* out = stdout;
  std::atomic<bool>* stop = nullptr;
  void (*on_ready)(void* ctx, const Endpoint& local) = nullptr;
  void* ready_ctx = nullptr;
};
int run_chat(const ChatOptions& opts, const ChatHooks& hooks);

// Kernel state of a TCP socket (TCP_INFO): "ESTABLISHED", "FIN-WAIT-2", ... or "" if not TCP.
std::string tcp_kernel_state(int fd);
// The kernel's state for a TCP 4-tuple after its socket was closed (NETLINK_SOCK_DIAG): "TIME-WAIT",
// "FIN-WAIT-2", ... or "" when the kernel no longer has it.
std::string tcp_state_by_tuple(const Endpoint& local, const Endpoint& peer);

}  // namespace sockscope::demo
