// The kernel's view of a TCP socket, for the call records: TCP_INFO on an open socket (tcp(7)), and
// NETLINK_SOCK_DIAG (sock_diag(7)) for a connection whose socket was already closed, since after
// close() the connection lives on in the kernel (FIN-WAIT-2, TIME-WAIT, LAST-ACK) without a file
// descriptor to ask.
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "sockscope/demo/chat.hpp"

namespace sockscope::demo {

namespace {

// The kernel's TCP state numbers (include/net/tcp_states.h) in RFC 9293's spelling, as the
// annotator names the states it infers from the wire.
std::string state_name(unsigned state) {
  switch (state) {
    case TCP_ESTABLISHED: return "ESTABLISHED";
    case TCP_SYN_SENT: return "SYN-SENT";
    case TCP_SYN_RECV: return "SYN-RECEIVED";
    case TCP_FIN_WAIT1: return "FIN-WAIT-1";
    case TCP_FIN_WAIT2: return "FIN-WAIT-2";
    case TCP_TIME_WAIT: return "TIME-WAIT";
    case TCP_CLOSE: return "CLOSED";
    case TCP_CLOSE_WAIT: return "CLOSE-WAIT";
    case TCP_LAST_ACK: return "LAST-ACK";
    case TCP_LISTEN: return "LISTEN";
    case TCP_CLOSING: return "CLOSING";
    case 12: return "SYN-RECEIVED";  // TCP_NEW_SYN_RECV: a request socket waiting for handshake 3/3
    default: return "";
  }
}

// A closed file descriptor on every path.
struct NetlinkFd {
  int fd;
  ~NetlinkFd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string tcp_kernel_state(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  // Fails (EOPNOTSUPP) for UDP: "" then, as documented.
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 || len < 1) return "";
  return state_name(info.tcpi_state);
}

std::string tcp_state_by_tuple(const Endpoint& local, const Endpoint& peer) {
  if (local.ip.family == 0 || local.ip.family != peer.ip.family) return "";
  const bool v6 = local.ip.family == 6;
  NetlinkFd nl{::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)};
  if (nl.fd < 0) return "";
  // The kernel answers a dump at once; the timeout only guards against the unexpected.
  timeval tv{};
  tv.tv_sec = 1;
  ::setsockopt(nl.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  // A dump of every TCP socket of the family in any state (sock_diag(7): idiag_states is a bit mask
  // of 1 << state), narrowed by the kernel to the two ports; the addresses are matched below.
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nlh.nlmsg_seq = 1;
  msg.req.sdiag_family = static_cast<std::uint8_t>(v6 ? AF_INET6 : AF_INET);
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = ~0u;
  msg.req.id.idiag_sport = htons(local.port);
  msg.req.id.idiag_dport = htons(peer.port);
  msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(nl.fd, &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return "";

  const std::size_t addr_len = v6 ? 16 : 4;
  std::string found;
  alignas(nlmsghdr) char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(nl.fd, buf, sizeof buf, 0);
    if (n <= 0) return found;
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) return found;
      if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg)))
        continue;
      inet_diag_msg m;
      std::memcpy(&m, NLMSG_DATA(h), sizeof m);
      // The kernel's source is the socket's own (local) side.
      if (ntohs(m.id.idiag_sport) != local.port || ntohs(m.id.idiag_dport) != peer.port) continue;
      if (std::memcmp(m.id.idiag_src, local.ip.b.data(), addr_len) != 0 ||
          std::memcmp(m.id.idiag_dst, peer.ip.b.data(), addr_len) != 0)
        continue;
      if (found.empty()) found = state_name(m.idiag_state);
    }
  }
}

}  // namespace sockscope::demo
