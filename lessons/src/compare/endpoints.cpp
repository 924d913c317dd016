// sockscope compare's two endpoints on the plain socket API: a server that counts the numbered
// messages that arrive, a client that sends them; every blocking call bounded, every call reported.
#include "compare_internal.hpp"
#include "sockscope/lessons/compare.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

#include "sockscope/annotate/annotate.hpp"
#include "sockscope/annotate/calls.hpp"
#include "sockscope/demo/chat.hpp"
#include "sockscope/text/escape.hpp"
#include "sockscope/text/format.hpp"
#include "sockscope/text/i18n.hpp"
#include "sockscope/lessons/lab.hpp"
#include "sockscope/pcap/live_capture.hpp"
#include "sockscope/pcap/live_session.hpp"
#include "sockscope/views/out_buffer.hpp"
#include "sockscope/demo/socket_calls.hpp"


namespace sockscope::compare::detail {

namespace {

std::int64_t realtime_ns() {
  // CLOCK_REALTIME: the clock the kernel stamps captured packets with, and the calls with (calls.hpp).
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// UDP: the server stops reading this long after the last datagram (or after the client's close when
// nothing came): nothing on the wire says that the client is done.
constexpr int kUdpQuietMs = 300;
// The largest read: a UDP datagram of the largest size (60000) fits whole.
constexpr std::size_t kReadBuffer = 65536;

// Message number k of a run: "0001 " then filler letters up to `size` bytes; over TCP the last byte is
// '\n', so the server can find where each message ends in the byte stream.

std::string make_message(int number, int size, bool stream) {
  char head[16];
  std::snprintf(head, sizeof head, "%04d ", number);
  std::string m = head;
  while (m.size() < static_cast<std::size_t>(size)) m += static_cast<char>('a' + m.size() % 26);
  m.resize(static_cast<std::size_t>(size));
  if (stream) m.back() = '\n';
  return m;
}

// The number at the start of a message (its leading digits), 0 when there is none. Bytes from the
// wire: read with bounds, never trusted beyond five digits.

}  // namespace

int message_number(const std::uint8_t* p, std::size_t n) {
  int v = 0;
  std::size_t i = 0;
  for (; i < n && i < 5 && p[i] >= '0' && p[i] <= '9'; ++i) v = v * 10 + (p[i] - '0');
  return i == 0 ? 0 : v;
}

// What the server saw of the conversation.

namespace {

void set_timeouts(int fd, int ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

// Waits until fd is readable: 1 readable, 0 the time ran out (or stop), -1 error.
int wait_readable(int fd, int timeout_ms, Stage& st) {
  const auto end = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (st.has_failed()) return 0;
    const int slice = std::min(ms_left(end), 100);
    pollfd pfd{fd, POLLIN, 0};
    const int rc = ::poll(&pfd, 1, slice);
    if (rc > 0) return 1;
    if (rc < 0 && errno != EINTR) return -1;
    if (ms_left(end) == 0) return 0;
  }
}

std::string why(const char* who, const char* call, int err) {
  return std::string(who) + ": " + call + "(): " +
         (err == EAGAIN || err == EWOULDBLOCK ? std::string(tr("timed out")) : std::string(std::strerror(err)));
}

}  // namespace

bool enter_host(const Setup& su, const char* ns, Stage& st, const char* who) {
  if (!su.lab) return true;
  std::string err;
  if (lab::enter(ns, err)) return true;
  st.fail(std::string(who) + ": " + err);
  return false;
}

void server_main(const Setup& su, Stage& st, ServerTally& tally, CallSink& sink) {
  if (!enter_host(su, lab::kServerNs, st, "server")) return;
  demo::ChatHooks hooks;
  hooks.calls = &sink;
  demo::Reporter rep(hooks, CallRole::Server, su.tcp ? Proto::Tcp : Proto::Udp);
  demo::SockAddr addr;
  std::string err;
  if (!demo::resolve(su.server_host, 0, su.tcp ? SOCK_STREAM : SOCK_DGRAM, addr, err))
    return st.fail("server: " + err);
  const int fd = rep.socket(addr.family(), su.tcp ? SOCK_STREAM : SOCK_DGRAM);
  if (fd < 0) return st.fail(why("server", "socket", errno));
  set_timeouts(fd, 10000);
  if (rep.bind(fd, addr) != 0) {
    st.fail(why("server", "bind", errno));
    rep.close(fd);
    return;
  }
  if (su.tcp && rep.listen(fd, 4) != 0) {
    st.fail(why("server", "listen", errno));
    rep.close(fd);
    return;
  }
  demo::SockAddr bound;
  bound.len = sizeof bound.ss;
  ::getsockname(fd, bound.sa(), &bound.len);
  const std::uint16_t port = demo::to_endpoint(bound).port;
  st.update([&](Stage& s) {
    s.server_ready = true;
    s.port = port;
  });
  // Bound (and listening): what needed root or the namespace is done; the rest waits for go.
  Clock::time_point deadline;
  if (!st.wait_go(deadline)) {
    rep.close(fd);
    return;
  }
  std::vector<char> buf(kReadBuffer);

  if (su.tcp) {
    const int w = wait_readable(fd, ms_left(deadline), st);
    if (w <= 0) {
      if (!st.has_failed()) st.fail(w < 0 ? why("server", "poll", errno) : std::string(tr("server: accept(): no connection came in time")));
      rep.close(fd);
      return;
    }
    demo::SockAddr peer;
    const int conn = rep.accept(fd, peer);
    const int accept_err = errno;
    rep.close(fd);
    if (conn < 0) return st.fail(why("server", "accept", accept_err));
    set_timeouts(conn, 10000);
    // The stream: messages end with '\n'. A message is "merged" when one recv() returned bytes of it
    // and of another message: TCP keeps no boundaries (RFC 9293 section 3.8: a byte stream).
    std::string line;
    std::uint64_t newlines = 0;  // complete messages so far
    std::vector<bool> merged;                    // by position in the stream (0-based message index)
    for (;;) {
      const int rw = wait_readable(conn, ms_left(deadline), st);
      if (rw <= 0) {
        if (!st.has_failed()) st.fail(std::string(tr("server: recv(): the client did not finish in time")));
        break;
      }
      const ssize_t n = rep.recv(conn, buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        st.fail(why("server", "recv", errno));
        break;
      }
      if (n == 0) break;  // the client's FIN: end of the stream
      if (tally.recv_calls++ == 0) tally.first_byte_ns = realtime_ns();
      const auto len = static_cast<std::size_t>(n);
      // Messages this chunk touches: from the one in progress at its first byte to the one its
      // last byte belongs to.
      const std::uint64_t first_msg = newlines;
      std::uint64_t last_msg = newlines;
      for (std::size_t i = 0; i < len; ++i) {
        last_msg = newlines;
        const char c = buf[i];
        if (c == '\n') {
          tally.arrived(message_number(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()));
          line.clear();
          ++newlines;
        } else if (line.size() < 16) {
          line += c;  // the number is all we read of a message
        }
      }
      if (last_msg > first_msg) {
        if (merged.size() <= last_msg) merged.resize(last_msg + 1, false);
        for (std::uint64_t k = first_msg; k <= last_msg; ++k) merged[k] = true;
      }
    }
    for (std::uint64_t k = 0; k < merged.size() && k < newlines; ++k)
      if (merged[k]) ++tally.merged;
    rep.close(conn);
    return;
  }

  // UDP: one recvfrom() returns one datagram, one message (udp(7)); the end is a quiet period.
  std::int64_t last_ns = 0;
  for (;;) {
    const int rw = wait_readable(fd, 50, st);
    if (rw < 0) {
      st.fail(why("server", "poll", errno));
      break;
    }
    if (st.has_failed()) break;
    if (rw == 0) {
      std::int64_t done_ns = 0;
      {
        std::lock_guard<std::mutex> lock(st.m);
        if (st.client_done) done_ns = st.client_done_ns;
      }
      const std::int64_t since = std::max(last_ns, done_ns);
      if (done_ns != 0 && realtime_ns() - since >= std::int64_t{kUdpQuietMs} * 1000000) break;
      if (ms_left(deadline) == 0) break;
      continue;
    }
    demo::SockAddr from;
    const ssize_t n = rep.recvfrom(fd, buf.data(), buf.size(), from);
    if (n < 0) {
      // ECONNREFUSED comes from an ICMP error about an earlier datagram (udp(7)): not ours to stop on.
      if (errno == EINTR || errno == EAGAIN || errno == ECONNREFUSED) continue;
      st.fail(why("server", "recvfrom", errno));
      break;
    }
    last_ns = realtime_ns();
    if (tally.recv_calls++ == 0) tally.first_byte_ns = last_ns;
    tally.arrived(message_number(reinterpret_cast<const std::uint8_t*>(buf.data()), static_cast<std::size_t>(n)));
  }
  rep.close(fd);
}

void client_main(const Setup& su, Stage& st, std::int64_t& first_call_ns, std::uint64_t& sent, CallSink& sink) {
  auto done = [&] {
    st.update([](Stage& s) {
      s.client_done = true;
      s.client_done_ns = realtime_ns();
    });
  };
  if (!enter_host(su, lab::kClientNs, st, "client")) return done();
  // In its host (setns needs root): the rest needs no privilege, and waits for go.
  st.update([](Stage& s) { s.client_ready = true; });
  Clock::time_point deadline;
  if (!st.wait_go(deadline)) return done();
  demo::ChatHooks hooks;
  hooks.calls = &sink;
  demo::Reporter rep(hooks, CallRole::Client, su.tcp ? Proto::Tcp : Proto::Udp);
  demo::SockAddr addr;
  std::string err;
  std::uint16_t port = 0;
  {
    std::lock_guard<std::mutex> lock(st.m);
    port = st.port;
  }
  if (!demo::resolve(su.server_host, port, su.tcp ? SOCK_STREAM : SOCK_DGRAM, addr, err)) {
    st.fail("client: " + err);
    return done();
  }
  first_call_ns = realtime_ns();
  const int fd = rep.socket(addr.family(), su.tcp ? SOCK_STREAM : SOCK_DGRAM);
  if (fd < 0) {
    st.fail(why("client", "socket", errno));
    return done();
  }
  // connect() may wait for SYNs re-sent after a loss (1 s, then 3 s, ...): bounded by SO_SNDTIMEO.
  set_timeouts(fd, std::max(1000, std::min(ms_left(deadline), 15000)));
  if (su.tcp && rep.connect(fd, addr) != 0) {
    st.fail(why("client", "connect", errno));
    rep.close(fd);
    return done();
  }
  if (su.tcp && su.gap_ms > 0) {
    // With a pause between messages, each message should leave in a segment of its own, as each UDP
    // message leaves in a datagram of its own. Nagle's algorithm (RFC 896, RFC 1122 4.2.3.4) would
    // hold every small write while an earlier segment is unacknowledged, and after a loss gather all
    // the waiting messages into one segment: TCP_NODELAY turns it off (tcp(7)).
    const int one = 1;
    rep.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one, "IPPROTO_TCP, TCP_NODELAY, 1");
  }
  for (int i = 1; i <= su.messages && !st.has_failed(); ++i) {
    const std::string msg = make_message(i, su.size, su.tcp);
    if (su.tcp) {
      std::size_t off = 0;
      while (off < msg.size()) {
        const ssize_t n = rep.send(fd, std::string_view(msg).substr(off), 0);
        if (n < 0) {
          if (errno == EINTR) continue;
          st.fail(why("client", "send", errno));
          break;
        }
        off += static_cast<std::size_t>(n);
      }
    } else if (rep.sendto(fd, msg, addr) < 0) {
      st.fail(why("client", "sendto", errno));
    }
    if (!st.has_failed()) ++sent;
    // A pause between messages: each leaves in a packet of its own, over TCP as over UDP.
    if (su.gap_ms > 0 && i < su.messages) std::this_thread::sleep_for(std::chrono::milliseconds(su.gap_ms));
  }
  // TCP: close() sends the FIN after every byte written (RFC 9293 section 3.6); the kernel keeps
  // re-sending what the loss rule dropped after close() returned.
  rep.close(fd);
  done();
}

}  // namespace sockscope::compare::detail
