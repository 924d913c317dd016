#include "sockscope/demo/exchange.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace sockscope::demo {

namespace {

using Clock = std::chrono::steady_clock;

// A socket address for either family, with its length.
struct Address {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family() const { return ss.ss_family; }
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&ss); }
};

// Loopback only: the exchange must never send traffic anywhere else.
bool loopback_address(const std::string& host, std::uint16_t port, Address& out) {
  out = Address{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    const auto first = static_cast<std::uint8_t>(ntohl(v4->sin_addr.s_addr) >> 24);
    if (first != 127) return false;
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.len = sizeof(sockaddr_in);
    return true;
  }
  out = Address{};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.ss);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) return false;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

std::uint16_t port_of(const Address& a) {
  if (a.family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&a.ss)->sin_port);
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&a.ss)->sin6_port);
}

std::string to_string(const Address& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&a.ss)->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port_of(a));
  }
  inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&a.ss)->sin6_addr, buf, sizeof buf);
  return "[" + std::string(buf) + "]:" + std::to_string(port_of(a));
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// The shared record of both endpoints' calls.
class Recorder {
 public:
  explicit Recorder(Clock::time_point start) : start_(start) {}
  void step(bool server, const char* call, std::string text) {
    const auto t = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_);
    std::lock_guard<std::mutex> lock(m_);
    steps_.push_back(ExchangeStep{t.count(), server, call, std::move(text)});
  }
  // Keeps the first failure: later ones are usually its consequences.
  void fail(bool server, const char* call, int err) {
    std::string e = std::string(server ? "server" : "client") + ": " + call + "() failed: " +
                    (err == EAGAIN || err == EWOULDBLOCK ? std::string("timed out")
                                                         : std::string(std::strerror(err)));
    std::lock_guard<std::mutex> lock(m_);
    if (error_.empty()) error_ = std::move(e);
  }
  void fail_text(std::string e) {
    std::lock_guard<std::mutex> lock(m_);
    if (error_.empty()) error_ = std::move(e);
  }
  bool failed() {
    std::lock_guard<std::mutex> lock(m_);
    return !error_.empty();
  }
  std::vector<ExchangeStep> take_steps() { return std::move(steps_); }
  std::string error() { return error_; }

 private:
  Clock::time_point start_;
  std::mutex m_;
  std::vector<ExchangeStep> steps_;
  std::string error_;
};

// Every blocking call on this socket gives up after timeout_ms: SO_RCVTIMEO bounds recv, recvfrom
// and accept; SO_SNDTIMEO bounds send and connect (Linux, socket(7)).
void set_timeouts(int fd, int timeout_ms) {
  timeval tv{};
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = static_cast<suseconds_t>((timeout_ms % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int make_socket(Recorder& rec, bool server, int family, int type, int timeout_ms) {
  const int fd = ::socket(family, type, 0);
  if (fd < 0) {
    rec.fail(server, "socket", errno);
    return -1;
  }
  set_timeouts(fd, timeout_ms);
  rec.step(server, "socket",
           std::string("socket(") + (family == AF_INET ? "AF_INET" : "AF_INET6") + ", " +
               (type == SOCK_STREAM ? "SOCK_STREAM" : "SOCK_DGRAM") + ") = " + std::to_string(fd));
  return fd;
}

// Receives exactly want bytes on a stream socket (TCP may deliver a message in pieces).
// Returns the bytes read: want, fewer at end of stream, or -1 on error.
ssize_t recv_all(int fd, char* buf, std::size_t want) {
  std::size_t got = 0;
  while (got < want) {
    const ssize_t n = ::recv(fd, buf + got, want - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

bool send_all(int fd, std::string_view s) {
  std::size_t sent = 0;
  while (sent < s.size()) {
    const ssize_t n = ::send(fd, s.data() + sent, s.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

void tcp_server(Recorder& rec, int listen_fd, int timeout_ms) {
  Address peer;
  peer.len = sizeof peer.ss;
  Fd conn(::accept(listen_fd, peer.sa(), &peer.len));
  if (conn.get() < 0) {
    rec.fail(true, "accept", errno);
    return;
  }
  set_timeouts(conn.get(), timeout_ms);
  rec.step(true, "accept",
           "accept() = " + std::to_string(conn.get()) + " from " + to_string(peer));
  char buf[256];
  for (std::size_t i = 0; i < kTcpClientLines.size(); ++i) {
    const std::string_view expect = kTcpClientLines[i];
    const ssize_t n = recv_all(conn.get(), buf, expect.size());
    if (n < 0) return rec.fail(true, "recv", errno);
    if (static_cast<std::size_t>(n) != expect.size()) {
      return rec.fail_text("server: the client closed before sending " + quoted(expect));
    }
    rec.step(true, "recv", "recv() = " + std::to_string(n) + " " + quoted(std::string_view(buf, expect.size())));
    if (!send_all(conn.get(), kTcpServerLines[i])) return rec.fail(true, "send", errno);
    rec.step(true, "send", "send(" + quoted(kTcpServerLines[i]) + ", MSG_NOSIGNAL) = " +
                               std::to_string(kTcpServerLines[i].size()));
  }
  // The client closes next: recv() returns 0 at the end of the stream (its FIN arrived).
  const ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
  if (n < 0) return rec.fail(true, "recv", errno);
  if (n > 0) return rec.fail_text("server: unexpected bytes after the script");
  rec.step(true, "recv", "recv() = 0 (the client closed its side: end of stream)");
  const int fd = conn.release();
  ::close(fd);
  rec.step(true, "close", "close(" + std::to_string(fd) + ")");
}

void udp_server(Recorder& rec, int fd) {
  char buf[256];
  for (std::size_t i = 0; i < kUdpClientDatagrams.size(); ++i) {
    Address peer;
    peer.len = sizeof peer.ss;
    const ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, peer.sa(), &peer.len);
    if (n < 0) return rec.fail(true, "recvfrom", errno);
    rec.step(true, "recvfrom",
             "recvfrom() = " + std::to_string(n) + " " +
                 quoted(std::string_view(buf, static_cast<std::size_t>(n))) + " from " +
                 to_string(peer));
    const std::string_view reply = kUdpServerDatagrams[i];
    const ssize_t s = ::sendto(fd, reply.data(), reply.size(), 0, peer.sa(), peer.len);
    if (s < 0) return rec.fail(true, "sendto", errno);
    rec.step(true, "sendto", "sendto(" + quoted(reply) + ", " + to_string(peer) + ") = " +
                                 std::to_string(s));
  }
}

void tcp_client(Recorder& rec, const Address& server, int timeout_ms, std::uint16_t& client_port) {
  Fd fd(make_socket(rec, false, server.family(), SOCK_STREAM, timeout_ms));
  if (fd.get() < 0) return;
  rec.step(false, "connect", "connect(" + to_string(server) + ") ...");
  if (::connect(fd.get(), server.sa(), server.len) != 0) return rec.fail(false, "connect", errno);
  Address local;
  local.len = sizeof local.ss;
  getsockname(fd.get(), local.sa(), &local.len);
  client_port = port_of(local);
  rec.step(false, "connect", "connect() = 0, from " + to_string(local));
  char buf[256];
  for (std::size_t i = 0; i < kTcpClientLines.size(); ++i) {
    if (!send_all(fd.get(), kTcpClientLines[i])) return rec.fail(false, "send", errno);
    rec.step(false, "send", "send(" + quoted(kTcpClientLines[i]) + ", MSG_NOSIGNAL) = " +
                                std::to_string(kTcpClientLines[i].size()));
    const std::string_view expect = kTcpServerLines[i];
    const ssize_t n = recv_all(fd.get(), buf, expect.size());
    if (n < 0) return rec.fail(false, "recv", errno);
    if (static_cast<std::size_t>(n) != expect.size())
      return rec.fail_text("client: the server closed before replying " + quoted(expect));
    rec.step(false, "recv", "recv() = " + std::to_string(n) + " " + quoted(std::string_view(buf, expect.size())));
  }
  const int raw = fd.release();
  ::close(raw);
  rec.step(false, "close", "close(" + std::to_string(raw) + ")");
}

void udp_client(Recorder& rec, const Address& server, int timeout_ms, std::uint16_t& client_port) {
  Fd fd(make_socket(rec, false, server.family(), SOCK_DGRAM, timeout_ms));
  if (fd.get() < 0) return;
  char buf[256];
  for (std::size_t i = 0; i < kUdpClientDatagrams.size(); ++i) {
    const std::string_view msg = kUdpClientDatagrams[i];
    const ssize_t s = ::sendto(fd.get(), msg.data(), msg.size(), 0, server.sa(), server.len);
    if (s < 0) return rec.fail(false, "sendto", errno);
    if (i == 0) {
      Address local;
      local.len = sizeof local.ss;
      getsockname(fd.get(), local.sa(), &local.len);
      client_port = port_of(local);
    }
    rec.step(false, "sendto", "sendto(" + quoted(msg) + ", " + to_string(server) + ") = " +
                                  std::to_string(s));
    Address peer;
    peer.len = sizeof peer.ss;
    const ssize_t n = ::recvfrom(fd.get(), buf, sizeof buf, 0, peer.sa(), &peer.len);
    if (n < 0) return rec.fail(false, "recvfrom", errno);
    rec.step(false, "recvfrom",
             "recvfrom() = " + std::to_string(n) + " " +
                 quoted(std::string_view(buf, static_cast<std::size_t>(n))) + " from " +
                 to_string(peer));
  }
  const int raw = fd.release();
  ::close(raw);
  rec.step(false, "close", "close(" + std::to_string(raw) + ")");
}

// Server side set-up, in the caller's thread so the client can connect as soon as it starts.
int bound_socket(Recorder& rec, Address& addr, int type, int timeout_ms) {
  Fd fd(make_socket(rec, true, addr.family(), type, timeout_ms));
  if (fd.get() < 0) return -1;
  const int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), addr.sa(), addr.len) != 0) {
    rec.fail(true, "bind", errno);
    return -1;
  }
  addr.len = sizeof addr.ss;
  getsockname(fd.get(), addr.sa(), &addr.len);
  rec.step(true, "bind", "bind(" + to_string(addr) + ") = 0");
  if (type == SOCK_STREAM) {
    if (::listen(fd.get(), 4) != 0) {
      rec.fail(true, "listen", errno);
      return -1;
    }
    rec.step(true, "listen", "listen() = 0");
  }
  return fd.release();
}

}  // namespace

ExchangeResult run_exchange(const ExchangeOptions& opts) {
  ExchangeResult result;
  Address tcp_addr, udp_addr;
  if (!loopback_address(opts.host, opts.tcp_port, tcp_addr) ||
      !loopback_address(opts.host, opts.udp_port, udp_addr)) {
    result.error = "host '" + opts.host +
                   "' is not a loopback address: use 127.0.0.1 (or another 127.x.y.z) or ::1";
    return result;
  }
  const int timeout_ms = opts.timeout_ms > 0 ? opts.timeout_ms : 3000;
  Recorder rec(Clock::now());

  Fd listen_fd, udp_fd;
  if (opts.tcp) listen_fd.reset(bound_socket(rec, tcp_addr, SOCK_STREAM, timeout_ms));
  if (opts.udp && !rec.failed()) udp_fd.reset(bound_socket(rec, udp_addr, SOCK_DGRAM, timeout_ms));
  if (rec.failed()) {
    result.error = rec.error();
    result.steps = rec.take_steps();
    return result;
  }
  if (opts.tcp) result.tcp_port = port_of(tcp_addr);
  if (opts.udp) result.udp_port = port_of(udp_addr);

  // UDP starts once the TCP conversation has ended (the server's close(), then a moment for the
  // client's last ACK): two conversations at the same instant on two CPUs can reach two captures of
  // the same traffic in different orders, and the conversations are easier to read one after the other.
  std::mutex tcp_mu;
  std::condition_variable tcp_cv;
  bool tcp_done = false;
  std::thread server([&] {
    if (opts.tcp) tcp_server(rec, listen_fd.get(), timeout_ms);
    {
      std::lock_guard<std::mutex> lock(tcp_mu);
      tcp_done = true;
    }
    tcp_cv.notify_all();
    if (opts.udp && !rec.failed()) udp_server(rec, udp_fd.get());
  });
  if (opts.tcp) tcp_client(rec, tcp_addr, timeout_ms, result.tcp_client_port);
  if (opts.tcp && opts.udp && !rec.failed()) {
    std::unique_lock<std::mutex> lock(tcp_mu);
    tcp_cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return tcp_done; });
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (opts.udp && !rec.failed()) udp_client(rec, udp_addr, timeout_ms, result.udp_client_port);
  if (rec.failed()) {
    // Wake the server if it still waits in accept() or recvfrom(), rather than waiting for its timeout.
    if (listen_fd.get() >= 0) ::shutdown(listen_fd.get(), SHUT_RDWR);
    if (udp_fd.get() >= 0) ::shutdown(udp_fd.get(), SHUT_RDWR);
  }
  server.join();

  result.ok = !rec.failed();
  result.error = rec.error();
  result.steps = rec.take_steps();
  return result;
}

}  // namespace sockscope::demo
