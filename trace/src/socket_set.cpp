// SocketSet (tracer.hpp): which captured packets belong to the traced program's sockets.
#include <algorithm>
#include <limits>

#include "sockscope/trace/tracer.hpp"

namespace sockscope::trace {
namespace {

bool unspecified(const IpAddr& ip) {
  const std::size_t n = ip.family == 4 ? 4 : 16;
  return std::all_of(ip.b.begin(), ip.b.begin() + static_cast<std::ptrdiff_t>(n), [](std::uint8_t v) { return v == 0; });
}

// A socket bound to 0.0.0.0 or :: (a dual-stack one hears IPv4 too) takes every address of its port.
bool same_local(const Endpoint& mine, const IpAddr& ip, std::uint16_t port) {
  if (mine.port != port) return false;
  return unspecified(mine.ip) || mine.ip == ip;
}

}  // namespace

Endpoint unmap_v4(const Endpoint& e) {
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (e.ip.family != 6 || !std::equal(kMapped, kMapped + 12, e.ip.b.begin())) return e;
  Endpoint v4;
  v4.ip.family = 4;
  std::copy(e.ip.b.begin() + 12, e.ip.b.end(), v4.ip.b.begin());
  v4.port = e.port;
  return v4;
}

void SocketSet::add(Proto proto, const Endpoint& local, const Endpoint* peer) {
  Entry e{proto, unmap_v4(local), peer ? unmap_v4(*peer) : Endpoint{}, peer != nullptr};
  std::lock_guard<std::mutex> lock(mu_);
  for (const Entry& x : entries_)
    if (x.proto == e.proto && x.local == e.local && x.has_peer == e.has_peer && x.peer == e.peer) return;
  // A connected socket whose port a listening or unconnected socket of ours already covers adds nothing.
  if (e.has_peer)
    for (const Entry& x : entries_)
      if (x.proto == e.proto && !x.has_peer && same_local(x.local, e.local.ip, e.local.port)) return;
  entries_.push_back(e);
}

std::size_t SocketSet::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

bool SocketSet::matches_locked(Proto proto, const IpAddr& a, std::uint16_t aport, const IpAddr& b,
                               std::uint16_t bport) const {
  for (const Entry& x : entries_) {
    if (x.proto != proto) continue;
    if (same_local(x.local, a, aport) && (!x.has_peer || (x.peer.ip == b && x.peer.port == bport))) return true;
    if (same_local(x.local, b, bport) && (!x.has_peer || (x.peer.ip == a && x.peer.port == aport))) return true;
  }
  return false;
}

bool SocketSet::matches(const Packet& p) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (p.transport == Transport::Tcp) return matches_locked(Proto::Tcp, p.ip.src, p.tcp.sport, p.ip.dst, p.tcp.dport);
  if (p.transport == Transport::Udp) return matches_locked(Proto::Udp, p.ip.src, p.udp.sport, p.ip.dst, p.udp.dport);
  if (p.transport == Transport::Icmp && p.icmp.has_quote && p.icmp.quoted_ports) {
    const Proto q = p.icmp.quoted_proto == 6 ? Proto::Tcp : p.icmp.quoted_proto == 17 ? Proto::Udp : Proto::Other;
    return matches_locked(q, p.icmp.quoted_src, p.icmp.quoted_sport, p.icmp.quoted_dst, p.icmp.quoted_dport);
  }
  return false;
}

std::uint64_t SocketSet::begin_pending(std::int64_t since_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::uint64_t id = next_pending_++;
  pending_.push_back({id, since_ns});
  return id;
}

void SocketSet::end_pending(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(), [id](const Pending& x) { return x.id == id; }),
                 pending_.end());
}

void SocketSet::end_all_pending() {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.clear();
}

std::int64_t SocketSet::settled_ns() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::int64_t t = std::numeric_limits<std::int64_t>::max();
  for (const Pending& x : pending_) t = std::min(t, x.since_ns);
  return t;
}

}  // namespace sockscope::trace
