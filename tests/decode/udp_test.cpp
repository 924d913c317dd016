// UDP (RFC 768): fields, checksum rules over IPv4 and IPv6, and the length field.
#include <gtest/gtest.h>

#include "frame_builder.hpp"
#include "sockscope/decode/decode.hpp"

using namespace sockscope;
using namespace sockscope::testing;

namespace {
Packet decode_raw(const Bytes& frame, std::uint32_t caplen = 0) { return decode_kept(linktype::kRaw, frame, caplen); }
UdpSpec base() {
  UdpSpec u;
  u.sport = 5353;
  u.dport = 9001;
  u.payload = bytes_of("message");
  return u;
}
}  // namespace

TEST(UdpDecode, DecodesHeaderFields) {
  const Packet p = decode_raw(udp_packet(base()));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Udp);
  EXPECT_EQ(p.udp.sport, 5353);
  EXPECT_EQ(p.udp.dport, 9001);
  EXPECT_EQ(p.udp.length, 15);
  EXPECT_EQ(p.transport_header_len, 8u);
  EXPECT_EQ(p.payload_len, 7u);
  EXPECT_EQ(p.payload_captured, 7u);
  EXPECT_TRUE(p.transport_checksum_checked);
  EXPECT_TRUE(p.transport_checksum_ok);
}

TEST(UdpDecode, BadChecksum) {
  UdpSpec u = base();
  u.bad_checksum = true;
  const Packet p = decode_raw(udp_packet(u));
  EXPECT_TRUE(p.ok());
  EXPECT_TRUE(p.transport_checksum_checked);
  EXPECT_FALSE(p.transport_checksum_ok);
}

TEST(UdpDecode, ZeroChecksumOverIpv4MeansNone) {
  UdpSpec u = base();
  u.zero_checksum = true;
  const Packet p = decode_raw(udp_packet(u));
  EXPECT_TRUE(p.ok());
  EXPECT_FALSE(p.transport_checksum_checked);
}

TEST(UdpDecode, ZeroChecksumOverIpv6IsWrong) {
  UdpSpec u = base();
  u.ip.src = "::1";
  u.ip.dst = "::1";
  u.zero_checksum = true;
  const Packet p = decode_raw(udp_packet(u));
  EXPECT_TRUE(p.ok());
  EXPECT_TRUE(p.transport_checksum_checked);
  EXPECT_FALSE(p.transport_checksum_ok);
}

TEST(UdpDecode, RejectsLengthBelowEight) {
  UdpSpec u = base();
  u.length = 7;
  const Packet p = decode_raw(udp_packet(u));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.layer, "udp");
  EXPECT_STREQ(p.error.what, "the length field is below 8");
  EXPECT_EQ(p.error.offset, 24u);
}

// A UDP length past the IP payload is noted as truncated (with the bytes missing) and the datagram
// is decoded with the bytes there are.
TEST(UdpDecode, UdpLengthLongerThanIpIsNoted) {
  UdpSpec u = base();
  u.length = 100;
  const Bytes b = udp_packet(u);
  const Packet p = decode_raw(b);
  EXPECT_EQ(p.error.status, DecodeStatus::Ok);
  EXPECT_STREQ(p.truncated.layer, "udp");
  EXPECT_EQ(p.truncated.missing, 100u - (b.size() - 20));
  EXPECT_EQ(p.transport, Transport::Udp);
}

TEST(UdpDecode, UdpLengthLongerThanIpEvenWhenCaptureIsShort) {
  UdpSpec u = base();
  u.length = 100;
  const Packet p = decode_raw(udp_packet(u), 30);
  EXPECT_STREQ(p.truncated.layer, "udp");
  EXPECT_EQ(p.transport, Transport::Udp);
}

TEST(UdpDecode, ShorterLengthLeavesASurplusArea) {
  // RFC 9868 uses the bytes after the UDP length for options: not payload, not an error.
  UdpSpec u = base();
  u.length = 10;
  const Packet p = decode_raw(udp_packet(u));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.payload_len, 2u);
}

TEST(UdpDecode, HeaderLongerThanIpPayloadIsMalformed) {
  UdpSpec u = base();
  Bytes d = udp_datagram(u);
  d.resize(6);
  const Packet p = decode_raw(ip_packet(u.ip, 17, d));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.layer, "udp");
}

TEST(UdpDecode, HeaderCutByCaptureIsTruncated) {
  const Packet p = decode_raw(udp_packet(base()), 25);
  EXPECT_EQ(p.error.status, DecodeStatus::Truncated);
  EXPECT_STREQ(p.error.layer, "udp");
  EXPECT_EQ(p.transport, Transport::None);
}

TEST(UdpDecode, EmptyPayload) {
  UdpSpec u = base();
  u.payload.clear();
  const Packet p = decode_raw(udp_packet(u));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.payload_len, 0u);
  EXPECT_EQ(p.payload, nullptr);
}
