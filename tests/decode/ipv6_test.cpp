// IPv6 (RFC 8200): fixed header and extension headers walked with bounds checks.
#include <gtest/gtest.h>

#include "frame_builder.hpp"
#include "sockscope/decode/decode.hpp"

using namespace sockscope;
using namespace sockscope::testing;

namespace {
Packet decode_raw(const Bytes& frame) { return decode_kept(linktype::kRaw, frame); }
UdpSpec base() {
  UdpSpec u;
  u.ip.src = "2001:db8::1";
  u.ip.dst = "2001:db8::2";
  u.ip.ttl = 33;
  u.ip.tos = 0xa0;
  u.ip.flow_label = 0x12345;
  u.payload = bytes_of("data");
  return u;
}
}  // namespace

TEST(Ipv6Decode, DecodesHeaderFields) {
  const Packet p = decode_raw(udp_packet(base()));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.ip.version, 6);
  EXPECT_EQ(p.ip.src, ip_addr("2001:db8::1"));
  EXPECT_EQ(p.ip.dst, ip_addr("2001:db8::2"));
  EXPECT_EQ(p.ip.v6.hop_limit, 33);
  EXPECT_EQ(p.ip.v6.traffic_class, 0xa0);
  EXPECT_EQ(p.ip.v6.flow_label, 0x12345u);
  EXPECT_EQ(p.ip.v6.payload_len, 12);
  EXPECT_EQ(p.ip.v6.next_header, 17);
  EXPECT_EQ(p.ip.proto, 17);
  EXPECT_EQ(p.ip.header_len, 40u);
  EXPECT_EQ(p.ip.v6.ext_count, 0);
  EXPECT_TRUE(p.transport_checksum_ok);
}

TEST(Ipv6Decode, WalksExtensionHeaders) {
  UdpSpec u = base();
  u.ip.v6_ext = {hop_by_hop_ext(), routing_ext(0), dest_options_ext(), ah_ext()};
  const Packet p = decode_raw(udp_packet(u));
  ASSERT_TRUE(p.ok()) << p.error.what;
  EXPECT_EQ(p.ip.v6.next_header, 0);
  EXPECT_EQ(p.ip.v6.ext_count, 4);
  EXPECT_EQ(p.ip.v6.ext_types[0], 0);
  EXPECT_EQ(p.ip.v6.ext_types[1], 43);
  EXPECT_EQ(p.ip.v6.ext_types[2], 60);
  EXPECT_EQ(p.ip.v6.ext_types[3], 51);
  EXPECT_EQ(p.ip.v6.ext_len, 8 + 24 + 8 + 12);
  EXPECT_EQ(p.ip.proto, 17);
  EXPECT_EQ(p.ip.header_len, 40u + 52u);
  EXPECT_EQ(p.transport, Transport::Udp);
  EXPECT_TRUE(p.transport_checksum_checked);
  EXPECT_TRUE(p.transport_checksum_ok);
}

TEST(Ipv6Decode, RoutingHeaderWithSegmentsLeftSkipsChecksum) {
  UdpSpec u = base();
  u.ip.v6_ext = {routing_ext(1)};
  const Packet p = decode_raw(udp_packet(u));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Udp);
  EXPECT_FALSE(p.transport_checksum_checked);
}

TEST(Ipv6Decode, RejectsHopByHopNotFirst) {
  UdpSpec u = base();
  u.ip.v6_ext = {dest_options_ext(), hop_by_hop_ext()};
  const Packet p = decode_raw(udp_packet(u));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.layer, "ipv6");
  EXPECT_EQ(p.error.offset, 48u);
}

TEST(Ipv6Decode, RejectsExtensionHeaderPastPayload) {
  UdpSpec u = base();
  u.ip.v6_ext = {dest_options_ext()};
  Bytes b = udp_packet(u);
  b[41] = 20;  // header extension length: 168 bytes
  const Packet p = decode_raw(b);
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.what, "an extension header runs past the payload");
  EXPECT_EQ(p.error.offset, 40u);
}

TEST(Ipv6Decode, ExtensionHeaderCutByCaptureIsTruncated) {
  UdpSpec u = base();
  u.ip.v6_ext = {dest_options_ext()};
  const Bytes b = udp_packet(u);
  Packet p;
  decode_frame(linktype::kRaw, b.data(), 44, static_cast<std::uint32_t>(b.size()), p);
  EXPECT_EQ(p.error.status, DecodeStatus::Truncated);
  EXPECT_STREQ(p.error.layer, "ipv6");
}

TEST(Ipv6Decode, PayloadLengthPastFrameIsNotedAndUdpStillDecoded) {
  UdpSpec u = base();
  u.ip.length = 400;
  const Packet p = decode_raw(udp_packet(u));
  EXPECT_EQ(p.error.status, DecodeStatus::Ok);
  EXPECT_STREQ(p.truncated.layer, "ipv6");
  EXPECT_GT(p.truncated.missing, 0u);
  EXPECT_EQ(p.transport, Transport::Udp);
}

TEST(Ipv6Decode, RejectsWrongVersion) {
  Bytes b = udp_packet(base());
  b[0] = 0x45;
  Packet p;
  decode_frame(linktype::kIpv6, b.data(), static_cast<std::uint32_t>(b.size()),
               static_cast<std::uint32_t>(b.size()), p);
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.what, "the version field is not 6");
}

TEST(Ipv6Decode, NoNextHeaderIsOther) {
  UdpSpec u = base();
  Bytes b = ip_packet(u.ip, 59, {});
  const Packet p = decode_raw(b);
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Other);
  EXPECT_EQ(p.ip.proto, 59);
}

TEST(Ipv6Decode, FragmentHeaderFields) {
  UdpSpec u = base();
  u.payload.assign(64, 'q');
  const auto frags = ipv6_fragments(udp_packet(u), 40, 0xdeadbeef);
  ASSERT_EQ(frags.size(), 2u);
  Packet p = decode_raw(frags[0]);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p.ip.is_fragment);
  EXPECT_TRUE(p.ip.v6.has_fragment);
  EXPECT_TRUE(p.ip.v6.frag_more);
  EXPECT_EQ(p.ip.v6.frag_id, 0xdeadbeefu);
  EXPECT_EQ(p.ip.frag_key, 0xdeadbeefu);
  EXPECT_EQ(p.transport, Transport::Udp);
  p = decode_raw(frags[1]);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.ip.v6.frag_offset, 40);
  EXPECT_FALSE(p.ip.v6.frag_more);
  EXPECT_EQ(p.transport, Transport::Other);
  EXPECT_EQ(p.ip.proto, 17);
}

TEST(Ipv6Decode, AtomicFragmentIsAWholeDatagram) {
  UdpSpec u = base();
  u.ip.v6_ext = {fragment_ext(0, false, 99)};
  const Packet p = decode_raw(udp_packet(u));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p.ip.v6.has_fragment);
  EXPECT_FALSE(p.ip.is_fragment);
  EXPECT_EQ(p.transport, Transport::Udp);
  EXPECT_TRUE(p.transport_checksum_ok);
}
