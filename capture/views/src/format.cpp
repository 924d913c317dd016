#include "format.hpp"

#include <arpa/inet.h>

#include <cstdarg>
#include <cstdio>

#include "sockscope/text/escape.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope::views {
namespace {

void vappendf(std::string& out, const char* fmt, std::va_list ap) {
  char buf[512];
  const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  if (n <= 0) return;
  const std::size_t len = static_cast<std::size_t>(n) < sizeof buf ? static_cast<std::size_t>(n) : sizeof buf - 1;
  out.append(buf, len);
}

}  // namespace

void appendf(std::string& out, const char* fmt, ...) {
  std::va_list ap;
  va_start(ap, fmt);
  vappendf(out, fmt, ap);
  va_end(ap);
}

void appendf_tr(std::string& out, const char* fmt, ...) {
  std::va_list ap;
  va_start(ap, fmt);
  vappendf(out, fmt, ap);
  va_end(ap);
}

void append_u64(std::string& out, std::uint64_t v) {
  char tmp[24];
  char* p = tmp + sizeof tmp;  // digits from the right, then one append
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out.append(p, static_cast<std::size_t>(tmp + sizeof tmp - p));
}

void append_ip(std::string& out, const IpAddr& ip) {
  if (ip.family == 4) {
    for (int i = 0; i < 4; ++i) {
      if (i) out += '.';
      append_u64(out, ip.b[i]);
    }
  } else if (ip.family == 6) {
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, ip.b.data(), buf, sizeof buf) != nullptr) out += buf;
  } else {
    out += '?';
  }
}

void append_mac(std::string& out, const MacAddr& mac) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < mac.b.size(); ++i) {
    if (i) out += ':';
    out += kHex[mac.b[i] >> 4];
    out += kHex[mac.b[i] & 0xf];
  }
}

void append_endpoint(std::string& out, const IpAddr& ip, std::uint16_t port, bool with_port) {
  if (!with_port) {
    append_ip(out, ip);
    return;
  }
  if (ip.family == 6) out += '[';
  append_ip(out, ip);
  if (ip.family == 6) out += ']';
  out += ':';
  append_u64(out, port);
}

void append_tcp_flags(std::string& out, std::uint16_t f) {
  if (f & tcpflag::kFin) out += 'F';
  if (f & tcpflag::kSyn) out += 'S';
  if (f & tcpflag::kRst) out += 'R';
  if (f & tcpflag::kPsh) out += 'P';
  if (f & tcpflag::kAck) out += '.';
  if (f & tcpflag::kUrg) out += 'U';
  if (f & tcpflag::kEce) out += 'E';
  if (f & tcpflag::kCwr) out += 'W';
  if (f & tcpflag::kAe) out += 'e';
}

void append_tcp_flag_names(std::string& out, std::uint16_t f) {
  static constexpr struct {
    std::uint16_t bit;
    const char* name;
  } kNames[] = {{tcpflag::kSyn, "SYN"}, {tcpflag::kFin, "FIN"}, {tcpflag::kRst, "RST"},
                {tcpflag::kPsh, "PSH"}, {tcpflag::kUrg, "URG"}, {tcpflag::kAck, "ACK"},
                {tcpflag::kEce, "ECE"}, {tcpflag::kCwr, "CWR"}, {tcpflag::kAe, "AE"}};
  bool first = true;
  for (const auto& n : kNames) {
    if (!(f & n.bit)) continue;
    if (!first) out += ',';
    out += n.name;
    first = false;
  }
  if (first) out += "none";
}

void append_ts(std::string& out, Timestamp ts) {
  // Magnitude in unsigned arithmetic: a damaged file can hold INT64_MIN seconds, whose negation does
  // not fit in int64_t.
  std::uint64_t sec = static_cast<std::uint64_t>(ts.sec);
  std::uint32_t nsec = ts.nsec % 1000000000u;
  if (ts.sec < 0 && nsec != 0) {  // -1.25 s is stored as sec -2, nsec 750000000
    out += '-';
    sec = ~sec;  // -(sec + 1)
    nsec = 1000000000u - nsec;
  } else if (ts.sec < 0) {
    out += '-';
    sec = 0 - sec;
  }
  appendf(out, "%llu.%09u", static_cast<unsigned long long>(sec), nsec);
}

void format_ms(char* buf, std::size_t size, std::int64_t ns) {
  const double ms = static_cast<double>(ns) / 1e6;
  if (ms >= 100.0 || ms <= -100.0)
    std::snprintf(buf, size, "%.0f", ms);
  else
    std::snprintf(buf, size, "%.3g", ms);
}

void append_ms(std::string& out, std::int64_t ns) {
  char buf[32];
  format_ms(buf, sizeof buf, ns);
  out += buf;
}

namespace {
bool has_ports(const Packet& p) { return p.transport == Transport::Tcp || p.transport == Transport::Udp; }
std::uint16_t sport(const Packet& p) { return p.transport == Transport::Tcp ? p.tcp.sport : p.udp.sport; }
std::uint16_t dport(const Packet& p) { return p.transport == Transport::Tcp ? p.tcp.dport : p.udp.dport; }
}  // namespace

void append_interface(std::string& out, const Packet& p) {
  if (p.interface_name.empty()) {
    appendf_tr(out, tr("interface %u"), p.interface);
    return;
  }
  const std::string name = printable(p.interface_name, 32);
  appendf_tr(out, tr("interface %1$u (%2$s)"), p.interface, name.c_str());
}

bool append_src(std::string& out, const Packet& p) {
  if (p.transport == Transport::Arp) {
    append_ip(out, p.arp.sender_ip);
    return true;
  }
  if (p.ip.version == 0) return false;
  append_endpoint(out, p.ip.src, sport(p), has_ports(p));
  return true;
}

bool append_dst(std::string& out, const Packet& p) {
  if (p.transport == Transport::Arp) {
    append_ip(out, p.arp.target_ip);
    return true;
  }
  if (p.ip.version == 0) return false;
  append_endpoint(out, p.ip.dst, dport(p), has_ports(p));
  return true;
}

const char* transport_name(Transport t) {
  switch (t) {
    case Transport::Tcp: return "tcp";
    case Transport::Udp: return "udp";
    case Transport::Icmp: return "icmp";
    case Transport::Arp: return "arp";
    default: return "other";
  }
}

const char* tunnel_kind_name(TunnelKind k) {
  switch (k) {
    case TunnelKind::Gre: return "gre";
    case TunnelKind::Erspan2:
    case TunnelKind::Erspan3: return "erspan";
    case TunnelKind::Vxlan: return "vxlan";
    case TunnelKind::Geneve: return "geneve";
    case TunnelKind::Mpls: return "mpls";
  }
  return "?";
}

namespace {

// "100,200" (the labels kept, "..." when the stack was deeper).
void append_labels(std::string& out, const Tunnel& t, const char* sep) {
  const std::size_t n = t.mpls_count < t.mpls.size() ? t.mpls_count : t.mpls.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out += sep;
    append_u64(out, t.mpls[i].label);
  }
  if (t.mpls_count > n) {
    out += sep;
    out += "...";
  }
}

}  // namespace

void append_tunnel_tag(std::string& out, const Tunnel& t) {
  switch (t.kind) {
    case TunnelKind::Gre:
      out += "GRE";
      if (t.has_key) appendf(out, " key %u", t.key);
      return;
    case TunnelKind::Erspan2:
    case TunnelKind::Erspan3: appendf(out, "ERSPAN session %u", static_cast<unsigned>(t.session)); return;
    case TunnelKind::Vxlan: appendf(out, "VXLAN vni %u", t.vni); return;
    case TunnelKind::Geneve: appendf(out, "Geneve vni %u", t.vni); return;
    case TunnelKind::Mpls:
      out += "MPLS ";
      append_labels(out, t, ",");
      return;
  }
}

void describe_tunnel(std::string& out, const Tunnel& t) {
  std::string from, to;
  append_ip(from, t.outer_ip.src);
  append_ip(to, t.outer_ip.dst);
  switch (t.kind) {
    case TunnelKind::Gre:
      if (t.has_key)
        appendf_tr(out, tr("carried inside a GRE tunnel (key %3$u) from %1$s to %2$s"), from.c_str(), to.c_str(), t.key);
      else
        appendf_tr(out, tr("carried inside a GRE tunnel from %1$s to %2$s"), from.c_str(), to.c_str());
      return;
    case TunnelKind::Erspan2:
    case TunnelKind::Erspan3:
      appendf_tr(out, tr("a copy of a frame, mirrored by ERSPAN session %3$u from %1$s to %2$s"), from.c_str(),
                 to.c_str(), static_cast<unsigned>(t.session));
      return;
    case TunnelKind::Vxlan:
      appendf_tr(out, tr("carried inside VXLAN (network %3$u) from %1$s to %2$s"), from.c_str(), to.c_str(), t.vni);
      return;
    case TunnelKind::Geneve:
      appendf_tr(out, tr("carried inside Geneve (network %3$u) from %1$s to %2$s"), from.c_str(), to.c_str(), t.vni);
      return;
    case TunnelKind::Mpls: {
      std::string labels;
      append_labels(labels, t, ", ");
      appendf_tr(out, trn("carried over MPLS, %1$u label: %2$s", "carried over MPLS, %1$u labels: %2$s", t.mpls_count),
                 static_cast<unsigned>(t.mpls_count), labels.c_str());
      return;
    }
  }
}

void append_tunnel_json(std::string& out, const Tunnel& t) {
  out += "{\"kind\":\"";
  out += tunnel_kind_name(t.kind);
  out += '"';
  if (t.outer_ip.version != 0) {
    out += ",\"src\":\"";
    append_ip(out, t.outer_ip.src);
    out += "\",\"dst\":\"";
    append_ip(out, t.outer_ip.dst);
    out += '"';
  }
  switch (t.kind) {
    case TunnelKind::Gre:
      if (t.has_key) {
        out += ",\"key\":";
        append_u64(out, t.key);
      }
      break;
    case TunnelKind::Erspan2:
    case TunnelKind::Erspan3:
      out += ",\"session\":";
      append_u64(out, t.session);
      break;
    case TunnelKind::Vxlan:
    case TunnelKind::Geneve:
      out += ",\"vni\":";
      append_u64(out, t.vni);
      break;
    case TunnelKind::Mpls: {
      out += ",\"labels\":[";  // the outermost four; label_count says how deep the stack was
      const std::size_t n = t.mpls_count < t.mpls.size() ? t.mpls_count : t.mpls.size();
      for (std::size_t i = 0; i < n; ++i) {
        if (i) out += ',';
        append_u64(out, t.mpls[i].label);
      }
      out += "],\"label_count\":";
      append_u64(out, t.mpls_count);
      break;
    }
  }
  out += '}';
}

const char* sender_role(Direction d) {
  if (d == Direction::S2C) {
    // TRANSLATORS: a role, inserted into sentences as %s: the side that accepted the connection.
    return tr("server");
  }
  // TRANSLATORS: a role, inserted into sentences as %s: the side that connected (sent the SYN).
  return tr("client");
}

const char* receiver_role(Direction d) {
  return d == Direction::S2C ? tr("client") : tr("server");
}

}  // namespace sockscope::views
