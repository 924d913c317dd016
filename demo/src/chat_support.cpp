#include "sockscope/text/format.hpp"
#include "chat_support.hpp"

#include "sockscope/text/escape.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <utility>

#include "sockscope/text/i18n.hpp"

namespace sockscope::demo {

bool resolve(const std::string& host, std::uint16_t port, int socktype, SockAddr& out, std::string& error) {
  out = SockAddr{};
  // Numeric addresses first: no resolver involved, and "::1" or "127.0.0.1" is what lessons use.
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.len = sizeof(sockaddr_in);
    return true;
  }
  out = SockAddr{};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.ss);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.len = sizeof(sockaddr_in6);
    return true;
  }
  out = SockAddr{};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    error = text::format(tr("cannot find the address of '%1$s': %2$s. Give an address such as 127.0.0.1 or ::1"),
                      detail::escape(host).c_str(), gai_strerror(rc));
    return false;
  }
  std::memcpy(&out.ss, res->ai_addr, std::min<std::size_t>(res->ai_addrlen, sizeof out.ss));
  out.len = res->ai_addrlen;
  freeaddrinfo(res);
  if (out.family() == AF_INET)
    reinterpret_cast<sockaddr_in*>(&out.ss)->sin_port = htons(port);
  else
    reinterpret_cast<sockaddr_in6*>(&out.ss)->sin6_port = htons(port);
  return true;
}

std::uint16_t free_port(const SockAddr& addr, int type, std::string& error) {
  const int fd = ::socket(addr.family(), type | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return 0;
  }
  SockAddr a = addr;
  if (a.family() == AF_INET)
    reinterpret_cast<sockaddr_in*>(&a.ss)->sin_port = 0;
  else
    reinterpret_cast<sockaddr_in6*>(&a.ss)->sin6_port = 0;
  std::uint16_t port = 0;
  socklen_t len = a.len;
  if (::bind(fd, a.sa(), a.len) == 0 && ::getsockname(fd, a.sa(), &len) == 0)
    port = to_endpoint(a).port;
  else
    error = std::string("bind: ") + std::strerror(errno);
  ::close(fd);
  return port;
}

Endpoint to_endpoint(const SockAddr& a) {
  Endpoint e;
  if (a.family() == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a.ss);
    e.ip.family = 4;
    std::memcpy(e.ip.b.data(), &v4->sin_addr, 4);
    e.port = ntohs(v4->sin_port);
  } else if (a.family() == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a.ss);
    e.ip.family = 6;
    std::memcpy(e.ip.b.data(), &v6->sin6_addr, 16);
    e.port = ntohs(v6->sin6_port);
  }
  return e;
}

std::string endpoint_text(const Endpoint& e) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (e.ip.family == 4) {
    inet_ntop(AF_INET, e.ip.b.data(), buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(e.port);
  }
  if (e.ip.family == 6) {
    inet_ntop(AF_INET6, e.ip.b.data(), buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(e.port);
  }
  return "?";
}

}  // namespace sockscope::demo

namespace sockscope::demo::detail {

std::string escape(std::string_view s, std::size_t max_bytes) {
  // The same escaping as every view (escape.hpp): one definition of "safe for a terminal".
  std::string out;
  text::escape_text(out, reinterpret_cast<const std::uint8_t*>(s.data()), s.size(), max_bytes);
  return out;
}

Timestamp realtime_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  Timestamp t;
  t.sec = ts.tv_sec;
  t.nsec = static_cast<std::uint32_t>(ts.tv_nsec);
  return t;
}

std::int64_t mono_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void say_line(const ChatHooks& hooks, const std::string& line) {
  if (hooks.out == nullptr) return;
  std::fputs(line.c_str(), hooks.out);
  std::fputc('\n', hooks.out);
  std::fflush(hooks.out);
}

bool stop_requested(const ChatHooks& hooks) {
  return hooks.stop != nullptr && hooks.stop->load(std::memory_order_relaxed);
}

}  // namespace sockscope::demo::detail

namespace sockscope::demo {

// ---- Reporter ----

namespace {

const char* family_name(int family) { return family == AF_INET ? "AF_INET" : family == AF_INET6 ? "AF_INET6" : "AF_?"; }

// Whether anyone takes the call records (--quiet gives no sink).
bool reports(const ChatHooks& hooks) { return hooks.calls != nullptr; }

}  // namespace

CallRecord Reporter::start(const char* call, int fd, std::string args, bool blocking, const Endpoint* peer) {
  CallRecord r;
  // Nobody listens (--quiet): the call is made and nothing else, so a busy server spends its time on
  // its clients, not on describing calls nobody reads.
  if (!reports(hooks_)) return r;
  if (peer != nullptr) {
    r.peer = *peer;
    r.has_peer = true;
  }
  r.endpoint = role_;
  r.call = call;
  r.args = std::move(args);
  r.fd = fd;
  r.proto = proto_;
  r.blocking = blocking;
  if (fd >= 0) fill_endpoints(r, fd);
  r.ts = detail::realtime_now();
  if (blocking) {
    // The start of a call that waits for the network: the timeline shows it before the packets.
    r.returned = false;
    emit(r);
    r.returned = true;
  }
  return r;
}

void Reporter::fill_endpoints(CallRecord& r, int fd) {
  SockAddr a;
  a.len = sizeof a.ss;
  if (::getsockname(fd, a.sa(), &a.len) == 0) {
    const Endpoint e = to_endpoint(a);
    // An unbound socket has port 0: no local endpoint yet.
    if (e.ip.family != 0 && e.port != 0) {
      r.local = e;
      r.has_local = true;
    }
  }
  SockAddr b;
  b.len = sizeof b.ss;
  auto known = std::find_if(peers_.begin(), peers_.end(), [fd](const auto& p) { return p.first == fd; });
  if (::getpeername(fd, b.sa(), &b.len) == 0) {
    const Endpoint e = to_endpoint(b);
    if (e.ip.family != 0) {
      r.peer = e;
      r.has_peer = true;
      if (proto_ == Proto::Tcp && known == peers_.end()) peers_.emplace_back(fd, e);
    }
  } else if (known != peers_.end()) {
    // A TCP socket whose connection has ended (CLOSED, or handed to TIME-WAIT) has no peer for
    // getpeername() (ENOTCONN), but it is still the same connection to the learner.
    r.peer = known->second;
    r.has_peer = true;
  }
}

namespace {

bool unspecified(const IpAddr& ip) {
  const std::size_t n = ip.family == 4 ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i)
    if (ip.b[i] != 0) return false;
  return true;
}

}  // namespace

IpAddr Reporter::source_for(const Endpoint& peer) {
  for (const auto& [dst, src] : sources_)
    if (dst == peer.ip) return src;
  // What the kernel's routing picks as our address towards peer: a connect()ed UDP socket learns it
  // without sending anything (udp(7)). A helper socket, not one of the chat's calls.
  IpAddr src;
  SockAddr to;
  std::string ignored;
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(peer.ip.family == 4 ? AF_INET : AF_INET6, peer.ip.b.data(), text, sizeof text);
  if (resolve(text, peer.port == 0 ? 9 : peer.port, SOCK_DGRAM, to, ignored)) {
    const int fd = ::socket(to.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      SockAddr me;
      me.len = sizeof me.ss;
      if (::connect(fd, to.sa(), to.len) == 0 && ::getsockname(fd, me.sa(), &me.len) == 0) src = to_endpoint(me).ip;
      ::close(fd);
    }
  }
  if (sources_.size() < 64) sources_.emplace_back(peer.ip, src);
  return src;
}

void Reporter::finish(CallRecord& r, std::int64_t result, int err, int state_fd) {
  if (!reports(hooks_)) return;
  const int saved = errno;
  r.ts_return = detail::realtime_now();
  r.result = result;
  r.err = err;
  r.returned = true;
  if (state_fd >= 0) {
    fill_endpoints(r, state_fd);
    // A socket that has not connected or listened has no TCP state worth showing (calls.hpp).
    if (proto_ == Proto::Tcp && r.call != "socket" && r.call != "setsockopt" && r.call != "bind") {
      r.kernel_state = tcp_kernel_state(state_fd);
      // When the last FIN arrives, Linux hands the connection to a TIME-WAIT entry and marks the
      // socket itself CLOSED: the kernel's table tells what the connection really is in.
      if (r.kernel_state == "CLOSED" && r.has_local && r.has_peer) {
        const std::string by_tuple = tcp_state_by_tuple(r.local, r.peer);
        if (!by_tuple.empty()) r.kernel_state = by_tuple;
      }
    }
  }
  // A UDP socket bound to the wildcard address sends from the address routing picks: that one names
  // the datagrams on the wire, so the record can be matched with them.
  if (proto_ == Proto::Udp && r.has_local && r.has_peer && unspecified(r.local.ip) && r.peer.ip.family != 0) {
    const IpAddr src = source_for(r.peer);
    if (src.family != 0) r.local.ip = src;
  }
  emit(r);
  errno = saved;
}

void Reporter::emit(const CallRecord& r) const {
  if (hooks_.calls != nullptr) hooks_.calls->on_call(r);
}

int Reporter::socket(int family, int type) {
  CallRecord r = start("socket", -1, std::string(family_name(family)) + ", " +
                                         (type == SOCK_STREAM ? "SOCK_STREAM" : "SOCK_DGRAM"),
                       false);
  const int fd = ::socket(family, type | SOCK_CLOEXEC, 0);
  const int err = fd < 0 ? errno : 0;
  r.fd = fd;
  finish(r, fd, err, fd);
  errno = err;
  return fd;
}

int Reporter::setsockopt_reuseaddr(int fd) {
  // SO_REUSEADDR: a restarted server may bind its port while the last run's connections are still
  // in TIME-WAIT (socket(7)).
  CallRecord r = start("setsockopt", fd, "SOL_SOCKET, SO_REUSEADDR, 1", false);
  const int one = 1;
  const int rc = ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const int err = rc < 0 ? errno : 0;
  finish(r, rc, err, fd);
  errno = err;
  return rc;
}

int Reporter::setsockopt_send_timeout(int fd, int ms) {
  // SO_SNDTIMEO bounds connect() and send() on Linux (socket(7)): a server that never answers the
  // SYN makes connect() fail with EINPROGRESS after this long instead of after two minutes.
  CallRecord r = start("setsockopt", fd, "SOL_SOCKET, SO_SNDTIMEO, " + std::to_string(ms) + " ms", false);
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  const int rc = ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const int err = rc < 0 ? errno : 0;
  finish(r, rc, err, fd);
  errno = err;
  return rc;
}

int Reporter::setsockopt(int fd, int level, int name, const void* value, socklen_t len, std::string args) {
  CallRecord r = start("setsockopt", fd, std::move(args), false);
  const int rc = ::setsockopt(fd, level, name, value, len);
  const int err = rc < 0 ? errno : 0;
  finish(r, rc, err, fd);
  errno = err;
  return rc;
}

int Reporter::bind(int fd, const SockAddr& a) {
  CallRecord r = start("bind", fd, endpoint_text(to_endpoint(a)), false);
  const int rc = ::bind(fd, a.sa(), a.len);
  const int err = rc < 0 ? errno : 0;
  finish(r, rc, err, fd);
  errno = err;
  return rc;
}

int Reporter::listen(int fd, int backlog) {
  CallRecord r = start("listen", fd, std::to_string(backlog), false);
  const int rc = ::listen(fd, backlog);
  const int err = rc < 0 ? errno : 0;
  finish(r, rc, err, fd);
  errno = err;
  return rc;
}

int Reporter::accept(int fd, SockAddr& peer) {
  CallRecord r = start("accept", fd, "", true);
  peer = SockAddr{};
  peer.len = sizeof peer.ss;
  const int nfd = ::accept4(fd, peer.sa(), &peer.len, SOCK_CLOEXEC);
  const int err = nfd < 0 ? errno : 0;
  // The returned connection is what a learner follows: its endpoints and state (ESTABLISHED: accept
  // returns only after handshake 3/3).
  finish(r, nfd, err, nfd >= 0 ? nfd : fd);
  errno = err;
  return nfd;
}

int Reporter::connect(int fd, const SockAddr& a) {
  const Endpoint target = to_endpoint(a);
  CallRecord r = start("connect", fd, endpoint_text(target), true, &target);
  const int rc = ::connect(fd, a.sa(), a.len);
  const int err = rc < 0 ? errno : 0;
  // A refused connect() has no peer per getpeername(): the address asked for still names it.
  r.peer = to_endpoint(a);
  r.has_peer = true;
  finish(r, rc, err, fd);
  errno = err;
  return rc;
}

namespace {

// The flags a send() or recv() was given, as the call is written: "MSG_DONTWAIT|MSG_NOSIGNAL".
std::string flags_text(int flags) {
  std::string s;
  for (const auto& [bit, name] : {std::pair{MSG_DONTWAIT, "MSG_DONTWAIT"}, std::pair{MSG_WAITALL, "MSG_WAITALL"},
                                  std::pair{MSG_NOSIGNAL, "MSG_NOSIGNAL"}})
    if (flags & bit) s += (s.empty() ? "" : "|") + std::string(name);
  return s;
}

}  // namespace

ssize_t Reporter::send(int fd, std::string_view data, int flags) {
  // MSG_NOSIGNAL: a send() on a connection the peer reset fails with EPIPE, and without the flag the
  // kernel also raises SIGPIPE, which ends a program that does not handle it (send(2)). The timeline
  // shows the flags, so a learner sees why these endpoints survive that.
  flags |= MSG_NOSIGNAL;
  CallRecord r = start("send", fd, flags_text(flags), false);
  const ssize_t n = ::send(fd, data.data(), data.size(), flags);
  const int err = n < 0 ? errno : 0;
  if (n < 0 && reports(hooks_)) r.args = std::to_string(data.size()) + " bytes, " + r.args;
  if (n > 0 && reports(hooks_)) r.data.assign(data.substr(0, static_cast<std::size_t>(n)));
  finish(r, n, err, fd);
  errno = err;
  return n;
}

ssize_t Reporter::recv(int fd, char* buf, std::size_t len, int flags) {
  CallRecord r = start("recv", fd, flags_text(flags), true);
  const ssize_t n = ::recv(fd, buf, len, flags);
  const int err = n < 0 ? errno : 0;
  if (n > 0 && reports(hooks_)) r.data.assign(buf, static_cast<std::size_t>(n));
  finish(r, n, err, fd);
  errno = err;
  return n;
}

ssize_t Reporter::sendto(int fd, std::string_view data, const SockAddr& to) {
  CallRecord r = start("sendto", fd, endpoint_text(to_endpoint(to)), false);
  // No MSG_NOSIGNAL: only stream sockets raise SIGPIPE (net/core/stream.c), never a UDP one.
  const ssize_t n = ::sendto(fd, data.data(), data.size(), 0, to.sa(), to.len);
  const int err = n < 0 ? errno : 0;
  // Nothing was sent: say how much was tried ("sendto(65508 bytes, ...) = -1 EMSGSIZE").
  if (n < 0 && reports(hooks_)) r.args = std::to_string(data.size()) + " bytes, " + r.args;
  if (n > 0 && reports(hooks_)) r.data.assign(data.substr(0, static_cast<std::size_t>(n)));
  // An unconnected UDP socket has no peer of its own: the datagram's destination is the one
  // (getpeername() in finish() overrides it for a connected socket).
  r.peer = to_endpoint(to);
  r.has_peer = true;
  finish(r, n, err, fd);
  errno = err;
  return n;
}

ssize_t Reporter::recvfrom(int fd, char* buf, std::size_t len, SockAddr& from, int flags) {
  CallRecord r = start("recvfrom", fd, flags_text(flags), true);
  from = SockAddr{};
  from.len = sizeof from.ss;
  const ssize_t n = ::recvfrom(fd, buf, len, flags, from.sa(), &from.len);
  const int err = n < 0 ? errno : 0;
  if (n > 0 && reports(hooks_)) r.data.assign(buf, static_cast<std::size_t>(n));
  if (n >= 0) {
    // The datagram's sender.
    r.peer = to_endpoint(from);
    r.has_peer = r.peer.ip.family != 0;
  }
  finish(r, n, err, fd);
  errno = err;
  return n;
}

int Reporter::shutdown(int fd, int how) {
  CallRecord r = start("shutdown", fd, how == SHUT_WR ? "SHUT_WR" : how == SHUT_RD ? "SHUT_RD" : "SHUT_RDWR", false);
  const int rc = ::shutdown(fd, how);
  const int err = rc < 0 ? errno : 0;
  finish(r, rc, err, fd);
  errno = err;
  return rc;
}

int Reporter::close(int fd) {
  // The endpoints are read before close(): afterwards there is no descriptor to ask.
  CallRecord r = start("close", fd, "", false);
  const int rc = ::close(fd);
  const int err = rc < 0 ? errno : 0;
  peers_.erase(std::remove_if(peers_.begin(), peers_.end(), [fd](const auto& p) { return p.first == fd; }), peers_.end());
  if (!reports(hooks_)) {
    errno = err;
    return rc;
  }
  r.ts_return = detail::realtime_now();
  r.result = rc;
  r.err = err;
  if (proto_ == Proto::Tcp) {
    // The connection outlives its descriptor: the kernel's socket table still has it in FIN-WAIT-2,
    // TIME-WAIT or LAST-ACK (RFC 9293 section 3.3.2). Gone from the table means CLOSED.
    std::string state;
    if (r.has_local && r.has_peer) state = tcp_state_by_tuple(r.local, r.peer);
    r.kernel_state = state.empty() ? "CLOSED" : state;
  }
  emit(r);
  errno = err;
  return rc;
}

}  // namespace sockscope::demo

namespace sockscope::demo::detail {

// ---- LineSource ----

int sleep_ms_of(std::string_view line) {
  constexpr std::string_view kSleep = "sleep ";
  if (line.substr(0, kSleep.size()) != kSleep) return -1;
  const std::string_view num = line.substr(kSleep.size());
  if (num.empty() || num.size() > 7) return -1;
  int ms = 0;
  for (char c : num) {
    if (c < '0' || c > '9') return -1;
    ms = ms * 10 + (c - '0');
  }
  return ms;
}

bool LineSource::init(const ChatOptions& opts, std::string& error) {
  script_.assign(opts.say.begin(), opts.say.end());
  gap_ms_ = std::max(0, opts.line_gap_ms);
  if (!opts.script_path.empty()) {
    std::ifstream f(opts.script_path);
    if (!f) {
      error = text::format(tr("cannot read the script '%1$s': %2$s. Check the path (one line to send per line, # for comments)"),
                        escape(opts.script_path).c_str(), std::strerror(errno));
      return false;
    }
    std::string line;
    while (std::getline(f, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      script_.push_back(line);
    }
  }
  stdin_open_ = opts.read_stdin;
  return true;
}

std::vector<std::string> LineSource::take_script() {
  std::vector<std::string> out(script_.begin(), script_.end());
  script_.clear();
  return out;
}

void LineSource::start(std::int64_t now_ms) {
  if (started_) return;
  started_ = true;
  due_ms_ = now_ms;
}

std::int64_t LineSource::ms_until_due(std::int64_t now_ms) const {
  if (script_.empty() || !started_) return -1;
  return std::max<std::int64_t>(0, due_ms_ - now_ms);
}

bool LineSource::next_scripted(std::int64_t now_ms, std::string& line) {
  while (started_ && !script_.empty() && now_ms >= due_ms_) {
    std::string l = std::move(script_.front());
    script_.pop_front();
    const int pause = sleep_ms_of(l);
    if (pause >= 0) {
      due_ms_ = now_ms + pause;
      pause_until_ = due_ms_;
      continue;
    }
    due_ms_ = now_ms + gap_ms_;
    line = std::move(l);
    return true;
  }
  return false;
}

bool LineSource::read_stdin(std::vector<std::string>& lines) {
  if (!stdin_open_) return false;
  char buf[4096];
  const ssize_t n = ::read(0, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) {
    stdin_open_ = false;
    if (!stdin_buf_.empty()) lines.push_back(std::move(stdin_buf_));
    stdin_buf_.clear();
    return false;
  }
  stdin_buf_.append(buf, static_cast<std::size_t>(n));
  std::size_t pos;
  while ((pos = stdin_buf_.find('\n')) != std::string::npos) {
    std::string line = stdin_buf_.substr(0, pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    stdin_buf_.erase(0, pos + 1);
  }
  return true;
}

int poll_timeout(std::int64_t now, std::int64_t due_in, std::int64_t deadline) {
  std::int64_t t = kSliceMs;
  if (due_in >= 0) t = std::min(t, due_in);
  if (deadline >= 0) t = std::min(t, std::max<std::int64_t>(0, deadline - now));
  return static_cast<int>(t);
}

void maybe_prompt(const ChatOptions& opts, const ChatHooks& hooks) {
  if (opts.read_stdin && isatty(0)) say_line(hooks, tr("type a line and Enter to send it; Q alone quits"));
}

}  // namespace sockscope::demo::detail
