// run_chat: checks the options, finds the address and starts the chosen endpoint. Also the one-line
// description of a call that `sockscope chat` prints as each call returns.
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "chat_support.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope::demo {

namespace detail {

void notice(const ChatHooks& hooks, const std::string& text) { say_line(hooks, "* " + text); }

Endpoint local_endpoint(int fd) {
  SockAddr a;
  a.len = sizeof a.ss;
  if (::getsockname(fd, a.sa(), &a.len) != 0) return Endpoint{};
  return to_endpoint(a);
}

void call_failed(const ChatHooks& hooks, const ChatOptions& opts, const char* call, int err,
                 const std::string& where) {
  char buf[512];
  const std::string head = std::string(call) + "() " + where + ": ";
  switch (err) {
    case ECONNREFUSED:
      std::snprintf(buf, sizeof buf, "%s", tr("connection refused: no server listens there (the kernel answered the SYN with RST). Start the server first, or check --host and --port"));
      break;
    case EINPROGRESS:  // SO_SNDTIMEO expired during connect() (socket(7))
    case ETIMEDOUT:
      std::snprintf(buf, sizeof buf, tr("no answer within %d ms: is the address right, and is a firewall dropping the SYN?"),
                    opts.timeout_ms);
      break;
    case EADDRINUSE:
      std::snprintf(buf, sizeof buf, "%s", tr("address already in use: another program listens on this port. Stop it, or choose another port (--port, 0 lets the kernel choose)"));
      break;
    // connect() binds a socket that is not bound yet to a free local port (connect(2)): EADDRNOTAVAIL
    // there means none is left; from bind() it means the address is not this machine's.
    case EADDRNOTAVAIL:
      std::snprintf(buf, sizeof buf, "%s",
                    std::strcmp(call, "connect") == 0
                        ? tr("no free local port: every port of net.ipv4.ip_local_port_range is in use towards that server. Wait for closed connections to leave TIME-WAIT, or widen the range")
                        : tr("this machine has no such address. Use 127.0.0.1, ::1 or one of its own addresses"));
      break;
    // bind(2): ports below net.ipv4.ip_unprivileged_port_start need CAP_NET_BIND_SERVICE; elsewhere
    // EACCES is a broadcast address without SO_BROADCAST, or a local firewall rule (connect(2)).
    case EACCES:
      std::snprintf(buf, sizeof buf, "%s",
                    std::strcmp(call, "bind") == 0
                        ? tr("permission denied: ports below 1024 (net.ipv4.ip_unprivileged_port_start) need root or CAP_NET_BIND_SERVICE. Choose a port above 1023")
                        : tr("permission denied: a broadcast address needs the SO_BROADCAST option, or a local firewall rule refused it"));
      break;
    case ENETUNREACH:
    case EHOSTUNREACH:
      std::snprintf(buf, sizeof buf, "%s", tr("no route to that host. Check the address"));
      break;
    case ECONNRESET:
      std::snprintf(buf, sizeof buf, "%s", tr("the peer reset the connection (RST)"));
      break;
    default:
      std::snprintf(buf, sizeof buf, "%s (%s)", std::strerror(err), errno_name(err).c_str());
      break;
  }
  notice(hooks, head + buf);
}

}  // namespace detail

using namespace detail;

int run_chat(const ChatOptions& opts, const ChatHooks& hooks) {
  const bool server = opts.kind == ChatKind::TcpServer || opts.kind == ChatKind::UdpServer;
  const bool tcp = opts.kind == ChatKind::TcpServer || opts.kind == ChatKind::TcpClient;
  // Bad options are the caller's mistake, not the chat's: one line on stderr.
  auto bad = [&](const std::string& what) {
    std::fprintf(stderr, "sockscope chat: %s\n", what.c_str());
    return 2;
  };
  if (!server && opts.port == 0) return bad(tr("a client needs the server's port (--port P)"));
  if (opts.timeout_ms <= 0) return bad(tr("the timeout must be at least 1 ms"));
  if (opts.max_line == 0 || opts.max_clients == 0 || opts.idle_timeout_s <= 0)
    return bad(tr("--max-line, --max-clients and --idle-timeout take numbers above 0"));

  SockAddr addr;
  std::string error;
  if (!resolve(opts.host, opts.port, tcp ? SOCK_STREAM : SOCK_DGRAM, addr, error)) return bad(error);
  LineSource lines;
  if (!lines.init(opts, error)) return bad(error);

  switch (opts.kind) {
    case ChatKind::TcpServer: return run_tcp_server(opts, hooks, addr, lines);
    case ChatKind::TcpClient: return run_tcp_client(opts, hooks, addr, lines);
    case ChatKind::UdpServer: return run_udp_server(opts, hooks, addr, lines);
    case ChatKind::UdpClient: return run_udp_client(opts, hooks, addr, lines);
  }
  return 2;
}

}  // namespace sockscope::demo
