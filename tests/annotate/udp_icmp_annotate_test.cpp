// UDP conversations, IP fragments and ICMP unreachable tied to the datagram it answers.
#include <gtest/gtest.h>

#include "conversation.hpp"
#include "sockscope/annotate/annotate.hpp"

namespace sockscope {
namespace {

using testing::ipv4;

Packet udp_packet(std::uint64_t frame, IpAddr src, std::uint16_t sport, IpAddr dst, std::uint16_t dport,
                  std::uint32_t len, std::uint16_t ip_id = 0) {
  Packet p;
  p.frame = frame;
  p.ts.sec = 100;
  p.ts.nsec = static_cast<std::uint32_t>(frame * 1000);
  p.ip.version = 4;
  p.ip.src = src;
  p.ip.dst = dst;
  p.ip.proto = 17;
  p.ip.v4.id = ip_id;
  p.transport = Transport::Udp;
  p.udp.sport = sport;
  p.udp.dport = dport;
  p.udp.length = static_cast<std::uint16_t>(8 + len);
  p.payload_len = len;
  p.payload_captured = len;
  return p;
}

const IpAddr kA = ipv4(127, 0, 0, 1);
const IpAddr kB = ipv4(127, 0, 0, 2);

TEST(UdpAnnotate, DatagramsNeedNoHandshake) {
  Annotator an;
  Annotation a1 = an.annotate(udp_packet(1, kA, 40000, kB, 9000, 5));
  EXPECT_TRUE(a1.events.has(Event::Datagram));
  EXPECT_EQ(a1.conn, 1u);
  EXPECT_EQ(a1.proto, Proto::Udp);
  EXPECT_EQ(a1.dir, Direction::C2S);
  EXPECT_EQ(a1.datagram_index, 1u);
  Annotation a2 = an.annotate(udp_packet(2, kB, 9000, kA, 40000, 8));
  EXPECT_EQ(a2.dir, Direction::S2C);
  EXPECT_EQ(a2.conn, 1u);
  Annotation a3 = an.annotate(udp_packet(3, kA, 40000, kB, 9000, 5));
  EXPECT_EQ(a3.datagram_index, 2u);
  std::vector<ConnSummary> out;
  an.finish(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].datagrams_c2s, 2u);
  EXPECT_EQ(out[0].datagrams_s2c, 1u);
  EXPECT_EQ(out[0].bytes_c2s, 10u);
  EXPECT_EQ(out[0].conn_state, ConnState::SF);
  EXPECT_STREQ(out[0].history.data(), "Dd");
  EXPECT_EQ(out[0].client.port, 40000);
}

TEST(UdpAnnotate, OneWayIsS0) {
  Annotator an;
  an.annotate(udp_packet(1, kA, 40000, kB, 9000, 5));
  std::vector<ConnSummary> out;
  an.finish(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].conn_state, ConnState::S0);
}

TEST(UdpAnnotate, IdleUdpConversationIsReleased) {
  AnnotatorLimits limits;
  limits.udp_idle_timeout_ns = 5'000'000'000LL;
  Annotator an(limits);
  Packet p = udp_packet(1, kA, 40000, kB, 9000, 5);
  an.annotate(p);
  for (std::uint64_t f = 2; f < 20; ++f) {
    Packet q = udp_packet(f, kA, 40001, kB, 9001, 5);
    q.ts.sec = static_cast<std::int64_t>(100 + f);
    an.annotate(q);
  }
  std::vector<ConnSummary> out;
  an.take_finished(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].conn, 1u);
}

TEST(IpAnnotate, FragmentsAndTheReassembledDatagram) {
  Annotator an;
  Packet f1 = udp_packet(1, kA, 40000, kB, 9000, 3000, 77);
  f1.ip.is_fragment = true;
  f1.transport = Transport::Other;
  Annotation a1 = an.annotate(f1);
  EXPECT_TRUE(a1.events.has(Event::IpFragment));
  EXPECT_FALSE(a1.events.has(Event::Datagram));
  Packet f3 = udp_packet(2, kA, 40000, kB, 9000, 3000, 77);
  f3.ip.is_fragment = true;
  f3.ip.reassembled = true;
  f3.ip.frag_count = 3;
  Annotation a3 = an.annotate(f3);
  EXPECT_TRUE(a3.events.has(Event::IpFragment));
  EXPECT_TRUE(a3.events.has(Event::Reassembled));
  EXPECT_TRUE(a3.events.has(Event::Datagram));
  EXPECT_EQ(a3.fragment_count, 3);
}

TEST(IcmpAnnotate, PortUnreachableQuotesTheDatagram) {
  Annotator an;
  an.annotate(udp_packet(1, kA, 40000, kB, 9, 5, 0x1111));
  an.annotate(udp_packet(2, kA, 40000, kB, 9, 5, 0x2222));
  Packet icmp;
  icmp.frame = 3;
  icmp.ip.version = 4;
  icmp.ip.src = kB;
  icmp.ip.dst = kA;
  icmp.ip.proto = 1;
  icmp.transport = Transport::Icmp;
  icmp.icmp.type = 3;
  icmp.icmp.code = 3;
  icmp.icmp.unreachable = true;
  icmp.icmp.port_unreachable = true;
  icmp.icmp.has_quote = true;
  icmp.icmp.quoted_src = kA;
  icmp.icmp.quoted_dst = kB;
  icmp.icmp.quoted_proto = 17;
  icmp.icmp.quoted_ip_id = 0x1111;
  icmp.icmp.quoted_sport = 40000;
  icmp.icmp.quoted_dport = 9;
  icmp.icmp.quoted_ports = true;
  Annotation a = an.annotate(icmp);
  EXPECT_TRUE(a.events.has(Event::IcmpUnreachable));
  EXPECT_EQ(a.proto, Proto::Icmp);
  EXPECT_EQ(a.quotes_conn, 1u);
  EXPECT_EQ(a.quotes_frame, 1u);  // the IP ID picks the first datagram, not the latest
  icmp.icmp.quoted_ip_id = 0x9999;  // unknown ID: the latest datagram that way
  icmp.frame = 4;
  EXPECT_EQ(an.annotate(icmp).quotes_frame, 2u);
}

TEST(IcmpAnnotate, UnreachableForUnknownConversationQuotesNothing) {
  Annotator an;
  Packet icmp;
  icmp.frame = 1;
  icmp.transport = Transport::Icmp;
  icmp.icmp.unreachable = true;
  icmp.icmp.has_quote = true;
  icmp.icmp.quoted_proto = 17;
  icmp.icmp.quoted_ports = true;
  Annotation a = an.annotate(icmp);
  EXPECT_TRUE(a.events.has(Event::IcmpUnreachable));
  EXPECT_EQ(a.quotes_frame, 0u);
}

TEST(EventNames, RoundTripEveryGlossaryWord) {
  for (int i = 0; i < kEventCount; ++i) {
    Event e = static_cast<Event>(i);
    auto back = event_from_name(event_name(e));
    ASSERT_TRUE(back.has_value()) << event_name(e);
    EXPECT_EQ(*back, e);
  }
  EXPECT_FALSE(event_from_name("handshake-4").has_value());
  EXPECT_STREQ(event_name(Event::FastRetransmission), "fast-retransmission");
  EXPECT_STREQ(tcp_state_name(TcpState::TimeWait), "TIME-WAIT");
  EXPECT_STREQ(close_kind_name(CloseKind::Fin3), "fin-3");
  EXPECT_STREQ(conn_state_name(ConnState::RSTOS0), "RSTOS0");
}

}  // namespace
}  // namespace sockscope
