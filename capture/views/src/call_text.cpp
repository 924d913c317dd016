// Socket calls as the timeline shows them: the call, its arguments, its result, errno in words and the
// socket's state as the kernel reports it. Shared by the human and the ladder view.
#include <cerrno>
#include <cstring>
#include <string>

#include "sockscope/text/escape.hpp"
#include "sockscope/text/format.hpp"
#include "format.hpp"
#include "sockscope/text/i18n.hpp"
#include "view_common.hpp"

namespace sockscope::views {
namespace {

constexpr std::size_t kCallPreviewBytes = 40;  // of data sent or received

void append_data(std::string& out, const std::string& data) {
  out += '"';
  escape_text(out, reinterpret_cast<const std::uint8_t*>(data.data()), data.size(), kCallPreviewBytes);
  out += '"';
}

// Arguments come from the endpoint, but may hold what a peer sent or a name a user typed: escaped,
// quotes kept as they are (they are part of the syntax the endpoint wrote).
void append_args(std::string& out, const std::string& args) {
  escape_text(out, reinterpret_cast<const std::uint8_t*>(args.data()), args.size(), kCallPreviewBytes * 2, false,
              false);
}

bool sends_data(const std::string& call) { return call_kind(call) == CallKind::Send; }
bool receives_data(const std::string& call) { return call_kind(call) == CallKind::Receive; }

// "send("hello", 127.0.0.1:9000)": what goes between the parentheses.
void append_call_args(std::string& out, const CallRecord& c) {
  bool any = false;
  // A send that failed sent nothing: its arguments say how much it tried (Reporter puts "N bytes").
  if (sends_data(c.call) && !(c.data.empty() && c.returned && c.result < 0)) {
    append_data(out, c.data);
    any = true;
  }
  if (!c.args.empty()) {
    if (any) out += ", ";
    append_args(out, c.args);
  }
}

}  // namespace

const char* errno_explained(const CallRecord& c) {
  const CallKind kind = call_kind(c.call);
  const bool receives = kind == CallKind::Receive || kind == CallKind::Accept;
  // The endpoints write the flags a call was given into its arguments (MSG_DONTWAIT|MSG_NOSIGNAL).
  const bool dontwait = c.args.find("MSG_DONTWAIT") != std::string::npos;
  switch (c.err) {
    case ECONNREFUSED: return tr("nobody listens on that port");
    case ECONNRESET: return tr("the peer reset the connection (RST)");
    case EPIPE: return tr("the connection is closed for sending");
    case ETIMEDOUT: return tr("no answer in time");
    // EAGAIN is "this would have to wait": with MSG_DONTWAIT (or a non-blocking socket) at once, on a
    // blocking socket only when its timeout ran out (SO_RCVTIMEO, SO_SNDTIMEO: socket(7)).
    case EAGAIN:
      if (dontwait)
        return receives ? tr("nothing to read yet, and MSG_DONTWAIT said not to wait")
                        : tr("the send buffer is full, and MSG_DONTWAIT said not to wait");
      if (receives) return tr("nothing arrived before the socket's receive timeout (SO_RCVTIMEO), or the socket does not wait (O_NONBLOCK)");
      if (kind == CallKind::Send) return tr("the send buffer stayed full until the socket's send timeout (SO_SNDTIMEO), or the socket does not wait (O_NONBLOCK)");
      return tr("the call would have to wait, and this socket does not (O_NONBLOCK or a timeout)");
    case EADDRINUSE: return tr("another socket already uses that address and port");
    // connect() on a socket that is not bound binds it to a free local port first (connect(2)).
    case EADDRNOTAVAIL:
      return kind == CallKind::Connect ? tr("no free local port: every port of net.ipv4.ip_local_port_range is in use towards that address")
                                 : tr("that address is not one of this machine's");
    case EHOSTUNREACH: return tr("no route to that host");
    case ENETUNREACH: return tr("no route to that network");
    // bind(2): a port below net.ipv4.ip_unprivileged_port_start (1024 unless changed) needs
    // CAP_NET_BIND_SERVICE; connect(2), send(2): a broadcast address needs SO_BROADCAST (socket(7)),
    // or a local firewall rule refused the packet.
    case EACCES:
      if (kind == CallKind::Bind)
        return tr("not allowed: ports below 1024 (net.ipv4.ip_unprivileged_port_start) need root or CAP_NET_BIND_SERVICE");
      if (kind == CallKind::Send || kind == CallKind::Connect)
        return tr("not allowed: a broadcast address needs the SO_BROADCAST option, or a local firewall rule refused it");
      return tr("not allowed (permission denied)");
    case EINTR: return tr("interrupted by a signal");
    case ENOTCONN: return tr("the socket is not connected");
    case EBADF: return tr("not an open socket");
    case EMSGSIZE: return tr("too long for one datagram");
    case EINVAL: return tr("an argument is not valid here");
    default: break;
  }
  return nullptr;
}

void append_call_text(std::string& out, const CallRecord& c, bool standalone) {
  // sockscope trace: the process, as ps names it ("python3[4242]").
  if (c.pid != 0) {
    escape_text(out, reinterpret_cast<const std::uint8_t*>(c.program.data()), c.program.size(), 32, false, false);
    appendf(out, "[%d] ", c.pid);
  }
  escape_text(out, reinterpret_cast<const std::uint8_t*>(c.call.data()), c.call.size(), 32, false, false);
  out += '(';
  // A blocking call that returned had its arguments on its first line; only its result matters now.
  if (!c.returned || !c.blocking || standalone) append_call_args(out, c);
  out += ')';
  if (!c.returned) {
    out += " ...";
    return;
  }
  out += " = ";
  appendf(out, "%lld", static_cast<long long>(c.result));
  if (call_failed(c)) {
    out += ' ';
    out += errno_name(c.err);
    if (const char* why = errno_explained(c)) {
      out += " (";
      out += why;
      out += ')';
    }
  } else if (call_kind(c.call) == CallKind::Accept) {
    if (c.has_peer) {
      out += ' ';
      out += tr("from");
      out += ' ';
      append_endpoint(out, c.peer.ip, c.peer.port);
    }
  } else if (receives_data(c.call)) {
    if (c.result > 0 || !c.data.empty()) {
      out += ' ';
      append_data(out, c.data);
    }
    const CallName* name = find_call_name(c.call);
    if (name && name->sender_address && c.has_peer && c.proto == Proto::Udp) {
      out += ' ';
      out += tr("from");
      out += ' ';
      append_endpoint(out, c.peer.ip, c.peer.port);
    }
    // recv(2): "When a stream socket peer has performed an orderly shutdown, the return value will be
    // 0 (the traditional end-of-file return)". A datagram of zero bytes is just that.
    if (c.result == 0 && c.proto != Proto::Udp) {
      out += " (";
      out += tr("the peer closed: end of stream");
      out += ')';
    }
  }
  // A connected socket's peer (a UDP datagram's address is in the arguments or said above).
  if (standalone && c.has_peer && !call_failed(c) && c.proto != Proto::Udp) {
    const CallKind kind = call_kind(c.call);
    if ((kind == CallKind::Receive && c.result > 0) || kind == CallKind::Send) {
      out += ' ';
      out += kind == CallKind::Send ? tr("to") : tr("from");
      out += ' ';
      append_endpoint(out, c.peer.ip, c.peer.port);
    } else if (kind == CallKind::Close || kind == CallKind::Shutdown) {
      out += " (";
      append_endpoint(out, c.peer.ip, c.peer.port);
      out += ')';
    }
  }
  if (!c.kernel_state.empty()) {
    std::string state;
    escape_text(state, reinterpret_cast<const std::uint8_t*>(c.kernel_state.data()), c.kernel_state.size(), 32,
                false, false);
    out += "  [";
    out += text::labelled(tr("kernel:"), state);
    out += ']';
  }
}

}  // namespace sockscope::views

namespace sockscope {
void describe_call(const CallRecord& c, std::string& out, bool standalone) {
  views::append_call_text(out, c, standalone);
}
}  // namespace sockscope
