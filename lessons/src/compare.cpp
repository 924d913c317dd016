// sockscope compare: the same numbered conversation over TCP, then over UDP, each with its own live
// capture, measured from the capture (packets by role, header and payload bytes per OSI layer) and
// from the programs' own calls (what the server received, when the first byte arrived).
//
// Order of one protocol's run (the same as the demo's, for the same reasons):
//   1. the server thread creates, binds (port 0: the kernel picks a free port) and, for TCP, listens;
//   2. the capture is opened on that port: when LiveSession::open() returns the kernel already keeps
//      the port's packets, so the client's first packet cannot be missed;
//   3. the client thread runs: socket, (connect,) N messages, close;
//   4. when both are done the capture runs a little longer (the last ACK is still on its way), then
//      stops, and the figures are read from what it saw.
// With --lab the server thread lives in the server host's network namespace, the client thread and
// the capture in the client host's (lab.hpp); the capture watches the client's end of the cable, so
// it sees every packet the client sends, also the ones the loss rule drops after they left.
#include "sockscope/compare.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

#include "sockscope/annotate.hpp"
#include "sockscope/calls.hpp"
#include "sockscope/chat.hpp"
#include "sockscope/i18n.hpp"
#include "sockscope/lab.hpp"
#include "sockscope/live_capture.hpp"
#include "sockscope/live_session.hpp"
#include "sockscope/out_buffer.hpp"
#include "sockscope/socket_calls.hpp"

namespace sockscope::compare {

namespace {

using Clock = std::chrono::steady_clock;
using ull = unsigned long long;

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
int message_number(const std::uint8_t* p, std::size_t n) {
  int v = 0;
  std::size_t i = 0;
  for (; i < n && i < 5 && p[i] >= '0' && p[i] <= '9'; ++i) v = v * 10 + (p[i] - '0');
  return i == 0 ? 0 : v;
}

// What the server saw of the conversation.
struct ServerTally {
  std::vector<std::uint32_t> copies;  // by message number 1..N: how often it arrived
  std::uint64_t recv_calls = 0;       // recv()/recvfrom() calls that returned data
  std::uint64_t merged = 0;           // messages that came in a recv() with (part of) another one
  std::uint64_t foreign = 0;          // messages without a valid number (never expected)
  std::int64_t first_byte_ns = 0;     // when the first recv() with data returned
  void arrived(int number) {
    if (number >= 1 && static_cast<std::size_t>(number) < copies.size())
      ++copies[static_cast<std::size_t>(number)];
    else
      ++foreign;
  }
};

// Where each side of one protocol's run is, shared by its threads.
struct Stage {
  std::mutex m;
  std::condition_variable cv;
  bool server_ready = false, capture_ready = false, client_done = false, failed = false;
  std::uint16_t port = 0;
  std::int64_t client_done_ns = 0;
  std::string error;  // the first failure

  void update(const std::function<void(Stage&)>& f) {
    {
      std::lock_guard<std::mutex> lock(m);
      f(*this);
    }
    cv.notify_all();
  }
  void fail(std::string e) {
    update([&](Stage& s) {
      if (!s.failed) s.error = std::move(e);
      s.failed = true;
    });
  }
  bool has_failed() {
    std::lock_guard<std::mutex> lock(m);
    return failed;
  }
  // Waits until pred holds or the run failed or the deadline passed; true when pred holds.
  bool wait(const std::function<bool(const Stage&)>& pred, Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(m);
    cv.wait_until(lock, deadline, [&] { return pred(*this) || failed; });
    return pred(*this);
  }
};

// Calls reported before the capture exists (the server's socket, bind, listen) are kept and handed
// over when it opens: the session puts them in time order before the packets.
class ForwardSink final : public CallSink {
 public:
  void on_call(const CallRecord& c) override {
    std::lock_guard<std::mutex> lock(m_);
    if (target_ != nullptr)
      target_->on_call(c);
    else if (!detached_)
      pending_.push_back(c);
  }
  void attach(CallSink* t) {
    std::lock_guard<std::mutex> lock(m_);
    target_ = t;
    for (const CallRecord& c : pending_) t->on_call(c);
    pending_.clear();
  }
  void detach() {
    std::lock_guard<std::mutex> lock(m_);
    target_ = nullptr;
    detached_ = true;
  }

 private:
  std::mutex m_;
  CallSink* target_ = nullptr;
  bool detached_ = false;
  std::vector<CallRecord> pending_;
};

// One packet as the text ladder shows it.
struct LadderItem {
  std::uint64_t frame = 0;
  bool to_server = true;
  std::string label;
  int number = 0;          // UDP: the message number the datagram carries (0: none readable)
};

// Counts packets by role and header bytes by layer, and keeps one short line per packet.
class Measure final : public View {
 public:
  void packet(const Packet& p, const Annotation& a) override {
    ++fig.pk_total;
    const EventSet& ev = a.events;
    // One role per packet, the first that fits (compare.hpp).
    if (ev.has(Event::Retransmission))
      ++fig.pk_retransmission;
    else if (ev.has(Event::Handshake1) || ev.has(Event::Handshake2) || ev.has(Event::Handshake3))
      ++fig.pk_handshake;
    else if (ev.has(Event::Teardown1) || ev.has(Event::Teardown2) || ev.has(Event::Teardown3) ||
             ev.has(Event::Teardown4))
      ++fig.pk_teardown;
    else if (ev.has(Event::Data) || ev.has(Event::Datagram) || ev.has(Event::IpFragment))
      ++fig.pk_data;
    else if (p.transport == Transport::Tcp && p.payload_len == 0 && p.tcp.has(tcpflag::kAck) &&
             !p.tcp.has(tcpflag::kSyn | tcpflag::kFin | tcpflag::kRst))
      ++fig.pk_ack;
    if (ev.has(Event::Retransmission)) ++fig.retransmissions;
    // A sender's kernel sends new bytes in order, so a segment that starts below the highest byte
    // already seen from its side carries bytes sent before (the capture at the sender sees them in
    // the order they were sent).
    bool resent = false;
    if (p.transport == Transport::Tcp && a.has_rel && p.payload_len > 0 && a.dir != Direction::None) {
      Side& side = a.dir == Direction::C2S ? c2s_ : s2c_;
      const std::uint64_t end = std::uint64_t{a.rel_seq} + p.payload_len;
      resent = side.seen && a.rel_seq < side.high;
      if (resent) ++fig.resent_segments;
      side.seen = true;
      if (end > side.high) side.high = end;
    }
    count_bytes(p);
    items.push_back(describe_short(p, a, resent || ev.has(Event::Retransmission)));
  }
  void conversation(const ConnSummary&) override {}
  void finish() override {}

  Figures fig;
  std::vector<LadderItem> items;

 private:
  struct Side {
    bool seen = false;
    std::uint64_t high = 0;  // one past the highest relative sequence number carried so far
  };
  Side c2s_, s2c_;

  // Layer 2: the link header; layer 3: the IP header; layer 4: the TCP/UDP header; layer 7: the
  // payload. An IP fragment counts its own headers: every fragment has a link and an IP header, only
  // the first (offset 0) carries the UDP/TCP header, and the rest of each fragment is payload
  // (RFC 791 section 2.3, RFC 8200 section 4.5).
  void count_bytes(const Packet& p) {
    fig.bytes_l2 += p.link.header_len;
    fig.bytes_l3 += p.ip.header_len;
    if (!p.ip.is_fragment) {
      fig.bytes_l4 += p.transport_header_len;
      fig.bytes_l7 += p.payload_len;
      return;
    }
    std::uint32_t data = 0, offset = 0;
    if (p.ip.version == 4) {
      data = p.ip.v4.total_len > p.ip.v4.ihl ? p.ip.v4.total_len - p.ip.v4.ihl : 0u;
      offset = p.ip.v4.frag_offset;
    } else {
      const std::uint32_t ext = p.ip.header_len > 40 ? p.ip.header_len - 40 : 0u;
      data = p.ip.v6.payload_len > ext ? p.ip.v6.payload_len - ext : 0u;
      offset = p.ip.v6.frag_offset;
    }
    std::uint32_t l4 = 0;
    if (offset == 0) l4 = p.ip.proto == 17 ? 8u : p.ip.proto == 6 && p.tcp.header_len ? p.tcp.header_len : 0u;
    if (l4 > data) l4 = data;
    fig.bytes_l4 += l4;
    fig.bytes_l7 += data - l4;
  }

  static LadderItem describe_short(const Packet& p, const Annotation& a, bool resent) {
    LadderItem it;
    it.frame = p.frame;
    it.to_server = a.dir != Direction::S2C;
    const EventSet& ev = a.events;
    std::string& s = it.label;
    if (p.transport == Transport::Tcp) {
      const TcpInfo& t = p.tcp;
      if (t.has(tcpflag::kRst))
        s = "RST";
      else if (t.has(tcpflag::kSyn))
        s = t.has(tcpflag::kAck) ? "SYN-ACK" : "SYN";
      else if (p.payload_len > 0)
        s = tr("data") + std::string(" ") + std::to_string(p.payload_len) + " B";
      if (t.has(tcpflag::kFin)) s += s.empty() ? "FIN" : " + FIN";
      if (s.empty()) s = ev.has(Event::DupAck) ? tr("dup ACK") : "ACK";
      if (resent) s += std::string(" (") + tr("re-sent") + ")";
    } else if (p.transport == Transport::Udp) {
      const std::size_t n = p.payload != nullptr ? p.payload_captured : 0;
      it.number = message_number(p.payload, n);
      char num[16] = "";
      if (it.number > 0) std::snprintf(num, sizeof num, "#%04d ", it.number);
      if (p.ip.is_fragment && !p.ip.reassembled)
        s = tr("IP fragment, UDP header") + std::string(" ") + num;  // the first one (offset 0)
      else if (p.ip.reassembled)
        s = tr("last IP fragment: datagram") + std::string(" ") + num + std::to_string(p.payload_len) + " B";
      else
        s = tr("datagram") + std::string(" ") + num + std::to_string(p.payload_len) + " B";
      while (!s.empty() && s.back() == ' ') s.pop_back();
    } else if (ev.has(Event::IpFragment)) {
      s = tr("IP fragment");
    } else {
      s = tr("other");
    }
    return it;
  }
};

// Every blocking call gives up after ms: SO_RCVTIMEO bounds recv and accept, SO_SNDTIMEO bounds send
// and connect (socket(7)).
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

struct Setup {
  bool tcp = true;
  bool lab = false;
  std::string server_host;  // where the server binds and the client sends
  std::string interface;    // where the capture listens
  int messages = 10, size = 32, timeout_ms = 20000, gap_ms = 1;
};

bool enter_host(const Setup& su, const char* ns, Stage& st, const char* who) {
  if (!su.lab) return true;
  std::string err;
  if (lab::enter(ns, err)) return true;
  st.fail(std::string(who) + ": " + err);
  return false;
}

void server_main(const Setup& su, Stage& st, ServerTally& tally, CallSink& sink, Clock::time_point deadline) {
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
  std::vector<char> buf(kReadBuffer);

  if (su.tcp) {
    const int w = wait_readable(fd, ms_left(deadline), st);
    if (w <= 0) {
      if (!st.has_failed()) st.fail(w < 0 ? why("server", "poll", errno) : std::string("server: accept(): ") + tr("no connection came in time"));
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
    std::uint64_t stream_pos = 0, newlines = 0;  // bytes and complete messages so far
    std::vector<bool> merged;                    // by position in the stream (0-based message index)
    for (;;) {
      const int rw = wait_readable(conn, ms_left(deadline), st);
      if (rw <= 0) {
        if (!st.has_failed()) st.fail(std::string("server: recv(): ") + tr("the client did not finish in time"));
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
      stream_pos += len;
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

void client_main(const Setup& su, Stage& st, std::int64_t& first_call_ns, std::uint64_t& sent, CallSink& sink,
                 Clock::time_point deadline) {
  auto done = [&] {
    st.update([](Stage& s) {
      s.client_done = true;
      s.client_done_ns = realtime_ns();
    });
  };
  if (!enter_host(su, lab::kClientNs, st, "client")) return done();
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

struct ProtoRun {
  Figures fig;
  std::string svg, svg_doc, pcap, error, note;
  std::vector<std::string> ladder;
};

// The written files belong to the user who ran sudo, like tcpdump's (the capture kept root here:
// the lab's namespaces and the second capture need it after the first one opened).
void give_to_sudo_user(const std::string& path) {
  if (geteuid() != 0 || path.empty()) return;
  const char* uid = std::getenv("SUDO_UID");
  const char* gid = std::getenv("SUDO_GID");
  if (uid == nullptr || gid == nullptr) return;
  char* end = nullptr;
  const unsigned long u = std::strtoul(uid, &end, 10);
  if (end == uid || *end != '\0') return;
  const unsigned long g = std::strtoul(gid, &end, 10);
  if (end == gid || *end != '\0') return;
  if (::chown(path.c_str(), static_cast<uid_t>(u), static_cast<gid_t>(g)) != 0) {
    // Not fatal: the file is there, owned by root.
  }
}

ProtoRun run_one(const Options& opts, const Setup& su) {
  ProtoRun out;
  const auto deadline = Clock::now() + std::chrono::milliseconds(su.timeout_ms);
  Stage st;
  ForwardSink sink;
  ServerTally tally;
  tally.copies.assign(static_cast<std::size_t>(su.messages) + 1, 0);
  std::int64_t first_call_ns = 0;
  std::uint64_t sent = 0;

  SvgOptions so;
  char title[160];
  std::snprintf(title, sizeof title, tr("%s: %d messages of %d bytes%s"), su.tcp ? "TCP" : "UDP", su.messages,
                su.size, su.lab ? tr(", between the two lab hosts") : tr(", on loopback"));
  so.title = title;
  SvgLadder svg(so);
  Measure measure;
  TeeView tee({&measure, &svg});
  auto sink_out = std::make_unique<OutBuffer>(nullptr);  // the views write nothing to a terminal

  std::thread server([&] { server_main(su, st, tally, sink, deadline); });
  st.wait([](const Stage& s) { return s.server_ready; }, Clock::now() + std::chrono::seconds(5));

  std::unique_ptr<LiveSession> session;
  std::atomic<bool> stop{false};
  LiveSessionResult live;
  if (!opts.write_prefix.empty()) out.pcap = opts.write_prefix + (su.tcp ? "-tcp.pcapng" : "-udp.pcapng");
  std::thread capture;
  if (st.wait([](const Stage& s) { return s.server_ready; }, Clock::now())) {
    std::uint16_t port = 0;
    {
      std::lock_guard<std::mutex> lock(st.m);
      port = st.port;
    }
    capture = std::thread([&, port] {
      if (!enter_host(su, lab::kClientNs, st, "capture")) return;
      LiveSessionOptions lo;
      lo.capture.interface = su.interface;
      // The server's port; and IPv4 fragments after the first, which carry no port (pcap-filter(7)).
      lo.capture.filter = "port " + std::to_string(port) + " or (ip[6:2] & 0x1fff != 0)";
      lo.write_path = out.pcap;
      // Root is kept: the next protocol's capture and the lab need it (the files are handed to the
      // sudo user afterwards).
      lo.drop_privileges = false;
      std::string err;
      session = LiveSession::open(lo, tee, *sink_out, err);
      if (!session) {
        st.fail(err);
        return;
      }
      if (!session->warning().empty()) out.note = session->warning();
      st.update([](Stage& s) { s.capture_ready = true; });
      live = session->run(stop);
    });
    st.wait([](const Stage& s) { return s.capture_ready; }, Clock::now() + std::chrono::seconds(10));
  } else if (!st.has_failed()) {
    st.fail(std::string("server: ") + tr("not ready after 5 s"));
  }

  std::thread client;
  if (!st.has_failed() && st.wait([](const Stage& s) { return s.capture_ready; }, Clock::now())) {
    sink.attach(session.get());
    client = std::thread([&] { client_main(su, st, first_call_ns, sent, sink, deadline); });
  } else if (!st.has_failed()) {
    st.fail(std::string("capture: ") + tr("not open after 10 s"));
  }
  if (client.joinable()) client.join();
  server.join();
  if (session) {
    // The last packets (the ACK of the last FIN; in the lab a FIN re-sent after a loss) are still on
    // their way: the capture runs a little longer.
    std::this_thread::sleep_for(std::chrono::milliseconds(su.tcp ? (su.lab ? 700 : 250) : 150));
  }
  sink.detach();
  stop.store(true);
  if (capture.joinable()) capture.join();

  if (session && !live.ok && !st.has_failed()) st.fail(live.error);
  if (live.stats.dropped_kernel > 0)
    out.note = std::to_string(live.stats.dropped_kernel) + " " +
               tr("packets were dropped by the capture (kernel buffer full): the packet figures are short");
  session.reset();
  {
    std::lock_guard<std::mutex> lock(st.m);
    if (st.failed) out.error = st.error;
  }

  Figures& f = out.fig;
  f = measure.fig;
  f.messages_sent = sent;
  for (std::size_t k = 1; k < tally.copies.size(); ++k) {
    if (tally.copies[k] > 0) ++f.messages_delivered;
    if (tally.copies[k] > 1) f.messages_duplicated += tally.copies[k] - 1;
  }
  f.messages_lost = f.messages_sent > f.messages_delivered ? f.messages_sent - f.messages_delivered : 0;
  f.messages_merged = tally.merged;
  f.recv_calls = tally.recv_calls;
  const std::uint64_t headers = f.bytes_l2 + f.bytes_l3 + f.bytes_l4;
  f.overhead_pct = headers + f.bytes_l7 == 0 ? 0.0
                                              : 100.0 * static_cast<double>(headers) /
                                                    static_cast<double>(headers + f.bytes_l7);
  f.first_byte_ms = tally.first_byte_ns > 0 && first_call_ns > 0
                        ? static_cast<double>(tally.first_byte_ns - first_call_ns) / 1e6
                        : -1.0;

  // UDP datagrams whose message never reached the server: the capture (at the client) saw them
  // leave; the server's own reads prove they never arrived.
  for (LadderItem& it : measure.items) {
    char line[200];
    std::string label = it.label;
    if (!su.tcp && it.to_server && it.number >= 1 && it.number <= su.messages &&
        tally.copies[static_cast<std::size_t>(it.number)] == 0) {
      char reason[96];
      std::snprintf(reason, sizeof reason, tr("never received: message %d missing"), it.number);
      svg.mark_lost(it.frame, reason);
      label += std::string(" ✗ ") + tr("lost");
    }
    std::snprintf(line, sizeof line, "%3llu %s %s", static_cast<ull>(it.frame), it.to_server ? "→" : "←",
                  label.c_str());
    out.ladder.emplace_back(line);
  }
  out.svg = svg.svg(false);
  out.svg_doc = svg.svg(true);
  struct stat sb {};
  if (!out.pcap.empty() && ::stat(out.pcap.c_str(), &sb) == 0) give_to_sudo_user(out.pcap);
  return out;
}

}  // namespace

Result run(const Options& opts) {
  Result r;
  r.options = opts;
  if (opts.messages < 1 || opts.messages > 10000) {
    r.error = tr("messages: 1 to 10000");
    return r;
  }
  if (opts.size < 6 || opts.size > 60000) {
    r.error = tr("size: 6 to 60000 bytes");
    return r;
  }
  if (opts.loss_pct < 0 || opts.loss_pct > 100 || (opts.loss_pct > 0 && !opts.lab)) {
    r.error = tr("loss: 0 to 100 percent, and only in the lab (on loopback nothing is lost)");
    return r;
  }
  Setup su;
  su.lab = opts.lab;
  su.messages = opts.messages;
  su.size = opts.size;
  if (opts.gap_ms < 0 || opts.gap_ms > 1000) {
    r.error = tr("gap: 0 to 1000 ms");
    return r;
  }
  su.gap_ms = opts.gap_ms;
  // The pauses alone take messages * gap_ms: the run may take that much longer.
  su.timeout_ms = std::max(opts.timeout_ms > 0 ? opts.timeout_ms : 20000, opts.messages * opts.gap_ms + 10000);
  su.server_host = opts.lab ? lab::kServerIPv4 : "127.0.0.1";
  su.interface = opts.lab ? lab::kClientIf : "lo";

  lab::Guard guard;
  if (opts.lab) {
    lab::LabOptions lo;
    lo.loss_pct = opts.loss_pct;
    std::string err;
    const lab::UpResult up = guard.up(lo, err);
    if (up != lab::UpResult::Ok) {
      r.error = std::string(tr("the lab could not be built: ")) + err;
      return r;
    }
  }

  su.tcp = true;
  ProtoRun tcp = run_one(opts, su);
  ProtoRun udp;
  if (tcp.error.empty()) {
    su.tcp = false;
    udp = run_one(opts, su);
  }
  if (opts.lab) {
    std::string err;
    if (!guard.down(err) && r.note.empty()) r.note = std::string(tr("the lab was not removed cleanly: ")) + err;
  }

  r.tcp = tcp.fig;
  r.udp = udp.fig;
  r.tcp_pcap = tcp.pcap;
  r.udp_pcap = udp.pcap;
  r.tcp_svg = std::move(tcp.svg);
  r.udp_svg = std::move(udp.svg);
  r.tcp_svg_doc = std::move(tcp.svg_doc);
  r.udp_svg_doc = std::move(udp.svg_doc);
  r.tcp_ladder = std::move(tcp.ladder);
  r.udp_ladder = std::move(udp.ladder);
  for (const std::string* n : {&tcp.note, &udp.note})
    if (!n->empty()) r.note += (r.note.empty() ? "" : "; ") + *n;
  if (!tcp.error.empty())
    r.error = "TCP: " + tcp.error;
  else if (!udp.error.empty())
    r.error = "UDP: " + udp.error;
  r.ok = r.error.empty();
  return r;
}

}  // namespace sockscope::compare
