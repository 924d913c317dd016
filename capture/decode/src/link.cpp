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
constexpr std::uint16_t kEtherMpls = 0x8847;       // RFC 3032 unicast
constexpr std::uint16_t kEtherMplsMulti = 0x8848;  // RFC 5332 multicast
constexpr std::uint16_t kPppIpv4 = 0x0021;
constexpr std::uint16_t kPppIpv6 = 0x0057;

bool is_vlan_tpid(std::uint16_t t) { return t == kEtherVlan || t == kEtherQinQ || t == kEtherQinQOld; }

void decode_arp(Packet& p, const Span& s, std::uint32_t off) {
  if (!fail_need(p, need(s, off, 8), s, "arp", SOCKSCOPE_N_("header runs past the end of the frame"), off)) return;
  ByteReader r = s.reader(off, 8);
  ArpInfo& a = p.arp;
  a.offset = s.report_base + off;
  r.be16(a.htype);
  r.be16(a.ptype);
  r.u8(a.hlen);
  r.u8(a.plen);
  r.be16(a.op);
  const std::uint32_t addrs = 2u * a.hlen + 2u * a.plen;
  if (!fail_need(p, need(s, off + 8, addrs), s, "arp", SOCKSCOPE_N_("addresses run past the end of the frame"), off + 8)) {
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
    if (!fail_need(p, need(s, off, 4), s, "vlan", SOCKSCOPE_N_("tag runs past the end of the frame"), off)) return;
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
    if (!fail_need(p, need(s, off, 8), s, "pppoe", SOCKSCOPE_N_("header runs past the end of the frame"), off)) return;
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
      set_error(p, DecodeStatus::Malformed, "pppoe", SOCKSCOPE_N_("version and type are not 1 and 1"), off);
      return;
    }
    if (code != 0) {
      set_error(p, DecodeStatus::Malformed, "pppoe", SOCKSCOPE_N_("session data with a nonzero code"), off + 1);
      return;
    }
    if (len < 2 || off + 6u + len > s.decl_end) {
      set_error(p, DecodeStatus::Malformed, "pppoe", SOCKSCOPE_N_("length disagrees with the frame length"), off + 4);
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
  decode_by_ethertype(p, s, type, off);
}

// FDDI (ANSI X3.139): frame control, destination, source, then 802.2 LLC; IP rides in SNAP
// (AA AA 03, OUI 00 00 00, EtherType), as in RFC 1390.
void decode_fddi(Packet& p, const Span& s) {
  p.link.kind = LinkKind::Fddi;
  if (!fail_need(p, need(s, 0, 13), s, "fddi", SOCKSCOPE_N_("the frame is shorter than an FDDI header"), 0)) return;
  ByteReader r = s.reader(0, 13);
  r.u8(p.link.fddi_fc);
  r.bytes(p.link.dst_mac.b.data(), 6);
  r.bytes(p.link.src_mac.b.data(), 6);
  p.link.has_macs = true;
  p.link.header_len = 13;
  std::uint8_t llc[8] = {};
  // A frame cut inside the LLC header is a truncation; one too short for SNAP is other LLC traffic.
  const Need snap = need(s, 13, 8);
  if (snap == Need::Truncated) {
    fail_need(p, snap, s, "fddi", "", 13);
    return;
  }
  if (snap != Need::Ok || !s.reader(13, 8).bytes(llc, 8) || llc[0] != 0xAA || llc[1] != 0xAA ||
      llc[2] != 0x03) {
    p.transport = Transport::Other;  // not SNAP: other LLC traffic (spanning tree, NetBIOS, ...)
    return;
  }
  decode_ethertype(p, s, static_cast<std::uint16_t>((llc[6] << 8) | llc[7]), 21);
}

// IP over InfiniBand (RFC 4391 section 6): a 4-byte encapsulation header, an EtherType and 2 reserved
// bytes.
void decode_ipoib(Packet& p, const Span& s) {
  p.link.kind = LinkKind::Ipoib;
  if (!fail_need(p, need(s, 0, 4), s, "ipoib", SOCKSCOPE_N_("the frame is shorter than the IPoIB header"), 0)) return;
  std::uint16_t type = 0;
  s.reader(0, 2).be16(type);
  p.link.header_len = 4;
  decode_ethertype(p, s, type, 4);
}

// Linux NFLOG (netfilter log messages, as `tcpdump -i nflog` writes): family, version, resource id,
// then type-length-value attributes with lengths in the capturing host's byte order (little-endian
// in practice; both are tried). Attribute 9 (NFULA_PAYLOAD) holds the IP packet.
void decode_nflog(Packet& p, const Span& s) {
  p.link.kind = LinkKind::Nflog;
  if (!fail_need(p, need(s, 0, 4), s, "nflog", SOCKSCOPE_N_("the frame is shorter than the NFLOG header"), 0)) return;
  ByteReader r = s.reader(0, 4);
  std::uint8_t version = 0;
  r.u8(p.link.nflog_family);
  r.u8(version);
  r.be16(p.link.nflog_resource);
  p.link.header_len = 4;
  std::uint32_t off = 4;
  while (need(s, off, 4) == Need::Ok) {
    std::uint16_t len = 0, type = 0;
    ByteReader t = s.reader(off, 4);
    t.le16(len);
    t.le16(type);
    if (len < 4 || need(s, off, len) == Need::Malformed) {
      ByteReader b = s.reader(off, 4);  // big-endian host
      b.be16(len);
      b.be16(type);
    }
    if (len < 4) {
      set_error(p, DecodeStatus::Malformed, "nflog", SOCKSCOPE_N_("an attribute is shorter than its own header"), off);
      return;
    }
    if ((type & 0x7fff) == 9) {
      p.link.header_len = off + 4;
      Span inner = s;
      inner.decl_end = std::min(s.decl_end, off + std::uint32_t{len});
      inner.cap_end = std::min(s.cap_end, inner.decl_end);
      if (p.link.nflog_family == 2) return decode_ipv4(p, inner, off + 4);
      if (p.link.nflog_family == 10) return decode_ipv6(p, inner, off + 4);
      p.transport = Transport::Other;
      return;
    }
    off += (std::uint32_t{len} + 3u) & ~3u;
  }
  if (off < s.cap_end || s.cap_end < s.decl_end)
    set_error(p, DecodeStatus::Truncated, "nflog", kCutShort, off);
  else
    p.transport = Transport::Other;  // a log message without the packet
}

// ARCNET (RFC 1201, RFC 1051): source and destination station ids, then a protocol id. The newer
// protocol ids (RFC 1201) are followed by a split flag and a sequence number; a packet split over
// several frames is not reassembled. BSD headers start at the source id, Linux ones have two bytes
// of offset after the station ids.
void decode_arcnet(Packet& p, const Span& s, bool linux_header) {
  p.link.kind = LinkKind::Arcnet;
  std::uint32_t off = linux_header ? 4 : 2;
  if (!fail_need(p, need(s, 0, off + 1), s, "arcnet", SOCKSCOPE_N_("the frame is shorter than an ARCNET header"), 0)) return;
  ByteReader r = s.reader(0, off + 1);
  r.u8(p.link.arc_src);
  r.u8(p.link.arc_dst);
  r.skip(off - 2);
  r.u8(p.link.arc_type);
  ++off;
  std::uint16_t ethertype = 0;
  bool split_header = true;
  switch (p.link.arc_type) {
    case 240: ethertype = kEtherIpv4; split_header = false; break;  // RFC 1051 IP
    case 241: ethertype = kEtherArp; split_header = false; break;   // RFC 1051 ARP
    case 212: ethertype = kEtherIpv4; break;                        // RFC 1201 IP
    case 213: ethertype = kEtherArp; break;
    case 196: ethertype = kEtherIpv6; break;                        // RFC 2497 IPv6
    default: break;
  }
  if (split_header) {
    if (!fail_need(p, need(s, off, 3), s, "arcnet", SOCKSCOPE_N_("the frame is shorter than an ARCNET header"), off)) return;
    std::uint8_t flag = 0;
    s.reader(off, 1).u8(flag);
    if (flag == 0xff) {  // an exception packet: 4 more bytes, then the flag and sequence number again
      off += 4;
      if (!fail_need(p, need(s, off, 3), s, "arcnet", SOCKSCOPE_N_("the frame is shorter than an ARCNET header"), off)) return;
      s.reader(off, 1).u8(flag);
    }
    off += 3;
    if (flag != 0) {  // one part of a split packet: the parts are not reassembled
      p.link.header_len = off;
      p.transport = Transport::Other;
      return;
    }
  }
  p.link.header_len = off;
  p.link.ethertype = ethertype;
  if (ethertype == 0) {
    p.transport = Transport::Other;
    return;
  }
  decode_by_ethertype(p, s, ethertype, off);
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
  if (!fail_need(p, need(s, 0, 4), s, name, SOCKSCOPE_N_("header runs past the end of the frame"), 0)) return;
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
  if (!fail_need(p, need(s, 0, 1), s, "ip", SOCKSCOPE_N_("the frame is empty"), 0)) return;
  std::uint8_t b = 0;
  s.reader(0, 1).u8(b);
  if ((b >> 4) == 4)
    decode_ipv4(p, s, 0);
  else if ((b >> 4) == 6)
    decode_ipv6(p, s, 0);
  else
    set_error(p, DecodeStatus::Malformed, "ip", SOCKSCOPE_N_("the version is neither 4 nor 6"), 0);
}

}  // namespace

void decode_by_ethertype(Packet& p, const Span& s, std::uint16_t type, std::uint32_t off) {
  switch (type) {
    case kEtherIpv4: return decode_ipv4(p, s, off);
    case kEtherIpv6: return decode_ipv6(p, s, off);
    case kEtherArp: return decode_arp(p, s, off);
    case kEtherMpls:
    case kEtherMplsMulti: return decode_mpls(p, s, off);
    default: p.transport = Transport::Other; return;  // 802.3 length, LLC, other protocols
  }
}

}  // namespace decode_detail

const char* linktype_name(std::uint32_t linktype) {
  // Names as in https://www.tcpdump.org/linktypes.html (LINKTYPE_ without the prefix).
  static constexpr const char* kUser[] = {"USER0", "USER1", "USER2",  "USER3",  "USER4",  "USER5",
                                          "USER6", "USER7", "USER8",  "USER9",  "USER10", "USER11",
                                          "USER12", "USER13", "USER14", "USER15"};
  if (linktype >= 147 && linktype <= 162) return kUser[linktype - 147];  // private use (DLT_USER0..15)
  switch (linktype) {
    case 0: return "NULL";
    case 1: return "ETHERNET";
    case 3: return "AX25";
    case 6: return "IEEE802_5";
    case 7: return "ARCNET_BSD";
    case 8: return "SLIP";
    case 9: return "PPP";
    case 10: return "FDDI";
    case 12: case 14: case 101: return "RAW";
    case 50: return "PPP_HDLC";
    case 51: return "PPP_ETHER";
    case 100: return "ATM_RFC1483";
    case 104: return "C_HDLC";
    case 105: return "IEEE802_11";
    case 107: return "FRELAY";
    case 108: return "LOOP";
    case 113: return "LINUX_SLL";
    case 114: return "LTALK";
    case 117: return "PFLOG";
    case 119: return "IEEE802_11_PRISM";
    case 122: return "IP_OVER_FC";
    case 123: return "SUNATM";
    case 127: return "IEEE802_11_RADIOTAP";
    case 129: return "ARCNET_LINUX";
    case 138: return "APPLE_IP_OVER_IEEE1394";
    case 139: return "MTP2_WITH_PHDR";
    case 143: return "DOCSIS";
    case 163: return "IEEE802_11_AVS";
    case 165: return "BACNET_MS_TP";
    case 166: return "PPP_PPPD";
    case 187: return "BLUETOOTH_HCI_H4";
    case 189: return "USB_LINUX";
    case 192: return "PPI";
    case 195: return "IEEE802_15_4_WITHFCS";
    case 201: return "BLUETOOTH_HCI_H4_WITH_PHDR";
    case 220: return "USB_LINUX_MMAPPED";
    case 227: return "CAN_SOCKETCAN";
    case 228: return "IPV4";
    case 229: return "IPV6";
    case 239: return "NFLOG";
    case 240: return "NETANALYZER";
    case 242: return "IPOIB";
    case 249: return "USBPCAP";
    case 251: return "BLUETOOTH_LE_LL";
    case 252: return "WIRESHARK_UPPER_PDU";
    case 253: return "NETLINK";
    case 254: return "BLUETOOTH_LINUX_MONITOR";
    case 276: return "LINUX_SLL2";
    default: return nullptr;
  }
}

const char* ethertype_name(std::uint16_t type) {
  switch (type) {
    case 0x0800: return "IPv4";
    case 0x0806: return "ARP";
    case 0x0842: return "Wake-on-LAN";
    case 0x22F0: return "AVTP";
    case 0x22F3: return "TRILL";
    case 0x6558: return "Ethernet bridging";
    case 0x8035: return "RARP";
    case 0x809B: return "AppleTalk";
    case 0x80F3: return "AARP";
    case 0x8100: return "802.1Q VLAN";
    case 0x8137: return "IPX";
    case 0x86DD: return "IPv6";
    case 0x8808: return "Ethernet flow control";
    case 0x8809: return "slow protocols (LACP)";
    case 0x8847: return "MPLS";
    case 0x8848: return "MPLS multicast";
    case 0x8863: return "PPPoE discovery";
    case 0x8864: return "PPPoE session";
    case 0x886D: return "Intel ANS";
    case 0x887B: return "HomePlug";
    case 0x888E: return "EAPOL (802.1X)";
    case 0x8892: return "PROFINET";
    case 0x889A: return "HyperSCSI";
    case 0x88A2: return "ATA over Ethernet";
    case 0x88A4: return "EtherCAT";
    case 0x88A8: return "802.1ad QinQ";
    case 0x88AB: return "Ethernet Powerlink";
    case 0x88B8: return "GOOSE";
    case 0x88BA: return "IEC 61850 sampled values";
    case 0x88BE: return "ERSPAN";
    case 0x88CC: return "LLDP";
    case 0x88CD: return "SERCOS III";
    case 0x88E1: return "HomePlug AV";
    case 0x88E3: return "MRP";
    case 0x88E5: return "MACsec";
    case 0x88E7: return "PBB";
    case 0x88F7: return "PTP";
    case 0x88F8: return "NC-SI";
    case 0x88FB: return "PRP";
    case 0x8902: return "CFM (802.1ag)";
    case 0x8906: return "FCoE";
    case 0x8914: return "FCoE initialization";
    case 0x8915: return "RoCE";
    case 0x891D: return "TTEthernet";
    case 0x893A: return "IEEE 1905.1";
    case 0x892F: return "HSR";
    case 0x9000: return "loopback (configuration test)";
    default: return nullptr;
  }
}

void decode_frame(std::uint32_t linktype, const std::uint8_t* data, std::uint32_t caplen,
                  std::uint32_t wirelen, Packet& out, bool reference_paths) {
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
  const Span s{data, caplen, wirelen, 0, reference_paths};

  switch (linktype) {
    case linktype::kEthernet: {
      out.link.kind = LinkKind::Ethernet;
      if (!fail_need(out, need(s, 0, 14), s, "ethernet", SOCKSCOPE_N_("the frame is shorter than an Ethernet header"), 0))
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
    case linktype::kFddi: return decode_fddi(out, s);
    case linktype::kIpoib: return decode_ipoib(out, s);
    case linktype::kNflog: return decode_nflog(out, s);
    case linktype::kArcnetBsd: return decode_arcnet(out, s, false);
    case linktype::kArcnetLinux: return decode_arcnet(out, s, true);
    case linktype::kLoop: return decode_loopback(out, s, LinkKind::Loop);
    case linktype::kLinuxSll: {
      // Linux cooked capture v1: packet type, ARPHRD type, address length, 8 address bytes, protocol.
      out.link.kind = LinkKind::Sll;
      if (!fail_need(out, need(s, 0, 16), s, "sll", SOCKSCOPE_N_("the frame is shorter than the cooked header"), 0))
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
      if (!fail_need(out, need(s, 0, 20), s, "sll2", SOCKSCOPE_N_("the frame is shorter than the cooked header"), 0))
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
