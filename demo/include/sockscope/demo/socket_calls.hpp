// Socket calls that report themselves: each call a program makes (socket, bind, listen, accept,
// connect, send, recv, sendto, recvfrom, shutdown, close, setsockopt) becomes a CallRecord
// (calls.hpp) with its result, errno and the socket's kernel state, so a live timeline can show it
// beside the packets it caused. Used by the chat endpoints and by the lesson runner's endpoints.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sockscope/annotate/calls.hpp"
#include "sockscope/demo/chat.hpp"

namespace sockscope::demo {

// A socket address of either family, with its length.
struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family() const { return ss.ss_family; }
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&ss); }
};

// host: a numeric IPv4 or IPv6 address, or a name (the first address getaddrinfo gives).
bool resolve(const std::string& host, std::uint16_t port, int socktype, SockAddr& out, std::string& error);
Endpoint to_endpoint(const SockAddr& a);
std::string endpoint_text(const Endpoint& e);  // "127.0.0.1:9000", "[::1]:9000"
// A free port on addr's address for a socket of `type`: the kernel picks one for a port-0 bind, and it
// is released at once for the caller to bind a moment later. 0 and `error` when that fails.
std::uint16_t free_port(const SockAddr& addr, int type, std::string& error);

// Makes the socket calls and reports each one to hooks.calls. Every method keeps errno as the call
// left it, so callers read errno after a failed call as usual. One Reporter per endpoint (it
// remembers the peers of its TCP sockets); not thread-safe itself.
class Reporter {
 public:
  Reporter(const ChatHooks& hooks, CallRole role, Proto proto) : hooks_(hooks), role_(role), proto_(proto) {}

  int socket(int family, int type);
  int setsockopt_reuseaddr(int fd);
  int setsockopt_send_timeout(int fd, int ms);
  // Any option: `args` is how the timeline shows it ("SOL_SOCKET, SO_LINGER, {1, 0}").
  int setsockopt(int fd, int level, int name, const void* value, socklen_t len, std::string args);
  int bind(int fd, const SockAddr& a);
  int listen(int fd, int backlog);
  int accept(int fd, SockAddr& peer);  // reported at start and at return
  int connect(int fd, const SockAddr& a);  // reported at start and at return
  // Always with MSG_NOSIGNAL added (no SIGPIPE on a reset connection: EPIPE instead); the timeline
  // shows the flags with the call.
  ssize_t send(int fd, std::string_view data, int flags);
  // Reported at start and at return. flags: 0, MSG_WAITALL (wait for n bytes or the end of the stream),
  // MSG_DONTWAIT (do not wait); shown with the call.
  ssize_t recv(int fd, char* buf, std::size_t n, int flags = 0);
  ssize_t sendto(int fd, std::string_view data, const SockAddr& to);
  ssize_t recvfrom(int fd, char* buf, std::size_t n, SockAddr& from, int flags = 0);  // start and return
  int shutdown(int fd, int how);
  int close(int fd);

 private:
  // Timestamps a call; a blocking one is reported now as started. peer: the address a call is aimed
  // at (connect) when the socket cannot tell yet.
  CallRecord start(const char* call, int fd, std::string args, bool blocking, const Endpoint* peer = nullptr);
  void fill_endpoints(CallRecord& r, int fd);
  // Sets the return half (result, errno, endpoints of fd, kernel state) and reports.
  void finish(CallRecord& r, std::int64_t result, int err, int state_fd);
  void emit(const CallRecord& r) const;
  // Our address towards peer per the routing table (cached), for a socket bound to the wildcard.
  IpAddr source_for(const Endpoint& peer);

  const ChatHooks& hooks_;
  CallRole role_;
  Proto proto_;
  std::vector<std::pair<IpAddr, IpAddr>> sources_;
  std::vector<std::pair<int, Endpoint>> peers_;  // TCP sockets' peers, remembered until close()
};

}  // namespace sockscope::demo
