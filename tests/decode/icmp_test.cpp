// ICMP (RFC 792) and ICMPv6 (RFC 4443): echo, errors, and the datagram an error quotes.
#include <gtest/gtest.h>

#include "frame_builder.hpp"
#include "sockscope/decode/decode.hpp"

using namespace sockscope;
using namespace sockscope::testing;

namespace {
Packet decode_eth(const Bytes& ip, std::uint32_t caplen = 0) {
  return decode_kept(linktype::kEthernet, ethernet_frame(ip), caplen);
}
UdpSpec chat(const char* src, const char* dst) {
  UdpSpec u;
  u.ip.src = src;
  u.ip.dst = dst;
  u.ip.id = 0x4242;
  u.sport = 45000;
  u.dport = 9999;
  u.payload = bytes_of("anyone there?");
  return u;
}
}  // namespace

TEST(IcmpDecode, EchoRequest) {
  IcmpSpec s;
  s.rest = (0x1234u << 16) | 9;
  s.body = bytes_of("ping data");
  const Packet p = decode_eth(icmp_packet(s));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Icmp);
  EXPECT_FALSE(p.icmp.v6);
  EXPECT_EQ(p.icmp.type, 8);
  EXPECT_EQ(p.icmp.id, 0x1234);
  EXPECT_EQ(p.icmp.seq, 9);
  EXPECT_FALSE(p.icmp.unreachable);
  EXPECT_TRUE(p.transport_checksum_checked);
  EXPECT_TRUE(p.transport_checksum_ok);
  EXPECT_EQ(p.payload_len, 9u);
}

TEST(IcmpDecode, BadChecksum) {
  IcmpSpec s;
  s.bad_checksum = true;
  const Packet p = decode_eth(icmp_packet(s));
  EXPECT_TRUE(p.ok());
  EXPECT_FALSE(p.transport_checksum_ok);
}

TEST(IcmpDecode, PortUnreachableQuotesUdpDatagram) {
  const Bytes offending = udp_packet(chat("10.0.0.1", "10.0.0.2"));
  const Packet p = decode_eth(icmp_unreachable(offending));
  ASSERT_TRUE(p.ok()) << p.error.what;
  EXPECT_EQ(p.icmp.type, 3);
  EXPECT_EQ(p.icmp.code, 3);
  EXPECT_TRUE(p.icmp.unreachable);
  EXPECT_TRUE(p.icmp.port_unreachable);
  EXPECT_EQ(p.ip.src, ip_addr("10.0.0.2"));
  ASSERT_TRUE(p.icmp.has_quote);
  EXPECT_EQ(p.icmp.quoted_src, ip_addr("10.0.0.1"));
  EXPECT_EQ(p.icmp.quoted_dst, ip_addr("10.0.0.2"));
  EXPECT_EQ(p.icmp.quoted_proto, 17);
  EXPECT_EQ(p.icmp.quoted_ip_id, 0x4242);
  ASSERT_TRUE(p.icmp.quoted_ports);
  EXPECT_EQ(p.icmp.quoted_sport, 45000);
  EXPECT_EQ(p.icmp.quoted_dport, 9999);
  EXPECT_TRUE(p.transport_checksum_ok);
}

TEST(IcmpDecode, QuoteOfOnlyHeaderAndEightBytes) {
  const Bytes offending = udp_packet(chat("10.0.0.1", "10.0.0.2"));
  const Packet p = decode_eth(icmp_unreachable(offending, std::nullopt, 0, 28));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p.icmp.quoted_ports);
  EXPECT_EQ(p.icmp.quoted_dport, 9999);
}

TEST(IcmpDecode, QuoteTooShortForPortsIsNotAnError) {
  const Bytes offending = udp_packet(chat("10.0.0.1", "10.0.0.2"));
  const Packet p = decode_eth(icmp_unreachable(offending, std::nullopt, 0, 22));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p.icmp.has_quote);
  EXPECT_FALSE(p.icmp.quoted_ports);
}

TEST(IcmpDecode, QuoteCutByCaptureIsTruncated) {
  const Bytes offending = udp_packet(chat("10.0.0.1", "10.0.0.2"));
  const Packet p = decode_eth(icmp_unreachable(offending), 14 + 20 + 8 + 10);
  EXPECT_EQ(p.error.status, DecodeStatus::Truncated);
  EXPECT_STREQ(p.error.layer, "icmp");
  EXPECT_EQ(p.transport, Transport::Icmp);
  EXPECT_TRUE(p.icmp.port_unreachable);
}

TEST(IcmpDecode, QuotesTcpPorts) {
  TcpSpec t;
  t.flags = tcpflag::kSyn;
  t.sport = 1111;
  t.dport = 2222;
  const Packet p = decode_eth(icmp_unreachable(tcp_packet(t), 1));  // host unreachable
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p.icmp.unreachable);
  EXPECT_FALSE(p.icmp.port_unreachable);
  EXPECT_EQ(p.icmp.quoted_proto, 6);
  EXPECT_EQ(p.icmp.quoted_sport, 1111);
  EXPECT_EQ(p.icmp.quoted_dport, 2222);
}

TEST(IcmpDecode, FragmentationNeededCarriesNextHopMtu) {
  TcpSpec t;
  const Packet p = decode_eth(icmp_unreachable(tcp_packet(t), 4, 1400));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.icmp.code, 4);
  EXPECT_EQ(p.icmp.next_hop_mtu, 1400);
}

TEST(IcmpDecode, TimeExceededQuotes) {
  IcmpSpec s;
  s.type = 11;
  s.body = udp_packet(chat("10.0.0.1", "10.0.0.9"));
  const Packet p = decode_eth(icmp_packet(s));
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p.icmp.unreachable);
  EXPECT_TRUE(p.icmp.has_quote);
  EXPECT_EQ(p.icmp.quoted_dst, ip_addr("10.0.0.9"));
}

TEST(IcmpDecode, RejectsMessageShorterThanHeader) {
  IcmpSpec s;
  const Bytes l4{8, 0, 0, 0};
  const Packet p = decode_eth(ip_packet(s.ip, 1, l4));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.layer, "icmp");
}

TEST(Icmpv6Decode, EchoRequest) {
  IcmpSpec s;
  s.ip.src = "::1";
  s.ip.dst = "::1";
  s.type = 128;
  s.rest = (7u << 16) | 1;
  const Packet p = decode_eth(icmp_packet(s));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p.icmp.v6);
  EXPECT_EQ(p.icmp.type, 128);
  EXPECT_EQ(p.icmp.id, 7);
  EXPECT_EQ(p.icmp.seq, 1);
  EXPECT_TRUE(p.transport_checksum_ok);
}

TEST(Icmpv6Decode, PortUnreachableQuotesUdpDatagram) {
  const Bytes offending = udp_packet(chat("2001:db8::1", "2001:db8::2"));
  const Packet p = decode_eth(icmp_unreachable(offending));
  ASSERT_TRUE(p.ok()) << p.error.what;
  EXPECT_TRUE(p.icmp.v6);
  EXPECT_EQ(p.icmp.type, 1);
  EXPECT_EQ(p.icmp.code, 4);
  EXPECT_TRUE(p.icmp.port_unreachable);
  ASSERT_TRUE(p.icmp.has_quote);
  EXPECT_EQ(p.icmp.quoted_src, ip_addr("2001:db8::1"));
  EXPECT_EQ(p.icmp.quoted_dst, ip_addr("2001:db8::2"));
  EXPECT_EQ(p.icmp.quoted_proto, 17);
  EXPECT_EQ(p.icmp.quoted_sport, 45000);
  EXPECT_EQ(p.icmp.quoted_dport, 9999);
  EXPECT_TRUE(p.transport_checksum_ok);
}

TEST(Icmpv6Decode, QuoteWithExtensionHeaders) {
  UdpSpec u = chat("2001:db8::1", "2001:db8::2");
  u.ip.v6_ext = {dest_options_ext()};
  const Packet p = decode_eth(icmp_unreachable(udp_packet(u)));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.icmp.quoted_proto, 17);
  EXPECT_EQ(p.icmp.quoted_dport, 9999);
}

TEST(Icmpv6Decode, PacketTooBigCarriesMtu) {
  IcmpSpec s;
  s.ip.src = "2001:db8::ff";
  s.ip.dst = "2001:db8::1";
  s.type = 2;
  s.rest = 1280;
  s.body = udp_packet(chat("2001:db8::1", "2001:db8::2"));
  const Packet p = decode_eth(icmp_packet(s));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.icmp.next_hop_mtu, 1280);
  EXPECT_TRUE(p.icmp.has_quote);
  EXPECT_FALSE(p.icmp.unreachable);
}

TEST(Icmpv6Decode, IcmpOverIpv6IsOther) {
  IcmpSpec s;
  s.ip.src = "::1";
  s.ip.dst = "::1";
  const Packet p = decode_eth(ip_packet(s.ip, 1, Bytes(8, 0)));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Other);
}
