// Glossary words for events, states and summaries (../../../docs/json.md lists them all).
#include <array>
#include <string_view>

#include "sockscope/annotate/annotate.hpp"
#include "sockscope/annotate/events.hpp"

namespace sockscope {

namespace {
constexpr std::array<const char*, kEventCount> kEventNames = {
    "handshake-1", "handshake-2", "handshake-3",
    "data", "ack",
    "teardown-1", "teardown-2", "teardown-3", "teardown-4", "simultaneous-close", "half-close",
    "rst", "refused", "abort",
    "retransmission", "fast-retransmission", "spurious-retransmission", "out-of-order",
    "lost-segment", "ack-unseen",
    "dup-ack", "zero-window", "zero-window-probe", "window-update", "window-full", "keepalive",
    "keepalive-ack", "port-reuse",
    "datagram", "ip-fragment", "reassembled", "icmp-unreachable",
    "malformed", "checksum-bad",
};
}  // namespace

const char* event_name(Event e) {
  auto i = static_cast<std::size_t>(e);
  return i < kEventNames.size() ? kEventNames[i] : "unknown";
}

std::optional<Event> event_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kEventNames.size(); ++i)
    if (name == kEventNames[i]) return static_cast<Event>(i);
  return std::nullopt;
}

const char* tcp_state_name(TcpState s) {
  switch (s) {
    case TcpState::Unknown: return "UNKNOWN";
    case TcpState::Closed: return "CLOSED";
    case TcpState::Listen: return "LISTEN";
    case TcpState::SynSent: return "SYN-SENT";
    case TcpState::SynReceived: return "SYN-RECEIVED";
    case TcpState::Established: return "ESTABLISHED";
    case TcpState::FinWait1: return "FIN-WAIT-1";
    case TcpState::FinWait2: return "FIN-WAIT-2";
    case TcpState::CloseWait: return "CLOSE-WAIT";
    case TcpState::Closing: return "CLOSING";
    case TcpState::LastAck: return "LAST-ACK";
    case TcpState::TimeWait: return "TIME-WAIT";
  }
  return "UNKNOWN";
}

const char* proto_name(Proto p) {
  switch (p) {
    case Proto::Tcp: return "tcp";
    case Proto::Udp: return "udp";
    case Proto::Icmp: return "icmp";
    case Proto::Arp: return "arp";
    case Proto::Other: return "other";
  }
  return "other";
}

const char* close_kind_name(CloseKind k) {
  switch (k) {
    case CloseKind::Open: return "open";
    case CloseKind::Fin4: return "fin-4";
    case CloseKind::Fin3: return "fin-3";
    case CloseKind::Simultaneous: return "simultaneous";
    case CloseKind::Rst: return "rst";
    case CloseKind::Refused: return "refused";
    case CloseKind::HalfClosed: return "half-closed";
  }
  return "open";
}

const char* conn_state_name(ConnState s) {
  switch (s) {
    case ConnState::S0: return "S0";
    case ConnState::S1: return "S1";
    case ConnState::SF: return "SF";
    case ConnState::REJ: return "REJ";
    case ConnState::S2: return "S2";
    case ConnState::S3: return "S3";
    case ConnState::RSTO: return "RSTO";
    case ConnState::RSTR: return "RSTR";
    case ConnState::RSTOS0: return "RSTOS0";
    case ConnState::RSTRH: return "RSTRH";
    case ConnState::SH: return "SH";
    case ConnState::SHR: return "SHR";
    case ConnState::OTH: return "OTH";
  }
  return "OTH";
}

}  // namespace sockscope
