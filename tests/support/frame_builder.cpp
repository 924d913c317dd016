#include "frame_builder.hpp"

#include <deque>

#include "sockscope/decode/decode.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace sockscope::testing {
namespace {

void put8(Bytes& b, std::uint32_t v) { b.push_back(static_cast<std::uint8_t>(v)); }
void put16(Bytes& b, std::uint32_t v) {
  put8(b, v >> 8);
  put8(b, v);
}
void put32(Bytes& b, std::uint32_t v) {
  put16(b, v >> 16);
  put16(b, v);
}
void put_le32(Bytes& b, std::uint32_t v) {
  put8(b, v);
  put8(b, v >> 8);
  put8(b, v >> 16);
  put8(b, v >> 24);
}
void set16(Bytes& b, std::size_t at, std::uint32_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
void append(Bytes& b, const Bytes& x) { b.insert(b.end(), x.begin(), x.end()); }

std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t sum) {
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += (std::uint32_t{p[i]} << 8) | p[i + 1];
  if (n % 2) sum += std::uint32_t{p[n - 1]} << 8;
  return sum;
}
std::uint16_t finish(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

IpAddr must_ip(const std::string& s) {
  IpAddr a = ip_addr(s);
  if (a.family == 0) {
    std::fprintf(stderr, "frame_builder: not an IP address: %s\n", s.c_str());
    std::abort();
  }
  return a;
}

bool is_v6(const IpSpec& ip) { return must_ip(ip.src).family == 6; }

}  // namespace

IpAddr ip_addr(std::string_view text) {
  IpAddr a;
  const std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), a.b.data()) == 1) {
    a.family = 4;
  } else if (inet_pton(AF_INET6, s.c_str(), a.b.data()) == 1) {
    a.family = 6;
  } else {
    a = IpAddr{};
  }
  return a;
}

MacAddr mac_addr(std::string_view text) {
  MacAddr m;
  unsigned v[6] = {};
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) == 6)
    for (int i = 0; i < 6; ++i) m.b[i] = static_cast<std::uint8_t>(v[i]);
  return m;
}

Bytes bytes_of(std::string_view text) { return Bytes(text.begin(), text.end()); }

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) append(out, p);
  return out;
}

Ipv6Ext hop_by_hop_ext() { return {0, Bytes(6, 0)}; }
Ipv6Ext dest_options_ext() { return {60, Bytes(6, 0)}; }
Ipv6Ext routing_ext(std::uint8_t segments_left) {
  // Routing type 4 (segment routing, RFC 8754): last entry 0, flags, tag, one segment (::1).
  Bytes b{4, segments_left, 0, 0, 0, 0};
  b.resize(b.size() + 16, 0);
  b.back() = 1;
  return {43, b};
}
Ipv6Ext fragment_ext(std::uint16_t offset, bool more, std::uint32_t id) {
  Bytes b;  // after next header and the reserved byte
  put16(b, (offset & 0xfff8u) | (more ? 1u : 0u));
  put32(b, id);
  return {44, b};
}
Ipv6Ext ah_ext() { return {51, Bytes(10, 0)}; }  // SPI, sequence, 4 bytes of ICV: 12 bytes in all

Bytes ip_packet(const IpSpec& ip, std::uint8_t proto, const Bytes& l4) {
  const IpAddr src = must_ip(ip.src), dst = must_ip(ip.dst);
  Bytes b;
  if (src.family == 4) {
    Bytes opts = ip.v4_options;
    while (opts.size() % 4) opts.push_back(0);
    const std::size_t hl = 20 + opts.size();
    const std::uint8_t ihl = ip.ihl_words.value_or(static_cast<std::uint8_t>(hl / 4));
    put8(b, (ip.version.value_or(4) << 4) | (ihl & 0x0f));
    put8(b, ip.tos);
    put16(b, ip.length.value_or(static_cast<std::uint16_t>(hl + l4.size())));
    put16(b, ip.id);
    put16(b, (ip.df ? 0x4000u : 0u) | (ip.mf ? 0x2000u : 0u) | ((ip.frag_offset / 8u) & 0x1fffu));
    put8(b, ip.ttl);
    put8(b, proto);
    put16(b, 0);
    b.insert(b.end(), src.b.begin(), src.b.begin() + 4);
    b.insert(b.end(), dst.b.begin(), dst.b.begin() + 4);
    append(b, opts);
    std::uint16_t c = finish(sum16(b.data(), hl, 0));
    if (ip.bad_checksum) c = static_cast<std::uint16_t>(c + 1);
    set16(b, 10, c);
    append(b, l4);
    return b;
  }
  // IPv6: chain the extension headers, the last one naming `proto`.
  Bytes ext;
  for (std::size_t i = 0; i < ip.v6_ext.size(); ++i) {
    const Ipv6Ext& e = ip.v6_ext[i];
    const std::uint8_t next = i + 1 < ip.v6_ext.size() ? ip.v6_ext[i + 1].type : proto;
    Bytes body = e.body;
    const std::size_t unit = e.type == 51 ? 4 : 8;
    while ((body.size() + 2) % unit) body.push_back(0);
    std::size_t total = body.size() + 2;
    put8(ext, next);
    if (e.type == 44)
      put8(ext, 0);
    else if (e.type == 51)
      put8(ext, static_cast<std::uint32_t>(total / 4 - 2));
    else
      put8(ext, static_cast<std::uint32_t>(total / 8 - 1));
    append(ext, body);
  }
  const std::uint8_t first = ip.v6_ext.empty() ? proto : ip.v6_ext.front().type;
  put32(b, (std::uint32_t{ip.version.value_or(6)} << 28) | (std::uint32_t{ip.tos} << 20) |
               (ip.flow_label & 0xfffff));
  put16(b, ip.length.value_or(static_cast<std::uint16_t>(ext.size() + l4.size())));
  put8(b, first);
  put8(b, ip.ttl);
  b.insert(b.end(), src.b.begin(), src.b.end());
  b.insert(b.end(), dst.b.begin(), dst.b.end());
  append(b, ext);
  append(b, l4);
  return b;
}

std::uint16_t transport_checksum(const IpSpec& ip, std::uint8_t proto, const Bytes& l4) {
  const IpAddr src = must_ip(ip.src), dst = must_ip(ip.dst);
  const std::size_t alen = src.family == 4 ? 4 : 16;
  std::uint32_t sum = sum16(src.b.data(), alen, 0);
  sum = sum16(dst.b.data(), alen, sum);
  sum += proto;
  sum += static_cast<std::uint32_t>(l4.size() >> 16);
  sum += static_cast<std::uint32_t>(l4.size() & 0xffff);
  return finish(sum16(l4.data(), l4.size(), sum));
}

namespace tcp_opt {
Bytes mss(std::uint16_t v) {
  Bytes b{2, 4};
  put16(b, v);
  return b;
}
Bytes wscale(std::uint8_t shift) { return {3, 3, shift}; }
Bytes sack_permitted() { return {4, 2}; }
Bytes sack(std::initializer_list<SackBlock> blocks) {
  Bytes b{5, static_cast<std::uint8_t>(2 + 8 * blocks.size())};
  for (const SackBlock& s : blocks) {
    put32(b, s.left);
    put32(b, s.right);
  }
  return b;
}
Bytes timestamps(std::uint32_t val, std::uint32_t ecr) {
  Bytes b{8, 10};
  put32(b, val);
  put32(b, ecr);
  return b;
}
Bytes nop() { return {1}; }
Bytes eol() { return {0}; }
}  // namespace tcp_opt

Bytes tcp_segment(const TcpSpec& s) {
  Bytes opts = s.options;
  while (opts.size() % 4) opts.push_back(0);
  const std::size_t hl = 20 + opts.size();
  const std::uint8_t words = s.data_offset_words.value_or(static_cast<std::uint8_t>(hl / 4));
  Bytes b;
  put16(b, s.sport);
  put16(b, s.dport);
  put32(b, s.seq);
  put32(b, s.ack);
  put16(b, (std::uint32_t{words} << 12) | (s.flags & 0x01ffu));
  put16(b, s.window);
  put16(b, 0);
  put16(b, s.urgent);
  append(b, opts);
  append(b, s.payload);
  std::uint16_t c = transport_checksum(s.ip, 6, b);
  if (s.bad_checksum) c = static_cast<std::uint16_t>(c ^ 0x5a5a);
  set16(b, 16, c);
  return b;
}

Bytes tcp_packet(const TcpSpec& s) { return ip_packet(s.ip, 6, tcp_segment(s)); }

Bytes udp_datagram(const UdpSpec& s) {
  Bytes b;
  put16(b, s.sport);
  put16(b, s.dport);
  put16(b, s.length.value_or(static_cast<std::uint16_t>(8 + s.payload.size())));
  put16(b, 0);
  append(b, s.payload);
  if (s.zero_checksum) return b;
  std::uint16_t c = transport_checksum(s.ip, 17, b);
  if (c == 0) c = 0xffff;  // RFC 768: a computed zero is sent as all ones
  if (s.bad_checksum) c = static_cast<std::uint16_t>(c ^ 0x5a5a);
  set16(b, 6, c);
  return b;
}

Bytes udp_packet(const UdpSpec& s) { return ip_packet(s.ip, 17, udp_datagram(s)); }

Bytes icmp_packet(const IcmpSpec& s) {
  const bool v6 = is_v6(s.ip);
  Bytes b;
  put8(b, s.type);
  put8(b, s.code);
  put16(b, 0);
  put32(b, s.rest);
  append(b, s.body);
  std::uint16_t c = v6 ? transport_checksum(s.ip, 58, b) : finish(sum16(b.data(), b.size(), 0));
  if (s.bad_checksum) c = static_cast<std::uint16_t>(c ^ 0x5a5a);
  set16(b, 2, c);
  return ip_packet(s.ip, v6 ? 58 : 1, b);
}

Bytes icmp_unreachable(const Bytes& offending, std::optional<std::uint8_t> code, std::uint16_t mtu,
                       std::size_t max_quote) {
  IcmpSpec s;
  const bool v6 = !offending.empty() && (offending[0] >> 4) == 6;
  char a[64], b[64];
  if (v6 && offending.size() >= 40) {
    inet_ntop(AF_INET6, offending.data() + 8, a, sizeof a);
    inet_ntop(AF_INET6, offending.data() + 24, b, sizeof b);
  } else if (!v6 && offending.size() >= 20) {
    inet_ntop(AF_INET, offending.data() + 12, a, sizeof a);
    inet_ntop(AF_INET, offending.data() + 16, b, sizeof b);
  } else {
    std::abort();
  }
  s.ip.src = b;
  s.ip.dst = a;
  s.ip.df = false;
  s.type = v6 ? 1 : 3;
  s.code = code.value_or(v6 ? 4 : 3);
  s.rest = mtu;
  s.body.assign(offending.begin(),
                offending.begin() + static_cast<std::ptrdiff_t>(std::min(max_quote, offending.size())));
  return icmp_packet(s);
}

std::vector<Bytes> ipv4_fragments(const Bytes& packet, std::size_t max_payload) {
  const std::size_t hl = (packet[0] & 0x0fu) * 4u;
  const Bytes header(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(hl));
  const std::size_t total = packet.size() - hl;
  std::vector<Bytes> out;
  for (std::size_t off = 0; off < total; off += max_payload) {
    const std::size_t n = std::min(max_payload, total - off);
    Bytes f = header;
    const bool more = off + n < total;
    set16(f, 2, static_cast<std::uint32_t>(hl + n));
    set16(f, 6, (more ? 0x2000u : 0u) | static_cast<std::uint32_t>(off / 8));
    set16(f, 10, 0);
    set16(f, 10, finish(sum16(f.data(), hl, 0)));
    f.insert(f.end(), packet.begin() + static_cast<std::ptrdiff_t>(hl + off),
             packet.begin() + static_cast<std::ptrdiff_t>(hl + off + n));
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<Bytes> ipv6_fragments(const Bytes& packet, std::size_t max_payload, std::uint32_t id) {
  const std::uint8_t next = packet[6];
  const std::size_t total = packet.size() - 40;
  std::vector<Bytes> out;
  for (std::size_t off = 0; off < total; off += max_payload) {
    const std::size_t n = std::min(max_payload, total - off);
    const bool more = off + n < total;
    Bytes f(packet.begin(), packet.begin() + 40);
    set16(f, 4, static_cast<std::uint32_t>(8 + n));
    f[6] = 44;
    put8(f, next);
    put8(f, 0);
    put16(f, static_cast<std::uint32_t>(off) | (more ? 1u : 0u));
    put32(f, id);
    f.insert(f.end(), packet.begin() + static_cast<std::ptrdiff_t>(40 + off),
             packet.begin() + static_cast<std::ptrdiff_t>(40 + off + n));
    out.push_back(std::move(f));
  }
  return out;
}

namespace {
std::uint16_t ethertype_for(const Bytes& payload) {
  if (!payload.empty() && (payload[0] >> 4) == 6) return 0x86DD;
  return 0x0800;
}

// Tags, then (optionally) PPPoE, then the payload; `type` is the innermost EtherType.
void tags_and_payload(Bytes& b, const std::vector<VlanTag>& vlans, std::optional<std::uint16_t> pppoe,
                      std::uint16_t type, const Bytes& payload) {
  for (std::size_t i = 0; i < vlans.size(); ++i) {
    put16(b, (std::uint32_t{vlans[i].pcp} << 13) | (vlans[i].id & 0x0fffu));
    const std::uint16_t next = i + 1 < vlans.size() ? vlans[i + 1].tpid : pppoe ? 0x8864 : type;
    put16(b, next);
  }
  if (pppoe) {
    put8(b, 0x11);
    put8(b, 0);
    put16(b, *pppoe);
    put16(b, static_cast<std::uint32_t>(payload.size() + 2));
    put16(b, type == 0x86DD ? 0x0057u : 0x0021u);
  }
  append(b, payload);
}
}  // namespace

Bytes ethernet_frame(const Bytes& payload, const EthSpec& e) {
  Bytes b;
  const MacAddr dst = mac_addr(e.dst), src = mac_addr(e.src);
  b.insert(b.end(), dst.b.begin(), dst.b.end());
  b.insert(b.end(), src.b.begin(), src.b.end());
  const std::uint16_t type = e.ethertype.value_or(ethertype_for(payload));
  put16(b, !e.vlans.empty() ? e.vlans.front().tpid : e.pppoe_session ? 0x8864 : type);
  tags_and_payload(b, e.vlans, e.pppoe_session, type, payload);
  if (b.size() < e.pad_to) b.resize(e.pad_to, 0);
  return b;
}

Bytes null_frame(const Bytes& ip, std::uint32_t family, bool big_endian) {
  if (family == 0) family = ethertype_for(ip) == 0x86DD ? 24 : 2;
  Bytes b;
  if (big_endian)
    put32(b, family);
  else
    put_le32(b, family);
  append(b, ip);
  return b;
}

Bytes loop_frame(const Bytes& ip, std::uint32_t family, bool big_endian) {
  return null_frame(ip, family, big_endian);
}

Bytes sll_frame(const Bytes& ip, const SllSpec& s) {
  Bytes b;
  put16(b, s.pkttype);
  put16(b, s.hatype);
  put16(b, 6);
  const MacAddr m = mac_addr(s.addr);
  b.insert(b.end(), m.b.begin(), m.b.end());
  put16(b, 0);
  const std::uint16_t type = s.protocol.value_or(ethertype_for(ip));
  put16(b, s.vlans.empty() ? type : s.vlans.front().tpid);
  tags_and_payload(b, s.vlans, std::nullopt, type, ip);
  return b;
}

Bytes sll2_frame(const Bytes& ip, const SllSpec& s) {
  Bytes b;
  const std::uint16_t type = s.protocol.value_or(ethertype_for(ip));
  put16(b, s.vlans.empty() ? type : s.vlans.front().tpid);
  put16(b, 0);
  put32(b, s.ifindex);
  put16(b, s.hatype);
  put8(b, s.pkttype);
  put8(b, 6);
  const MacAddr m = mac_addr(s.addr);
  b.insert(b.end(), m.b.begin(), m.b.end());
  put16(b, 0);
  tags_and_payload(b, s.vlans, std::nullopt, type, ip);
  return b;
}

Bytes link_frame(std::uint32_t linktype, const Bytes& ip) {
  switch (linktype) {
    case linktype::kEthernet: return ethernet_frame(ip);
    case linktype::kNull: return null_frame(ip);
    case linktype::kLoop: return loop_frame(ip);
    case linktype::kLinuxSll: return sll_frame(ip);
    case linktype::kLinuxSll2: return sll2_frame(ip);
    default: return ip;  // raw IP link types
  }
}

Bytes arp_body(const ArpSpec& a) {
  Bytes b;
  put16(b, 1);       // Ethernet
  put16(b, 0x0800);  // IPv4
  put8(b, 6);
  put8(b, 4);
  put16(b, a.op);
  const MacAddr sm = mac_addr(a.sender_mac), tm = mac_addr(a.target_mac);
  const IpAddr si = must_ip(a.sender_ip), ti = must_ip(a.target_ip);
  b.insert(b.end(), sm.b.begin(), sm.b.end());
  b.insert(b.end(), si.b.begin(), si.b.begin() + 4);
  b.insert(b.end(), tm.b.begin(), tm.b.end());
  b.insert(b.end(), ti.b.begin(), ti.b.begin() + 4);
  return b;
}

Bytes arp_frame(const ArpSpec& a, const EthSpec& e) {
  EthSpec eth = e;
  if (!eth.ethertype) eth.ethertype = 0x0806;
  return ethernet_frame(arp_body(a), eth);
}

Bytes gre_header(const GreSpec& g) {
  Bytes b;
  std::uint32_t flags = g.version & 7u;
  if (g.checksum) flags |= 0x8000;
  if (g.routing) flags |= 0x4000;
  if (g.key) flags |= 0x2000;
  if (g.seq) flags |= 0x1000;
  put16(b, flags);
  put16(b, g.protocol);
  if (g.checksum) put32(b, 0);
  if (g.key) put32(b, *g.key);
  if (g.seq) put32(b, *g.seq);
  return b;
}

Bytes gre_packet(const IpSpec& outer, const GreSpec& g, const Bytes& inner) {
  return ip_packet(outer, 47, cat({gre_header(g), inner}));
}

Bytes erspan2_header(std::uint16_t session, std::uint16_t vlan) {
  Bytes b;
  put16(b, (1u << 12) | (vlan & 0x0fffu));
  put16(b, session & 0x03ffu);
  put32(b, 0);  // reserved, index
  return b;
}

Bytes erspan3_header(std::uint16_t session, std::uint16_t vlan, bool platform_subheader, std::uint8_t frame_type) {
  Bytes b;
  put16(b, (2u << 12) | (vlan & 0x0fffu));
  put16(b, session & 0x03ffu);
  put32(b, 0x11223344);  // timestamp
  put16(b, 0);           // security group tag
  put16(b, (std::uint32_t{frame_type} & 0x1fu) << 10 | (platform_subheader ? 1u : 0u));
  if (platform_subheader) {
    put32(b, 0);
    put32(b, 0);
  }
  return b;
}

Bytes vxlan_packet(const IpSpec& outer, std::uint32_t vni, const Bytes& inner_frame, std::uint16_t sport) {
  UdpSpec u;
  u.ip = outer;
  u.sport = sport;
  u.dport = 4789;
  put8(u.payload, 0x08);  // I: the VNI is valid
  put8(u.payload, 0);
  put16(u.payload, 0);
  put16(u.payload, vni >> 8);
  put8(u.payload, vni);
  put8(u.payload, 0);
  append(u.payload, inner_frame);
  return udp_packet(u);
}

Bytes geneve_packet(const IpSpec& outer, std::uint32_t vni, std::uint16_t protocol, const Bytes& inner,
                    std::uint8_t option_words, std::uint8_t version) {
  UdpSpec u;
  u.ip = outer;
  u.sport = 54321;
  u.dport = 6081;
  put8(u.payload, (std::uint32_t{version} << 6) | (option_words & 0x3fu));
  put8(u.payload, 0);
  put16(u.payload, protocol);
  put16(u.payload, vni >> 8);
  put8(u.payload, vni);
  put8(u.payload, 0);
  if (option_words > 0) {  // one option filling the option area: class, type, length in words, data
    put16(u.payload, 0x0102);
    put8(u.payload, 0x80);
    put8(u.payload, option_words - 1u);
    u.payload.resize(u.payload.size() + 4u * (option_words - 1u), 0xab);
  }
  append(u.payload, inner);
  return udp_packet(u);
}

Bytes mpls_stack(const std::vector<std::uint32_t>& labels, std::uint8_t ttl, bool bottom) {
  Bytes b;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const bool last = bottom && i + 1 == labels.size();
    put32(b, (labels[i] << 12) | (last ? 0x100u : 0u) | ttl);
  }
  return b;
}

Bytes fddi_frame(const Bytes& ip) {
  Bytes b = {0x50};  // frame control: LLC, asynchronous
  const MacAddr dst = mac_addr("02:00:00:00:00:02"), src = mac_addr("02:00:00:00:00:01");
  b.insert(b.end(), dst.b.begin(), dst.b.end());
  b.insert(b.end(), src.b.begin(), src.b.end());
  append(b, {0xAA, 0xAA, 0x03, 0x00, 0x00, 0x00});
  put16(b, ethertype_for(ip));
  append(b, ip);
  return b;
}

Bytes ipoib_frame(const Bytes& ip) {
  Bytes b;
  put16(b, ethertype_for(ip));
  put16(b, 0);
  append(b, ip);
  return b;
}

Bytes nflog_frame(const Bytes& ip, bool big_endian) {
  Bytes b;
  put8(b, ethertype_for(ip) == 0x86DD ? 10 : 2);  // AF_INET6 / AF_INET
  put8(b, 0);                                      // version
  put16(b, 7);                                     // resource id (the NFLOG group)
  const auto tlv = [&](std::uint16_t type, const Bytes& value) {
    const auto len = static_cast<std::uint32_t>(4 + value.size());
    if (big_endian) {
      put16(b, len);
      put16(b, type);
    } else {
      put8(b, len);
      put8(b, len >> 8);
      put8(b, type);
      put8(b, type >> 8);
    }
    append(b, value);
    while (b.size() % 4) put8(b, 0);
  };
  tlv(10, {'l', 'o', 'g', 0});  // NFULA_PREFIX
  tlv(9, ip);                   // NFULA_PAYLOAD
  return b;
}

Bytes arcnet_frame(const Bytes& ip, bool linux_header, std::uint8_t type, std::uint8_t split_flag) {
  Bytes b = {0x01, 0x02};  // source and destination station ids
  if (linux_header) put16(b, 0);
  put8(b, type);
  if (type != 240 && type != 241) {
    put8(b, split_flag);
    put16(b, 1);  // sequence number
  }
  append(b, ip);
  return b;
}

std::vector<SampleFrame> sample_frames() {
  std::vector<SampleFrame> v;
  TcpSpec syn;
  syn.flags = tcpflag::kSyn;
  syn.options = cat({tcp_opt::mss(1460), tcp_opt::sack_permitted(), tcp_opt::timestamps(1, 0),
                     tcp_opt::nop(), tcp_opt::wscale(7)});
  const Bytes syn4 = tcp_packet(syn);
  TcpSpec data6;
  data6.ip.src = "2001:db8::1";
  data6.ip.dst = "2001:db8::2";
  data6.flags = tcpflag::kPsh | tcpflag::kAck;
  data6.options = cat({tcp_opt::nop(), tcp_opt::nop(), tcp_opt::sack({{100, 200}, {300, 400}})});
  data6.payload = bytes_of("hello");
  const Bytes tcp6 = tcp_packet(data6);
  UdpSpec u;
  u.payload = bytes_of("ping");
  const Bytes udp4 = udp_packet(u);
  UdpSpec u6 = u;
  u6.ip.src = "::1";
  u6.ip.dst = "::1";
  const Bytes udp6 = udp_packet(u6);

  v.push_back({"ethernet-ipv4-tcp-syn", linktype::kEthernet, ethernet_frame(syn4)});
  v.push_back({"ethernet-ipv6-tcp-data", linktype::kEthernet, ethernet_frame(tcp6)});
  v.push_back({"ethernet-ipv4-udp", linktype::kEthernet, ethernet_frame(udp4)});
  v.push_back({"null-ipv4-udp", linktype::kNull, null_frame(udp4)});
  v.push_back({"null-ipv6-udp-30-be", linktype::kNull, null_frame(udp6, 30, true)});
  v.push_back({"loop-ipv6-udp", linktype::kLoop, loop_frame(udp6)});
  v.push_back({"sll-ipv4-tcp", linktype::kLinuxSll, sll_frame(syn4)});
  v.push_back({"sll2-ipv6-tcp", linktype::kLinuxSll2, sll2_frame(tcp6)});
  v.push_back({"raw-ipv4-udp", linktype::kRaw, udp4});
  v.push_back({"raw-ipv6-tcp", linktype::kIpv6, tcp6});
  EthSpec vlan;
  vlan.vlans = {VlanTag{100, 3, 0x8100}};
  v.push_back({"vlan-ipv4-tcp", linktype::kEthernet, ethernet_frame(syn4, vlan)});
  EthSpec qinq;
  qinq.vlans = {VlanTag{10, 0, 0x88A8}, VlanTag{20, 5, 0x8100}};
  v.push_back({"qinq-ipv6-udp", linktype::kEthernet, ethernet_frame(udp6, qinq)});
  EthSpec pppoe;
  pppoe.pppoe_session = 0x1234;
  v.push_back({"pppoe-ipv4-udp", linktype::kEthernet, ethernet_frame(udp4, pppoe)});
  v.push_back({"pppoe-ipv6-tcp", linktype::kEthernet, ethernet_frame(tcp6, pppoe)});
  v.push_back({"arp-request", linktype::kEthernet, arp_frame(ArpSpec{})});
  v.push_back({"icmp-port-unreachable", linktype::kEthernet, ethernet_frame(icmp_unreachable(udp4))});
  v.push_back({"icmpv6-port-unreachable", linktype::kEthernet, ethernet_frame(icmp_unreachable(udp6))});
  IcmpSpec echo;
  echo.rest = (0x42u << 16) | 7;
  echo.body = bytes_of("abcdefgh");
  v.push_back({"icmp-echo", linktype::kEthernet, ethernet_frame(icmp_packet(echo))});
  TcpSpec opts4 = syn;
  opts4.ip.v4_options = {0x94, 0x04, 0x00, 0x00};  // router alert
  v.push_back({"ipv4-options-tcp", linktype::kEthernet, ethernet_frame(tcp_packet(opts4))});
  UdpSpec ext6 = u6;
  ext6.ip.v6_ext = {hop_by_hop_ext(), routing_ext(0), dest_options_ext(), ah_ext()};
  v.push_back({"ipv6-ext-udp", linktype::kEthernet, ethernet_frame(udp_packet(ext6))});
  UdpSpec big = u;
  big.payload.assign(100, 'x');
  v.push_back({"ipv4-first-fragment", linktype::kEthernet,
               ethernet_frame(ipv4_fragments(udp_packet(big), 64).front())});
  // Tunnels: the inner TCP segment with its payload, and the link types beyond the common ones.
  IpSpec outer;
  outer.src = "198.51.100.1";
  outer.dst = "198.51.100.2";
  IpSpec outer6;
  outer6.src = "2001:db8:ff::1";
  outer6.dst = "2001:db8:ff::2";
  TcpSpec inner;
  inner.ip.src = "192.168.7.1";
  inner.ip.dst = "192.168.7.2";
  inner.flags = tcpflag::kPsh | tcpflag::kAck;
  inner.payload = bytes_of("tunnelled");
  const Bytes inner4 = tcp_packet(inner);
  EthSpec inner_eth;
  inner_eth.src = "02:00:00:00:0a:01";
  inner_eth.dst = "02:00:00:00:0a:02";
  const Bytes inner_frame = ethernet_frame(inner4, inner_eth);
  GreSpec gre;
  v.push_back({"gre-ipv4-tcp", linktype::kEthernet, ethernet_frame(gre_packet(outer, gre, inner4))});
  GreSpec keyed;
  keyed.protocol = 0x86DD;
  keyed.key = 0x01020304;
  keyed.seq = 9;
  keyed.checksum = true;
  v.push_back({"gre6-key-seq-ipv6-tcp", linktype::kEthernet, ethernet_frame(gre_packet(outer6, keyed, tcp6))});
  GreSpec bridge;
  bridge.protocol = 0x6558;
  v.push_back({"gre-bridge-tcp", linktype::kEthernet, ethernet_frame(gre_packet(outer, bridge, inner_frame))});
  GreSpec e2;
  e2.protocol = 0x88BE;
  e2.seq = 1;
  v.push_back({"erspan2-tcp", linktype::kEthernet,
               ethernet_frame(gre_packet(outer, e2, cat({erspan2_header(42, 5), inner_frame})))});
  GreSpec e3;
  e3.protocol = 0x22EB;
  e3.seq = 1;
  v.push_back({"erspan3-tcp", linktype::kEthernet,
               ethernet_frame(gre_packet(outer, e3, cat({erspan3_header(43, 6, true), inner_frame})))});
  v.push_back({"vxlan-tcp", linktype::kEthernet, ethernet_frame(vxlan_packet(outer, 4242, inner_frame))});
  v.push_back({"geneve-tcp", linktype::kEthernet, ethernet_frame(geneve_packet(outer6, 77, 0x6558, inner_frame, 2))});
  EthSpec mpls;
  mpls.ethertype = 0x8847;
  v.push_back({"mpls-ipv4-tcp", linktype::kEthernet, ethernet_frame(cat({mpls_stack({100, 200}), inner4}), mpls)});
  v.push_back({"fddi-ipv4-udp", linktype::kFddi, fddi_frame(udp4)});
  v.push_back({"ipoib-ipv6-udp", linktype::kIpoib, ipoib_frame(udp6)});
  v.push_back({"nflog-ipv4-udp", linktype::kNflog, nflog_frame(udp4)});
  v.push_back({"arcnet-ipv4-udp", linktype::kArcnetBsd, arcnet_frame(udp4)});
  v.push_back({"arcnet-linux-ipv6-udp", linktype::kArcnetLinux, arcnet_frame(udp6, true, 196)});
  return v;
}

TcpFlow::TcpFlow(std::string client_ip, std::uint16_t cport, std::string server_ip,
                 std::uint16_t sport, std::uint32_t isn_client, std::uint32_t isn_server)
    : client(std::move(client_ip)),
      server(std::move(server_ip)),
      client_port(cport),
      server_port(sport),
      client_next(isn_client),
      server_next(isn_server) {}

TcpSpec TcpFlow::make(bool from_client, std::uint16_t flags, std::string_view payload) {
  TcpSpec s;
  s.ip.src = from_client ? client : server;
  s.ip.dst = from_client ? server : client;
  s.sport = from_client ? client_port : server_port;
  s.dport = from_client ? server_port : client_port;
  std::uint32_t& next = from_client ? client_next : server_next;
  s.seq = next;
  s.ack = (flags & tcpflag::kAck) ? (from_client ? server_next : client_next) : 0;
  s.flags = flags;
  s.payload = bytes_of(payload);
  next += static_cast<std::uint32_t>(payload.size());
  if (flags & tcpflag::kSyn) ++next;
  if (flags & tcpflag::kFin) ++next;
  return s;
}

TcpSpec TcpFlow::c2s(std::uint16_t flags, std::string_view payload) { return make(true, flags, payload); }
TcpSpec TcpFlow::s2c(std::uint16_t flags, std::string_view payload) { return make(false, flags, payload); }

std::vector<TcpSpec> TcpFlow::handshake() {
  std::vector<TcpSpec> v;
  v.push_back(c2s(tcpflag::kSyn));
  v.back().options = tcp_opt::mss(1460);
  v.push_back(s2c(tcpflag::kSyn | tcpflag::kAck));
  v.back().options = tcp_opt::mss(1460);
  v.push_back(c2s(tcpflag::kAck));
  return v;
}

Packet decode_kept(std::uint32_t linktype, Bytes frame, std::uint32_t caplen, std::uint32_t wirelen) {
  static std::deque<Bytes> kept;  // a deque never moves what it holds
  kept.push_back(std::move(frame));
  const Bytes& b = kept.back();
  const auto size = static_cast<std::uint32_t>(b.size());
  Packet p;
  decode_frame(linktype, b.data(), caplen ? caplen : size, wirelen ? wirelen : size, p);
  return p;
}

}  // namespace sockscope::testing
