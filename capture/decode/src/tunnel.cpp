// Tunnels and encapsulations: GRE (RFC 2784, RFC 2890) including ERSPAN types I, II and III (the
// draft-foschiano-erspan format), VXLAN (RFC 7348, UDP port 4789), Geneve (RFC 8926, UDP port 6081)
// and MPLS label stacks (RFC 3032). The outer packet is kept in Packet::tunnels; the inner one is
// decoded into Packet::ip and the transport fields, so the annotator analyses the inner conversation
// without knowing about tunnels.
#include "internal.hpp"

namespace sockscope::decode_detail {
namespace {

constexpr std::uint16_t kEtherBridge = 0x6558;   // transparent Ethernet bridging (RFC 1701)
constexpr std::uint16_t kEtherErspan2 = 0x88BE;  // ERSPAN type I (no sequence number) or II
constexpr std::uint16_t kEtherErspan3 = 0x22EB;
constexpr std::uint16_t kPortVxlan = 4789;
constexpr std::uint16_t kPortGeneve = 6081;
constexpr unsigned kMaxLabels = 32;  // a longer stack without its bottom bit is not MPLS

// Starts a tunnel level: what was decoded so far (the outer IP packet and UDP datagram) moves into
// p.tunnels and the inner packet starts afresh. nullptr when tunnels nest deeper than p.tunnels holds.
Tunnel* push(Packet& p, TunnelKind kind, const Span& s, std::uint32_t off) {
  if (p.tunnel_count >= p.tunnels.size()) return nullptr;
  Tunnel& t = p.tunnels[p.tunnel_count++];
  t = Tunnel{};
  t.kind = kind;
  t.offset = s.report_base + off;
  t.outer_ip = p.ip;
  if (p.transport == Transport::Udp) {
    t.has_udp = true;
    t.outer_udp = p.udp;
    t.udp_offset = p.transport_offset;
    t.udp_checksum_checked = p.transport_checksum_checked;
    t.udp_checksum_ok = p.transport_checksum_ok;
    t.udp_checksum_partial = p.transport_checksum_partial;
  }
  p.ip = IpInfo{};
  p.udp = UdpInfo{};
  p.transport = Transport::None;
  p.transport_offset = 0;
  p.transport_header_len = 0;
  p.payload = nullptr;
  p.payload_captured = 0;
  p.payload_len = 0;
  p.payload_offset = 0;
  p.transport_checksum_checked = false;
  p.transport_checksum_ok = true;
  p.transport_checksum_partial = false;
  return &t;
}

// What could not be decoded inside a tunnel is left as the payload of the layer that carries it.
void undecoded(Packet& p, const Span& s, std::uint32_t off) {
  p.transport = Transport::Other;
  p.transport_offset = s.report_base + off;
}

// The Ethernet frame a tunnel carries (VXLAN, Geneve, GRE bridging, ERSPAN), with at most one VLAN tag.
void inner_ethernet(Packet& p, const Span& s, Tunnel& t, std::uint32_t off) {
  constexpr const char* kL = "ethernet";
  if (!fail_need(p, need(s, off, 14), s, kL, SOCKSCOPE_N_("the inner frame is shorter than an Ethernet header"), off)) return;
  ByteReader r = s.reader(off, 14);
  std::uint16_t type = 0;
  r.bytes(t.inner_dst.b.data(), 6);
  r.bytes(t.inner_src.b.data(), 6);
  r.be16(type);
  t.inner_eth = true;
  t.inner_eth_offset = s.report_base + off;
  off += 14;
  if (type == 0x8100 || type == 0x88A8) {
    if (!fail_need(p, need(s, off, 4), s, "vlan", SOCKSCOPE_N_("tag runs past the end of the frame"), off)) return;
    ByteReader v = s.reader(off, 4);
    std::uint16_t tci = 0;
    v.be16(tci);
    v.be16(type);
    t.inner_has_vlan = true;
    t.inner_vlan = static_cast<std::uint16_t>(tci & 0x0fff);
    off += 4;
  }
  t.inner_ethertype = type;
  decode_by_ethertype(p, s, type, off);
}

// ERSPAN type II (8-byte header) and III (12 bytes, 20 with the platform-specific subheader), after
// the GRE header at `off`.
void decode_erspan(Packet& p, const Span& s, Tunnel& t, std::uint32_t off, std::uint32_t gre_len) {
  constexpr const char* kL = "erspan";
  const bool three = t.kind == TunnelKind::Erspan3;
  std::uint32_t len = three ? 12 : 8;
  if (!fail_need(p, need(s, off, len), s, kL, SOCKSCOPE_N_("the header runs past the end of the packet"), off)) return;
  ByteReader r = s.reader(off, len);
  std::uint16_t w1 = 0, w2 = 0;
  r.be16(w1);
  r.be16(w2);
  t.vlan = static_cast<std::uint16_t>(w1 & 0x0fff);
  t.session = static_cast<std::uint16_t>(w2 & 0x03ff);
  const unsigned version = w1 >> 12;
  if (version != (three ? 2u : 1u)) {
    set_error(p, DecodeStatus::Malformed, kL, SOCKSCOPE_N_("the version does not match the GRE protocol type"), s.report_base + off);
    return;
  }
  bool ethernet = true;
  if (three) {
    std::uint32_t timestamp = 0;
    std::uint16_t sgt = 0, w5 = 0;
    r.be32(timestamp);
    r.be16(sgt);
    r.be16(w5);
    if (w5 & 1) len += 8;  // O bit: a platform-specific subheader follows
    ethernet = ((w5 >> 10) & 0x1f) == 0;  // frame type 0: Ethernet
    if (!fail_need(p, need(s, off, len), s, kL, SOCKSCOPE_N_("the header runs past the end of the packet"), off)) return;
  }
  t.length = gre_len + len;
  if (!ethernet) return undecoded(p, s, off + len);
  inner_ethernet(p, s, t, off + len);
}

}  // namespace

void decode_gre(Packet& p, const Span& s, std::uint32_t off) {
  constexpr const char* kL = "gre";
  if (!fail_need(p, need(s, off, 4), s, kL, SOCKSCOPE_N_("the header is longer than the IP payload"), off)) return;
  std::uint16_t flags = 0, proto = 0;
  ByteReader r = s.reader(off, 4);
  r.be16(flags);
  r.be16(proto);
  const unsigned version = flags & 7;
  const bool csum = (flags & 0x8000) != 0, routing = (flags & 0x4000) != 0, key = (flags & 0x2000) != 0,
             seq = (flags & 0x1000) != 0;
  // RFC 1701 source routing (deprecated) has a variable list after the header: not decoded.
  if (routing || version > 1) return undecoded(p, s, off);
  const std::uint32_t hlen = gre_header_len(flags);
  if (!fail_need(p, need(s, off, hlen), s, kL, SOCKSCOPE_N_("the header is longer than the IP payload"), off)) return;
  Tunnel* t = push(p, TunnelKind::Gre, s, off);
  if (t == nullptr) return undecoded(p, s, off);
  t->flags = flags;
  t->protocol = proto;
  t->length = hlen;
  ByteReader opt = s.reader(off + 4, hlen - 4);
  if (csum) opt.skip(4);
  if (key) {
    t->has_key = true;
    opt.be32(t->key);
  }
  if (seq) {
    t->has_seq = true;
    opt.be32(t->seq);
  }
  const std::uint32_t in = off + hlen;
  if (version == 1) return undecoded(p, s, in);  // PPTP's enhanced GRE carries PPP: not decoded
  switch (proto) {
    case kEtherErspan2:
      if (!seq) {  // ERSPAN type I: the mirrored frame right after the GRE header
        t->kind = TunnelKind::Erspan2;
        return inner_ethernet(p, s, *t, in);
      }
      t->kind = TunnelKind::Erspan2;
      return decode_erspan(p, s, *t, in, hlen);
    case kEtherErspan3:
      t->kind = TunnelKind::Erspan3;
      return decode_erspan(p, s, *t, in, hlen);
    case kEtherBridge: return inner_ethernet(p, s, *t, in);
    default: return decode_by_ethertype(p, s, proto, in);
  }
}

bool decode_udp_tunnel(Packet& p, const Span& s, std::uint32_t off) {
  const UdpInfo& u = p.udp;
  const bool vxlan = u.dport == kPortVxlan || u.sport == kPortVxlan;
  const bool geneve = u.dport == kPortGeneve || u.sport == kPortGeneve;
  if (!vxlan && !geneve) return false;
  // A datagram too short for the header is not this tunnel: it stays a plain UDP datagram. A header
  // that the capture cut short is reported as such (the outer datagram is still analysed).
  const char* layer = vxlan ? "vxlan" : "geneve";
  const Need head = need(s, off, 8);
  if (head == Need::Truncated) set_error(p, DecodeStatus::Truncated, layer, kCutShort, s.report_base + off);
  if (head != Need::Ok) return false;
  ByteReader r = s.reader(off, 8);
  if (vxlan) {
    std::uint8_t flags = 0, b[3] = {}, v[3] = {};
    r.u8(flags);
    r.bytes(b, 3);
    r.bytes(v, 3);
    Tunnel* t = push(p, TunnelKind::Vxlan, s, off);
    if (t == nullptr) return false;
    t->flags = flags;
    t->vni = (std::uint32_t{v[0]} << 16) | (std::uint32_t{v[1]} << 8) | v[2];
    t->length = 8;
    inner_ethernet(p, s, *t, off + 8);
    return true;
  }
  std::uint8_t b0 = 0, b1 = 0, v[3] = {};
  std::uint16_t proto = 0;
  r.u8(b0);
  r.u8(b1);
  r.be16(proto);
  r.bytes(v, 3);
  if ((b0 >> 6) != 0) return false;  // only version 0 exists
  const std::uint32_t len = 8 + (b0 & 0x3fu) * 4;
  const Need opts = need(s, off, len);
  if (opts == Need::Truncated) set_error(p, DecodeStatus::Truncated, layer, kCutShort, s.report_base + off);
  if (opts != Need::Ok) return false;
  Tunnel* t = push(p, TunnelKind::Geneve, s, off);
  if (t == nullptr) return false;
  t->flags = static_cast<std::uint16_t>((b0 << 8) | b1);
  t->protocol = proto;
  t->vni = (std::uint32_t{v[0]} << 16) | (std::uint32_t{v[1]} << 8) | v[2];
  t->length = len;
  if (proto == kEtherBridge)
    inner_ethernet(p, s, *t, off + len);
  else
    decode_by_ethertype(p, s, proto, off + len);
  return true;
}

void decode_mpls(Packet& p, const Span& s, std::uint32_t off) {
  constexpr const char* kL = "mpls";
  Tunnel* t = push(p, TunnelKind::Mpls, s, off);
  if (t == nullptr) return undecoded(p, s, off);
  const std::uint32_t start = off;
  for (unsigned i = 0;; ++i) {
    if (i == kMaxLabels) {
      set_error(p, DecodeStatus::Malformed, kL, SOCKSCOPE_N_("the label stack has no bottom"), s.report_base + start);
      return;
    }
    if (!fail_need(p, need(s, off, 4), s, kL, SOCKSCOPE_N_("the label stack runs past the end of the frame"), off)) return;
    std::uint32_t v = 0;
    s.reader(off, 4).be32(v);
    MplsLabel l;
    l.label = v >> 12;
    l.tc = static_cast<std::uint8_t>((v >> 9) & 7);
    l.bottom = (v & 0x100) != 0;
    l.ttl = static_cast<std::uint8_t>(v & 0xff);
    if (t->mpls_count < t->mpls.size()) t->mpls[t->mpls_count] = l;
    ++t->mpls_count;
    off += 4;
    t->length = off - start;
    if (l.bottom) break;
  }
  // RFC 3032 leaves the payload's protocol to the label; in practice the first nibble tells IPv4 and
  // IPv6 apart (as Wireshark and tcpdump do). A pseudowire (first nibble 0) is not decoded.
  std::uint8_t b = 0;
  if (!fail_need(p, need(s, off, 1), s, kL, SOCKSCOPE_N_("nothing follows the label stack"), off)) return;
  s.reader(off, 1).u8(b);
  if ((b >> 4) == 4) return decode_ipv4(p, s, off);
  if ((b >> 4) == 6) return decode_ipv6(p, s, off);
  undecoded(p, s, off);
}

}  // namespace sockscope::decode_detail
