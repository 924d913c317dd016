// The TCP annotator, event by event: every glossary word for TCP is made to happen here.
#include <gtest/gtest.h>

#include <string>

#include "conversation.hpp"
#include "sockscope/annotate/annotate.hpp"

namespace sockscope {
namespace {

using testing::ack;
using testing::Conversation;
using testing::data;
using testing::fin;
using testing::kClient;
using testing::kServer;
using testing::rst;
using testing::Seg;
using testing::syn;
using testing::synack;

std::string words(const Annotation& a) {
  std::string s;
  a.events.for_each([&](Event e) {
    if (!s.empty()) s += ' ';
    s += event_name(e);
  });
  return s;
}

ConnSummary only_summary(Annotator& an) {
  std::vector<ConnSummary> out;
  an.finish(out);
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? ConnSummary{} : out.front();
}

void handshake(Annotator& an, Conversation& c) {
  c.send(an, syn());
  c.send(an, synack());
  c.send(an, ack(kClient));
}

TEST(TcpAnnotate, ThreeWayHandshakeStepsAndStates) {
  Annotator an;
  Conversation c(1721634020, 99);
  Annotation a1 = c.send(an, syn());
  EXPECT_EQ(words(a1), "handshake-1");
  EXPECT_EQ(a1.conn, 1u);
  EXPECT_EQ(a1.dir, Direction::C2S);
  EXPECT_EQ(a1.rel_seq, 0u);
  EXPECT_EQ(a1.client_state, TcpState::SynSent);
  EXPECT_EQ(a1.server_state, TcpState::Listen);
  EXPECT_TRUE(a1.isn_client_known);
  EXPECT_EQ(a1.isn_client, 1721634020u);

  Annotation a2 = c.send(an, synack());
  EXPECT_EQ(words(a2), "handshake-2");
  EXPECT_EQ(a2.dir, Direction::S2C);
  EXPECT_EQ(a2.rel_seq, 0u);
  EXPECT_EQ(a2.rel_ack, 1u);  // ack = client ISN + 1
  EXPECT_TRUE(a2.acks_syn);
  EXPECT_EQ(a2.client_state, TcpState::Established);
  EXPECT_EQ(a2.server_state, TcpState::SynReceived);

  Annotation a3 = c.send(an, ack(kClient));
  EXPECT_EQ(words(a3), "handshake-3");
  EXPECT_EQ(a3.rel_seq, 1u);
  EXPECT_EQ(a3.rel_ack, 1u);
  EXPECT_EQ(a3.client_state, TcpState::Established);
  EXPECT_EQ(a3.server_state, TcpState::Established);

  ConnSummary s = only_summary(an);
  EXPECT_TRUE(s.handshake_complete);
  EXPECT_EQ(s.handshake_frame_count, 3);
  EXPECT_EQ(s.handshake_frames[2], 3u);
  EXPECT_EQ(s.conn_state, ConnState::S1);
  EXPECT_STREQ(s.history.data(), "ShA");
  EXPECT_EQ(s.close, CloseKind::Open);
}

TEST(TcpAnnotate, DataAndTheAckThatCoversIt) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  Annotation d = c.send(an, data(kClient, 5));  // frame 4
  EXPECT_EQ(words(d), "data");
  EXPECT_EQ(d.rel_seq, 1u);
  EXPECT_EQ(d.data_first, 1u);
  EXPECT_EQ(d.data_last, 5u);
  Annotation k = c.send(an, ack(kServer));
  EXPECT_EQ(words(k), "ack");
  EXPECT_EQ(k.rel_ack, 6u);
  EXPECT_EQ(k.acked_first, 1u);
  EXPECT_EQ(k.acked_last, 5u);
  ASSERT_EQ(k.acked_frame_count, 1);
  EXPECT_EQ(k.acked_frames[0], 4u);
}

TEST(TcpAnnotate, AckRidesOnDataTheOtherWay) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  c.send(an, data(kClient, 5));                  // frame 4: bytes 1..5
  Annotation r = c.send(an, data(kServer, 8));   // frame 5: server data acks the client's bytes
  EXPECT_EQ(words(r), "data ack");
  EXPECT_EQ(r.acked_last, 5u);
  EXPECT_EQ(r.data_first, 1u);
  EXPECT_EQ(r.data_last, 8u);
  c.send(an, data(kClient, 3));                  // frame 6
  c.send(an, data(kClient, 4));                  // frame 7
  Annotation k = c.send(an, ack(kServer));       // one ACK covers two segments
  EXPECT_EQ(k.acked_first, 6u);
  EXPECT_EQ(k.acked_last, 12u);
  ASSERT_EQ(k.acked_frame_count, 2);
  EXPECT_EQ(k.acked_frames[0], 6u);
  EXPECT_EQ(k.acked_frames[1], 7u);
}

TEST(TcpAnnotate, FourSegmentTeardown) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  c.send(an, data(kClient, 5));
  c.send(an, ack(kServer));
  Annotation f1 = c.send(an, fin(kClient));
  EXPECT_EQ(words(f1), "teardown-1");
  EXPECT_EQ(f1.client_state, TcpState::FinWait1);
  EXPECT_EQ(f1.server_state, TcpState::CloseWait);
  Annotation f2 = c.send(an, ack(kServer));
  EXPECT_EQ(words(f2), "teardown-2");
  EXPECT_TRUE(f2.acks_fin);
  EXPECT_EQ(f2.client_state, TcpState::FinWait2);
  EXPECT_EQ(f2.server_state, TcpState::CloseWait);
  Annotation f3 = c.send(an, fin(kServer));
  EXPECT_EQ(words(f3), "teardown-3");
  EXPECT_EQ(f3.server_state, TcpState::LastAck);
  EXPECT_EQ(f3.client_state, TcpState::TimeWait);
  Annotation f4 = c.send(an, ack(kClient));
  EXPECT_EQ(words(f4), "teardown-4");
  EXPECT_EQ(f4.server_state, TcpState::Closed);
  EXPECT_EQ(f4.client_state, TcpState::TimeWait);
  ConnSummary s = only_summary(an);
  EXPECT_EQ(s.close, CloseKind::Fin4);
  ASSERT_EQ(s.close_frame_count, 4);
  EXPECT_EQ(s.close_frames[0], 6u);
  EXPECT_EQ(s.close_frames[3], 9u);
  EXPECT_EQ(s.conn_state, ConnState::SF);
  EXPECT_STREQ(s.history.data(), "ShADaFf");
  EXPECT_EQ(s.bytes_c2s, 5u);
}

TEST(TcpAnnotate, ThreeSegmentCloseCarriesBothSteps) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  c.send(an, fin(kClient));
  Annotation f23 = c.send(an, fin(kServer));  // FIN that also ACKs the client's FIN
  EXPECT_TRUE(f23.events.has(Event::Teardown2));
  EXPECT_TRUE(f23.events.has(Event::Teardown3));
  EXPECT_TRUE(f23.fin_carries_ack);
  EXPECT_EQ(f23.client_state, TcpState::TimeWait);
  EXPECT_EQ(f23.server_state, TcpState::LastAck);
  Annotation f4 = c.send(an, ack(kClient));
  EXPECT_EQ(words(f4), "teardown-4");
  ConnSummary s = only_summary(an);
  EXPECT_EQ(s.close, CloseKind::Fin3);
  EXPECT_EQ(s.close_frame_count, 3);
  EXPECT_EQ(s.conn_state, ConnState::SF);
}

TEST(TcpAnnotate, SimultaneousClose) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  c.send(an, fin(kClient));
  // The server's FIN does not acknowledge the client's FIN: both were sent before either was ACKed.
  Seg sf = fin(kServer);
  sf.has_ack_override = true;
  sf.ack_override = c.next(kClient) - 1;
  Annotation f = c.send(an, sf);
  EXPECT_TRUE(f.events.has(Event::Teardown3));
  EXPECT_TRUE(f.events.has(Event::SimultaneousClose));
  EXPECT_EQ(f.client_state, TcpState::Closing);
  EXPECT_EQ(f.server_state, TcpState::Closing);
  Annotation a1 = c.send(an, ack(kClient));   // acks the server's FIN (the second FIN)
  EXPECT_TRUE(a1.events.has(Event::Teardown4));
  Annotation a2 = c.send(an, ack(kServer));   // acks the client's FIN (the first FIN)
  EXPECT_TRUE(a2.events.has(Event::Teardown2));
  EXPECT_EQ(a2.client_state, TcpState::TimeWait);
  EXPECT_EQ(a2.server_state, TcpState::TimeWait);
  EXPECT_EQ(only_summary(an).close, CloseKind::Simultaneous);
}

TEST(TcpAnnotate, HalfCloseDataAfterPeersFin) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  c.send(an, fin(kClient));
  c.send(an, ack(kServer));
  Annotation d = c.send(an, data(kServer, 10));
  EXPECT_TRUE(d.events.has(Event::HalfClose));
  EXPECT_TRUE(d.events.has(Event::Data));
  Annotation k = c.send(an, ack(kClient));
  EXPECT_TRUE(k.events.has(Event::Ack));
  EXPECT_FALSE(k.events.has(Event::Teardown4));
  c.send(an, fin(kServer));
  c.send(an, ack(kClient));
  ConnSummary s = only_summary(an);
  EXPECT_EQ(s.close, CloseKind::Fin4);
  EXPECT_EQ(s.bytes_s2c, 10u);
}

TEST(TcpAnnotate, OneFinOnlyIsHalfClosed) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  c.send(an, fin(kClient));
  c.send(an, ack(kServer));
  ConnSummary s = only_summary(an);
  EXPECT_EQ(s.close, CloseKind::HalfClosed);
  EXPECT_EQ(s.conn_state, ConnState::S2);
}

TEST(TcpAnnotate, RstAnsweringSynIsRefused) {
  Annotator an;
  Conversation c;
  c.send(an, syn());
  Annotation r = c.send(an, rst(kServer));
  EXPECT_EQ(words(r), "rst refused");
  EXPECT_EQ(r.client_state, TcpState::Closed);
  ConnSummary s = only_summary(an);
  EXPECT_EQ(s.close, CloseKind::Refused);
  EXPECT_EQ(s.conn_state, ConnState::REJ);
  EXPECT_STREQ(s.history.data(), "Sr");
  ASSERT_EQ(s.close_frame_count, 1);
  EXPECT_EQ(s.close_frames[0], 2u);
}

TEST(TcpAnnotate, RstOnOpenConnectionIsAbort) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  c.send(an, data(kClient, 5));
  Annotation r = c.send(an, rst(kClient));
  EXPECT_EQ(words(r), "rst abort");
  EXPECT_EQ(r.rst_sender_state, TcpState::Established);
  ConnSummary s = only_summary(an);
  EXPECT_EQ(s.close, CloseKind::Rst);
  EXPECT_EQ(s.conn_state, ConnState::RSTO);
}

TEST(TcpAnnotate, RstAfterFinStillClosesAsRst) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  c.send(an, fin(kClient));
  c.send(an, rst(kServer));
  ConnSummary s = only_summary(an);
  EXPECT_EQ(s.close, CloseKind::Rst);
  EXPECT_EQ(s.conn_state, ConnState::RSTR);
}

TEST(TcpAnnotate, SynSentTwiceIsRetransmittedHandshake1) {
  Annotator an;
  Conversation c;
  c.send(an, syn());
  Seg again = syn();
  again.seq_delta = -1;  // same ISN
  again.gap_ns = 1'000'000'000;
  Annotation r = c.send(an, again);
  EXPECT_TRUE(r.events.has(Event::Handshake1));
  EXPECT_TRUE(r.events.has(Event::Retransmission));
  EXPECT_EQ(r.original_frame, 1u);
  EXPECT_EQ(r.since_original_ns, 1'000'000'000);
  ConnSummary s = only_summary(an);
  EXPECT_EQ(s.conn_state, ConnState::S0);
  EXPECT_STREQ(s.history.data(), "S");
  EXPECT_EQ(s.retransmissions, 1u);
}

TEST(TcpAnnotate, RetransmissionAfterTimeout) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  c.send(an, data(kClient, 100));  // frame 4
  Seg again = data(kClient, 100);
  again.seq_delta = -100;
  again.gap_ns = 200'000'000;
  Annotation r = c.send(an, again);
  EXPECT_EQ(words(r), "data retransmission");
  EXPECT_EQ(r.original_frame, 4u);
  EXPECT_EQ(r.since_original_ns, 200'000'000);
  ConnSummary s = only_summary(an);
  EXPECT_EQ(s.retransmissions, 1u);
  EXPECT_STREQ(s.history.data(), "ShADT");
}

TEST(TcpAnnotate, LostSegmentDupAcksAndFastRetransmission) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  c.send(an, data(kClient, 100));   // 4: bytes 1..100
  c.send(an, ack(kServer));         // 5: ack 101
  // bytes 101..200 are lost on the way (never captured)
  c.set_next(kClient, c.next(kClient) + 100);
  Seg after = data(kClient, 100);   // 6: bytes 201..300
  Annotation gap = c.send(an, after);
  EXPECT_TRUE(gap.events.has(Event::LostSegment));
  // The receiver keeps asking for byte 101.
  Seg dup = ack(kServer);
  dup.has_ack_override = true;
  dup.ack_override = 1000 + 101;
  Annotation d1 = c.send(an, dup);  // 7
  EXPECT_TRUE(d1.events.has(Event::DupAck));
  EXPECT_EQ(d1.dup_ack_of, 5u);
  EXPECT_EQ(d1.dup_ack_count, 1u);
  c.send(an, data(kClient, 100));   // 8: bytes 301..400
  Annotation d2 = c.send(an, dup);  // 9
  EXPECT_EQ(d2.dup_ack_count, 2u);
  EXPECT_EQ(d2.dup_ack_of, 5u);
  Seg fill = data(kClient, 100);
  fill.seq_delta = -300;            // bytes 101..200 again
  fill.gap_ns = 5'000'000;
  Annotation fr = c.send(an, fill);  // 10
  EXPECT_TRUE(fr.events.has(Event::FastRetransmission));
  EXPECT_TRUE(fr.events.has(Event::Retransmission));
  Annotation k = c.send(an, ack(kServer));  // 11: now everything
  EXPECT_TRUE(k.events.has(Event::Ack));
  EXPECT_EQ(k.acked_first, 101u);
  EXPECT_EQ(k.acked_last, 400u);
  ConnSummary s = only_summary(an);
  EXPECT_EQ(s.dup_acks, 2u);
  EXPECT_EQ(s.retransmissions, 1u);
}

TEST(TcpAnnotate, SpuriousRetransmission) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  c.send(an, data(kClient, 10));
  c.send(an, ack(kServer));
  Seg again = data(kClient, 10);
  again.seq_delta = -10;
  again.gap_ns = 300'000'000;
  Annotation r = c.send(an, again);
  EXPECT_TRUE(r.events.has(Event::SpuriousRetransmission));
  EXPECT_TRUE(r.events.has(Event::Retransmission));
}

TEST(TcpAnnotate, OutOfOrderSegmentArrivesSoonAfter) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  c.set_next(kClient, c.next(kClient) + 50);
  Seg second = data(kClient, 50);  // bytes 51..100 first
  Annotation g = c.send(an, second);
  EXPECT_TRUE(g.events.has(Event::LostSegment));
  Seg first = data(kClient, 50);
  first.seq_delta = -100;           // bytes 1..50, 20 us later: within one RTT (100 us)
  first.gap_ns = 20'000;
  Annotation o = c.send(an, first);
  EXPECT_TRUE(o.events.has(Event::OutOfOrder));
  EXPECT_FALSE(o.events.has(Event::Retransmission));
}

TEST(TcpAnnotate, AckOfBytesNeverSeen) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  Seg k = ack(kServer);
  k.has_ack_override = true;
  k.ack_override = 1000 + 1 + 500;
  Annotation a = c.send(an, k);
  EXPECT_TRUE(a.events.has(Event::AckUnseen));
}

TEST(TcpAnnotate, ZeroWindowProbeAndWindowUpdate) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  c.send(an, data(kClient, 100));
  Seg full = ack(kServer);
  full.window = 0;
  Annotation z = c.send(an, full);
  EXPECT_TRUE(z.events.has(Event::ZeroWindow));
  EXPECT_TRUE(z.events.has(Event::Ack));
  Seg probe = data(kClient, 1);
  probe.advance = true;
  Annotation p = c.send(an, probe);
  EXPECT_TRUE(p.events.has(Event::ZeroWindowProbe));
  Seg open = ack(kServer);
  open.window = 512;
  open.has_ack_override = true;
  open.ack_override = 1000 + 101;  // the probe byte is not accepted yet
  Annotation u = c.send(an, open);
  EXPECT_TRUE(u.events.has(Event::WindowUpdate));
  EXPECT_FALSE(u.events.has(Event::DupAck));
  ConnSummary s = only_summary(an);
  EXPECT_NE(std::string(s.history.data()).find('w'), std::string::npos);
}

TEST(TcpAnnotate, WindowFull) {
  Annotator an;
  Conversation c;
  handshake(an, c);  // the server's last advertised window: 512 bytes (no scaling)
  Seg w = ack(kServer);
  w.window = 300;
  c.send(an, w);     // window update to 300
  Annotation f = c.send(an, data(kClient, 300));
  EXPECT_TRUE(f.events.has(Event::WindowFull));
}

TEST(TcpAnnotate, KeepaliveAndItsAck) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  c.send(an, data(kClient, 5));
  c.send(an, ack(kServer));
  Seg ka = ack(kClient);
  ka.seq_delta = -1;
  ka.gap_ns = 7'200'000'000'000LL / 1000;
  Annotation k = c.send(an, ka);
  EXPECT_TRUE(k.events.has(Event::Keepalive));
  EXPECT_FALSE(k.events.has(Event::Retransmission));
  Annotation r = c.send(an, ack(kServer));
  EXPECT_TRUE(r.events.has(Event::KeepaliveAck));
  EXPECT_FALSE(r.events.has(Event::DupAck));
}

TEST(TcpAnnotate, DuplicateAckWithoutDataInFlight) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  c.send(an, data(kServer, 10));     // 4
  c.send(an, ack(kClient));          // 5
  Annotation d = c.send(an, ack(kClient));  // 6: same ack, same window
  EXPECT_TRUE(d.events.has(Event::DupAck));
  EXPECT_EQ(d.dup_ack_of, 5u);
}

TEST(TcpAnnotate, NewSynOnClosedTupleIsPortReuse) {
  Annotator an;
  Conversation c;
  handshake(an, c);
  c.send(an, fin(kClient));
  c.send(an, fin(kServer));
  c.send(an, ack(kClient));
  Conversation again(777777, 888888);
  Annotation s = again.send(an, syn());
  EXPECT_TRUE(s.events.has(Event::PortReuse));
  EXPECT_TRUE(s.events.has(Event::Handshake1));
  EXPECT_EQ(s.conn, 2u);
  std::vector<ConnSummary> out;
  an.take_finished(out);
  ASSERT_EQ(out.size(), 1u);  // the first connection was summarised when the port was reused
  EXPECT_EQ(out[0].conn, 1u);
}

TEST(TcpAnnotate, SequenceNumbersWrapAround) {
  Annotator an;
  Conversation c(0xFFFFFFF0u, 0xFFFFFFFFu);
  handshake(an, c);
  Annotation d = c.send(an, data(kClient, 100));  // crosses 2^32
  EXPECT_EQ(words(d), "data");
  EXPECT_EQ(d.data_first, 1u);
  EXPECT_EQ(d.data_last, 100u);
  Annotation k = c.send(an, ack(kServer));
  EXPECT_EQ(words(k), "ack");
  EXPECT_EQ(k.acked_last, 100u);
  EXPECT_EQ(k.rel_ack, 101u);
  Annotation r = c.send(an, data(kServer, 20));
  EXPECT_EQ(r.data_first, 1u);
  EXPECT_FALSE(r.events.has(Event::Retransmission));
  EXPECT_FALSE(r.events.has(Event::LostSegment));
}

TEST(TcpAnnotate, MidStreamPickupIsOth) {
  Annotator an;
  Conversation c;
  Annotation a = c.send(an, data(kClient, 10));
  EXPECT_EQ(a.conn, 1u);
  EXPECT_EQ(a.data_first, 1u);  // numbered from the first byte seen, as Wireshark does
  c.send(an, ack(kServer));
  ConnSummary s = only_summary(an);
  EXPECT_EQ(s.conn_state, ConnState::OTH);
  EXPECT_FALSE(s.handshake_complete);
}

TEST(TcpAnnotate, WindowScaleAppliesAfterBothSynsOfferIt) {
  Annotator an;
  Conversation c;
  Packet s = c.make(syn());
  s.tcp.has_wscale = true;
  s.tcp.wscale = 7;
  an.annotate(s);
  Packet sa = c.make(synack());
  sa.tcp.has_wscale = true;
  sa.tcp.wscale = 2;
  Annotation a2 = an.annotate(sa);
  EXPECT_EQ(a2.window, 512u);  // never scaled in a SYN
  Annotation a3 = c.send(an, ack(kClient));
  EXPECT_EQ(a3.window, 512u << 7);
  Annotation a4 = c.send(an, ack(kServer));
  EXPECT_EQ(a4.window, 512u << 2);
}

TEST(TcpAnnotate, ConnStatesOfIncompleteConnections) {
  {
    Annotator an;
    Conversation c;
    c.send(an, synack());
    c.send(an, rst(kServer));
    EXPECT_EQ(only_summary(an).conn_state, ConnState::RSTRH);
  }
  {
    Annotator an;
    Conversation c;
    c.send(an, syn());
    c.send(an, rst(kClient));
    EXPECT_EQ(only_summary(an).conn_state, ConnState::RSTOS0);
  }
  {
    Annotator an;
    Conversation c;
    handshake(an, c);
    c.send(an, fin(kServer));
    EXPECT_EQ(only_summary(an).conn_state, ConnState::S3);
  }
}

TEST(TcpAnnotate, FinishedConnectionsAreReleased) {
  AnnotatorLimits limits;
  limits.closed_linger_ns = 1'000'000'000;
  Annotator an(limits);
  std::vector<ConnSummary> done;
  std::size_t peak = 0;
  for (std::uint16_t i = 0; i < 2000; ++i) {
    Conversation c(1000u + i, 5000u, static_cast<std::uint16_t>(20000 + i));
    // Each connection lives in its own second of capture time.
    Seg first = syn();
    first.gap_ns = static_cast<std::int64_t>(i) * 1'000'000'000LL;
    c.send(an, first);
    c.send(an, synack());
    c.send(an, ack(kClient));
    c.send(an, fin(kClient));
    c.send(an, fin(kServer));
    c.send(an, ack(kClient));
    an.take_finished(done);
    peak = std::max(peak, an.open_conversations());
  }
  EXPECT_LE(peak, 8u);  // memory follows open connections, not capture length
  an.finish(done);
  ASSERT_EQ(done.size(), 2000u);
  for (const auto& s : done) EXPECT_EQ(s.conn_state, ConnState::SF);
}

TEST(TcpAnnotate, ConversationLimitEvictsLeastRecentlyActive) {
  AnnotatorLimits limits;
  limits.max_conversations = 10;
  Annotator an(limits);
  for (std::uint16_t i = 0; i < 50; ++i) {
    Conversation c(1000u + i, 5000u, static_cast<std::uint16_t>(30000 + i));
    c.send(an, syn());
  }
  EXPECT_LE(an.open_conversations(), 10u);
  std::vector<ConnSummary> out;
  an.finish(out);
  EXPECT_EQ(out.size(), 50u);
}

TEST(TcpAnnotate, CallsFindTheirConversationByEndpoints) {
  Annotator an;
  Conversation c;
  c.send(an, syn());
  const Endpoint client{testing::ipv4(10, 0, 0, 1), 51514}, server{testing::ipv4(10, 0, 0, 2), 9000};
  EXPECT_EQ(an.conversation_of(Proto::Tcp, client, server), 1u);
  EXPECT_EQ(an.conversation_of(Proto::Tcp, server, client), 1u);
  EXPECT_EQ(an.conversation_of(Proto::Udp, client, server), 0u);
  EXPECT_EQ(an.conversation_of(Proto::Tcp, client, Endpoint{server.ip, 9001}), 0u);
}

TEST(TcpAnnotate, MalformedPacketIsAnEventNotACrash) {
  Annotator an;
  Packet p;
  p.frame = 1;
  p.error = DecodeError{DecodeStatus::Malformed, "tcp", "data offset is below 5", 46};
  p.transport = Transport::Tcp;
  p.ip.proto = 6;
  Annotation a = an.annotate(p);
  EXPECT_EQ(words(a), "malformed");
  EXPECT_EQ(a.conn, 0u);
  EXPECT_EQ(a.proto, Proto::Tcp);
}

TEST(TcpAnnotate, BadChecksums) {
  Annotator an;
  Conversation c;
  Packet p = c.make(syn());
  p.transport_checksum_checked = true;
  p.transport_checksum_ok = false;
  Annotation a = an.annotate(p);
  EXPECT_TRUE(a.events.has(Event::ChecksumBad));
  EXPECT_FALSE(a.checksum_offload_likely);
  Packet q = c.make(synack());
  q.ip.v4.checksum_ok = false;
  EXPECT_TRUE(an.annotate(q).events.has(Event::ChecksumBad));
  EXPECT_STREQ(only_summary(an).history.data(), "SCh");
}

constexpr std::int64_t kMinute = 60'000'000'000LL;

// TCP has no idle timeout (RFC 9293 3.8.4): a connection quiet for an hour of capture time goes on
// as the same conversation, and a gap after the silence is a lost segment, as Wireshark says.
TEST(TcpAnnotate, AnHourOfSilenceDoesNotCutAConnectionInTwo) {
  Annotator an;
  Conversation c;
  c.send(an, syn());
  c.send(an, synack());
  c.send(an, ack(kClient));
  c.send(an, data(kClient, 10));
  c.send(an, ack(kServer));
  // Other traffic keeps the capture clock moving (and the table sweeping) during the silence.
  Conversation other(7000, 8000, 40000, 53);
  for (int m = 1; m <= 60; ++m) {
    Seg s = syn();
    s.gap_ns = kMinute;
    other.send(an, s);
    other.set_next(kClient, other.next(kClient) - 1);  // the same SYN again, a minute later
  }
  std::vector<ConnSummary> released;
  an.take_finished(released);
  for (const ConnSummary& s : released) EXPECT_NE(s.conn, 1u) << "the quiet connection was released";
  Seg late = data(kClient, 10);
  late.gap_ns = 61 * kMinute;
  const Annotation a = c.send(an, late);
  EXPECT_EQ(a.conn, 1u);
  EXPECT_TRUE(a.events.has(Event::Data));
  EXPECT_FALSE(a.events.has(Event::Handshake1));
  EXPECT_EQ(a.rel_seq, 11u);
  // Bytes 21..30 were not captured: the next segment says so, in the same conversation.
  Seg after_gap = data(kClient, 10);
  after_gap.seq_delta = 10;
  const Annotation g = c.send(an, after_gap);
  EXPECT_EQ(g.conn, 1u);
  EXPECT_TRUE(g.events.has(Event::LostSegment));
}

// What is released for being quiet: an attempt that never got past its SYNs (10 minutes), and a UDP
// conversation (2 minutes); an open connection only beyond max_conversations, least recent first.
TEST(TcpAnnotate, QuietAttemptsAreReleasedOpenConnectionsOnlyBeyondTheCap) {
  AnnotatorLimits limits;
  limits.max_conversations = 3;
  Annotator an(limits);
  Conversation attempt(1000, 5000, 40001, 9000);
  attempt.send(an, syn());
  Conversation open1(2000, 6000, 40002, 9000), open2(3000, 7000, 40003, 9000);
  for (Conversation* c : {&open1, &open2}) {
    c->send(an, syn());
    c->send(an, synack());
    c->send(an, ack(kClient));
  }
  Seg later = data(kClient, 5);
  later.gap_ns = 11 * kMinute;
  open1.send(an, later);  // 11 minutes on: the attempt (conn 1) goes, the quiet open2 stays
  Seg tick = ack(kServer);
  tick.gap_ns = 2'000'000'000LL;
  open1.send(an, tick);
  std::vector<ConnSummary> released;
  an.take_finished(released);
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].conn, 1u);
  // A fourth conversation beyond the cap of 3... two are open, so no one has to go yet.
  // (Each Conversation keeps its own clock: these start 12 minutes in, after the others.)
  Conversation fourth(4000, 8000, 40004, 9000);
  Seg s4 = syn();
  s4.gap_ns = 12 * kMinute;
  fourth.send(an, s4);
  released.clear();
  an.take_finished(released);
  EXPECT_TRUE(released.empty());
  // ...a fifth makes four: the least recently active (open2, conn 3) is released.
  Conversation fifth(5000, 9000, 40005, 9000);
  Seg s5 = syn();
  s5.gap_ns = 12 * kMinute + 1'000'000;
  fifth.send(an, s5);
  an.take_finished(released);
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].conn, 3u);
}

}  // namespace
}  // namespace sockscope
