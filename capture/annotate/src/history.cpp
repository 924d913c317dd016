// The summary of a released conversation: the close kind and its frames, each endpoint's final state,
// and Zeek conn.log's conn_state.
#include "history.hpp"

namespace sockscope::annotate_detail {

namespace {

void add_close_frame(ConnSummary& s, std::uint64_t f) {
  if (f == 0) return;
  for (std::uint8_t i = 0; i < s.close_frame_count; ++i)
    if (s.close_frames[i] == f) return;
  if (s.close_frame_count < s.close_frames.size()) s.close_frames[s.close_frame_count++] = f;
}

}  // namespace

void summarise(Conv& c, const TcpConnection* tcp) {
  ConnSummary& s = c.sum;
  s.client_state = s.server_state = TcpState::Unknown;  // no states without TCP
  if (s.proto == Proto::Udp) {
    s.conn_state = s.datagrams_s2c > 0 ? ConnState::SF : ConnState::S0;
    if (s.datagrams_c2s == 0) s.conn_state = ConnState::SHR;
    return;
  }
  if (s.proto != Proto::Tcp || tcp == nullptr) return;
  const TcpConnection& k = *tcp;
  s.client_state = k.end[kClient].state;
  s.server_state = k.end[kServer].state;
  s.handshake_complete = k.handshake_done;
  // close kind and frames
  s.close_frame_count = 0;
  if (k.refused) {
    s.close = CloseKind::Refused;
    add_close_frame(s, k.rst_frame);
  } else if (k.rst_seen) {
    s.close = CloseKind::Rst;
    add_close_frame(s, k.rst_frame);
  } else if (k.fin_any) {
    bool both = k.end[kClient].fin_sent && k.end[kServer].fin_sent;
    if (!both) s.close = CloseKind::HalfClosed;
    else if (k.simultaneous) s.close = CloseKind::Simultaneous;
    else if (k.three_segment) s.close = CloseKind::Fin3;
    else s.close = CloseKind::Fin4;
    for (auto f : k.teardown_frames) add_close_frame(s, f);
  } else {
    s.close = CloseKind::Open;
  }
  // conn_state (Zeek)
  const TcpEndpoint& o = k.end[kClient];
  const TcpEndpoint& r = k.end[kServer];
  if (!k.syn_seen) {
    if (k.synack_seen && r.sent_rst) s.conn_state = ConnState::RSTRH;
    else if (k.synack_seen && r.fin_sent) s.conn_state = ConnState::SHR;
    else s.conn_state = ConnState::OTH;
  } else if (!k.synack_seen) {
    if (r.sent_rst) s.conn_state = ConnState::REJ;
    else if (o.sent_rst) s.conn_state = ConnState::RSTOS0;
    else if (o.fin_sent) s.conn_state = ConnState::SH;
    else s.conn_state = ConnState::S0;
  } else {
    if (o.sent_rst) s.conn_state = ConnState::RSTO;
    else if (r.sent_rst) s.conn_state = ConnState::RSTR;
    else if (o.fin_sent && r.fin_sent) s.conn_state = ConnState::SF;
    else if (o.fin_sent) s.conn_state = ConnState::S2;
    else if (r.fin_sent) s.conn_state = ConnState::S3;
    else s.conn_state = ConnState::S1;
  }
}

}  // namespace sockscope::annotate_detail
