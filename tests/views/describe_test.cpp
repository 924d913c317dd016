// describe(): one sentence per packet, for every event word of the glossary.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "fixtures.hpp"
#include "sockscope/annotate/events.hpp"
#include "sockscope/views/views.hpp"

namespace sockscope {
namespace {

using testing::tcp_annotation;
using testing::tcp_packet;
using testing::udp_packet;

constexpr std::uint16_t kSyn = tcpflag::kSyn, kAck = tcpflag::kAck, kFin = tcpflag::kFin,
                        kRst = tcpflag::kRst, kPsh = tcpflag::kPsh;

std::string text(const Packet& p, const Annotation& a) {
  std::string out = "stale";
  describe(p, a, out);
  return out;
}

TEST(Describe, Handshake1NamesTheClientIsn) {
  const Packet p = tcp_packet(1, 0, true, kSyn);
  EXPECT_EQ(text(p, tcp_annotation(true, {Event::Handshake1})),
            "handshake 1/3: the client asks to open a connection; its ISN is 1721634020");
}

TEST(Describe, Handshake2SaysAckIsClientIsnPlusOne) {
  const Packet p = tcp_packet(2, 0, false, kSyn | kAck);
  EXPECT_EQ(text(p, tcp_annotation(false, {Event::Handshake2})),
            "handshake 2/3: the server agrees; ack = client ISN + 1; its own ISN is 3000000000");
}

TEST(Describe, Handshake3SaysBothSidesAreEstablished) {
  const Packet p = tcp_packet(3, 0, true, kAck);
  EXPECT_EQ(text(p, tcp_annotation(true, {Event::Handshake3})),
            "handshake 3/3: the client confirms; both sides are ESTABLISHED");
}

TEST(Describe, DataNamesRelativeBytes) {
  const Packet p = tcp_packet(4, 0, true, kPsh | kAck, "hello");
  Annotation a = tcp_annotation(true, {Event::Data});
  a.data_first = 1;
  a.data_last = 5;
  EXPECT_EQ(text(p, a), "data: bytes 1..5");
}

TEST(Describe, AckNamesBytesAndFrames) {
  const Packet p = tcp_packet(5, 0, false, kAck);
  Annotation a = tcp_annotation(false, {Event::Ack});
  a.acked_first = 1;
  a.acked_last = 5;
  a.acked_frame_count = 1;
  a.acked_frames[0] = 4;
  EXPECT_EQ(text(p, a), "ack: the server has bytes 1..5 (frame 4)");
  a.acked_last = 15;
  a.acked_frame_count = 2;
  a.acked_frames[1] = 6;
  a.acked_frames_more = true;
  EXPECT_EQ(text(p, a), "ack: the server has bytes 1..15 (frames 4, 6, \xe2\x80\xa6)");
}

TEST(Describe, Teardown1IsFinWait1) {
  const Packet p = tcp_packet(9, 0, true, kFin | kAck);
  Annotation a = tcp_annotation(true, {Event::Teardown1});
  a.client_state = TcpState::FinWait1;
  EXPECT_EQ(text(p, a), "teardown 1/4: the client is done sending (FIN-WAIT-1)");
}

TEST(Describe, Teardown2IsCloseWait) {
  const Packet p = tcp_packet(10, 0, false, kAck);
  Annotation a = tcp_annotation(false, {Event::Teardown2});
  a.server_state = TcpState::CloseWait;
  EXPECT_EQ(text(p, a), "teardown 2/4: the server acknowledges the FIN (CLOSE-WAIT)");
}

TEST(Describe, Teardown3IsLastAck) {
  const Packet p = tcp_packet(11, 0, false, kFin | kAck);
  Annotation a = tcp_annotation(false, {Event::Teardown3});
  a.server_state = TcpState::LastAck;
  EXPECT_EQ(text(p, a), "teardown 3/4: the server is done sending too (LAST-ACK)");
}

TEST(Describe, Teardown2And3InOneSegmentExplainsTheThreeSegmentClose) {
  const Packet p = tcp_packet(10, 0, false, kFin | kAck);
  Annotation a = tcp_annotation(false, {Event::Teardown2, Event::Teardown3});
  a.fin_carries_ack = true;
  EXPECT_EQ(text(p, a),
            "teardown 2/4 and 3/4 in one segment: the server acknowledges the FIN and sends its own in the same "
            "segment, so this close takes three segments, not four");
}

TEST(Describe, Teardown4IsTimeWait) {
  const Packet p = tcp_packet(12, 0, true, kAck);
  Annotation a = tcp_annotation(true, {Event::Teardown4});
  a.client_state = TcpState::TimeWait;
  EXPECT_EQ(text(p, a), "teardown 4/4: the client acknowledges the last FIN and waits in TIME-WAIT; the server is CLOSED");
}

TEST(Describe, RefusedNamesThePort) {
  Packet p = tcp_packet(2, 0, false, kRst | kAck);
  p.tcp.sport = 9;
  EXPECT_EQ(text(p, tcp_annotation(false, {Event::Rst, Event::Refused})),
            "refused: RST answers the SYN: nobody listens on port 9");
}

TEST(Describe, AbortNamesTheState) {
  const Packet p = tcp_packet(7, 0, true, kRst);
  Annotation a = tcp_annotation(true, {Event::Rst, Event::Abort});
  a.rst_sender_state = TcpState::Established;
  EXPECT_EQ(text(p, a), "abort: the client resets the connection (it was ESTABLISHED); bytes in flight are lost");
}

TEST(Describe, RetransmissionNamesOriginalFrameAndDelay) {
  const Packet p = tcp_packet(8, 0, true, kPsh | kAck, "hello");
  Annotation a = tcp_annotation(true, {Event::Retransmission});
  a.original_frame = 7;
  a.since_original_ns = 201'000'000;
  EXPECT_EQ(text(p, a), "retransmission of frame 7 after 201 ms");
  a.since_original_ns = 12'500'000;
  EXPECT_EQ(text(p, a), "retransmission of frame 7 after 12.5 ms");
}

TEST(Describe, FastRetransmissionReplacesPlainRetransmission) {
  const Packet p = tcp_packet(8, 0, true, kPsh | kAck, "hello");
  Annotation a = tcp_annotation(true, {Event::Retransmission, Event::FastRetransmission});
  a.original_frame = 7;
  a.since_original_ns = 3'000'000;
  EXPECT_EQ(text(p, a), "fast retransmission of frame 7 after 3 ms: duplicate ACKs asked for it");
}

TEST(Describe, DupAckNamesCountAndFrame) {
  const Packet p = tcp_packet(11, 0, false, kAck);
  Annotation a = tcp_annotation(false, {Event::DupAck});
  a.dup_ack_of = 9;
  a.dup_ack_count = 2;
  a.rel_ack = 6;
  EXPECT_EQ(text(p, a), "dup ack #2 of frame 9: the server still waits for byte 6");
}

TEST(Describe, DatagramNamesIndexAndSender) {
  const Packet p = udp_packet(3, 0, true, "hi");
  Annotation a;
  a.conn = 2;
  a.proto = Proto::Udp;
  a.dir = Direction::C2S;
  a.events.add(Event::Datagram);
  a.datagram_index = 3;
  EXPECT_EQ(text(p, a), "UDP datagram 3 from the client: no handshake, no ACK");
}

TEST(Describe, IcmpPortUnreachableNamesTheFrameItAnswers) {
  Packet p = tcp_packet(6, 0, false, 0);
  p.transport = Transport::Icmp;
  p.icmp.type = 3;
  p.icmp.code = 3;
  p.icmp.unreachable = p.icmp.port_unreachable = true;
  Annotation a;
  a.events.add(Event::IcmpUnreachable);
  a.quotes_frame = 5;
  EXPECT_EQ(text(p, a), "ICMP port unreachable: answers frame 5");
  p.icmp.quoted_ports = true;
  p.icmp.quoted_dport = 9;
  EXPECT_EQ(text(p, a), "ICMP port unreachable: answers frame 5; nothing listens on port 9");
}

TEST(Describe, MalformedSaysLayerWhatAndOffset) {
  Packet p = tcp_packet(4, 0, true, kAck);
  p.error = {DecodeStatus::Malformed, "tcp", "data offset is below 5", 46};
  Annotation a;
  a.events.add(Event::Malformed);
  EXPECT_EQ(text(p, a), "malformed: tcp: data offset is below 5 (byte 46)");
}

TEST(Describe, TruncatedSaysHowMuchWasCaptured) {
  Packet p = tcp_packet(4, 0, true, kAck);
  p.error = {DecodeStatus::Truncated, "tcp", "header cut short", 40};
  p.caplen = 40;
  p.wirelen = 54;
  Annotation a;
  a.events.add(Event::Malformed);
  EXPECT_EQ(text(p, a), "malformed: tcp: header cut short (byte 40): the capture kept only 40 of 54 bytes");
}

TEST(Describe, ChecksumBadMentionsOffloadWhenLikely) {
  Packet p = tcp_packet(4, 0, true, kAck);
  p.transport_checksum_checked = true;
  p.transport_checksum_ok = false;
  Annotation a = tcp_annotation(true, {Event::ChecksumBad});
  EXPECT_EQ(text(p, a), "checksum-bad: the TCP checksum is wrong");
  a.checksum_offload_likely = true;
  EXPECT_EQ(text(p, a), "checksum-bad: the TCP checksum is wrong (likely checksum offload: the sender is this host)");
}

TEST(Describe, SeveralEventsJoinWithSemicolons) {
  const Packet p = tcp_packet(3, 0, true, kPsh | kAck, "hello");
  Annotation a = tcp_annotation(true, {Event::Handshake3, Event::Data});
  a.data_first = 1;
  a.data_last = 5;
  EXPECT_EQ(text(p, a), "handshake 3/3: the client confirms; both sides are ESTABLISHED; data: bytes 1..5");
}

// Every event word has its own sentence: none is silently dropped, none falls back to the generic text.
TEST(Describe, EveryEventWordHasADistinctSentence) {
  std::set<std::string> seen;
  for (int i = 0; i < kEventCount; ++i) {
    const Event e = static_cast<Event>(i);
    Packet p = tcp_packet(5, 0, true, kAck, "x");
    if (e == Event::IpFragment || e == Event::Reassembled) p.ip.is_fragment = true;
    if (e == Event::IcmpUnreachable) {
      p.transport = Transport::Icmp;
      p.icmp.type = 3;
      p.icmp.code = 1;
      p.icmp.unreachable = true;
    }
    if (e == Event::Malformed) p.error = {DecodeStatus::Malformed, "ipv4", "bad version", 14};
    Annotation a = tcp_annotation(true, {e});
    a.original_frame = 2;
    a.dup_ack_of = 2;
    a.dup_ack_count = 1;
    const std::string t = text(p, a);
    SCOPED_TRACE(event_name(e));
    EXPECT_FALSE(t.empty());
    EXPECT_NE(t, "ack: nothing new acknowledged");
    EXPECT_NE(t, "TCP segment");
    EXPECT_TRUE(seen.insert(t).second) << "duplicate sentence: " << t;
  }
}

TEST(Describe, PacketWithoutEventsStillGetsASentence) {
  const Packet p = tcp_packet(5, 0, true, kAck);
  EXPECT_EQ(text(p, tcp_annotation(true, {})), "ack: nothing new acknowledged");
  Packet arp;
  arp.transport = Transport::Arp;
  arp.arp.op = 1;
  arp.arp.sender_ip = testing::v4(10, 0, 0, 1);
  arp.arp.target_ip = testing::v4(10, 0, 0, 2);
  EXPECT_EQ(text(arp, Annotation{}), "ARP: who has 10.0.0.2? tell 10.0.0.1");
}

}  // namespace
}  // namespace sockscope
