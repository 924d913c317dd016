// Tunnels and encapsulations (GRE, ERSPAN, VXLAN, Geneve, MPLS) and the link types beyond the common
// ones (FDDI, IPoIB, NFLOG, ARCNET): the outer packet is kept in Packet::tunnels, the inner one is
// decoded where every view and the annotator read it. Frames come from the byte builders.
#include <gtest/gtest.h>

#include "frame_builder.hpp"
#include "sockscope/decode/decode.hpp"
#include "sockscope/decode/layers.hpp"

using namespace sockscope;
using namespace sockscope::testing;

namespace {

IpSpec outer4() {
  IpSpec ip;
  ip.src = "198.51.100.1";
  ip.dst = "198.51.100.2";
  return ip;
}

IpSpec outer6() {
  IpSpec ip;
  ip.src = "2001:db8:ff::1";
  ip.dst = "2001:db8:ff::2";
  return ip;
}

TcpSpec inner_spec(const std::string& src = "192.168.7.1", const std::string& dst = "192.168.7.2") {
  TcpSpec t;
  t.ip.src = src;
  t.ip.dst = dst;
  t.sport = 41000;
  t.dport = 80;
  t.flags = tcpflag::kPsh | tcpflag::kAck;
  t.payload = bytes_of("GET /");
  return t;
}

Bytes inner_frame(const Bytes& ip, std::vector<VlanTag> vlans = {}) {
  EthSpec e;
  e.src = "02:00:00:00:0a:01";
  e.dst = "02:00:00:00:0a:02";
  e.vlans = std::move(vlans);
  return ethernet_frame(ip, e);
}

// The inner segment is what Packet::ip and the transport fields describe.
void expect_inner_tcp(const Packet& p, const std::string& src = "192.168.7.1") {
  EXPECT_TRUE(p.ok()) << (p.error.layer ? p.error.layer : "") << ": " << (p.error.what ? p.error.what : "");
  EXPECT_EQ(p.ip.src, ip_addr(src));
  ASSERT_EQ(p.transport, Transport::Tcp);
  EXPECT_EQ(p.tcp.sport, 41000);
  EXPECT_EQ(p.tcp.dport, 80);
  EXPECT_EQ(p.payload_len, 5u);
  ASSERT_EQ(p.payload_captured, 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(p.payload), 5), "GET /");
  EXPECT_TRUE(p.transport_checksum_checked);
  EXPECT_TRUE(p.transport_checksum_ok);
  EXPECT_EQ(p.payload_offset + 5, p.caplen);
}

// The layer names visit_layers reports, outermost first.
class Names : public LayerVisitor {
 public:
  void begin_layer(Osi osi, const char* name, std::uint32_t, std::uint32_t) override {
    if (!out.empty()) out += ' ';
    out += name;
    osis.push_back(osi);
  }
  void field(const Field&) override {}
  void end_layer() override {}
  std::string out;
  std::vector<Osi> osis;
};

std::string layer_names(const Packet& p) {
  Names n;
  visit_layers(p, n);
  return n.out;
}

EthSpec mpls_eth() {
  EthSpec e;
  e.ethertype = 0x8847;
  return e;
}

}  // namespace

TEST(GreDecode, CarriesAnIpv4PacketInsideIpv4) {
  const Bytes inner = tcp_packet(inner_spec());
  const Packet p = decode_kept(linktype::kEthernet, ethernet_frame(gre_packet(outer4(), GreSpec{}, inner)));
  expect_inner_tcp(p);
  ASSERT_EQ(p.tunnel_count, 1);
  const Tunnel& t = p.tunnels[0];
  EXPECT_EQ(t.kind, TunnelKind::Gre);
  EXPECT_EQ(t.outer_ip.version, 4);
  EXPECT_EQ(t.outer_ip.src, ip_addr("198.51.100.1"));
  EXPECT_EQ(t.outer_ip.dst, ip_addr("198.51.100.2"));
  EXPECT_EQ(t.outer_ip.proto, 47);
  EXPECT_FALSE(t.has_udp);
  EXPECT_EQ(t.offset, 34u);
  EXPECT_EQ(t.length, 4u);
  EXPECT_EQ(t.protocol, 0x0800);
  EXPECT_FALSE(t.has_key);
  EXPECT_EQ(p.ip.header_offset, 38u);
  EXPECT_EQ(layer_names(p), "ethernet ipv4 gre ipv4 tcp payload");
}

TEST(GreDecode, KeySequenceAndChecksumWordsAreSkippedInOrder) {
  GreSpec g;
  g.protocol = 0x86DD;
  g.checksum = true;
  g.key = 0xdeadbeef;
  g.seq = 77;
  const Bytes inner = tcp_packet(inner_spec("2001:db8::7", "2001:db8::8"));
  const Packet p = decode_kept(linktype::kEthernet, ethernet_frame(gre_packet(outer6(), g, inner)));
  expect_inner_tcp(p, "2001:db8::7");
  ASSERT_EQ(p.tunnel_count, 1);
  const Tunnel& t = p.tunnels[0];
  EXPECT_EQ(t.outer_ip.version, 6);
  EXPECT_EQ(t.length, 16u);  // flags+protocol, checksum, key, sequence (RFC 2890)
  EXPECT_TRUE(t.has_key);
  EXPECT_EQ(t.key, 0xdeadbeefu);
  EXPECT_TRUE(t.has_seq);
  EXPECT_EQ(t.seq, 77u);
  EXPECT_EQ(layer_names(p), "ethernet ipv6 gre ipv6 tcp payload");
}

TEST(GreDecode, TransparentBridgingCarriesAnEthernetFrameWithItsVlan) {
  GreSpec g;
  g.protocol = 0x6558;
  const Bytes frame = inner_frame(tcp_packet(inner_spec()), {VlanTag{300, 0, 0x8100}});
  const Packet p = decode_kept(linktype::kEthernet, ethernet_frame(gre_packet(outer4(), g, frame)));
  expect_inner_tcp(p);
  ASSERT_EQ(p.tunnel_count, 1);
  const Tunnel& t = p.tunnels[0];
  EXPECT_TRUE(t.inner_eth);
  EXPECT_EQ(t.inner_src, mac_addr("02:00:00:00:0a:01"));
  EXPECT_EQ(t.inner_dst, mac_addr("02:00:00:00:0a:02"));
  EXPECT_TRUE(t.inner_has_vlan);
  EXPECT_EQ(t.inner_vlan, 300);
  EXPECT_EQ(t.inner_ethertype, 0x0800);
  EXPECT_EQ(t.inner_eth_offset, 38u);
  EXPECT_EQ(layer_names(p), "ethernet ipv4 gre ethernet vlan ipv4 tcp payload");
}

TEST(GreDecode, PptpAndSourceRoutedGreAreLeftUndecoded) {
  GreSpec pptp;
  pptp.version = 1;
  pptp.protocol = 0x880B;
  pptp.key = 0x00100000;
  Packet p = decode_kept(linktype::kEthernet, ethernet_frame(gre_packet(outer4(), pptp, bytes_of("ppp"))));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Other);
  EXPECT_EQ(p.tunnel_count, 1);
  GreSpec routed;
  routed.routing = true;
  p = decode_kept(linktype::kEthernet, ethernet_frame(gre_packet(outer4(), routed, bytes_of("xxxxxxxx"))));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Other);
  EXPECT_EQ(p.tunnel_count, 0);
  EXPECT_EQ(p.ip.proto, 47);  // the outer packet stays the packet
}

TEST(GreDecode, AHeaderLongerThanTheIpPayloadIsMalformed) {
  GreSpec g;
  g.key = 1;
  Bytes gre = gre_header(g);
  gre.resize(6);  // flags say 8 bytes, the IP packet holds 6
  const Packet p = decode_kept(linktype::kEthernet, ethernet_frame(ip_packet(outer4(), 47, gre)));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  ASSERT_NE(p.error.layer, nullptr);
  EXPECT_STREQ(p.error.layer, "gre");
  EXPECT_EQ(p.error.offset, 34u);
}

TEST(ErspanDecode, TypeOneIsTheMirroredFrameRightAfterGre) {
  GreSpec g;
  g.protocol = 0x88BE;
  const Packet p = decode_kept(linktype::kEthernet,
                               ethernet_frame(gre_packet(outer4(), g, inner_frame(tcp_packet(inner_spec())))));
  expect_inner_tcp(p);
  ASSERT_EQ(p.tunnel_count, 1);
  EXPECT_EQ(p.tunnels[0].kind, TunnelKind::Erspan2);
  EXPECT_TRUE(p.tunnels[0].inner_eth);
  EXPECT_EQ(p.tunnels[0].inner_eth_offset, 38u);
}

TEST(ErspanDecode, TypeTwoKeepsSessionAndVlan) {
  GreSpec g;
  g.protocol = 0x88BE;
  g.seq = 5;
  const Bytes body = cat({erspan2_header(42, 7), inner_frame(tcp_packet(inner_spec()))});
  const Packet p = decode_kept(linktype::kEthernet, ethernet_frame(gre_packet(outer4(), g, body)));
  expect_inner_tcp(p);
  ASSERT_EQ(p.tunnel_count, 1);
  const Tunnel& t = p.tunnels[0];
  EXPECT_EQ(t.kind, TunnelKind::Erspan2);
  EXPECT_EQ(t.session, 42);
  EXPECT_EQ(t.vlan, 7);
  EXPECT_EQ(t.length, 16u);  // GRE 8 + ERSPAN 8
  EXPECT_EQ(t.inner_eth_offset, 34u + 16u);
  EXPECT_EQ(layer_names(p), "ethernet ipv4 gre erspan ethernet ipv4 tcp payload");
}

TEST(ErspanDecode, TypeThreeWithAndWithoutThePlatformSubheader) {
  for (bool sub : {false, true}) {
    GreSpec g;
    g.protocol = 0x22EB;
    g.seq = 1;
    const Bytes body = cat({erspan3_header(43, 9, sub), inner_frame(tcp_packet(inner_spec()))});
    const Packet p = decode_kept(linktype::kEthernet, ethernet_frame(gre_packet(outer4(), g, body)));
    expect_inner_tcp(p);
    ASSERT_EQ(p.tunnel_count, 1);
    EXPECT_EQ(p.tunnels[0].kind, TunnelKind::Erspan3);
    EXPECT_EQ(p.tunnels[0].session, 43);
    EXPECT_EQ(p.tunnels[0].vlan, 9);
    EXPECT_EQ(p.tunnels[0].length, sub ? 28u : 20u) << sub;
  }
}

TEST(ErspanDecode, AVersionThatContradictsTheGreTypeIsMalformedAndANonEthernetFrameIsLeftAlone) {
  GreSpec g;
  g.protocol = 0x22EB;  // type III, but the header says version 1 (type II)
  g.seq = 1;
  Packet p = decode_kept(linktype::kEthernet,
                         ethernet_frame(gre_packet(outer4(), g, cat({erspan2_header(1, 1), Bytes(40, 0)}))));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.layer, "erspan");
  p = decode_kept(linktype::kEthernet,
                  ethernet_frame(gre_packet(outer4(), g, cat({erspan3_header(1, 1, false, 3), Bytes(40, 0)}))));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Other);
}

TEST(VxlanDecode, CarriesAnEthernetFrameAndKeepsTheOuterDatagram) {
  const Bytes pkt = vxlan_packet(outer4(), 0x123456, inner_frame(tcp_packet(inner_spec())));
  const Packet p = decode_kept(linktype::kEthernet, ethernet_frame(pkt));
  expect_inner_tcp(p);
  ASSERT_EQ(p.tunnel_count, 1);
  const Tunnel& t = p.tunnels[0];
  EXPECT_EQ(t.kind, TunnelKind::Vxlan);
  EXPECT_EQ(t.vni, 0x123456u);
  EXPECT_EQ(t.flags, 0x08);
  ASSERT_TRUE(t.has_udp);
  EXPECT_EQ(t.outer_udp.dport, 4789);
  EXPECT_EQ(t.outer_udp.sport, 54321);
  EXPECT_EQ(t.udp_offset, 34u);
  EXPECT_TRUE(t.udp_checksum_checked);
  EXPECT_TRUE(t.udp_checksum_ok);
  EXPECT_EQ(t.offset, 42u);
  EXPECT_EQ(t.inner_eth_offset, 50u);
  EXPECT_EQ(p.ip.header_offset, 64u);
  EXPECT_EQ(layer_names(p), "ethernet ipv4 udp vxlan ethernet ipv4 tcp payload");
}

TEST(VxlanDecode, ADatagramTooShortForTheHeaderStaysUdpAndACutHeaderIsATruncation) {
  UdpSpec u;
  u.ip = outer4();
  u.dport = 4789;
  u.payload = bytes_of("abc");
  Packet p = decode_kept(linktype::kEthernet, ethernet_frame(udp_packet(u)));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Udp);
  EXPECT_EQ(p.tunnel_count, 0);
  const Bytes full = ethernet_frame(vxlan_packet(outer4(), 1, inner_frame(tcp_packet(inner_spec()))));
  p = decode_kept(linktype::kEthernet, full, 46, static_cast<std::uint32_t>(full.size()));
  EXPECT_EQ(p.error.status, DecodeStatus::Truncated);
  EXPECT_STREQ(p.error.layer, "vxlan");
  EXPECT_EQ(p.transport, Transport::Udp);  // the outer datagram is still there to analyse
}

TEST(GeneveDecode, OptionsAreSkippedAndTheProtocolSaysWhatFollows) {
  const Bytes eth = ethernet_frame(geneve_packet(outer6(), 77, 0x6558, inner_frame(tcp_packet(inner_spec())), 3));
  Packet p = decode_kept(linktype::kEthernet, eth);
  expect_inner_tcp(p);
  ASSERT_EQ(p.tunnel_count, 1);
  EXPECT_EQ(p.tunnels[0].kind, TunnelKind::Geneve);
  EXPECT_EQ(p.tunnels[0].vni, 77u);
  EXPECT_EQ(p.tunnels[0].length, 20u);  // 8 + 3 words of options
  EXPECT_EQ(p.tunnels[0].protocol, 0x6558);
  EXPECT_TRUE(p.tunnels[0].inner_eth);
  EXPECT_EQ(p.tunnels[0].outer_ip.version, 6);
  // An IP packet straight after the header (protocol 0x0800), no inner Ethernet.
  p = decode_kept(linktype::kEthernet, ethernet_frame(geneve_packet(outer4(), 5, 0x0800, tcp_packet(inner_spec()))));
  expect_inner_tcp(p);
  ASSERT_EQ(p.tunnel_count, 1);
  EXPECT_FALSE(p.tunnels[0].inner_eth);
  EXPECT_EQ(layer_names(p), "ethernet ipv4 udp geneve ipv4 tcp payload");
}

TEST(GeneveDecode, AnUnknownVersionIsNotGeneve) {
  const Packet p = decode_kept(
      linktype::kEthernet, ethernet_frame(geneve_packet(outer4(), 5, 0x0800, tcp_packet(inner_spec()), 0, 1)));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Udp);
  EXPECT_EQ(p.tunnel_count, 0);
  EXPECT_EQ(p.udp.dport, 6081);
}

TEST(MplsDecode, ALabelStackThenIpv4OrIpv6ByTheFirstNibble) {
  Packet p = decode_kept(linktype::kEthernet,
                         ethernet_frame(cat({mpls_stack({100, 200}, 61), tcp_packet(inner_spec())}), mpls_eth()));
  expect_inner_tcp(p);
  ASSERT_EQ(p.tunnel_count, 1);
  const Tunnel& t = p.tunnels[0];
  EXPECT_EQ(t.kind, TunnelKind::Mpls);
  EXPECT_EQ(t.outer_ip.version, 0);  // straight on the link: no outer IP packet
  ASSERT_EQ(t.mpls_count, 2);
  EXPECT_EQ(t.mpls[0].label, 100u);
  EXPECT_FALSE(t.mpls[0].bottom);
  EXPECT_EQ(t.mpls[1].label, 200u);
  EXPECT_TRUE(t.mpls[1].bottom);
  EXPECT_EQ(t.mpls[1].ttl, 61);
  EXPECT_EQ(t.offset, 14u);
  EXPECT_EQ(t.length, 8u);
  EXPECT_EQ(p.ip.header_offset, 22u);
  EXPECT_EQ(layer_names(p), "ethernet mpls ipv4 tcp payload");
  p = decode_kept(linktype::kEthernet, ethernet_frame(cat({mpls_stack({16}), tcp_packet(inner_spec("2001:db8::7"
                                                                                                    , "2001:db8::8"))}),
                                                      mpls_eth()));
  expect_inner_tcp(p, "2001:db8::7");
}

TEST(MplsDecode, ADeepStackIsCountedButFourLabelsAreKept) {
  const Packet p = decode_kept(
      linktype::kEthernet, ethernet_frame(cat({mpls_stack({1, 2, 3, 4, 5, 6}), tcp_packet(inner_spec())}), mpls_eth()));
  expect_inner_tcp(p);
  ASSERT_EQ(p.tunnel_count, 1);
  EXPECT_EQ(p.tunnels[0].mpls_count, 6);
  EXPECT_EQ(p.tunnels[0].mpls[3].label, 4u);
  EXPECT_EQ(p.tunnels[0].length, 24u);
}

TEST(MplsDecode, NoBottomOfStackIsMalformedAndAPseudowireIsNotDecoded) {
  std::vector<std::uint32_t> labels(40, 16);
  Packet p = decode_kept(linktype::kEthernet,
                         ethernet_frame(cat({mpls_stack(labels, 64, false), Bytes(20, 0x45)}), mpls_eth()));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.layer, "mpls");
  p = decode_kept(linktype::kEthernet, ethernet_frame(cat({mpls_stack({16}), Bytes(30, 0x00)}), mpls_eth()));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Other);
}

TEST(TunnelDecode, TwoLevelsAreKeptAndAThirdIsLeftUndecoded) {
  // MPLS on the link, GRE inside, the TCP segment inside that: two tunnels.
  const Bytes gre = gre_packet(outer4(), GreSpec{}, tcp_packet(inner_spec()));
  Packet p = decode_kept(linktype::kEthernet, ethernet_frame(cat({mpls_stack({100}), gre}), mpls_eth()));
  expect_inner_tcp(p);
  ASSERT_EQ(p.tunnel_count, 2);
  EXPECT_EQ(p.tunnels[0].kind, TunnelKind::Mpls);
  EXPECT_EQ(p.tunnels[1].kind, TunnelKind::Gre);
  EXPECT_EQ(p.tunnels[1].outer_ip.src, ip_addr("198.51.100.1"));
  EXPECT_EQ(layer_names(p), "ethernet mpls ipv4 gre ipv4 tcp payload");
  // GRE in VXLAN in GRE: the third level stays the payload of the second.
  const Bytes vx = vxlan_packet(outer4(), 9, inner_frame(gre));
  p = decode_kept(linktype::kEthernet, ethernet_frame(gre_packet(outer4(), GreSpec{}, vx)));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.tunnel_count, 2);
  EXPECT_EQ(p.transport, Transport::Other);
  EXPECT_EQ(p.ip.proto, 47);
}

TEST(LinkTypeDecode, FddiCarriesIpInSnap) {
  UdpSpec u;
  u.payload = bytes_of("hi");
  const Packet p = decode_kept(linktype::kFddi, fddi_frame(udp_packet(u)));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.link.kind, LinkKind::Fddi);
  EXPECT_EQ(p.link.fddi_fc, 0x50);
  EXPECT_EQ(p.link.src_mac, mac_addr("02:00:00:00:00:01"));
  EXPECT_EQ(p.ip.header_offset, 21u);
  EXPECT_EQ(p.transport, Transport::Udp);
  // Other LLC traffic (no SNAP header) is not IP, and not an error.
  Bytes stp = fddi_frame(udp_packet(u));
  stp[13] = 0x42;
  stp[14] = 0x42;
  const Packet q = decode_kept(linktype::kFddi, stp);
  EXPECT_TRUE(q.ok());
  EXPECT_EQ(q.transport, Transport::Other);
  EXPECT_EQ(q.ip.version, 0);
}

TEST(LinkTypeDecode, IpoibNflogAndArcnet) {
  UdpSpec u;
  u.payload = bytes_of("hi");
  const Bytes udp4 = udp_packet(u);
  UdpSpec u6 = u;
  u6.ip.src = "2001:db8::1";
  u6.ip.dst = "2001:db8::2";
  const Bytes udp6 = udp_packet(u6);
  struct Case {
    const char* name;
    std::uint32_t linktype;
    Bytes frame;
    LinkKind kind;
    int version;
    std::uint32_t ip_offset;
  };
  const Case cases[] = {
      {"ipoib", linktype::kIpoib, ipoib_frame(udp4), LinkKind::Ipoib, 4, 4},
      {"ipoib6", linktype::kIpoib, ipoib_frame(udp6), LinkKind::Ipoib, 6, 4},
      {"nflog", linktype::kNflog, nflog_frame(udp4), LinkKind::Nflog, 4, 16},
      {"nflog6-big-endian", linktype::kNflog, nflog_frame(udp6, true), LinkKind::Nflog, 6, 16},
      {"arcnet-rfc1051", linktype::kArcnetBsd, arcnet_frame(udp4, false, 240), LinkKind::Arcnet, 4, 3},
      {"arcnet-rfc1201", linktype::kArcnetBsd, arcnet_frame(udp4), LinkKind::Arcnet, 4, 6},
      {"arcnet-linux-ipv6", linktype::kArcnetLinux, arcnet_frame(udp6, true, 196), LinkKind::Arcnet, 6, 8},
  };
  for (const Case& c : cases) {
    const Packet p = decode_kept(c.linktype, c.frame);
    EXPECT_TRUE(p.ok()) << c.name << ": " << (p.error.what ? p.error.what : "");
    EXPECT_EQ(p.link.kind, c.kind) << c.name;
    EXPECT_EQ(p.ip.version, c.version) << c.name;
    EXPECT_EQ(p.ip.header_offset, c.ip_offset) << c.name;
    EXPECT_EQ(p.transport, Transport::Udp) << c.name;
    EXPECT_EQ(p.payload_len, 2u) << c.name;
  }
  // A part of a split ARCNET packet is not reassembled: not IP, not an error.
  const Packet split = decode_kept(linktype::kArcnetBsd, arcnet_frame(udp4, false, 212, 3));
  EXPECT_TRUE(split.ok());
  EXPECT_EQ(split.transport, Transport::Other);
  // An NFLOG message without the packet attribute is a log line without a packet.
  Bytes bare = {2, 0, 0, 7, 8, 0, 10, 0, 'l', 'o', 'g', 0};
  const Packet log = decode_kept(linktype::kNflog, bare);
  EXPECT_TRUE(log.ok());
  EXPECT_EQ(log.transport, Transport::Other);
}

TEST(LinkTypeDecode, AnUnknownLinkTypeIsNotAnErrorAndNotIp) {
  const Packet p = decode_kept(147, bytes_of("whatever the link layer is"));  // LINKTYPE_USER0
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.link.kind, LinkKind::Unknown);
  EXPECT_EQ(p.link.linktype, 147u);
  EXPECT_EQ(p.transport, Transport::Other);
  EXPECT_EQ(p.ip.version, 0);
}
