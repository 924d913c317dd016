// sockscope trace: any program's socket calls, at the level of system calls, so every language is
// covered (Python, C, statically linked programs, Go, which does not call libc).
//
// The program runs under ptrace(2) with a seccomp-bpf filter (seccomp(2), SECCOMP_RET_TRACE) that
// stops it only at the socket-related system calls, as `strace --seccomp-bpf` does; every other
// system call runs at full speed. It follows fork, vfork, clone and exec, and PTRACE_O_EXITKILL kills
// the traced program (and nothing else) if sockscope itself dies.
//
// Each call becomes a CallRecord (calls.hpp) with the system call's own name ("accept4", "sendto",
// "recvfrom", "write"), the pid and the program's name, the bytes sent or received (bounded), and the
// socket's local and peer address as the kernel reports them when the call returns.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "sockscope/annotate/annotate.hpp"
#include "sockscope/annotate/calls.hpp"
#include "sockscope/decode/packet.hpp"

namespace sockscope::trace {

// The addresses of the traced program's sockets, added by the tracer as they become known (bind,
// connect, accept, the first sendto); the capture keeps only the packets that belong to one of them.
// Thread-safe: the tracer adds, the capture's thread asks.
class SocketSet {
 public:
  // local may have the wildcard address (0.0.0.0 or ::, a socket bound to every address); peer is
  // null for a socket that is not connected (a listening socket, an unconnected UDP socket).
  void add(Proto proto, const Endpoint& local, const Endpoint* peer);
  // Whether the packet is one of the sockets' (an ICMP error about one of their datagrams included).
  bool matches(const Packet& p) const;
  std::size_t size() const;

  // A call that may give a socket its address is under way (a connect, or a send on a socket with no
  // port yet): a packet captured from since_ns on may be its socket's, which is known only when the
  // call returns. end_pending() comes after the add() of what the call revealed.
  std::uint64_t begin_pending(std::int64_t since_ns);
  void end_pending(std::uint64_t id);
  void end_all_pending();
  // The capture can decide every packet older than this (CLOCK_REALTIME ns): the start of the oldest
  // call under way, or INT64_MAX when none is. However slow the tracer is, a packet is not dropped
  // for belonging to a socket whose address the tracer has not read yet.
  std::int64_t settled_ns() const;

 private:
  struct Entry {
    Proto proto;
    Endpoint local, peer;
    bool has_peer;
  };
  struct Pending {
    std::uint64_t id;
    std::int64_t since_ns;
  };
  std::vector<Pending> pending_;
  std::uint64_t next_pending_ = 1;
  bool matches_locked(Proto proto, const IpAddr& a, std::uint16_t aport, const IpAddr& b, std::uint16_t bport) const;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
};

struct TraceOptions {
  std::vector<std::string> argv;    // the program and its arguments; argv[0] is looked up on PATH
  std::size_t data_bytes = 256;     // at most this many bytes of each send or receive are copied
  SocketSet* sockets = nullptr;     // where the sockets' addresses go (may be null)
  // The program's standard input and output (stdout and stderr both), when not the terminal's: a lesson
  // types into a pipe and reads what the program prints from another. -1: inherited.
  int stdin_fd = -1;
  int stdout_fd = -1;
  // Set to the program's process id once it runs (before its first call), for a caller that must be
  // able to stop it from another thread; may be null.
  std::atomic<int>* pid = nullptr;
  // The program leads a process group of its own (its pid is the group's id), so a caller can stop it
  // and every process it started at once: kill(-pid, sig). Not for a program that reads the terminal.
  bool own_process_group = false;
};

struct TraceResult {
  bool started = false;  // the program was started (false: see error)
  int status = 0;        // as a shell reports it: the exit code, or 128+N after signal N
  std::string error;     // one line when the trace could not start
  std::uint64_t calls = 0;  // socket calls reported
};

// Looks the program up as a shell does (a name with a slash is a path, else each PATH folder).
// Returns 0 with the path found, 127 when there is no such program, 126 when it is not executable.
int find_program(const std::string& name, std::string& path);

// Runs the program traced, in the calling thread, until it and every process it started have ended.
// The program inherits standard input, output and error. Calls go to sink (from this thread only).
TraceResult run_traced(const TraceOptions& opts, CallSink& sink);

// The names of the system calls a trace shows (each is in annotate's call table, calls.hpp).
std::vector<const char*> shown_call_names();

// "::ffff:a.b.c.d" is the IPv4 address it carries: the packets on the wire are IPv4.
Endpoint unmap_v4(const Endpoint& e);

}  // namespace sockscope::trace
