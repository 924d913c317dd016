// The OSI map of a decoded packet (docs/glossary.md "OSI layers"): one walk over the headers that the
// JSON `layers` array, the --osi view and the lessons all read.
#include "sockscope/decode/layers.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "internal.hpp"

namespace sockscope {
namespace {

using decode_detail::FieldPos;
namespace tcp_header = decode_detail::tcp_header;
namespace udp_header = decode_detail::udp_header;

Field make(const char* key, Field::Kind kind, std::uint64_t u, std::uint32_t off, std::uint32_t len) {
  Field f;
  f.key = key;
  f.kind = kind;
  f.u = u;
  f.offset = off;
  f.length = len;
  return f;
}

struct Emit {
  LayerVisitor& v;
  void u(const char* key, std::uint64_t val, std::uint32_t off, std::uint32_t len) {
    v.field(make(key, Field::Kind::Uint, val, off, len));
  }
  void b(const char* key, bool val, std::uint32_t off, std::uint32_t len) {
    v.field(make(key, Field::Kind::Bool, val ? 1 : 0, off, len));
  }
  void hex(const char* key, std::uint64_t val, std::uint32_t off, std::uint32_t len) {
    v.field(make(key, Field::Kind::Hex, val, off, len));
  }
  void text(const char* key, std::string_view t, std::uint32_t off, std::uint32_t len) {
    Field f = make(key, Field::Kind::Text, 0, off, len);
    f.text = t;
    v.field(f);
  }
  void ip(const char* key, const IpAddr& a, std::uint32_t off, std::uint32_t len) {
    Field f = make(key, Field::Kind::Ip, 0, off, len);
    f.ip = a;
    v.field(f);
  }
  // A field at its place in a fixed header that starts at `base` (internal.hpp's layouts).
  void u(const char* key, std::uint64_t val, std::uint32_t base, FieldPos f) { u(key, val, base + f.at, f.len); }
  void hex(const char* key, std::uint64_t val, std::uint32_t base, FieldPos f) { hex(key, val, base + f.at, f.len); }
  void mac(const char* key, const MacAddr& m, std::uint32_t off, std::uint32_t len) {
    Field f = make(key, Field::Kind::Mac, 0, off, len);
    f.mac = m;
    v.field(f);
  }
};

// checksum_ok as computed, and checksum_status in words: "good", "bad", "offload" (the field holds
// only the pseudo-header sum: the sender left the checksum to its NIC, as Linux does on loopback),
// or "unchecked" (not all of the segment was captured, or it is a fragment).
void checksum_fields(Emit& e, bool checked, bool ok, bool partial, std::uint32_t off) {
  if (!checked) {
    e.text("checksum_status", "unchecked", off, 0);
    return;
  }
  e.b("checksum_ok", ok, off, 0);
  e.text("checksum_status", ok ? "good" : partial ? "offload" : "bad", off, 0);
}

void transport_checksum_fields(Emit& e, const Packet& p, std::uint32_t off) {
  checksum_fields(e, p.transport_checksum_checked, p.transport_checksum_ok, p.transport_checksum_partial, off);
}

// A small fixed text buffer for fields composed from several values (flags, SACK blocks).
struct TextBuf {
  char buf[160];
  std::size_t len = 0;
  void add(std::string_view s) {
    const std::size_t n = std::min(s.size(), sizeof buf - len);
    std::memcpy(buf + len, s.data(), n);
    len += n;
  }
  void add_u32(std::uint32_t v) {
    char tmp[12];
    auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
    add(std::string_view(tmp, static_cast<std::size_t>(r.ptr - tmp)));
  }
  std::string_view view() const { return {buf, len}; }
};

const char* ext_name(std::uint8_t nh) {
  switch (nh) {
    case 0: return "hop-by-hop";
    case 43: return "routing";
    case 44: return "fragment";
    case 51: return "ah";
    case 60: return "destination-options";
    case 135: return "mobility";
    case 139: return "hip";
    case 140: return "shim6";
    default: return "other";
  }
}

const char* icmp_type_name(bool v6, std::uint8_t t) {
  if (!v6) {
    switch (t) {
      case 0: return "echo reply";
      case 3: return "destination unreachable";
      case 4: return "source quench";
      case 5: return "redirect";
      case 8: return "echo request";
      case 11: return "time exceeded";
      case 12: return "parameter problem";
      case 13: return "timestamp request";
      case 14: return "timestamp reply";
      default: return nullptr;
    }
  }
  switch (t) {
    case 1: return "destination unreachable";
    case 2: return "packet too big";
    case 3: return "time exceeded";
    case 4: return "parameter problem";
    case 128: return "echo request";
    case 129: return "echo reply";
    case 133: return "router solicitation";
    case 134: return "router advertisement";
    case 135: return "neighbor solicitation";
    case 136: return "neighbor advertisement";
    default: return nullptr;
  }
}

// Where the base link header ends and where its EtherType/protocol field sits.
struct LinkGeom {
  std::uint32_t base = 0;
  std::uint32_t type_off = 0;
};

LinkGeom link_geom(LinkKind k) {
  switch (k) {
    case LinkKind::Ethernet: return {14, 12};
    case LinkKind::Sll: return {16, 14};
    case LinkKind::Sll2: return {20, 0};
    default: return {0, 0};
  }
}

void visit_link(const Packet& p, Emit& e) {
  const LinkInfo& l = p.link;
  LayerVisitor& v = e.v;
  switch (l.kind) {
    case LinkKind::Ethernet:
      if (!l.has_macs) return;
      v.begin_layer(Osi::DataLink, "ethernet", 0, 14);
      e.mac("dst", l.dst_mac, 0, 6);
      e.mac("src", l.src_mac, 6, 6);
      e.hex("type", l.vlan_count ? l.vlan_tpid[0] : l.ethertype, 12, 2);
      v.end_layer();
      break;
    case LinkKind::Null:
    case LinkKind::Loop:
      if (l.header_len < 4) return;
      v.begin_layer(Osi::DataLink, l.kind == LinkKind::Null ? "null" : "loop", 0, 4);
      e.u("family", l.family, 0, 4);
      v.end_layer();
      return;
    case LinkKind::Sll:
      if (l.header_len < 16) return;
      v.begin_layer(Osi::DataLink, "sll", 0, 16);
      e.u("pkttype", l.sll_pkttype, 0, 2);
      e.u("hatype", l.sll_hatype, 2, 2);
      e.mac("src", l.src_mac, 6, 6);
      e.hex("protocol", l.vlan_count ? l.vlan_tpid[0] : l.ethertype, 14, 2);
      v.end_layer();
      break;
    case LinkKind::Sll2:
      if (l.header_len < 20) return;
      v.begin_layer(Osi::DataLink, "sll2", 0, 20);
      e.hex("protocol", l.vlan_count ? l.vlan_tpid[0] : l.ethertype, 0, 2);
      e.u("ifindex", l.sll_ifindex, 4, 4);
      e.u("hatype", l.sll_hatype, 8, 2);
      e.u("pkttype", l.sll_pkttype, 10, 1);
      e.mac("src", l.src_mac, 12, 6);
      v.end_layer();
      break;
    default:
      return;  // raw IP: no layer-2 header in the capture
  }
  const LinkGeom g = link_geom(l.kind);
  for (std::uint32_t i = 0; i < l.vlan_count; ++i) {
    const std::uint32_t off = g.base + 4 * i;
    v.begin_layer(Osi::DataLink, "vlan", off, 4);
    e.hex("tpid", l.vlan_tpid[i], i == 0 ? g.type_off : off - 2, 2);
    e.u("pcp", l.vlan_pcp[i], off, 2);
    e.u("id", l.vlan_id[i], off, 2);
    if (i + 1 < l.vlan_count)
      e.hex("type", l.vlan_tpid[i + 1], off + 2, 2);
    else if (l.header_len == off + 4 + (l.pppoe ? 8u : 0u))
      e.hex("type", l.ethertype, off + 2, 2);
    v.end_layer();
  }
  if (l.pppoe && l.header_len >= 8) {
    const std::uint32_t off = l.header_len - 8;
    v.begin_layer(Osi::DataLink, "pppoe", off, 8);
    e.hex("session", l.pppoe_session, off + 2, 2);
    e.hex("ppp_protocol", l.ppp_protocol, off + 6, 2);
    v.end_layer();
  }
}

void visit_arp(const Packet& p, Emit& e) {
  const ArpInfo& a = p.arp;
  const std::uint32_t off = a.offset;
  e.v.begin_layer(Osi::DataLink, "arp", off, 8u + 2u * a.hlen + 2u * a.plen);
  e.u("htype", a.htype, off, 2);
  e.hex("ptype", a.ptype, off + 2, 2);
  e.u("op", a.op, off + 6, 2);
  if (a.op == 1 || a.op == 2) e.text("op_name", a.op == 1 ? "request" : "reply", off + 6, 2);
  if (a.sender_ip.family == 4) {
    e.mac("sender_mac", a.sender_mac, off + 8, 6);
    e.ip("sender_ip", a.sender_ip, off + 14, 4);
    e.mac("target_mac", a.target_mac, off + 18, 6);
    e.ip("target_ip", a.target_ip, off + 24, 4);
  }
  e.v.end_layer();
}

void visit_ipv4(const IpInfo& ip, Emit& e) {
  const Ipv4Info& v4 = ip.v4;
  const std::uint32_t o = ip.header_offset;
  e.v.begin_layer(Osi::Network, "ipv4", o, v4.ihl);
  e.u("version", 4, o, 1);
  e.u("header_len", v4.ihl, o, 1);
  e.hex("tos", v4.tos, o + 1, 1);
  e.u("total_len", v4.total_len, o + 2, 2);
  e.hex("id", v4.id, o + 4, 2);
  e.b("df", v4.df, o + 6, 1);
  e.b("mf", v4.mf, o + 6, 1);
  // The offset field counts 8-byte units (RFC 791): frag_offset in bytes, frag_offset_raw as sent.
  e.u("frag_offset", v4.frag_offset, o + 6, 2);
  e.u("frag_offset_raw", v4.frag_offset / 8u, o + 6, 2);
  e.u("ttl", v4.ttl, o + 8, 1);
  e.u("proto", v4.proto, o + 9, 1);
  e.hex("checksum", v4.checksum, o + 10, 2);
  e.b("checksum_ok", v4.checksum_ok, o + 10, 0);
  e.ip("src", ip.src, o + 12, 4);
  e.ip("dst", ip.dst, o + 16, 4);
  if (v4.options_len) e.u("options_len", v4.options_len, o + 20, v4.options_len);
  if (ip.reassembled) {
    e.b("reassembled", true, o, 0);
    e.u("fragments", ip.frag_count, o, 0);
  }
  e.v.end_layer();
}

void visit_ipv6(const IpInfo& ip, Emit& e) {
  const Ipv6Info& v6 = ip.v6;
  const std::uint32_t o = ip.header_offset;
  e.v.begin_layer(Osi::Network, "ipv6", o, ip.header_len);
  e.u("version", 6, o, 1);
  e.hex("traffic_class", v6.traffic_class, o, 2);
  e.hex("flow_label", v6.flow_label, o + 1, 3);
  e.u("payload_len", v6.payload_len, o + 4, 2);
  e.u("next_header", v6.next_header, o + 6, 1);
  e.u("hop_limit", v6.hop_limit, o + 7, 1);
  e.ip("src", ip.src, o + 8, 16);
  e.ip("dst", ip.dst, o + 24, 16);
  if (v6.ext_count) {
    TextBuf t;
    const std::size_t n = std::min<std::size_t>(v6.ext_count, v6.ext_types.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (i) t.add(",");
      t.add(ext_name(v6.ext_types[i]));
    }
    e.text("ext_headers", t.view(), o + 40, v6.ext_len);
  }
  if (v6.has_fragment) {
    e.hex("frag_id", v6.frag_id, o, 0);
    e.u("frag_offset", v6.frag_offset, o, 0);
    e.u("frag_offset_raw", v6.frag_offset / 8u, o, 0);  // 8-byte units, as in IPv4 (RFC 8200 4.5)
    e.b("mf", v6.frag_more, o, 0);
  }
  if (ip.reassembled) {
    e.b("reassembled", true, o, 0);
    e.u("fragments", ip.frag_count, o, 0);
  }
  e.v.end_layer();
}

void visit_icmp(const Packet& p, Emit& e) {
  const IcmpInfo& ic = p.icmp;
  const std::uint32_t o = p.transport_offset;
  e.v.begin_layer(Osi::Network, ic.v6 ? "icmpv6" : "icmp", o, 8);
  e.u("type", ic.type, o, 1);
  e.u("code", ic.code, o + 1, 1);
  if (const char* n = icmp_type_name(ic.v6, ic.type)) e.text("type_name", n, o, 1);
  e.hex("checksum", ic.checksum, o + 2, 2);
  transport_checksum_fields(e, p, o + 2);
  const bool echo = ic.v6 ? (ic.type == 128 || ic.type == 129)
                          : (ic.type == 0 || ic.type == 8 || ic.type == 13 || ic.type == 14);
  if (echo) {
    e.u("id", ic.id, o + 4, 2);
    e.u("seq", ic.seq, o + 6, 2);
  }
  if (ic.unreachable) e.b("port_unreachable", ic.port_unreachable, o + 1, 0);
  if (ic.next_hop_mtu) e.u("next_hop_mtu", ic.next_hop_mtu, ic.v6 ? o + 4 : o + 6, ic.v6 ? 4 : 2);
  if (ic.has_quote) {
    const std::uint32_t q = o + 8;
    const bool q6 = ic.quoted_src.family == 6;
    e.ip("quoted_src", ic.quoted_src, q6 ? q + 8 : q + 12, q6 ? 16 : 4);
    e.ip("quoted_dst", ic.quoted_dst, q6 ? q + 24 : q + 16, q6 ? 16 : 4);
    e.u("quoted_proto", ic.quoted_proto, q6 ? q + 6 : q + 9, q6 ? 0 : 1);
    if (!q6) e.hex("quoted_ip_id", ic.quoted_ip_id, q + 4, 2);
    if (ic.quoted_ports) {
      e.u("quoted_src_port", ic.quoted_sport, q, 0);
      e.u("quoted_dst_port", ic.quoted_dport, q, 0);
    }
  }
  e.v.end_layer();
}

void visit_tcp(const Packet& p, Emit& e) {
  namespace h = tcp_header;
  const TcpInfo& t = p.tcp;
  const std::uint32_t o = p.transport_offset;
  e.v.begin_layer(Osi::Transport, "tcp", o, t.header_len);
  e.u("src_port", t.sport, o, h::kSrcPort);
  e.u("dst_port", t.dport, o, h::kDstPort);
  e.u("seq", t.seq, o, h::kSeq);
  e.u("ack", t.ack, o, h::kAck);
  e.u("header_len", t.header_len, o + h::kOffsetAndFlags.at, 1);  // the first 4 bits
  {
    // Bit order, as Wireshark lists them: FIN first.
    static constexpr struct {
      std::uint16_t bit;
      const char* name;
    } kFlags[] = {{tcpflag::kFin, "FIN"}, {tcpflag::kSyn, "SYN"}, {tcpflag::kRst, "RST"},
                  {tcpflag::kPsh, "PSH"}, {tcpflag::kAck, "ACK"}, {tcpflag::kUrg, "URG"},
                  {tcpflag::kEce, "ECE"}, {tcpflag::kCwr, "CWR"}, {tcpflag::kAe, "AE"}};
    TextBuf f;
    for (const auto& fl : kFlags)
      if (t.flags & fl.bit) {
        if (f.len) f.add(",");
        f.add(fl.name);
      }
    e.text("flags", f.view(), o + h::kOffsetAndFlags.at, h::kOffsetAndFlags.len);
    e.hex("flags_raw", t.flags, o, h::kOffsetAndFlags);
  }
  e.u("window", t.window, o, h::kWindow);
  e.hex("checksum", t.checksum, o, h::kChecksum);
  transport_checksum_fields(e, p, o + h::kChecksum.at);
  e.u("urgent", t.urgent, o, h::kUrgent);
  // Option positions are not kept; options are reported against the options area.
  const std::uint32_t opt = o + h::kFixedLen;
  if (t.has_mss) e.u("mss", t.mss, opt, 0);
  if (t.has_wscale) e.u("wscale", t.wscale, opt, 0);
  if (t.sack_permitted) e.b("sack_permitted", true, opt, 0);
  if (t.sack_count) {
    TextBuf s;
    for (std::uint8_t i = 0; i < t.sack_count; ++i) {
      if (i) s.add(" ");
      s.add_u32(t.sack[i].left);
      s.add("-");
      s.add_u32(t.sack[i].right);
    }
    e.text("sack", s.view(), opt, 0);
  }
  if (t.has_timestamps) {
    e.u("ts_val", t.ts_val, opt, 0);
    e.u("ts_ecr", t.ts_ecr, opt, 0);
  }
  e.v.end_layer();
}

void visit_udp(const UdpInfo& u, std::uint32_t o, Emit& e, bool checked, bool ok, bool partial) {
  namespace h = udp_header;
  e.v.begin_layer(Osi::Transport, "udp", o, h::kLen);
  e.u("src_port", u.sport, o, h::kSrcPort);
  e.u("dst_port", u.dport, o, h::kDstPort);
  e.u("length", u.length, o, h::kLength);
  e.hex("checksum", u.checksum, o, h::kChecksum);
  checksum_fields(e, checked, ok, partial, o + h::kChecksum.at);
  e.v.end_layer();
}

void visit_ip(const IpInfo& ip, Emit& e) {
  if (ip.version == 4)
    visit_ipv4(ip, e);
  else if (ip.version == 6)
    visit_ipv6(ip, e);
}

// The Ethernet frame a tunnel carries, with its VLAN tag.
void visit_inner_ethernet(const Tunnel& t, Emit& e) {
  const std::uint32_t o = t.inner_eth_offset;
  e.v.begin_layer(Osi::DataLink, "ethernet", o, 14);
  e.mac("dst", t.inner_dst, o, 6);
  e.mac("src", t.inner_src, o + 6, 6);
  e.hex("type", t.inner_has_vlan ? 0x8100 : t.inner_ethertype, o + 12, 2);
  e.v.end_layer();
  if (!t.inner_has_vlan) return;
  e.v.begin_layer(Osi::DataLink, "vlan", o + 14, 4);
  e.u("id", t.inner_vlan, o + 14, 2);
  e.hex("type", t.inner_ethertype, o + 16, 2);
  e.v.end_layer();
}

// One encapsulation: the outer IP packet and UDP datagram that carried it, the tunnel header(s),
// and the Ethernet header of the frame it carries. Tunnel headers are shown at layer 2: for the
// packet inside they are the link that delivers it (docs/osi.md, "Tunnels").
void visit_tunnel(const Tunnel& t, Emit& e) {
  visit_ip(t.outer_ip, e);
  if (t.has_udp) visit_udp(t.outer_udp, t.udp_offset, e, t.udp_checksum_checked, t.udp_checksum_ok, t.udp_checksum_partial);
  const std::uint32_t o = t.offset;
  switch (t.kind) {
    case TunnelKind::Gre:
    case TunnelKind::Erspan2:
    case TunnelKind::Erspan3: {
      const std::uint32_t gre_len = decode_detail::gre_header_len(t.flags);
      e.v.begin_layer(Osi::DataLink, "gre", o, std::min(gre_len, t.length));
      e.hex("flags", t.flags, o, 2);
      e.u("version", t.flags & 7u, o + 1, 1);
      e.hex("protocol", t.protocol, o + 2, 2);
      if (t.has_key) e.u("key", t.key, o + 4 + ((t.flags & 0x8000) ? 4u : 0u), 4);
      if (t.has_seq) e.u("seq", t.seq, o + gre_len - 4, 4);
      e.v.end_layer();
      if (t.kind == TunnelKind::Gre) break;
      const std::uint32_t eo = o + gre_len;
      e.v.begin_layer(Osi::DataLink, "erspan", eo, t.length > gre_len ? t.length - gre_len : 0);
      e.u("type", t.kind == TunnelKind::Erspan3 ? 3 : t.has_seq ? 2 : 1, eo, 0);
      if (t.length > gre_len) {
        e.u("vlan", t.vlan, eo, 2);
        e.u("session", t.session, eo + 2, 2);
      }
      e.v.end_layer();
      break;
    }
    case TunnelKind::Vxlan:
      e.v.begin_layer(Osi::DataLink, "vxlan", o, t.length);
      e.hex("flags", t.flags, o, 1);
      e.u("vni", t.vni, o + 4, 3);
      e.v.end_layer();
      break;
    case TunnelKind::Geneve:
      e.v.begin_layer(Osi::DataLink, "geneve", o, t.length);
      e.u("version", t.flags >> 14, o, 1);
      e.u("options_len", (t.flags >> 8 & 0x3fu) * 4u, o, 1);
      e.hex("protocol", t.protocol, o + 2, 2);
      e.u("vni", t.vni, o + 4, 3);
      e.v.end_layer();
      break;
    case TunnelKind::Mpls: {
      e.v.begin_layer(Osi::DataLink, "mpls", o, t.length);
      TextBuf labels;
      const std::size_t n = std::min<std::size_t>(t.mpls_count, t.mpls.size());
      for (std::size_t i = 0; i < n; ++i) {
        if (i) labels.add(",");
        labels.add_u32(t.mpls[i].label);
      }
      if (t.mpls_count > n) labels.add(",...");
      e.text("labels", labels.view(), o, t.length);
      e.u("label_count", t.mpls_count, o, t.length);
      if (n > 0) {
        const MplsLabel& last = t.mpls[n - 1];
        e.u("tc", last.tc, o + 4 * static_cast<std::uint32_t>(n - 1) + 2, 1);
        e.u("ttl", last.ttl, o + 4 * static_cast<std::uint32_t>(n - 1) + 3, 1);
      }
      e.v.end_layer();
      break;
    }
  }
  if (t.inner_eth) visit_inner_ethernet(t, e);
}

}  // namespace

bool is_tunnel_layer(std::string_view name) {
  return name == "gre" || name == "erspan" || name == "vxlan" || name == "geneve" || name == "mpls";
}

void visit_layers(const Packet& p, LayerVisitor& v) {
  Emit e{v};
  visit_link(p, e);
  const std::size_t tunnels = std::min<std::size_t>(p.tunnel_count, p.tunnels.size());
  for (std::size_t i = 0; i < tunnels; ++i) visit_tunnel(p.tunnels[i], e);
  if (p.transport == Transport::Arp) {
    visit_arp(p, e);
    return;
  }
  if (p.ip.version != 4 && p.ip.version != 6) return;
  visit_ip(p.ip, e);
  switch (p.transport) {
    case Transport::Icmp: visit_icmp(p, e); break;
    case Transport::Tcp: visit_tcp(p, e); break;
    case Transport::Udp:
      visit_udp(p.udp, p.transport_offset, e, p.transport_checksum_checked, p.transport_checksum_ok,
                p.transport_checksum_partial);
      break;
    default: return;
  }
  if (!p.ok() || (p.transport != Transport::Tcp && p.transport != Transport::Udp)) return;
  if (p.payload_len == 0) return;
  v.begin_layer(Osi::Application, "payload", p.payload_offset, p.payload_captured);
  e.u("length", p.payload_len, p.payload_offset, 0);
  e.u("captured", p.payload_captured, p.payload_offset, 0);
  v.end_layer();
}

}  // namespace sockscope
