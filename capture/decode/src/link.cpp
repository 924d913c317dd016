// Layer 2: the link-layer headers libpcap hands us, then dispatch on EtherType.
#include <algorithm>

#include "internal.hpp"
#include "sockscope/decode/decode.hpp"

namespace sockscope {
namespace decode_detail {
namespace {

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherArp = 0x0806;
constexpr std::uint16_t kEtherIpv6 = 0x86DD;
constexpr std::uint16_t kEtherVlan = 0x8100;     // IEEE 802.1Q
constexpr std::uint16_t kEtherQinQ = 0x88A8;     // IEEE 802.1ad service tag
constexpr std::uint16_t kEtherQinQOld = 0x9100;  // pre-standard QinQ
constexpr std::uint16_t kEtherPppoeSession = 0x8864;  // RFC 2516
constexpr std::uint16_t kPppIpv4 = 0x0021;
constexpr std::uint16_t kPppIpv6 = 0x0057;

bool is_vlan_tpid(std::uint16_t t) { return t == kEtherVlan || t == kEtherQinQ || t == kEtherQinQOld; }

void decode_arp(Packet& p, const Span& s, std::uint32_t off) {
  if (!fail_need(p, need(s, off, 8), s, "arp", "header runs past the end of the frame", off)) return;
  ByteReader r = s.reader(off, 8);
  ArpInfo& a = p.arp;
  r.be16(a.htype);
  r.be16(a.ptype);
  r.u8(a.hlen);
  r.u8(a.plen);
  r.be16(a.op);
  const std::uint32_t addrs = 2u * a.hlen + 2u * a.plen;
  if (!fail_need(p, need(s, off + 8, addrs), s, "arp", "addresses run past the end of the frame", off + 8)) {
    p.transport = Transport::Arp;  // the fixed part is known
    return;
  }
  ByteReader body = s.reader(off + 8, addrs);
  if (a.hlen == 6 && a.plen == 4) {
    body.bytes(a.sender_mac.b.data(), 6);
    a.sender_ip.family = 4;
    body.bytes(a.sender_ip.b.data(), 4);
    body.bytes(a.target_mac.b.data(), 6);
    a.target_ip.family = 4;
    body.bytes(a.target_ip.b.data(), 4);
  }
  p.transport = Transport::Arp;
}

// Decodes what follows an EtherType (or SLL protocol) at `off`: VLAN tags, PPPoE, then the payload.
void decode_ethertype(Packet& p, const Span& frame, std::uint16_t type, std::uint32_t off) {
  LinkInfo& l = p.link;
  Span s = frame;
  while (is_vlan_tpid(type)) {
    // IEEE 802.1Q tag: TCI (PCP 3 bits, DEI 1 bit, VID 12 bits), then the next EtherType.
    if (!fail_need(p, need(s, off, 4), s, "vlan", "tag runs past the end of the frame", off)) return;
    ByteReader r = s.reader(off, 4);
    std::uint16_t tci = 0, next = 0;
    r.be16(tci);
    r.be16(next);
    if (l.vlan_count < l.vlan_id.size()) {
      l.vlan_tpid[l.vlan_count] = type;
      l.vlan_id[l.vlan_count] = static_cast<std::uint16_t>(tci & 0x0fff);
      l.vlan_pcp[l.vlan_count] = static_cast<std::uint8_t>(tci >> 13);
      ++l.vlan_count;
    }
    type = next;
    off += 4;
  }
  if (type == kEtherPppoeSession) {
    // RFC 2516 section 4: ver/type 0x11, code 0, session id, length; then the PPP protocol (RFC 1661).
    if (!fail_need(p, need(s, off, 8), s, "pppoe", "header runs past the end of the frame", off)) return;
    ByteReader r = s.reader(off, 8);
    std::uint8_t vt = 0, code = 0;
    std::uint16_t len = 0;
    r.u8(vt);
    r.u8(code);
    r.be16(l.pppoe_session);
    r.be16(len);
    r.be16(l.ppp_protocol);
    l.pppoe = true;
    if (vt != 0x11) {
      set_error(p, DecodeStatus::Malformed, "pppoe", "version and type are not 1 and 1", off);
      return;
    }
    if (code != 0) {
      set_error(p, DecodeStatus::Malformed, "pppoe", "session data with a nonzero code", off + 1);
      return;
    }
    if (len < 2 || off + 6u + len > s.decl_end) {
      set_error(p, DecodeStatus::Malformed, "pppoe", "length disagrees with the frame length", off + 4);
      return;
    }
    // The PPPoE length bounds what follows (Ethernet padding may come after it).
    s.decl_end = off + 6u + len;
    s.cap_end = std::min(s.cap_end, s.decl_end);
    off += 8;
    l.header_len = off;
    l.ethertype = type;
    if (l.ppp_protocol == kPppIpv4)
      decode_ipv4(p, s, off);
    else if (l.ppp_protocol == kPppIpv6)
      decode_ipv6(p, s, off);
    else
      p.transport = Transport::Other;
    return;
  }
  l.header_len = off;
  l.ethertype = type;
  switch (type) {
    case kEtherIpv4: decode_ipv4(p, s, off); break;
    case kEtherIpv6: decode_ipv6(p, s, off); break;
    case kEtherArp: decode_arp(p, s, off); break;
    default: p.transport = Transport::Other; break;  // 802.3 length, LLC, other protocols
  }
}

// BSD loopback address families (the value differs by OS, RFC-less; see libpcap's pcap-linktype
// notes): IPv4 is 2 everywhere; IPv6 is 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS), 10 (Linux).
int family_version(std::uint32_t af) {
  if (af == 2) return 4;
  if (af == 24 || af == 28 || af == 30 || af == 10) return 6;
  return 0;
}

void decode_loopback(Packet& p, const Span& s, LinkKind kind) {
  p.link.kind = kind;
  const char* name = kind == LinkKind::Null ? "null" : "loop";
  if (!fail_need(p, need(s, 0, 4), s, name, "header runs past the end of the frame", 0)) return;
  // NULL stores the family in the capturing host's byte order and LOOP in network order, but files
  // move between machines and some writers get it wrong: accept both orders for both.
  ByteReader r = s.reader(0, 4);
  std::uint32_t be = 0;
  r.be32(be);
  ByteReader r2 = s.reader(0, 4);
  std::uint32_t le = 0;
  r2.le32(le);
  std::uint32_t af = kind == LinkKind::Loop ? be : le;
  int ver = family_version(af);
  if (ver == 0) {
    const std::uint32_t other = kind == LinkKind::Loop ? le : be;
    if (family_version(other) != 0) {
      af = other;
      ver = family_version(other);
    }
  }
  p.link.family = af;
  p.link.header_len = 4;
  if (ver == 4)
    decode_ipv4(p, s, 4);
  else if (ver == 6)
    decode_ipv6(p, s, 4);
  else
    p.transport = Transport::Other;
}

void decode_raw(Packet& p, const Span& s, std::uint32_t linktype) {
  p.link.kind = LinkKind::Raw;
  p.link.header_len = 0;
  if (linktype == linktype::kIpv4) return decode_ipv4(p, s, 0);
  if (linktype == linktype::kIpv6) return decode_ipv6(p, s, 0);
  if (!fail_need(p, need(s, 0, 1), s, "ip", "the frame is empty", 0)) return;
  std::uint8_t b = 0;
  s.reader(0, 1).u8(b);
  if ((b >> 4) == 4)
    decode_ipv4(p, s, 0);
  else if ((b >> 4) == 6)
    decode_ipv6(p, s, 0);
  else
    set_error(p, DecodeStatus::Malformed, "ip", "the version is neither 4 nor 6", 0);
}

}  // namespace
}  // namespace decode_detail

void decode_frame(std::uint32_t linktype, const std::uint8_t* data, std::uint32_t caplen,
                  std::uint32_t wirelen, Packet& out) {
  using namespace decode_detail;
  // Reset everything but the caller's frame number and timestamp.
  const std::uint64_t frame = out.frame;
  const Timestamp ts = out.ts;
  out = Packet{};
  out.frame = frame;
  out.ts = ts;
  if (data == nullptr) caplen = 0;
  // A record claiming fewer bytes on the wire than captured is nonsense; trust what we hold.
  wirelen = std::max(wirelen, caplen);
  out.caplen = caplen;
  out.wirelen = wirelen;
  out.link.linktype = linktype;
  const Span s{data, caplen, wirelen, 0};

  switch (linktype) {
    case linktype::kEthernet: {
      out.link.kind = LinkKind::Ethernet;
      if (!fail_need(out, need(s, 0, 14), s, "ethernet", "the frame is shorter than an Ethernet header", 0))
        return;
      ByteReader r = s.reader(0, 14);
      std::uint16_t type = 0;
      r.bytes(out.link.dst_mac.b.data(), 6);
      r.bytes(out.link.src_mac.b.data(), 6);
      r.be16(type);
      out.link.has_macs = true;
      out.link.header_len = 14;
      out.link.ethertype = type;
      decode_ethertype(out, s, type, 14);
      return;
    }
    case linktype::kNull: return decode_loopback(out, s, LinkKind::Null);
    case linktype::kLoop: return decode_loopback(out, s, LinkKind::Loop);
    case linktype::kLinuxSll: {
      // Linux cooked capture v1: packet type, ARPHRD type, address length, 8 address bytes, protocol.
      out.link.kind = LinkKind::Sll;
      if (!fail_need(out, need(s, 0, 16), s, "sll", "the frame is shorter than the cooked header", 0))
        return;
      ByteReader r = s.reader(0, 16);
      std::uint16_t halen = 0, proto = 0;
      std::uint8_t addr[8] = {};
      r.be16(out.link.sll_pkttype);
      r.be16(out.link.sll_hatype);
      r.be16(halen);
      r.bytes(addr, 8);
      r.be16(proto);
      if (halen == 6) std::copy(addr, addr + 6, out.link.src_mac.b.begin());
      out.link.header_len = 16;
      out.link.ethertype = proto;
      // Protocol values below 0x0600 are not EtherTypes (1: Novell 802.3, 4: 802.2 LLC, ...).
      if (proto < 0x0600) {
        out.transport = Transport::Other;
        return;
      }
      decode_ethertype(out, s, proto, 16);
      return;
    }
    case linktype::kLinuxSll2: {
      // Linux cooked capture v2: protocol, reserved, ifindex, ARPHRD type, packet type, address.
      out.link.kind = LinkKind::Sll2;
      if (!fail_need(out, need(s, 0, 20), s, "sll2", "the frame is shorter than the cooked header", 0))
        return;
      ByteReader r = s.reader(0, 20);
      std::uint16_t proto = 0, reserved = 0;
      std::uint8_t pkttype = 0, halen = 0;
      std::uint8_t addr[8] = {};
      r.be16(proto);
      r.be16(reserved);
      r.be32(out.link.sll_ifindex);
      r.be16(out.link.sll_hatype);
      r.u8(pkttype);
      r.u8(halen);
      r.bytes(addr, 8);
      out.link.sll_pkttype = pkttype;
      if (halen == 6) std::copy(addr, addr + 6, out.link.src_mac.b.begin());
      out.link.header_len = 20;
      out.link.ethertype = proto;
      if (proto < 0x0600) {
        out.transport = Transport::Other;
        return;
      }
      decode_ethertype(out, s, proto, 20);
      return;
    }
    case linktype::kRaw:
    case linktype::kRawOld12:
    case linktype::kRawOld14:
    case linktype::kIpv4:
    case linktype::kIpv6:
      return decode_raw(out, s, linktype);
    default:
      // A link type we do not decode: not the frame's fault.
      out.transport = Transport::Other;
      return;
  }
}

}  // namespace sockscope
