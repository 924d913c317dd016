#include "sockscope/text/format.hpp"
// The UDP chat: one datagram per line (RFC 768: a datagram is one message, its boundary kept, so no
// newline is needed), no connection, no handshake, no acknowledgement. The server learns who its
// peers are from the datagrams it receives.
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "chat_support.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope::demo::detail {

namespace {

constexpr std::size_t kMaxDatagram = 65536;  // the largest UDP payload fits (RFC 768 length field)

// A message as the learner reads it: one trailing newline dropped (netcat sends one), cut at max_line.
std::string shown(std::string_view msg, std::size_t max_line) {
  if (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
  return escape(msg, max_line);
}

struct Peer {
  SockAddr addr;
  Endpoint ep;
  std::string label;
  std::size_t next_reply = 0;
  std::int64_t last_ms = 0;
};

}  // namespace

int run_udp_server(const ChatOptions& o, const ChatHooks& h, const SockAddr& addr, LineSource& lines) {
  Reporter rep(h, CallRole::Server, Proto::Udp);
  const std::string where = endpoint_text(to_endpoint(addr));
  const int fd = rep.socket(addr.family(), SOCK_DGRAM);
  if (fd < 0) {
    call_failed(h, o, "socket", errno, where);
    return 1;
  }
  rep.setsockopt_reuseaddr(fd);
  if (rep.bind(fd, addr) != 0) {
    call_failed(h, o, "bind", errno, where);
    rep.close(fd);
    return 1;
  }
  const Endpoint local = local_endpoint(fd);
  say_line(h, "listening on " + endpoint_text(local));  // not translated: read by scripts
  if (h.on_ready != nullptr) h.on_ready(h.ready_ctx, local);
  maybe_prompt(o, h);
  const std::vector<std::string> replies = o.reply_per_line ? lines.take_script() : std::vector<std::string>{};

  std::vector<Peer> peers;
  bool quit = false;
  int rc = 0;
  std::vector<char> buf(kMaxDatagram);
  auto to_all = [&](const std::string& text, const Peer* except) {
    for (const Peer& p : peers)
      if (&p != except) rep.sendto(fd, text, p.addr);
  };
  auto own_line = [&](const std::string& line) {
    if (line == "Q")
      quit = true;
    else
      to_all(line, nullptr);
  };

  while (!quit && !stop_requested(h)) {
    std::int64_t now = mono_ms();
    if (!lines.started() && !peers.empty()) lines.start(now);
    std::string line;
    while (!quit && lines.next_scripted(now, line)) own_line(line);
    // No connection ends for UDP: a peer that has been quiet too long is simply forgotten.
    const auto quiet = [&](const Peer& p) { return now - p.last_ms >= static_cast<std::int64_t>(o.idle_timeout_s) * 1000; };
    for (const Peer& p : peers)
      if (quiet(p)) notice(h, text::format(tr("%s has been quiet too long: forgotten"), p.label));
    peers.erase(std::remove_if(peers.begin(), peers.end(), quiet), peers.end());
    if (quit) break;

    pollfd p[2] = {{fd, POLLIN, 0}, {lines.stdin_fd(), POLLIN, 0}};
    if (::poll(p, 2, poll_timeout(now, lines.ms_until_due(now), -1)) <= 0) continue;
    now = mono_ms();
    if (p[0].revents != 0) {
      SockAddr from;
      const ssize_t n = rep.recvfrom(fd, buf.data(), buf.size(), from);
      if (n < 0) {
        const int err = errno;
        // ECONNREFUSED: an ICMP port unreachable answered an earlier datagram (udp(7)); not fatal.
        if (err != EINTR && err != EAGAIN && err != ECONNREFUSED) {
          call_failed(h, o, "recvfrom", err, where);
          rc = 1;
          break;
        }
      } else {
        const Endpoint ep = to_endpoint(from);
        auto it = std::find_if(peers.begin(), peers.end(), [&](const Peer& q) { return q.ep == ep; });
        if (it == peers.end()) {
          if (peers.size() >= o.max_clients) {
            rep.sendto(fd, text::format(tr("room full (%s clients): try again later"), std::to_string(o.max_clients)), from);
            notice(h, text::format(tr("%s turned away: the room is full"), endpoint_text(ep)));
            continue;
          }
          Peer np;
          np.addr = from;
          np.ep = ep;
          np.label = endpoint_text(ep);
          peers.push_back(np);
          it = peers.end() - 1;
          notice(h, text::format(tr("first datagram from %s"), it->label));
        }
        it->last_ms = now;
        const std::string_view msg(buf.data(), static_cast<std::size_t>(n));
        say_line(h, "[" + it->label + "] " + shown(msg, o.max_line));
        std::string relay(msg.substr(0, std::min(msg.size(), o.max_line)));
        if (!relay.empty() && relay.back() == '\n') relay.pop_back();
        to_all("[" + it->label + "] " + relay, &*it);
        while (o.reply_per_line && it->next_reply < replies.size()) {
          const std::string& r = replies[it->next_reply++];
          if (sleep_ms_of(r) >= 0) continue;
          if (r == "Q") {
            quit = true;
            break;
          }
          rep.sendto(fd, r, it->addr);
          break;
        }
      }
    }
    if (p[1].revents != 0 && !quit) {
      std::vector<std::string> typed;
      lines.read_stdin(typed);
      for (const std::string& t : typed)
        if (!quit) own_line(t);
    }
  }
  rep.close(fd);
  return rc;
}

int run_udp_client(const ChatOptions& o, const ChatHooks& h, const SockAddr& server, LineSource& lines) {
  Reporter rep(h, CallRole::Client, Proto::Udp);
  const std::string where = endpoint_text(to_endpoint(server));
  const int fd = rep.socket(server.family(), SOCK_DGRAM);
  if (fd < 0) {
    call_failed(h, o, "socket", errno, where);
    return 1;
  }
  // No connect(): each sendto() names the server, and the kernel picks our port at the first one.
  notice(h, text::format(tr("sending to %s (UDP: no connection, each line is one datagram)"), where));
  if (h.on_ready != nullptr) h.on_ready(h.ready_ctx, local_endpoint(fd));
  maybe_prompt(o, h);

  int rc = 0;
  bool quit = false, failed = false;
  std::int64_t linger_until = -1;
  std::vector<char> buf(kMaxDatagram);
  const Endpoint server_ep = to_endpoint(server);
  lines.start(mono_ms());
  auto send_line = [&](const std::string& line) {
    if (line == "Q") {
      quit = true;
      return;
    }
    const ssize_t n = rep.sendto(fd, line, server);
    if (n < 0) {
      const int err = errno;
      call_failed(h, o, "sendto", err, where);
      // ECONNREFUSED here reports an ICMP port unreachable for an earlier datagram: keep going.
      if (err != ECONNREFUSED) {
        failed = true;
        rc = 1;
      }
    }
  };

  while (!quit && !failed && !stop_requested(h)) {
    std::int64_t now = mono_ms();
    std::string line;
    while (!quit && !failed && lines.next_scripted(now, line)) send_line(line);
    if (quit || failed) break;
    if (lines.exhausted(now)) {
      // Replies may still be on their way: recvfrom() for linger_ms more, then stop.
      if (linger_until < 0) linger_until = now + std::max(0, o.linger_ms);
      if (now >= linger_until) break;
    }
    pollfd p[2] = {{fd, POLLIN, 0}, {lines.stdin_fd(), POLLIN, 0}};
    if (::poll(p, 2, poll_timeout(now, lines.ms_until_due(now), linger_until)) <= 0) continue;
    if (p[0].revents != 0) {
      SockAddr from;
      const ssize_t n = rep.recvfrom(fd, buf.data(), buf.size(), from);
      if (n >= 0) {
        const Endpoint ep = to_endpoint(from);
        const std::string text = shown(std::string_view(buf.data(), static_cast<std::size_t>(n)), o.max_line);
        // Anyone may send to our port: say when it was not the server.
        say_line(h, ep == server_ep ? text : "[" + endpoint_text(ep) + "] " + text);
      } else {
        const int err = errno;
        if (err != EINTR && err != EAGAIN) call_failed(h, o, "recvfrom", err, where);
      }
    }
    if (p[1].revents != 0 && !failed) {
      std::vector<std::string> typed;
      lines.read_stdin(typed);
      for (const std::string& t : typed)
        if (!quit && !failed) send_line(t);
    }
  }
  rep.close(fd);
  return rc;
}

}  // namespace sockscope::demo::detail
