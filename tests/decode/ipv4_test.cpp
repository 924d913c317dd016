// IPv4 (RFC 791): fields, options, header checksum, fragments flags, lengths that disagree.
#include <gtest/gtest.h>

#include "frame_builder.hpp"
#include "sockscope/decode/decode.hpp"

using namespace sockscope;
using namespace sockscope::testing;

namespace {
Packet decode_raw(const Bytes& frame, std::uint32_t wire = 0) { return decode_kept(linktype::kRaw, frame, 0, wire); }
TcpSpec base() {
  TcpSpec t;
  t.ip.src = "192.0.2.1";
  t.ip.dst = "198.51.100.7";
  t.ip.ttl = 57;
  t.ip.id = 0xbeef;
  t.ip.tos = 0x10;
  t.flags = tcpflag::kAck;
  t.payload = bytes_of("abc");
  return t;
}
}  // namespace

TEST(Ipv4Decode, DecodesHeaderFields) {
  const Packet p = decode_raw(tcp_packet(base()));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.ip.version, 4);
  EXPECT_EQ(p.ip.src, ip_addr("192.0.2.1"));
  EXPECT_EQ(p.ip.dst, ip_addr("198.51.100.7"));
  EXPECT_EQ(p.ip.v4.ttl, 57);
  EXPECT_EQ(p.ip.v4.id, 0xbeef);
  EXPECT_EQ(p.ip.v4.tos, 0x10);
  EXPECT_TRUE(p.ip.v4.df);
  EXPECT_FALSE(p.ip.v4.mf);
  EXPECT_EQ(p.ip.v4.ihl, 20);
  EXPECT_EQ(p.ip.v4.total_len, 43);
  EXPECT_EQ(p.ip.proto, 6);
  EXPECT_EQ(p.ip.header_len, 20u);
  EXPECT_EQ(p.ip.payload_len, 23u);
  EXPECT_TRUE(p.ip.v4.checksum_ok);
  EXPECT_FALSE(p.ip.is_fragment);
}

TEST(Ipv4Decode, SkipsOptions) {
  TcpSpec t = base();
  t.ip.v4_options = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00};  // router alert, NOPs, EOL
  const Packet p = decode_raw(tcp_packet(t));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.ip.v4.ihl, 28);
  EXPECT_EQ(p.ip.v4.options_len, 8);
  EXPECT_EQ(p.transport, Transport::Tcp);
  EXPECT_EQ(p.transport_offset, 28u);
  EXPECT_TRUE(p.ip.v4.checksum_ok);
  EXPECT_TRUE(p.transport_checksum_ok);
}

TEST(Ipv4Decode, BadHeaderChecksumIsReportedNotMalformed) {
  TcpSpec t = base();
  t.ip.bad_checksum = true;
  const Packet p = decode_raw(tcp_packet(t));
  EXPECT_TRUE(p.ok());
  EXPECT_FALSE(p.ip.v4.checksum_ok);
  EXPECT_EQ(p.transport, Transport::Tcp);
}

TEST(Ipv4Decode, RejectsIhlBelowFive) {
  TcpSpec t = base();
  t.ip.ihl_words = 4;
  const Packet p = decode_raw(tcp_packet(t));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.layer, "ipv4");
  EXPECT_STREQ(p.error.what, "the header length (ihl) is below 5");
  EXPECT_EQ(p.error.offset, 0u);
}

TEST(Ipv4Decode, RejectsWrongVersion) {
  Bytes b = tcp_packet(base());
  Packet p;
  Bytes f = ethernet_frame(b);
  f[14] = 0x55;
  decode_frame(linktype::kEthernet, f.data(), static_cast<std::uint32_t>(f.size()),
               static_cast<std::uint32_t>(f.size()), p);
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.what, "the version field is not 4");
  EXPECT_EQ(p.error.offset, 14u);
  EXPECT_TRUE(p.link.has_macs);  // what decoded before the problem stays
}

TEST(Ipv4Decode, RejectsTotalLengthBelowHeader) {
  TcpSpec t = base();
  t.ip.length = 12;
  const Packet p = decode_raw(tcp_packet(t));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_EQ(p.error.offset, 2u);
  EXPECT_EQ(p.ip.version, 4);  // the fixed header was read
}

// A total length past the frame is noted (tcpdump: "truncated-ip - N bytes missing!") and the TCP
// header that is all there is still decoded.
TEST(Ipv4Decode, TotalLengthPastFrameIsNotedAndTcpStillDecoded) {
  TcpSpec t = base();
  const Bytes whole = tcp_packet(t);
  t.ip.length = static_cast<std::uint16_t>(whole.size() + 8);
  const Packet p = decode_raw(tcp_packet(t));
  EXPECT_EQ(p.error.status, DecodeStatus::Ok);
  EXPECT_STREQ(p.truncated.layer, "ipv4");
  EXPECT_EQ(p.truncated.missing, 8u);
  EXPECT_EQ(p.transport, Transport::Tcp);
  EXPECT_FALSE(p.transport_checksum_checked);
}

TEST(Ipv4Decode, IhlLongerThanTotalLengthIsMalformed) {
  TcpSpec t = base();
  t.ip.ihl_words = 15;
  t.ip.length = 40;
  const Packet p = decode_raw(tcp_packet(t));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
}

TEST(Ipv4Decode, OptionsCutByCaptureAreTruncated) {
  TcpSpec t = base();
  t.ip.v4_options = {1, 1, 1, 0};
  const Bytes b = tcp_packet(t);
  Packet p;
  decode_frame(linktype::kRaw, b.data(), 22, static_cast<std::uint32_t>(b.size()), p);
  EXPECT_EQ(p.error.status, DecodeStatus::Truncated);
  EXPECT_STREQ(p.error.layer, "ipv4");
}

TEST(Ipv4Decode, ZeroTotalLengthMeansSegmentationOffload) {
  TcpSpec t = base();
  t.ip.length = 0;
  const Packet p = decode_raw(tcp_packet(t));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.payload_len, 3u);
}

TEST(Ipv4Decode, SnaplenCutInPayloadIsOk) {
  const Bytes b = tcp_packet(base());
  Packet p;
  decode_frame(linktype::kRaw, b.data(), 41, static_cast<std::uint32_t>(b.size()), p);
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.payload_len, 3u);
  EXPECT_EQ(p.payload_captured, 1u);
  EXPECT_FALSE(p.transport_checksum_checked);
}

TEST(Ipv4Decode, FragmentFlagsAndOffset) {
  UdpSpec u;
  u.payload.assign(100, 'z');
  const auto frags = ipv4_fragments(udp_packet(u), 48);
  ASSERT_EQ(frags.size(), 3u);
  Packet p = decode_raw(frags[0]);
  EXPECT_TRUE(p.ok());
  EXPECT_TRUE(p.ip.is_fragment);
  EXPECT_TRUE(p.ip.v4.mf);
  EXPECT_EQ(p.ip.v4.frag_offset, 0);
  EXPECT_EQ(p.ip.frag_key, 0x1234u);
  EXPECT_EQ(p.transport, Transport::Udp);  // the first fragment has the UDP header
  EXPECT_EQ(p.udp.length, 108);
  EXPECT_EQ(p.payload_len, 40u);            // this fragment's share
  EXPECT_FALSE(p.transport_checksum_checked);
  p = decode_raw(frags[2]);
  EXPECT_TRUE(p.ok());
  EXPECT_TRUE(p.ip.is_fragment);
  EXPECT_FALSE(p.ip.v4.mf);
  EXPECT_EQ(p.ip.v4.frag_offset, 96);
  EXPECT_EQ(p.transport, Transport::Other);
  EXPECT_EQ(p.udp.sport, 0);
  EXPECT_FALSE(p.ip.reassembled);
}
