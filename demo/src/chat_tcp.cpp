#include "sockscope/text/format.hpp"
// The TCP chat: a poll()-based chat room server (one thread, many clients, as in the classic
// select/poll servers) and a client. Lines end with '\n': TCP is a byte stream (RFC 9293 section
// 3.1), so the newline is what tells where a message ends, not the segments that carried it.
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "chat_support.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope::demo::detail {

namespace {

// Said once when messages are framed by recv(): what the framing assumes, and when it breaks.
std::string recv_framing_note() {
  return tr("each recv() is taken as one whole message, as simple tutorial programs do; TCP is a byte stream "
            "and keeps no message boundaries, so this holds only for small messages sent in turns: two quick "
            "send()s can arrive in one recv(), and a long message can take several");
}


// Connections accepted in one go when the listening socket is readable: a burst of newcomers gets
// in quickly, and the clients already in the room still get their turn between bursts.
constexpr int kAcceptBurst = 64;
// Descriptors the server needs besides its clients: the listening socket, standard streams, and the
// helper sockets the call reports use (NETLINK_SOCK_DIAG).
constexpr std::size_t kSpareDescriptors = 16;
// A drained output queue keeps its memory up to this much; more is given back.
constexpr std::size_t kKeptQueueCapacity = 64 * 1024;
// A client whose queue is full and whose socket takes nothing for this long is disconnected: it is
// not reading. One that is only slower than the senders holds the room back instead (flow control).
constexpr std::int64_t kStuckMs = 3000;

// One client of the room.
struct Conn {
  int fd = -1;
  Endpoint peer;
  std::string label;      // "127.0.0.1:51514": how the room names it
  std::string inbuf;      // bytes of a line not complete yet
  bool discarding = false;  // dropping the rest of an over-long line, up to its newline
  // Lines for this client that its socket has not taken yet: out[out_sent..]. Everything queued in
  // one turn of the loop leaves in one send().
  std::string out;
  std::size_t out_sent = 0;
  bool blocked = false;   // its send buffer was full: wait for POLLOUT before sending again
  // Since when its queue has been full (at least max_queue bytes) and its socket took nothing: -1
  // while it is not full or the socket is taking bytes.
  std::int64_t full_since = -1;
  std::size_t next_reply = 0, replies = 0;
  std::int64_t last_ms = 0;
  bool dead = false;
  std::size_t pending() const { return out.size() - out_sent; }
};

// Each client is one descriptor (accept(2)): a room of max_clients needs the soft RLIMIT_NOFILE
// (often 1024) raised towards the hard one (getrlimit(2)). Returns how many clients fit.
std::size_t raise_descriptor_limit(std::size_t max_clients) {
  const rlim_t want = static_cast<rlim_t>(max_clients + kSpareDescriptors);
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return max_clients;
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want) return max_clients;
  const rlim_t target = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
  if (target > rl.rlim_cur) {
    rlimit raised = rl;
    raised.rlim_cur = target;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  if (rl.rlim_cur >= want) return max_clients;
  return rl.rlim_cur > kSpareDescriptors ? static_cast<std::size_t>(rl.rlim_cur) - kSpareDescriptors : 1;
}

class TcpServer {
 public:
  TcpServer(const ChatOptions& o, const ChatHooks& h, LineSource& lines)
      : o_(o), h_(h), lines_(lines), rep_(h, CallRole::Server, Proto::Tcp) {}

  int run(const SockAddr& addr) {
    const std::string where = endpoint_text(to_endpoint(addr));
    lfd_ = rep_.socket(addr.family(), SOCK_STREAM);
    if (lfd_ < 0) {
      call_failed(h_, o_, "socket", errno, where);
      return 1;
    }
    rep_.setsockopt_reuseaddr(lfd_);
    const bool bound = rep_.bind(lfd_, addr) == 0;
    if (!bound || rep_.listen(lfd_, o_.backlog) != 0) {
      const int err = errno;
      call_failed(h_, o_, bound ? "listen" : "bind", err, where);
      rep_.close(lfd_);
      return 1;
    }
    const Endpoint local = local_endpoint(lfd_);
    // The limit is raised before the room is announced: a client that connects as soon as it reads
    // "listening on" finds the room as large as it will be.
    max_clients_ = raise_descriptor_limit(o_.max_clients);
    // Not translated: scripts and tests read the port from this first line.
    say_line(h_, "listening on " + endpoint_text(local));
    if (o_.frame_by_recv) notice(h_, recv_framing_note());
    if (max_clients_ < o_.max_clients)
      notice(h_, text::format(tr("this process may open too few descriptors for %1$s clients (ulimit -n): the room takes at most %2$lld"),
                     std::to_string(o_.max_clients), static_cast<long long>(max_clients_)));
    if (h_.on_ready != nullptr) h_.on_ready(h_.ready_ctx, local);
    maybe_prompt(o_, h_);
    if (o_.reply_per_line) replies_ = lines_.take_script();

    while (!quit_ && !stop_requested(h_)) step();

    for (Conn& c : conns_)
      if (!c.dead) close_conn(c);
    rep_.close(lfd_);
    return 0;
  }

 private:
  void step() {
    std::int64_t now = mono_ms();
    // The server's own scripted lines start once someone is there to read them.
    if (!lines_.started() && !conns_.empty()) lines_.start(now);
    std::string line;
    while (!quit_ && lines_.next_scripted(now, line)) own_line(line);
    for (Conn& c : conns_) {
      if (c.dead || now - c.last_ms < static_cast<std::int64_t>(o_.idle_timeout_s) * 1000) continue;
      notice(h_, text::format(tr("%1$s said nothing for %2$lld s: closing its connection"), c.label, o_.idle_timeout_s));
      send_to(c, framed(text::format(tr("idle for %s s: closing the connection"), std::to_string(o_.idle_timeout_s))));
      if (!c.dead) close_conn(c);
    }
    for (Conn& c : conns_)
      if (!c.dead && c.full_since >= 0 && now - c.full_since >= kStuckMs) disconnect_not_reading(c, 0);
    reap();
    if (quit_) return;

    // Flow control: while some client's queue is full, the room reads nobody's lines (the senders'
    // kernels hold them, and TCP's window stops the senders) until that client has taken them, or
    // has been disconnected for not reading.
    const bool reading = std::none_of(conns_.begin(), conns_.end(), [this](const Conn& c) { return full(c); });
    std::vector<pollfd> pfds;
    const bool accepting = now >= accept_paused_until_;
    pfds.push_back({accepting ? lfd_ : -1, POLLIN, 0});
    pfds.push_back({lines_.stdin_fd(), POLLIN, 0});
    for (const Conn& c : conns_)
      pfds.push_back({c.fd, static_cast<short>((reading ? POLLIN : 0) | (c.pending() > 0 ? POLLOUT : 0)), 0});
    const int rc = ::poll(pfds.data(), pfds.size(), poll_timeout(now, lines_.ms_until_due(now), -1));
    if (rc <= 0) {  // timeout, or EINTR (Ctrl-C): the loop checks the stop flag
      flush_all();
      return;
    }
    now = mono_ms();

    const std::size_t existing = conns_.size();
    for (std::size_t i = 0; i < existing; ++i) {
      const short ev = pfds[i + 2].revents;
      if (ev == 0 || conns_[i].dead) continue;
      if ((ev & POLLOUT) != 0) conns_[i].blocked = false;
      if ((ev & ~POLLOUT) != 0) read_from(conns_[i], now);
    }
    if (pfds[1].revents != 0) {
      std::vector<std::string> typed;
      lines_.read_stdin(typed);
      for (const std::string& t : typed)
        if (!quit_) own_line(t);
    }
    if (pfds[0].revents != 0 && !quit_) accept_burst(now);
    flush_all();
    reap();
  }

  // accept() blocks on an empty queue (the listening socket is a blocking one, as in a tutorial):
  // take one, then more only while poll() says more are waiting.
  void accept_burst(std::int64_t now) {
    for (int i = 0; i < kAcceptBurst && !quit_ && now >= accept_paused_until_; ++i) {
      if (i > 0) {
        pollfd p{lfd_, POLLIN, 0};
        if (::poll(&p, 1, 0) != 1) return;
      }
      accept_one(now);
    }
  }

  void accept_one(std::int64_t now) {
    SockAddr peer;
    const int fd = rep_.accept(lfd_, peer);
    if (fd < 0) {
      const int err = errno;
      // Out of descriptors: the listening socket stays readable, so wait a little instead of spinning.
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) accept_paused_until_ = now + kSliceMs;
      if (err != EINTR && err != EAGAIN && err != ECONNABORTED) call_failed(h_, o_, "accept", err, "");
      return;
    }
    Conn c;
    c.fd = fd;
    c.peer = to_endpoint(peer);
    c.label = endpoint_text(c.peer);
    c.last_ms = now;
    if (live_count() >= max_clients_) {
      // One line so the newcomer knows why, then close (RFC 9293: a FIN, not a RST).
      rep_.send(fd, text::format(tr("room full (%s clients): try again later"), std::to_string(max_clients_)) + "\n",
                MSG_DONTWAIT);
      rep_.close(fd);
      notice(h_, text::format(tr("%1$s turned away: the room is full (%2$lld clients)"), c.label,
                     static_cast<long long>(max_clients_)));
      return;
    }
    conns_.push_back(std::move(c));
    notice(h_, text::format(tr("%1$s joined (%2$lld in the room)"), conns_.back().label, static_cast<long long>(live_count())));
  }

  void read_from(Conn& c, std::int64_t now) {
    char buf[4096];
    const ssize_t n = rep_.recv(c.fd, buf, sizeof buf);
    if (n < 0) {
      const int err = errno;
      if (err == EINTR || err == EAGAIN) return;
      if (err == ECONNRESET)
        // RST means the connection ended at once (RFC 9293 3.5.3): what it means, not why. A peer
        // that closes with unread bytes sends one too (RFC 1122 4.2.2.13), as does SO_LINGER {1, 0}.
        notice(h_, text::format(tr("%s reset the connection (RST): it ended at once, without the orderly close of a FIN"),
                       c.label));
      else
        call_failed(h_, o_, "recv", err, c.label);
      close_now(c);  // nothing queued for it can arrive any more
      return;
    }
    if (n == 0) {
      // End of stream: the client's FIN arrived (or it vanished and its kernel closed for it).
      if (!c.inbuf.empty() && !c.discarding) {
        std::string rest = std::move(c.inbuf);
        c.inbuf.clear();
        on_line(c, rest, false);
      }
      if (c.dead) return;
      notice(h_, text::format(tr("%1$s left (%2$lld in the room)"), c.label, static_cast<long long>(live_count() - 1)));
      close_conn(c);
      return;
    }
    c.last_ms = now;
    c.inbuf.append(buf, static_cast<std::size_t>(n));
    if (o_.frame_by_recv) {
      // What this recv() returned is the message, whatever it holds.
      std::string message = c.inbuf.substr(0, o_.max_line);
      const bool cut = c.inbuf.size() > o_.max_line;
      c.inbuf.clear();
      on_line(c, message, cut);
      return;
    }
    while (!c.dead && !quit_) {
      const std::size_t nl = c.inbuf.find('\n');
      if (c.discarding) {
        if (nl == std::string::npos) {
          c.inbuf.clear();
          break;
        }
        c.inbuf.erase(0, nl + 1);
        c.discarding = false;
        continue;
      }
      if (nl != std::string::npos) {
        std::string line = c.inbuf.substr(0, std::min(nl, o_.max_line));
        const bool cut = nl > o_.max_line;
        c.inbuf.erase(0, nl + 1);
        if (!cut && !line.empty() && line.back() == '\r') line.pop_back();
        on_line(c, line, cut);
        continue;
      }
      if (c.inbuf.size() > o_.max_line) {
        // A line longer than the limit and no end in sight: keep the start, drop the rest.
        std::string line = c.inbuf.substr(0, o_.max_line);
        c.inbuf.clear();
        c.discarding = true;
        on_line(c, line, true);
      }
      break;
    }
  }

  void on_line(Conn& c, const std::string& line, bool cut) {
    say_line(h_, "[" + c.label + "] " + escape(line));
    if (cut) {
      notice(h_, text::format(tr("the line from %1$s was longer than %2$lld bytes: cut"), c.label, static_cast<long long>(o_.max_line)));
      send_to(c, framed(text::format(tr("your line was longer than %s bytes: the rest was dropped"), std::to_string(o_.max_line))));
      if (c.dead) return;
    }
    // The room: everyone else gets the line with who said it.
    broadcast(framed("[" + c.label + "] " + line), &c);
    if (!o_.reply_per_line || c.dead) return;
    while (c.next_reply < replies_.size()) {
      const std::string& r = replies_[c.next_reply++];
      if (sleep_ms_of(r) >= 0) continue;  // pacing words mean nothing for a reply
      if (r == "Q") {
        quit_ = true;
        return;
      }
      send_to(c, framed(r));
      ++c.replies;
      if (!c.dead && o_.server_closes_after > 0 && c.replies >= static_cast<std::size_t>(o_.server_closes_after)) {
        notice(h_, text::format(tr("closing the connection to %1$s after %2$lld replies"), c.label, o_.server_closes_after));
        close_conn(c);
      }
      break;
    }
  }

  // A line typed or scripted at the server: to every client.
  void own_line(const std::string& line) {
    if (line == "Q") {
      quit_ = true;
      return;
    }
    broadcast(framed(line), nullptr);
  }

  // A message as it goes on the wire: with its newline, or (framed by recv) as it is.
  std::string framed(std::string text) const {
    if (!o_.frame_by_recv) text += '\n';
    return text;
  }

  void broadcast(const std::string& text, const Conn* except) {
    for (Conn& c : conns_)
      if (!c.dead && &c != except) send_to(c, text);
  }

  bool full(const Conn& c) const { return !c.dead && c.pending() >= o_.max_queue; }

  // Queues text for c; it leaves in the next flush. A full queue (max_queue) stops the room reading
  // (see step), so a queue passes it only by what one turn of the loop adds; twice max_queue is the
  // hard bound on what the server holds for one client, whatever happens.
  void send_to(Conn& c, const std::string& text) {
    if (c.dead) return;
    if (c.pending() + text.size() > 2 * o_.max_queue) {
      disconnect_not_reading(c, text.size());
      return;
    }
    if (c.out_sent > 0 && c.out_sent >= c.out.size() / 2) {
      c.out.erase(0, c.out_sent);
      c.out_sent = 0;
    }
    c.out.append(text);
    if (full(c) && c.full_since < 0) c.full_since = mono_ms();
  }

  // A client that does not read (its socket buffers in both kernels are full, and its queue too):
  // disconnected, so it can neither stall the room nor make the server hold ever more for it.
  void disconnect_not_reading(Conn& c, std::size_t more) {
    notice(h_, text::format(tr("%s does not read what it is sent: %lld bytes wait for it, over the limit (--max-queue): disconnecting it"),
                   c.label, static_cast<long long>(c.pending() + more)));
    // A reset (SO_LINGER 0, socket(7)): close() would otherwise leave the unread bytes in the
    // kernel, still waiting for a reader that does not come.
    const linger reset{1, 0};
    rep_.setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset, "SOL_SOCKET, SO_LINGER, {1, 0}");
    close_now(c);
  }

  // One send() of everything queued for c. MSG_DONTWAIT: the room never waits for one client; what
  // its socket does not take now stays queued until poll() says it can take more (POLLOUT).
  void flush(Conn& c) {
    if (c.dead || c.blocked || c.pending() == 0) return;
    const std::string_view rest = std::string_view(c.out).substr(c.out_sent);
    const ssize_t n = rep_.send(c.fd, rest, MSG_DONTWAIT);
    if (n >= 0) {
      c.out_sent += static_cast<std::size_t>(n);
      // Bytes taken: the client reads. A queue still full counts its time from now.
      if (n > 0) c.full_since = full(c) ? mono_ms() : -1;
      if (c.pending() == 0) {
        c.out.clear();
        c.out_sent = 0;
        if (c.out.capacity() > kKeptQueueCapacity) std::string().swap(c.out);
      } else {
        c.blocked = true;  // a short send: the socket buffer is full
      }
      return;
    }
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) {
      c.blocked = err != EINTR;
      return;
    }
    if (err == EPIPE || err == ECONNRESET)
      notice(h_, text::format(tr("%s is gone (its connection was reset)"), c.label));
    else
      call_failed(h_, o_, "send", err, c.label);
    close_now(c);
  }

  void flush_all() {
    for (Conn& c : conns_) flush(c);
  }

  // Closes after a last try to send what is queued (a notice before an idle or a server close).
  void close_conn(Conn& c) {
    flush(c);
    if (!c.dead) close_now(c);
  }

  void close_now(Conn& c) {
    rep_.close(c.fd);
    c.fd = -1;
    c.dead = true;
    std::string().swap(c.out);
    std::string().swap(c.inbuf);
    c.out_sent = 0;
  }

  void reap() {
    conns_.erase(std::remove_if(conns_.begin(), conns_.end(), [](const Conn& c) { return c.dead; }), conns_.end());
  }

  std::size_t live_count() const {
    return static_cast<std::size_t>(std::count_if(conns_.begin(), conns_.end(), [](const Conn& c) { return !c.dead; }));
  }

  const ChatOptions& o_;
  const ChatHooks& h_;
  LineSource& lines_;
  Reporter rep_;
  int lfd_ = -1;
  std::vector<Conn> conns_;
  std::vector<std::string> replies_;
  std::size_t max_clients_ = 0;  // o_.max_clients, or fewer when descriptors are short
  std::int64_t accept_paused_until_ = 0;
  bool quit_ = false;
};

// Prints the complete lines of buf (what the server sent) and keeps an unfinished one.
void print_lines(const ChatHooks& h, std::string& buf, bool all) {
  std::size_t nl;
  while ((nl = buf.find('\n')) != std::string::npos) {
    std::string line = buf.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    say_line(h, escape(line));
    buf.erase(0, nl + 1);
  }
  if (all && !buf.empty()) {
    say_line(h, escape(buf));
    buf.clear();
  }
}

}  // namespace

int run_tcp_server(const ChatOptions& opts, const ChatHooks& hooks, const SockAddr& addr, LineSource& lines) {
  // A queue must hold at least one whole line with its "[address] " label, or every long line would
  // disconnect its readers.
  constexpr std::size_t kLabelRoom = 64;
  if (opts.max_queue < opts.max_line + kLabelRoom || opts.backlog <= 0) {
    std::fprintf(stderr, "sockscope chat: %s\n",
                 text::format(tr("--max-queue must be at least --max-line + 64 (%s bytes), and --backlog at least 1"),
                     std::to_string(opts.max_line + kLabelRoom)).c_str());
    return 2;
  }
  TcpServer server(opts, hooks, lines);
  return server.run(addr);
}

int run_tcp_client(const ChatOptions& o, const ChatHooks& h, const SockAddr& server, LineSource& lines) {
  Reporter rep(h, CallRole::Client, Proto::Tcp);
  const std::string where = endpoint_text(to_endpoint(server));
  const int fd = rep.socket(server.family(), SOCK_STREAM);
  if (fd < 0) {
    call_failed(h, o, "socket", errno, where);
    return 1;
  }
  rep.setsockopt_send_timeout(fd, o.timeout_ms);
  if (rep.connect(fd, server) != 0) {
    const int err = errno;
    if (!(err == EINTR && stop_requested(h))) call_failed(h, o, "connect", err, where);
    rep.close(fd);
    return err == EINTR && stop_requested(h) ? 0 : 1;
  }
  const Endpoint local = local_endpoint(fd);
  notice(h, text::format(tr("connected to %s"), where) + " " + text::format(tr("from %s"), endpoint_text(local)));
  if (h.on_ready != nullptr) h.on_ready(h.ready_ctx, local);
  maybe_prompt(o, h);

  int rc = 0;
  bool quit = false, peer_closed = false, failed = false;
  std::string inbuf;
  std::int64_t linger_until = -1;
  lines.start(mono_ms());

  if (o.frame_by_recv) notice(h, recv_framing_note());
  auto send_line = [&](const std::string& line) {
    const std::string text = o.frame_by_recv ? line : line + "\n";
    const ssize_t n = rep.send(fd, text, 0);
    if (n == static_cast<ssize_t>(text.size())) return true;
    call_failed(h, o, "send", n < 0 ? errno : EAGAIN, where);
    failed = true;
    rc = 1;
    return false;
  };
  auto on_recv_error = [&](int err) {
    if (err == EINTR || err == EAGAIN) return;
    if (err == ECONNRESET)
      notice(h, tr("the server reset the connection (RST)"));
    else
      call_failed(h, o, "recv", err, where);
    failed = true;
    rc = 1;
  };

  // Framed by recv(), scripted lines take turns with the server: one line, then its answer.
  bool my_turn = true;
  std::int64_t answer_by = -1;  // when waiting for an answer stops (timeout_ms)
  while (!quit && !failed && !stop_requested(h)) {
    std::int64_t now = mono_ms();
    std::string line;
    if (!my_turn && now >= answer_by) {
      notice(h, text::format(tr("no answer within %s ms: sending the next line anyway"), std::to_string(o.timeout_ms)));
      my_turn = true;
    }
    while (!quit && !failed && my_turn && lines.next_scripted(now, line)) {
      if (line == "Q") {
        quit = true;
      } else if (send_line(line) && o.frame_by_recv) {
        my_turn = false;
        answer_by = now + o.timeout_ms;
      }
    }
    if (quit || failed) break;
    if (lines.exhausted(now)) {
      // Nothing more to say: wait a little for replies (not with a half-close, which reads to the end).
      if (linger_until < 0) linger_until = now + (o.half_close ? 0 : std::max(0, o.linger_ms));
      if (now >= linger_until) break;
    }
    pollfd p[2] = {{fd, POLLIN, 0}, {lines.stdin_fd(), POLLIN, 0}};
    const std::int64_t due = my_turn ? lines.ms_until_due(now) : std::max<std::int64_t>(0, answer_by - now);
    if (::poll(p, 2, poll_timeout(now, due, linger_until)) <= 0) continue;
    if (p[0].revents != 0) {
      char buf[4096];
      const ssize_t n = rep.recv(fd, buf, sizeof buf);
      if (n > 0) {
        inbuf.append(buf, static_cast<std::size_t>(n));
        print_lines(h, inbuf, o.frame_by_recv);
        my_turn = true;
      } else if (n == 0) {
        print_lines(h, inbuf, true);
        notice(h, tr("the server closed the connection"));
        peer_closed = true;
        break;
      } else {
        on_recv_error(errno);
      }
    }
    if (p[1].revents != 0 && !failed) {
      std::vector<std::string> typed;
      lines.read_stdin(typed);
      for (const std::string& t : typed) {
        if (t == "Q") {
          quit = true;
          break;
        }
        if (!send_line(t)) break;
      }
    }
  }

  if (o.half_close && !peer_closed && !failed && !stop_requested(h)) {
    // A half-close (RFC 9293 section 3.6): our FIN says "no more from me"; the server may still send
    // until it closes too, which recv() reports as 0.
    rep.shutdown(fd, SHUT_WR);
    const std::int64_t deadline = mono_ms() + o.timeout_ms;
    while (!stop_requested(h)) {
      const std::int64_t now = mono_ms();
      if (now >= deadline) {
        notice(h, text::format(tr("the server did not close within %s ms"), std::to_string(o.timeout_ms)));
        break;
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, poll_timeout(now, -1, deadline)) <= 0) continue;
      char buf[4096];
      const ssize_t n = rep.recv(fd, buf, sizeof buf);
      if (n > 0) {
        inbuf.append(buf, static_cast<std::size_t>(n));
        print_lines(h, inbuf, o.frame_by_recv);
        continue;
      }
      if (n < 0) {
        const int err = errno;
        if (err == EINTR || err == EAGAIN) continue;
        on_recv_error(err);
        break;
      }
      notice(h, tr("the server closed the connection"));
      break;
    }
  }
  print_lines(h, inbuf, true);
  rep.close(fd);
  return rc;
}

}  // namespace sockscope::demo::detail
