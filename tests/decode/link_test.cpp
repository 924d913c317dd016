// Layer 2: every link type libpcap hands us, VLAN tags, PPPoE and ARP.
#include <gtest/gtest.h>

#include "frame_builder.hpp"
#include "sockscope/decode/decode.hpp"

using namespace sockscope;
using namespace sockscope::testing;

namespace {
Packet decode(std::uint32_t lt, const Bytes& frame) { return decode_kept(lt, frame); }

Bytes udp4() {
  UdpSpec u;
  u.payload = bytes_of("hi");
  return udp_packet(u);
}

Bytes udp6() {
  UdpSpec u;
  u.ip.src = "2001:db8::1";
  u.ip.dst = "2001:db8::2";
  u.payload = bytes_of("hi");
  return udp_packet(u);
}

void expect_udp(const Packet& p, int version) {
  EXPECT_TRUE(p.ok()) << (p.error.what ? p.error.what : "");
  EXPECT_EQ(p.ip.version, version);
  EXPECT_EQ(p.transport, Transport::Udp);
  EXPECT_EQ(p.udp.sport, 40000);
  EXPECT_EQ(p.payload_len, 2u);
  ASSERT_EQ(p.payload_captured, 2u);
  EXPECT_EQ(p.payload[0], 'h');
  EXPECT_TRUE(p.transport_checksum_checked);
  EXPECT_TRUE(p.transport_checksum_ok);
}

}  // namespace

TEST(EthernetDecode, DecodesMacsAndEtherType) {
  const Packet p = decode(linktype::kEthernet, ethernet_frame(udp4()));
  expect_udp(p, 4);
  EXPECT_EQ(p.link.kind, LinkKind::Ethernet);
  EXPECT_TRUE(p.link.has_macs);
  EXPECT_EQ(p.link.src_mac, mac_addr("02:00:00:00:00:01"));
  EXPECT_EQ(p.link.dst_mac, mac_addr("02:00:00:00:00:02"));
  EXPECT_EQ(p.link.ethertype, 0x0800);
  EXPECT_EQ(p.link.header_len, 14u);
  EXPECT_EQ(p.ip.header_offset, 14u);
  EXPECT_EQ(p.transport_offset, 34u);
  EXPECT_EQ(p.payload_offset, 42u);
}

TEST(EthernetDecode, Ipv6EtherType) {
  const Packet p = decode(linktype::kEthernet, ethernet_frame(udp6()));
  expect_udp(p, 6);
  EXPECT_EQ(p.link.ethertype, 0x86DD);
}

TEST(EthernetDecode, PaddingAfterIpIsNotPayload) {
  EthSpec e;
  e.pad_to = 60;
  const Packet p = decode(linktype::kEthernet, ethernet_frame(udp4(), e));
  expect_udp(p, 4);
  EXPECT_EQ(p.caplen, 60u);
}

TEST(EthernetDecode, ShortFrameIsTruncatedWhenTheWireHadMore) {
  const Bytes f = ethernet_frame(udp4());
  Packet p;
  decode_frame(linktype::kEthernet, f.data(), 10, static_cast<std::uint32_t>(f.size()), p);
  EXPECT_EQ(p.error.status, DecodeStatus::Truncated);
  EXPECT_STREQ(p.error.layer, "ethernet");
}

TEST(EthernetDecode, RejectsFrameShorterThanHeaderOnTheWire) {
  const Bytes f(10, 0);
  const Packet p = decode(linktype::kEthernet, f);
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.layer, "ethernet");
}

TEST(EthernetDecode, UnknownEtherTypeIsOtherNotAnError) {
  EthSpec e;
  e.ethertype = 0x88CC;  // LLDP
  const Packet p = decode(linktype::kEthernet, ethernet_frame(Bytes(20, 1), e));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Other);
  EXPECT_EQ(p.ip.version, 0);
}

TEST(VlanDecode, SingleTag) {
  EthSpec e;
  e.vlans = {VlanTag{100, 5, 0x8100}};
  const Packet p = decode(linktype::kEthernet, ethernet_frame(udp4(), e));
  expect_udp(p, 4);
  ASSERT_EQ(p.link.vlan_count, 1);
  EXPECT_EQ(p.link.vlan_id[0], 100);
  EXPECT_EQ(p.link.vlan_pcp[0], 5);
  EXPECT_EQ(p.link.vlan_tpid[0], 0x8100);
  EXPECT_EQ(p.link.ethertype, 0x0800);
  EXPECT_EQ(p.link.header_len, 18u);
}

TEST(VlanDecode, QinQRecordsBothTags) {
  EthSpec e;
  e.vlans = {VlanTag{10, 1, 0x88A8}, VlanTag{20, 2, 0x8100}};
  const Packet p = decode(linktype::kEthernet, ethernet_frame(udp6(), e));
  expect_udp(p, 6);
  ASSERT_EQ(p.link.vlan_count, 2);
  EXPECT_EQ(p.link.vlan_tpid[0], 0x88A8);
  EXPECT_EQ(p.link.vlan_id[0], 10);
  EXPECT_EQ(p.link.vlan_id[1], 20);
  EXPECT_EQ(p.link.header_len, 22u);
}

TEST(VlanDecode, MoreThanTwoTagsAreSkipped) {
  EthSpec e;
  e.vlans = {VlanTag{1, 0, 0x88A8}, VlanTag{2, 0, 0x8100}, VlanTag{3, 0, 0x8100}};
  const Packet p = decode(linktype::kEthernet, ethernet_frame(udp4(), e));
  expect_udp(p, 4);
  EXPECT_EQ(p.link.vlan_count, 2);
  EXPECT_EQ(p.link.header_len, 26u);
}

TEST(VlanDecode, TagCutShortIsTruncated) {
  EthSpec e;
  e.vlans = {VlanTag{100, 0, 0x8100}};
  const Bytes f = ethernet_frame(udp4(), e);
  Packet p;
  decode_frame(linktype::kEthernet, f.data(), 16, static_cast<std::uint32_t>(f.size()), p);
  EXPECT_EQ(p.error.status, DecodeStatus::Truncated);
  EXPECT_STREQ(p.error.layer, "vlan");
}

TEST(PppoeDecode, SessionCarryingIpv4) {
  EthSpec e;
  e.pppoe_session = 0x1234;
  const Packet p = decode(linktype::kEthernet, ethernet_frame(udp4(), e));
  expect_udp(p, 4);
  EXPECT_TRUE(p.link.pppoe);
  EXPECT_EQ(p.link.pppoe_session, 0x1234);
  EXPECT_EQ(p.link.ppp_protocol, 0x0021);
  EXPECT_EQ(p.link.header_len, 22u);
}

TEST(PppoeDecode, SessionCarryingIpv6InsideVlan) {
  EthSpec e;
  e.pppoe_session = 7;
  e.vlans = {VlanTag{300, 0, 0x8100}};
  const Packet p = decode(linktype::kEthernet, ethernet_frame(udp6(), e));
  expect_udp(p, 6);
  EXPECT_EQ(p.link.ppp_protocol, 0x0057);
  EXPECT_EQ(p.link.vlan_count, 1);
  EXPECT_EQ(p.link.header_len, 26u);
}

TEST(PppoeDecode, RejectsWrongVersion) {
  EthSpec e;
  e.pppoe_session = 7;
  Bytes f = ethernet_frame(udp4(), e);
  f[14] = 0x21;
  const Packet p = decode(linktype::kEthernet, f);
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.layer, "pppoe");
}

TEST(PppoeDecode, RejectsLengthPastFrame) {
  EthSpec e;
  e.pppoe_session = 7;
  Bytes f = ethernet_frame(udp4(), e);
  f[18] = 0x7f;  // PPPoE length high byte
  const Packet p = decode(linktype::kEthernet, f);
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.layer, "pppoe");
}

TEST(PppoeDecode, OtherPppProtocolIsOther) {
  EthSpec e;
  e.pppoe_session = 7;
  Bytes f = ethernet_frame(udp4(), e);
  f[20] = 0xc0;  // LCP 0xc021
  const Packet p = decode(linktype::kEthernet, f);
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Other);
}

// BSD loopback: every OS's address-family values, in both byte orders, for NULL and LOOP.
struct FamilyCase {
  std::uint32_t family;
  int version;
};

TEST(LoopbackDecode, NullAcceptsEveryFamilyInBothByteOrders) {
  const FamilyCase cases[] = {{2, 4}, {24, 6}, {28, 6}, {30, 6}, {10, 6}};
  for (const FamilyCase& c : cases) {
    for (bool be : {false, true}) {
      const Packet p = decode(linktype::kNull, null_frame(c.version == 4 ? udp4() : udp6(), c.family, be));
      SCOPED_TRACE(::testing::Message() << "family " << c.family << (be ? " big" : " little") << "-endian");
      expect_udp(p, c.version);
      EXPECT_EQ(p.link.kind, LinkKind::Null);
      EXPECT_EQ(p.link.family, c.family);
      EXPECT_EQ(p.link.header_len, 4u);
    }
  }
}

TEST(LoopbackDecode, LoopAcceptsEveryFamilyInBothByteOrders) {
  const FamilyCase cases[] = {{2, 4}, {24, 6}, {28, 6}, {30, 6}};
  for (const FamilyCase& c : cases) {
    for (bool be : {true, false}) {
      const Packet p = decode(linktype::kLoop, loop_frame(c.version == 4 ? udp4() : udp6(), c.family, be));
      SCOPED_TRACE(::testing::Message() << "family " << c.family << (be ? " big" : " little") << "-endian");
      expect_udp(p, c.version);
      EXPECT_EQ(p.link.kind, LinkKind::Loop);
      EXPECT_EQ(p.link.family, c.family);
    }
  }
}

TEST(LoopbackDecode, UnknownFamilyIsOther) {
  const Packet p = decode(linktype::kNull, null_frame(udp4(), 7));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Other);
  EXPECT_EQ(p.ip.version, 0);
}

TEST(LoopbackDecode, HeaderCutShortIsTruncated) {
  const Bytes f = null_frame(udp4());
  Packet p;
  decode_frame(linktype::kNull, f.data(), 3, static_cast<std::uint32_t>(f.size()), p);
  EXPECT_EQ(p.error.status, DecodeStatus::Truncated);
  EXPECT_STREQ(p.error.layer, "null");
}

TEST(SllDecode, CookedV1) {
  SllSpec s;
  s.pkttype = 4;
  s.hatype = 772;
  s.addr = "00:00:00:00:00:00";
  const Packet p = decode(linktype::kLinuxSll, sll_frame(udp4(), s));
  expect_udp(p, 4);
  EXPECT_EQ(p.link.kind, LinkKind::Sll);
  EXPECT_EQ(p.link.sll_pkttype, 4);
  EXPECT_EQ(p.link.sll_hatype, 772);
  EXPECT_EQ(p.link.header_len, 16u);
  EXPECT_EQ(p.ip.header_offset, 16u);
}

TEST(SllDecode, CookedV1SourceMacAndIpv6) {
  const Packet p = decode(linktype::kLinuxSll, sll_frame(udp6()));
  expect_udp(p, 6);
  EXPECT_EQ(p.link.src_mac, mac_addr("02:00:00:00:00:01"));
}

TEST(SllDecode, CookedV1WithVlanTag) {
  SllSpec s;
  s.vlans = {VlanTag{42, 0, 0x8100}};
  const Packet p = decode(linktype::kLinuxSll, sll_frame(udp4(), s));
  expect_udp(p, 4);
  ASSERT_EQ(p.link.vlan_count, 1);
  EXPECT_EQ(p.link.vlan_id[0], 42);
}

TEST(SllDecode, NonEtherTypeProtocolIsOther) {
  SllSpec s;
  s.protocol = 0x0004;  // 802.2 LLC
  const Packet p = decode(linktype::kLinuxSll, sll_frame(udp4(), s));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Other);
}

TEST(Sll2Decode, CookedV2) {
  SllSpec s;
  s.ifindex = 3;
  s.pkttype = 0;
  const Packet p = decode(linktype::kLinuxSll2, sll2_frame(udp6(), s));
  expect_udp(p, 6);
  EXPECT_EQ(p.link.kind, LinkKind::Sll2);
  EXPECT_EQ(p.link.sll_ifindex, 3u);
  EXPECT_EQ(p.link.sll_hatype, 1);
  EXPECT_EQ(p.link.header_len, 20u);
  EXPECT_EQ(p.link.src_mac, mac_addr("02:00:00:00:00:01"));
}

TEST(Sll2Decode, HeaderCutShortIsTruncated) {
  const Bytes f = sll2_frame(udp4());
  Packet p;
  decode_frame(linktype::kLinuxSll2, f.data(), 19, static_cast<std::uint32_t>(f.size()), p);
  EXPECT_EQ(p.error.status, DecodeStatus::Truncated);
  EXPECT_STREQ(p.error.layer, "sll2");
}

TEST(RawDecode, EveryRawLinkType) {
  for (std::uint32_t lt : {linktype::kRaw, linktype::kRawOld12, linktype::kRawOld14}) {
    SCOPED_TRACE(lt);
    expect_udp(decode(lt, udp4()), 4);
    expect_udp(decode(lt, udp6()), 6);
  }
  expect_udp(decode(linktype::kIpv4, udp4()), 4);
  expect_udp(decode(linktype::kIpv6, udp6()), 6);
  EXPECT_EQ(decode(linktype::kRaw, udp4()).link.kind, LinkKind::Raw);
}

TEST(RawDecode, RejectsVersionForTheWrongLinkType) {
  Packet p = decode(linktype::kIpv4, udp6());
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.layer, "ipv4");
  p = decode(linktype::kIpv6, udp4());
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.layer, "ipv6");
}

TEST(RawDecode, RejectsUnknownVersion) {
  Bytes b = udp4();
  b[0] = 0x55;
  const Packet p = decode(linktype::kRaw, b);
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
}

TEST(RawDecode, UnknownLinkTypeIsOther) {
  const Packet p = decode(147, udp4());
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Other);
  EXPECT_EQ(p.link.kind, LinkKind::Unknown);
}

TEST(ArpDecode, RequestAndReply) {
  ArpSpec a;
  a.sender_ip = "192.168.1.1";
  a.target_ip = "192.168.1.2";
  Packet p = decode(linktype::kEthernet, arp_frame(a));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Arp);
  EXPECT_EQ(p.arp.op, 1);
  EXPECT_EQ(p.arp.htype, 1);
  EXPECT_EQ(p.arp.ptype, 0x0800);
  EXPECT_EQ(p.arp.sender_mac, mac_addr("02:00:00:00:00:01"));
  EXPECT_EQ(p.arp.sender_ip, ip_addr("192.168.1.1"));
  EXPECT_EQ(p.arp.target_ip, ip_addr("192.168.1.2"));
  a.op = 2;
  a.target_mac = "02:00:00:00:00:09";
  p = decode(linktype::kEthernet, arp_frame(a));
  EXPECT_EQ(p.arp.op, 2);
  EXPECT_EQ(p.arp.target_mac, mac_addr("02:00:00:00:00:09"));
}

TEST(ArpDecode, OverCookedCapture) {
  SllSpec s;
  s.protocol = 0x0806;
  const Packet p = decode(linktype::kLinuxSll, sll_frame(arp_body(ArpSpec{}), s));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Arp);
}

TEST(ArpDecode, RejectsAddressLengthsPastFrame) {
  Bytes f = arp_frame(ArpSpec{});
  f[14 + 4] = 200;  // hardware address length
  const Packet p = decode(linktype::kEthernet, f);
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.layer, "arp");
}
