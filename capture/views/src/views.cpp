#include "sockscope/views/views.hpp"

#include "format.hpp"
#include "sockscope/text/i18n.hpp"
#include "view_common.hpp"

namespace sockscope {

std::unique_ptr<View> make_view(ViewKind kind, OutBuffer& out, const ViewOptions& opts) {
  switch (kind) {
    case ViewKind::Human: return views::make_human_view(out, opts);
    case ViewKind::Ladder: return views::make_ladder_view(out, opts);
    case ViewKind::Summary: return views::make_summary_view(out, opts);
    case ViewKind::Json: return views::make_json_view(out, opts);
  }
  return views::make_human_view(out, opts);
}

namespace views {

const char* event_colour(const EventSet& ev) {
  if (ev.has(Event::Malformed)) return kMagenta;
  if (ev.has(Event::Rst) || ev.has(Event::Refused) || ev.has(Event::Abort) || ev.has(Event::Retransmission) ||
      ev.has(Event::FastRetransmission) || ev.has(Event::SpuriousRetransmission))
    return kRed;
  if (ev.has(Event::Teardown1) || ev.has(Event::Teardown2) || ev.has(Event::Teardown3) ||
      ev.has(Event::Teardown4) || ev.has(Event::SimultaneousClose))
    return kBlue;
  if (ev.has(Event::Handshake1) || ev.has(Event::Handshake2) || ev.has(Event::Handshake3)) return kGreen;
  return nullptr;
}

void append_rel_time(std::string& out, Timestamp first, Timestamp now) {
  std::int64_t d = now.ns() - first.ns();
  if (d < 0) {  // capture files are not always in time order
    out += '-';
    d = -d;
  }
  // Milliseconds to the microsecond: a loopback exchange takes well under a millisecond.
  const std::int64_t us = (d + 500) / 1000;
  appendf(out, "%lld.%03lld", static_cast<long long>(us / 1000), static_cast<long long>(us % 1000));
}

void append_summary_endpoint(std::string& out, const ConnSummary& s, const Endpoint& e) {
  append_endpoint(out, e.ip, e.port, s.proto == Proto::Tcp || s.proto == Proto::Udp);
}

const char* conn_state_explained(const ConnSummary& s) {
  if (s.proto == Proto::Udp) {
    switch (s.conn_state) {
      case ConnState::SF: return tr("both sides sent datagrams");
      case ConnState::S0: return tr("only the client sent; no answer came back");
      case ConnState::SHR: return tr("only the server side sent");
      default: break;
    }
  }
  switch (s.conn_state) {
    case ConnState::S0: return tr("the client tried to connect; no reply");
    case ConnState::S1: return tr("established, not closed when the capture ended");
    case ConnState::SF: return tr("opened and closed normally");
    case ConnState::REJ: return tr("the connection attempt was rejected");
    case ConnState::S2: return tr("established; only the client tried to close");
    case ConnState::S3: return tr("established; only the server tried to close");
    case ConnState::RSTO: return tr("established; the client aborted it with RST");
    case ConnState::RSTR: return tr("established; the server aborted it with RST");
    case ConnState::RSTOS0: return tr("the client sent SYN then RST; no SYN-ACK was seen");
    case ConnState::RSTRH: return tr("the server sent SYN-ACK then RST; no SYN was seen");
    case ConnState::SH: return tr("the client sent SYN then FIN; no SYN-ACK was seen");
    case ConnState::SHR: return tr("the server sent SYN-ACK then FIN; no SYN was seen");
    case ConnState::OTH: return tr("no SYN seen: the capture began in the middle of the conversation");
  }
  return "";
}

const char* close_explained(CloseKind k) {
  switch (k) {
    case CloseKind::Open: return tr("no FIN or RST: still open when the capture ended");
    case CloseKind::Fin4: return tr("FIN, ACK, FIN, ACK in four segments");
    case CloseKind::Fin3: return tr("the second FIN carried the ACK of the first: three segments");
    case CloseKind::Simultaneous: return tr("both sides sent FIN at the same time: the FINs crossed");
    case CloseKind::Rst: return tr("a RST ended it");
    case CloseKind::Refused: return tr("RST answered the SYN: nobody was listening");
    case CloseKind::HalfClosed: return tr("one side sent FIN; the other had not closed when the capture ended");
  }
  return "";
}

}  // namespace views
}  // namespace sockscope
