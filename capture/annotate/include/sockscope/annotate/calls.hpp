// Socket calls made by the chat endpoints, as the `call` lines of docs/glossary.md: what a program asked of
// the kernel, when, and what it got back. Calls are rare next to packets, so this type may own strings.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sockscope/annotate/annotate.hpp"
#include "sockscope/decode/packet.hpp"

namespace sockscope {

enum class CallRole : std::uint8_t { Client, Server };
const char* call_role_name(CallRole r);  // "client", "server"

struct CallRecord {
  Timestamp ts;          // when the call was made (CLOCK_REALTIME, the clock libpcap stamps packets with)
  Timestamp ts_return;   // when it returned
  CallRole endpoint = CallRole::Client;
  std::string call;      // "socket", "bind", "listen", "accept", "connect", "send", "recv", "sendto",
                         // "recvfrom", "shutdown", "close", "setsockopt"
  std::string args;      // the arguments as a learner reads them: "AF_INET, SOCK_STREAM", "127.0.0.1:9000",
                         // "SHUT_WR" (may hold peer bytes: views escape it)
  std::string data;      // bytes sent or received (send/recv/sendto/recvfrom), raw: views escape them
  std::int64_t result = 0;
  int err = 0;           // errno value when the call failed, 0 otherwise
  std::string kernel_state;  // the socket's TCP state per the kernel after the call ("ESTABLISHED",
                             // "TIME-WAIT", ...), empty where it has none (UDP, before connect)
  int fd = -1;
  Proto proto = Proto::Other;  // Tcp or Udp
  bool has_local = false, has_peer = false;
  Endpoint local, peer;        // the socket's addresses after the call, where known
  // A call that waits for the network (connect, accept, recv, recvfrom): the timeline shows where it
  // started and, separately, where it returned, with the packets between. Endpoints report such a
  // call twice: once as it starts (returned = false: ts set, no result yet), once when it returns.
  bool blocking = false;
  bool returned = true;
  // `sockscope trace`: the process that made the call and its program's name (the calls of any
  // program, followed across fork and exec); 0 and empty for sockscope's own endpoints.
  int pid = 0;
  std::string program;
  // Where the record sits on the timeline: the return of a blocking call (it waited for packets, which
  // come before it), else the start: a call that does not wait (send, sendto, close, shutdown) makes
  // its packets while it runs, so they come after it (and its ts_return may include the time taken
  // to ask the kernel for the socket's state).
  const Timestamp& timeline_ts() const { return returned && blocking ? ts_return : ts; }
};

// What a socket call does, whatever its name: the chat endpoints' calls ("send", "recv", "accept")
// and the system calls `sockscope trace` reports ("sendto", "write", "accept4", "recvmmsg").
enum class CallKind : std::uint8_t {
  Other, Socket, Bind, Listen, Accept, Connect, Send, Receive, Shutdown, Close, Option, Wait
};

// One row per call name sockscope shows (calls.cpp holds the one table).
struct CallName {
  const char* name;
  CallKind kind;
  bool sender_address;  // returns the sender's address (recvfrom, recvmsg): a UDP line names it
  bool in_lessons;      // a lesson may name it (`expect call`): the chat endpoints' own calls
};
std::span<const CallName> call_names();
CallKind call_kind(std::string_view name);  // Other for a name not in the table
const CallName* find_call_name(std::string_view name);  // nullptr for a name not in the table

// errno's symbolic name: "ECONNREFUSED"; nullptr-free: "0" for 0, "E?" plus number when unknown.
std::string errno_name(int err);

// Where endpoints report their calls. Implementations must be thread-safe: the demo runs a server and
// a client in two threads of one process.
class CallSink {
 public:
  virtual ~CallSink() = default;
  virtual void on_call(const CallRecord& call) = 0;
};

}  // namespace sockscope
