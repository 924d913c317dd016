// IP reassembly in the stateful Decoder (RFC 791 3.2, RFC 8200 4.5, RFC 5722), within its limits.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "frame_builder.hpp"
#include "sockscope/decode/decode.hpp"

using namespace sockscope;
using namespace sockscope::testing;

namespace {

struct Feed {
  Decoder dec;
  std::uint64_t frame = 0;
  explicit Feed(DecoderLimits l = {}) : dec(l) {}
  Packet operator()(const Bytes& ip, std::int64_t sec = 0) {
    const Bytes f = ethernet_frame(ip);
    Packet p;
    dec.decode(linktype::kEthernet, f.data(), static_cast<std::uint32_t>(f.size()),
               static_cast<std::uint32_t>(f.size()), Timestamp{sec, 0}, ++frame, p);
    return p;
  }
};

UdpSpec big_udp(std::size_t payload, const char* src = "10.0.0.1", const char* dst = "10.0.0.2") {
  UdpSpec u;
  u.ip.src = src;
  u.ip.dst = dst;
  u.ip.df = false;
  u.payload.resize(payload);
  for (std::size_t i = 0; i < payload; ++i) u.payload[i] = static_cast<std::uint8_t>('a' + i % 26);
  return u;
}

void expect_whole_udp(const Packet& p, const UdpSpec& u, std::uint16_t frags) {
  ASSERT_TRUE(p.ok()) << p.error.what;
  EXPECT_TRUE(p.ip.is_fragment);
  EXPECT_TRUE(p.ip.reassembled);
  EXPECT_EQ(p.ip.frag_count, frags);
  ASSERT_EQ(p.transport, Transport::Udp);
  EXPECT_EQ(p.udp.sport, u.sport);
  EXPECT_EQ(p.udp.length, u.payload.size() + 8);
  EXPECT_EQ(p.payload_len, u.payload.size());
  ASSERT_EQ(p.payload_captured, u.payload.size());
  EXPECT_TRUE(std::equal(u.payload.begin(), u.payload.end(), p.payload));
  EXPECT_TRUE(p.transport_checksum_checked);
  EXPECT_TRUE(p.transport_checksum_ok);
}

}  // namespace

TEST(Ipv4Reassembly, ThreeFragmentsOf3000ByteDatagram) {
  const UdpSpec u = big_udp(3000 - 8);
  const auto frags = ipv4_fragments(udp_packet(u), 1480);
  ASSERT_EQ(frags.size(), 3u);
  Feed feed;
  const Packet a = feed(frags[0]);
  EXPECT_TRUE(a.ip.is_fragment);
  EXPECT_FALSE(a.ip.reassembled);
  EXPECT_EQ(a.ip.v4.frag_offset, 0);
  EXPECT_EQ(a.transport, Transport::Udp);
  const Packet b = feed(frags[1]);
  EXPECT_EQ(b.ip.v4.frag_offset, 1480);
  EXPECT_FALSE(b.ip.reassembled);
  EXPECT_EQ(b.transport, Transport::Other);
  const Packet c = feed(frags[2]);
  EXPECT_EQ(c.ip.v4.frag_offset, 2960);
  expect_whole_udp(c, u, 3);
}

TEST(Ipv4Reassembly, OutOfOrderFragments) {
  const UdpSpec u = big_udp(3000 - 8);
  const auto frags = ipv4_fragments(udp_packet(u), 1480);
  Feed feed;
  EXPECT_FALSE(feed(frags[2]).ip.reassembled);
  EXPECT_FALSE(feed(frags[1]).ip.reassembled);
  const Packet p = feed(frags[0]);  // the first fragment arrives last and completes it
  expect_whole_udp(p, u, 3);
}

TEST(Ipv4Reassembly, TcpSegmentReassembled) {
  TcpSpec t;
  t.ip.df = false;
  t.payload.assign(2000, 'T');
  const auto frags = ipv4_fragments(tcp_packet(t), 1000);
  Feed feed;
  Packet p;
  for (const Bytes& f : frags) p = feed(f);
  ASSERT_TRUE(p.ip.reassembled);
  ASSERT_EQ(p.transport, Transport::Tcp);
  EXPECT_EQ(p.payload_len, 2000u);
  EXPECT_TRUE(p.transport_checksum_ok);
}

TEST(Ipv4Reassembly, InterleavedDatagramsKeptApart) {
  UdpSpec u1 = big_udp(100), u2 = big_udp(100);
  u1.ip.id = 1;
  u2.ip.id = 2;
  u2.payload.assign(100, 'Z');
  const auto f1 = ipv4_fragments(udp_packet(u1), 64), f2 = ipv4_fragments(udp_packet(u2), 64);
  Feed feed;
  feed(f1[0]);
  feed(f2[0]);
  expect_whole_udp(feed(f2[1]), u2, 2);
  expect_whole_udp(feed(f1[1]), u1, 2);
}

TEST(Ipv4Reassembly, DuplicateFragmentIgnored) {
  const UdpSpec u = big_udp(200);
  const auto frags = ipv4_fragments(udp_packet(u), 104);
  Feed feed;
  feed(frags[0]);
  const Packet dup = feed(frags[0]);
  EXPECT_TRUE(dup.ok());
  EXPECT_FALSE(dup.ip.reassembled);
  expect_whole_udp(feed(frags[1]), u, 2);
}

TEST(Ipv4Reassembly, OverlappingFragmentIsMalformed) {
  const UdpSpec u = big_udp(200);
  const Bytes whole = udp_packet(u);
  const auto a = ipv4_fragments(whole, 104);
  const auto b = ipv4_fragments(whole, 64);  // b[1] starts at 64, inside a[0]
  Feed feed;
  feed(a[0]);
  const Packet p = feed(b[1]);
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.layer, "ipv4");
  EXPECT_STREQ(p.error.what, "the fragment overlaps an earlier fragment of the same datagram");
  // The datagram was dropped: the rest cannot complete it.
  EXPECT_FALSE(feed(a[1]).ip.reassembled);
}

TEST(Ipv4Reassembly, FragmentNotMultipleOfEightIsMalformed) {
  const UdpSpec u = big_udp(200);
  const auto frags = ipv4_fragments(udp_packet(u), 100);
  Feed feed;
  const Packet p = feed(frags[0]);
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
}

TEST(Ipv4Reassembly, FragmentPastLargestDatagramIsMalformed) {
  UdpSpec u = big_udp(16);
  u.ip.frag_offset = 65528;
  const Packet p = Feed()(ip_packet(u.ip, 17, Bytes(16, 1)));
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.what, "the fragment ends past the largest possible datagram");
}

TEST(Ipv4Reassembly, LastFragmentsThatDisagreeAreMalformed) {
  const UdpSpec u = big_udp(200);
  const auto frags = ipv4_fragments(udp_packet(u), 104);
  UdpSpec other = u;
  other.ip.frag_offset = 96;
  Feed feed;
  feed(frags[1]);  // last fragment: the datagram ends at 208
  const Packet p = feed(ip_packet(other.ip, 17, Bytes(200, 0)));  // another "last" ending at 296
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
}

TEST(Ipv4Reassembly, StatelessDecodeDoesNotReassemble) {
  const auto frags = ipv4_fragments(udp_packet(big_udp(500)), 256);
  for (const Bytes& ip : frags) {
    const Bytes f = ethernet_frame(ip);
    Packet p;
    decode_frame(linktype::kEthernet, f.data(), static_cast<std::uint32_t>(f.size()),
                 static_cast<std::uint32_t>(f.size()), p);
    EXPECT_TRUE(p.ip.is_fragment);
    EXPECT_FALSE(p.ip.reassembled);
  }
}

TEST(Ipv4Reassembly, TruncatedFragmentIsNotUsed) {
  const UdpSpec u = big_udp(200);
  const auto frags = ipv4_fragments(udp_packet(u), 104);
  Feed feed;
  const Bytes f0 = ethernet_frame(frags[0]);
  Packet p;
  feed.dec.decode(linktype::kEthernet, f0.data(), 60, static_cast<std::uint32_t>(f0.size()), Timestamp{}, 1, p);
  EXPECT_TRUE(p.ok());  // the headers are all there; payload cut
  EXPECT_FALSE(feed(frags[1]).ip.reassembled);
}

TEST(Ipv4Reassembly, LimitOnPendingDatagramsDropsOldest) {
  DecoderLimits lim;
  lim.max_pending_datagrams = 2;
  Feed feed(lim);
  std::vector<std::vector<Bytes>> dg;
  for (std::uint16_t id = 1; id <= 3; ++id) {
    UdpSpec u = big_udp(100);
    u.ip.id = id;
    dg.push_back(ipv4_fragments(udp_packet(u), 64));
    feed(dg.back()[0]);
  }
  EXPECT_TRUE(feed(dg[2][1]).ip.reassembled);
  EXPECT_TRUE(feed(dg[1][1]).ip.reassembled);
  EXPECT_FALSE(feed(dg[0][1]).ip.reassembled);  // the oldest was dropped
}

TEST(Ipv4Reassembly, LimitOnBufferedBytesDropsOldest) {
  DecoderLimits lim;
  lim.max_reassembly_bytes = 2000;
  Feed feed(lim);
  UdpSpec a = big_udp(3000), b = big_udp(3000);
  a.ip.id = 1;
  b.ip.id = 2;
  const auto fa = ipv4_fragments(udp_packet(a), 1480), fb = ipv4_fragments(udp_packet(b), 1480);
  feed(fa[0]);
  feed(fb[0]);  // 1480 + 1480 > 2000: datagram a is dropped
  feed(fa[1]);  // a starts again; now b is dropped
  EXPECT_FALSE(feed(fa[2]).ip.reassembled);
  EXPECT_FALSE(feed(fb[2]).ip.reassembled);
}

TEST(Ipv4Reassembly, TimeoutDropsStaleFragments) {
  DecoderLimits lim;
  lim.fragment_timeout_ns = 5'000'000'000LL;
  Feed feed(lim);
  const auto frags = ipv4_fragments(udp_packet(big_udp(200)), 104);
  feed(frags[0], 100);
  EXPECT_FALSE(feed(frags[1], 106).ip.reassembled);
  feed(frags[0], 200);
  EXPECT_TRUE(feed(frags[1], 204).ip.reassembled);
}

TEST(Ipv4Reassembly, ManyFragmentsStayBounded) {
  Feed feed;
  for (std::uint32_t i = 0; i < 5000; ++i) {
    UdpSpec u = big_udp(64);
    u.ip.id = static_cast<std::uint16_t>(i);
    u.ip.mf = true;
    feed(ip_packet(u.ip, 17, Bytes(64, 0)), i);
  }
  SUCCEED();
}

TEST(Ipv6Reassembly, ThreeFragments) {
  const UdpSpec u = big_udp(3000 - 8, "2001:db8::1", "2001:db8::2");
  const auto frags = ipv6_fragments(udp_packet(u), 1448, 77);
  ASSERT_EQ(frags.size(), 3u);
  Feed feed;
  EXPECT_FALSE(feed(frags[0]).ip.reassembled);
  EXPECT_FALSE(feed(frags[1]).ip.reassembled);
  const Packet p = feed(frags[2]);
  expect_whole_udp(p, u, 3);
  EXPECT_EQ(p.ip.v6.frag_id, 77u);
  EXPECT_EQ(p.ip.proto, 17);
}

TEST(Ipv6Reassembly, OutOfOrderFragments) {
  const UdpSpec u = big_udp(1000, "2001:db8::1", "2001:db8::2");
  const auto frags = ipv6_fragments(udp_packet(u), 400, 5);
  Feed feed;
  feed(frags[1]);
  feed(frags[2]);
  const Packet p = feed(frags[0]);
  expect_whole_udp(p, u, 3);
  EXPECT_EQ(p.ip.v6.ext_count, 1);  // only the fragment header, counted once
}

TEST(Ipv6Reassembly, FragmentablePartWithDestinationOptions) {
  UdpSpec u = big_udp(600, "2001:db8::1", "2001:db8::2");
  u.ip.v6_ext = {dest_options_ext()};
  const auto frags = ipv6_fragments(udp_packet(u), 304, 6);
  Feed feed;
  Packet p;
  for (const Bytes& f : frags) p = feed(f);
  ASSERT_TRUE(p.ip.reassembled);
  EXPECT_EQ(p.transport, Transport::Udp);
  EXPECT_EQ(p.payload_len, 600u);
  EXPECT_TRUE(p.transport_checksum_ok);
}

TEST(Ipv6Reassembly, OverlapIsMalformed) {
  const UdpSpec u = big_udp(1000, "2001:db8::1", "2001:db8::2");
  const Bytes whole = udp_packet(u);
  const auto a = ipv6_fragments(whole, 400, 9), b = ipv6_fragments(whole, 200, 9);
  Feed feed;
  feed(a[0]);
  const Packet p = feed(b[1]);
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
  EXPECT_STREQ(p.error.layer, "ipv6");
}

TEST(Ipv6Reassembly, SameIdFromDifferentSourcesKeptApart) {
  const UdpSpec u1 = big_udp(300, "2001:db8::1", "2001:db8::2");
  const UdpSpec u2 = big_udp(300, "2001:db8::3", "2001:db8::2");
  const auto f1 = ipv6_fragments(udp_packet(u1), 160, 1), f2 = ipv6_fragments(udp_packet(u2), 160, 1);
  Feed feed;
  feed(f1[0]);
  feed(f2[0]);
  EXPECT_TRUE(feed(f1[1]).ip.reassembled);
  EXPECT_TRUE(feed(f2[1]).ip.reassembled);
}
