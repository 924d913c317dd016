// TCP (RFC 9293): every flag, every option (RFC 7323, RFC 2018), checksum, and lying headers.
#include <gtest/gtest.h>

#include "frame_builder.hpp"
#include "sockscope/decode/decode.hpp"

using namespace sockscope;
using namespace sockscope::testing;

namespace {
Packet decode_eth(const Bytes& ip, std::uint32_t caplen = 0) {
  return decode_kept(linktype::kEthernet, ethernet_frame(ip), caplen);
}
TcpSpec base() {
  TcpSpec t;
  t.sport = 51514;
  t.dport = 9000;
  t.seq = 0xfffffff0;
  t.ack = 12345;
  t.window = 512;
  t.flags = tcpflag::kPsh | tcpflag::kAck;
  t.payload = bytes_of("hello");
  return t;
}
}  // namespace

TEST(TcpDecode, DecodesHeaderFields) {
  const Packet p = decode_eth(tcp_packet(base()));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.transport, Transport::Tcp);
  EXPECT_EQ(p.tcp.sport, 51514);
  EXPECT_EQ(p.tcp.dport, 9000);
  EXPECT_EQ(p.tcp.seq, 0xfffffff0u);
  EXPECT_EQ(p.tcp.ack, 12345u);
  EXPECT_EQ(p.tcp.window, 512);
  EXPECT_EQ(p.tcp.header_len, 20);
  EXPECT_EQ(p.tcp.flags, tcpflag::kPsh | tcpflag::kAck);
  EXPECT_EQ(p.transport_header_len, 20u);
  EXPECT_EQ(p.payload_len, 5u);
  ASSERT_EQ(p.payload_captured, 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(p.payload), 5), "hello");
  EXPECT_EQ(p.payload_offset, 54u);
  EXPECT_TRUE(p.transport_checksum_checked);
  EXPECT_TRUE(p.transport_checksum_ok);
}

TEST(TcpDecode, EveryFlag) {
  const std::uint16_t flags[] = {tcpflag::kFin, tcpflag::kSyn, tcpflag::kRst, tcpflag::kPsh, tcpflag::kAck,
                                 tcpflag::kUrg, tcpflag::kEce, tcpflag::kCwr, tcpflag::kAe};
  std::uint16_t all = 0;
  for (std::uint16_t f : flags) {
    TcpSpec t = base();
    t.flags = f;
    t.urgent = f == tcpflag::kUrg ? 3 : 0;
    const Packet p = decode_eth(tcp_packet(t));
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p.tcp.flags, f);
    EXPECT_TRUE(p.tcp.has(f));
    if (f == tcpflag::kUrg) {
      EXPECT_EQ(p.tcp.urgent, 3);
    }
    all |= f;
  }
  TcpSpec t = base();
  t.flags = all;
  const Packet p = decode_eth(tcp_packet(t));
  EXPECT_EQ(p.tcp.flags, 0x1ff);
}

TEST(TcpDecode, EveryOption) {
  TcpSpec t = base();
  t.flags = tcpflag::kSyn;
  t.options = cat({tcp_opt::mss(1460), tcp_opt::sack_permitted(), tcp_opt::timestamps(123456, 654321),
                   tcp_opt::nop(), tcp_opt::wscale(7)});
  const Packet p = decode_eth(tcp_packet(t));
  ASSERT_TRUE(p.ok()) << p.error.what;
  EXPECT_EQ(p.tcp.header_len, 40);
  EXPECT_TRUE(p.tcp.has_mss);
  EXPECT_EQ(p.tcp.mss, 1460);
  EXPECT_TRUE(p.tcp.sack_permitted);
  EXPECT_TRUE(p.tcp.has_timestamps);
  EXPECT_EQ(p.tcp.ts_val, 123456u);
  EXPECT_EQ(p.tcp.ts_ecr, 654321u);
  EXPECT_TRUE(p.tcp.has_wscale);
  EXPECT_EQ(p.tcp.wscale, 7);
  EXPECT_EQ(p.tcp.nop_count, 1);
  EXPECT_EQ(p.payload_offset, 14u + 20u + 40u);
}

TEST(TcpDecode, SackBlocks) {
  TcpSpec t = base();
  t.options = cat({tcp_opt::nop(), tcp_opt::nop(), tcp_opt::sack({{1000, 2000}, {3000, 4000}, {5000, 6000}})});
  const Packet p = decode_eth(tcp_packet(t));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p.tcp.sack_count, 3);
  EXPECT_EQ(p.tcp.sack[0].left, 1000u);
  EXPECT_EQ(p.tcp.sack[0].right, 2000u);
  EXPECT_EQ(p.tcp.sack[2].left, 5000u);
  EXPECT_EQ(p.tcp.sack[2].right, 6000u);
}

TEST(TcpDecode, FourSackBlocksFit) {
  TcpSpec t = base();
  t.options = tcp_opt::sack({{1, 2}, {3, 4}, {5, 6}, {7, 8}});
  const Packet p = decode_eth(tcp_packet(t));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.tcp.sack_count, 4);
  EXPECT_EQ(p.tcp.sack[3].right, 8u);
}

TEST(TcpDecode, UnknownOptionSkippedByLength) {
  TcpSpec t = base();
  t.options = cat({Bytes{30, 6, 1, 2, 3, 4}, tcp_opt::mss(536)});  // MPTCP-like, then MSS
  const Packet p = decode_eth(tcp_packet(t));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.tcp.unknown_options, 1);
  EXPECT_EQ(p.tcp.mss, 536);
}

TEST(TcpDecode, EndOfOptionListStopsParsing) {
  TcpSpec t = base();
  t.options = cat({tcp_opt::eol(), Bytes{0xff, 0xff, 0xff}});  // garbage after EOL is padding
  const Packet p = decode_eth(tcp_packet(t));
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.tcp.unknown_options, 0);
}

TEST(TcpDecode, RejectsDataOffsetBelowFive) {
  TcpSpec t = base();
  t.data_offset_words = 4;
  const Packet p = decode_eth(tcp_packet(t));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.layer, "tcp");
  EXPECT_STREQ(p.error.what, "the data offset is below 5");
  EXPECT_EQ(p.error.offset, 14u + 20u + 12u);
  EXPECT_EQ(p.ip.version, 4);  // the IP header stays decoded
}

TEST(TcpDecode, RejectsDataOffsetPastSegment) {
  TcpSpec t = base();
  t.payload.clear();
  t.data_offset_words = 15;
  const Packet p = decode_eth(tcp_packet(t));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.what, "the data offset points past the end of the segment");
}

TEST(TcpDecode, RejectsHeaderLongerThanIpPayload) {
  TcpSpec t = base();
  Bytes seg = tcp_segment(t);
  seg.resize(12);
  const Packet p = decode_eth(ip_packet(t.ip, 6, seg));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.layer, "tcp");
}

TEST(TcpDecode, RejectsOptionLengthZero) {
  TcpSpec t = base();
  t.options = {2, 0, 0, 0};
  const Packet p = decode_eth(tcp_packet(t));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.what, "an option length is below 2");
}

TEST(TcpDecode, RejectsOptionLengthOne) {
  TcpSpec t = base();
  t.options = {30, 1, 0, 0};
  const Packet p = decode_eth(tcp_packet(t));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
}

TEST(TcpDecode, OptionLengthPastHeader) {
  TcpSpec t = base();
  t.options = {1, 1, 30, 10};  // claims 10 bytes, 2 left in the header
  const Packet p = decode_eth(tcp_packet(t));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.what, "an option length runs past the end of the header");
  EXPECT_EQ(p.error.offset, 14u + 20u + 20u + 3u);
}

TEST(TcpDecode, OptionKindAtLastByteWithoutLength) {
  TcpSpec t = base();
  t.options = {1, 1, 1, 2};  // MSS kind in the last byte, its length would be in the payload
  const Packet p = decode_eth(tcp_packet(t));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
}

TEST(TcpDecode, RejectsWrongLengthForKnownOption) {
  TcpSpec t = base();
  t.options = {2, 3, 5, 0};  // MSS with length 3
  const Packet p = decode_eth(tcp_packet(t));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.what, "an option has the wrong length for its kind");
}

TEST(TcpDecode, BadChecksumIsReportedNotMalformed) {
  TcpSpec t = base();
  t.bad_checksum = true;
  const Packet p = decode_eth(tcp_packet(t));
  EXPECT_TRUE(p.ok());
  EXPECT_TRUE(p.transport_checksum_checked);
  EXPECT_FALSE(p.transport_checksum_ok);
}

TEST(TcpDecode, ChecksumOverIpv6) {
  TcpSpec t = base();
  t.ip.src = "fe80::1";
  t.ip.dst = "fe80::2";
  Packet p = decode_eth(tcp_packet(t));
  EXPECT_TRUE(p.transport_checksum_ok);
  t.bad_checksum = true;
  p = decode_eth(tcp_packet(t));
  EXPECT_FALSE(p.transport_checksum_ok);
}

TEST(TcpDecode, OptionsCutByCaptureAreTruncated) {
  TcpSpec t = base();
  t.options = cat({tcp_opt::timestamps(1, 2), tcp_opt::nop(), tcp_opt::nop()});
  const Packet p = decode_eth(tcp_packet(t), 14 + 20 + 20 + 5);
  EXPECT_EQ(p.error.status, DecodeStatus::Truncated);
  EXPECT_STREQ(p.error.layer, "tcp");
  EXPECT_EQ(p.transport, Transport::Tcp);  // the fixed header was read
  EXPECT_EQ(p.tcp.sport, 51514);
}

TEST(TcpDecode, PayloadCutBySnaplenIsOk) {
  const Packet p = decode_eth(tcp_packet(base()), 14 + 20 + 20 + 2);
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.payload_len, 5u);
  EXPECT_EQ(p.payload_captured, 2u);
  EXPECT_FALSE(p.transport_checksum_checked);
}

// Linux leaves CHECKSUM_PARTIAL segments (loopback, offload to the NIC) with only the folded
// pseudo-header sum in the checksum field: not a corrupted segment.
TEST(TcpDecode, RecognisesOffloadedPartialChecksum) {
  Bytes ip = tcp_packet(base());
  const std::size_t tcp_off = 20;
  std::uint32_t sum = 0;
  for (std::size_t i = 12; i < 20; i += 2) sum += (std::uint32_t{ip[i]} << 8) | ip[i + 1];
  sum += 6;                                                        // protocol
  sum += static_cast<std::uint32_t>(ip.size() - tcp_off);          // TCP length
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[tcp_off + 16] = static_cast<std::uint8_t>(sum >> 8);
  ip[tcp_off + 17] = static_cast<std::uint8_t>(sum);
  const Packet p = decode_eth(ip);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p.transport_checksum_checked);
  EXPECT_FALSE(p.transport_checksum_ok);
  EXPECT_TRUE(p.transport_checksum_partial);

  TcpSpec bad = base();
  bad.bad_checksum = true;
  const Packet q = decode_eth(tcp_packet(bad));
  EXPECT_FALSE(q.transport_checksum_ok);
  EXPECT_FALSE(q.transport_checksum_partial);
}
