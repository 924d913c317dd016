// SvgLadder (svg.hpp): the ladder diagram as an SVG picture. packet() and call() only record what the
// picture needs (a few numbers and a short label per packet, kept in one growing text arena); svg()
// lays everything out and draws it. Layout, top to bottom:
//
//   title, legend
//   per conversation: a heading, "client <address>" over the left line and "server <address>" over
//   the right one, then one row per packet or call in timeline order:
//     time (ms) | client's calls | ---- label ----> arrow sloping down ---- | server's calls
//   behind the rows, shaded bands for the handshake, data/ACK and teardown phases
//   a note when packets were left out
//
// Rows are evenly spaced rather than proportional to time: loopback packets come microseconds apart
// and a retransmission a second later, so a time scale would crush the one or stretch the other; the
// time column says when each thing happened.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "format.hpp"
#include "sockscope/text/escape.hpp"
#include "sockscope/text/format.hpp"
#include "sockscope/text/i18n.hpp"
#include "sockscope/views/svg.hpp"
#include "svg_common.hpp"
#include "view_common.hpp"

namespace sockscope {
namespace {

using views::appendf;
using views::appendf_tr;

enum class Phase : std::uint8_t { Other, Handshake, Data, Teardown };
enum class Kind : std::uint8_t { Tcp, Udp, Icmp, Other };

constexpr std::size_t kPreviewBytes = 12;  // payload bytes shown on an arrow

// Geometry, in SVG pixels. Font sizes are fixed so that a picture reads the same at any length.
constexpr double kTimeRight = 50;   // the time column's right edge
constexpr double kInnerLeft = 56;   // where the drawing starts, right of the time column
constexpr double kMarginRight = 8;
constexpr double kRowPacket = 32;
constexpr double kRowCall = 18;
constexpr double kBandStrip = 10;  // above a band's first row, for its name
constexpr double kSlope = 8;        // how far an arrow drops on its way across
constexpr double kLabelFont = 11;
constexpr double kCallFont = 10;
constexpr double kCharWidth = 0.56;  // average advance of DejaVu Sans / Verdana in ems, a little generous

struct PacketRec {
  std::uint64_t frame = 0;
  std::int64_t ts_ns = 0;
  std::uint32_t section = 0;  // index into Impl::sections
  bool from_client = true;
  Phase phase = Phase::Other;
  Kind kind = Kind::Other;
  bool retransmission = false;
  bool malformed = false;
  std::uint32_t label_off = 0, label_len = 0;  // terminal-safe text in the arena
  std::uint32_t tip_off = 0, tip_len = 0;
};

struct CallRec {
  std::int64_t ts_ns = 0;
  CallRole endpoint = CallRole::Client;
  std::uint32_t conn = 0;
  bool failed = false;
  std::uint32_t text_off = 0, text_len = 0;
};

struct Item {
  bool is_call = false;
  std::uint32_t index = 0;
};

struct Section {
  std::uint32_t conn = 0;  // 0: packets outside any conversation
  Proto proto = Proto::Other;
  IpAddr client_ip;
  std::string client, server;  // "10.0.0.1:40000", from the conversation's first packet
};

struct Phases {
  Phase phase;
  const char* css;
  const char* name;
};
const Phases kPhaseInfo[] = {
    {Phase::Handshake, "ss-band-handshake", SOCKSCOPE_N_("handshake")},
    {Phase::Data, "ss-band-data", SOCKSCOPE_N_("data and ACKs")},
    {Phase::Teardown, "ss-band-teardown", SOCKSCOPE_N_("teardown")},
};
const Phases* phase_info(Phase p) {
  for (const Phases& i : kPhaseInfo)
    if (i.phase == p) return &i;
  return nullptr;
}

// Appends ", " before every part but the first.
std::string& part(std::string& s) {
  if (!s.empty()) s += ", ";
  return s;
}

Phase phase_of(const Packet& p, const EventSet& ev) {
  const bool tcp = p.transport == Transport::Tcp;
  if (ev.has(Event::Handshake1) || ev.has(Event::Handshake2) || ev.has(Event::Handshake3) ||
      (tcp && p.tcp.has(tcpflag::kSyn)))
    return Phase::Handshake;
  if (ev.has(Event::Teardown1) || ev.has(Event::Teardown2) || ev.has(Event::Teardown3) ||
      ev.has(Event::Teardown4) || ev.has(Event::SimultaneousClose) || ev.has(Event::Rst) ||
      ev.has(Event::Refused) || ev.has(Event::Abort) ||
      (tcp && (p.tcp.has(tcpflag::kFin) || p.tcp.has(tcpflag::kRst))))
    return Phase::Teardown;
  if (tcp || p.transport == Transport::Udp) return Phase::Data;
  return Phase::Other;
}

Kind kind_of(const Packet& p) {
  switch (p.transport) {
    case Transport::Tcp: return Kind::Tcp;
    case Transport::Udp: return Kind::Udp;
    case Transport::Icmp: return Kind::Icmp;
    default: return Kind::Other;
  }
}

const char* kind_css(Kind k) {
  switch (k) {
    case Kind::Tcp: return "ss-tcp";
    case Kind::Udp: return "ss-udp";
    case Kind::Icmp: return "ss-icmp";
    case Kind::Other: break;
  }
  return "ss-other";
}

// The TCP part of an arrow's label: "SYN  handshake 1/3", "data 1-6 (6 bytes)", "ACK 7",
// "FIN,ACK  teardown 2/4 + 3/4", "data 1-6 (6 bytes), retransmission of 4".
void tcp_label(const Packet& p, const Annotation& a, std::string& head, std::string& tail) {
  const TcpInfo& t = p.tcp;
  const EventSet& ev = a.events;
  const bool syn = t.has(tcpflag::kSyn), fin = t.has(tcpflag::kFin), rst = t.has(tcpflag::kRst);
  const bool data = p.payload_len > 0;
  const bool phase_word = ev.has(Event::Handshake3) || ev.has(Event::Teardown2) || ev.has(Event::Teardown4);
  if (syn || fin || rst || t.flags == 0 || !t.has(tcpflag::kAck)) {
    views::append_tcp_flag_names(head, t.flags);
  } else if (!data) {
    head += "ACK";
    if (!phase_word) appendf(head, " %u", a.has_rel ? a.rel_ack : t.ack);
  }
  if (ev.has(Event::Handshake1)) part(tail) += tr("handshake 1/3");
  if (ev.has(Event::Handshake2)) part(tail) += tr("handshake 2/3");
  if (ev.has(Event::Handshake3)) part(tail) += tr("handshake 3/3");
  if (data) {
    if (a.has_rel && a.data_last >= a.data_first && ev.has(Event::Data))
      appendf_tr(part(tail), tr("data %1$u-%2$u (%3$u bytes)"), a.data_first, a.data_last, p.payload_len);
    else
      appendf_tr(part(tail), tr("data (%u bytes)"), p.payload_len);
  }
  if (ev.has(Event::Teardown1)) part(tail) += tr("teardown 1/4");
  if (ev.has(Event::Teardown2) && ev.has(Event::Teardown3)) {
    part(tail) += tr("teardown 2/4 + 3/4");
  } else {
    if (ev.has(Event::Teardown2)) part(tail) += tr("teardown 2/4");
    if (ev.has(Event::Teardown3)) part(tail) += tr("teardown 3/4");
  }
  if (ev.has(Event::Teardown4)) part(tail) += tr("teardown 4/4");
  if (ev.has(Event::SimultaneousClose)) part(tail) += tr("simultaneous close");
  if (ev.has(Event::Refused))
    part(tail) += tr("refused");
  else if (ev.has(Event::Abort))
    part(tail) += tr("abort");
  const auto orig = static_cast<unsigned long long>(a.original_frame);
  if (ev.has(Event::SpuriousRetransmission)) {
    if (orig)
      appendf_tr(part(tail), tr("spurious retransmission of %llu"), orig);
    else
      part(tail) += tr("spurious retransmission");
  } else if (ev.has(Event::FastRetransmission)) {
    if (orig)
      appendf_tr(part(tail), tr("fast retransmission of %llu"), orig);
    else
      part(tail) += tr("fast retransmission");
  } else if (ev.has(Event::Retransmission)) {
    if (orig)
      appendf_tr(part(tail), tr("retransmission of %llu"), orig);
    else
      part(tail) += tr("retransmission");
  }
  if (ev.has(Event::OutOfOrder)) part(tail) += tr("out-of-order");
  if (ev.has(Event::LostSegment)) part(tail) += tr("earlier bytes not captured");
  if (ev.has(Event::DupAck)) appendf_tr(part(tail), tr("dup ack #%u"), a.dup_ack_count);
  if (ev.has(Event::ZeroWindow)) part(tail) += tr("zero window");
  if (ev.has(Event::ZeroWindowProbe)) part(tail) += tr("zero-window probe");
  if (ev.has(Event::WindowUpdate)) part(tail) += tr("window update");
  if (ev.has(Event::WindowFull)) part(tail) += tr("window full");
  if (ev.has(Event::Keepalive)) part(tail) += tr("keepalive");
  if (ev.has(Event::KeepaliveAck)) part(tail) += tr("keepalive ACK");
  if (ev.has(Event::PortReuse)) part(tail) += tr("port reuse");
}

void other_label(const Packet& p, const Annotation& a, std::string& tail) {
  const EventSet& ev = a.events;
  if (p.transport == Transport::Udp && !(ev.has(Event::IpFragment) && !ev.has(Event::Reassembled))) {
    const auto n = static_cast<unsigned long long>(a.datagram_index);
    if (ev.has(Event::Reassembled))
      appendf_tr(part(tail), tr("datagram %1$llu (%2$u bytes, %3$u fragments)"), n, p.payload_len,
                 static_cast<unsigned>(a.fragment_count ? a.fragment_count : p.ip.frag_count));
    else if (n)
      appendf_tr(part(tail), tr("datagram %1$llu (%2$u bytes)"), n, p.payload_len);
    else
      appendf_tr(part(tail), tr("datagram (%u bytes)"), p.payload_len);
  } else if (ev.has(Event::IpFragment) && !ev.has(Event::Reassembled)) {
    const bool v6 = p.ip.version == 6;
    const unsigned off = v6 ? p.ip.v6.frag_offset : p.ip.v4.frag_offset;
    const bool more = v6 ? p.ip.v6.frag_more : p.ip.v4.mf;
    appendf_tr(part(tail), more ? tr("IP fragment from byte %u, more follow") : tr("IP fragment from byte %u, the last"),
               off);
  } else if (p.transport == Transport::Icmp) {
    const IcmpInfo& i = p.icmp;
    if (i.port_unreachable)
      part(tail) += tr("ICMP port unreachable");
    else if (i.unreachable)
      appendf_tr(part(tail), tr("ICMP unreachable, code %u"), static_cast<unsigned>(i.code));
    else if ((!i.v6 && i.type == 8) || (i.v6 && i.type == 128))
      part(tail) += tr("ICMP echo request");
    else if ((!i.v6 && i.type == 0) || (i.v6 && i.type == 129))
      part(tail) += tr("ICMP echo reply");
    else
      appendf_tr(part(tail), tr("ICMP type %1$u, code %2$u"), static_cast<unsigned>(i.type), static_cast<unsigned>(i.code));
    if (a.quotes_frame)
      appendf_tr(part(tail), tr("answers %llu"), static_cast<unsigned long long>(a.quotes_frame));
  } else if (p.transport == Transport::Arp) {
    part(tail) += p.arp.op == 2 ? tr("ARP reply") : tr("ARP request");
  } else if (p.transport != Transport::Udp) {
    part(tail) += tr("not TCP or UDP");
  }
}

// Cuts terminal-safe UTF-8 text to at most `cols` columns, ending with "…" when cut.
void fit(std::string& s, std::size_t cols) {
  if (text::display_width(s) <= cols) return;
  std::size_t used = 0, i = 0;
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  while (i < s.size()) {
    std::uint32_t cp = 0;
    int len = text::utf8_decode(p + i, s.size() - i, cp);
    if (len <= 0) len = 1;
    const std::size_t w = text::display_width(std::string_view(s.data() + i, static_cast<std::size_t>(len)));
    if (used + w + 1 > cols) break;  // keep a column for the ellipsis
    used += w;
    i += static_cast<std::size_t>(len);
  }
  s.resize(i);
  s += "\xe2\x80\xa6";
}

// Cuts an address (ASCII, from inet_ntop) in the middle, so that the port at its end stays readable:
// "[2001:db8:…:5678]:51514".
void fit_middle(std::string& s, std::size_t cols) {
  if (s.size() <= cols || cols < 5) return;
  const std::size_t head = (cols - 1) / 2, tail = cols - 1 - head;
  s = s.substr(0, head) + "\xe2\x80\xa6" + s.substr(s.size() - tail);
}

std::size_t columns_for(double px, double font) {
  const double cols = px / (font * kCharWidth);
  return cols < 4 ? 4 : static_cast<std::size_t>(cols);
}

// Milliseconds for the time column, with the precision the magnitude deserves: "0.013", "20.41", "206.0",
// "1012" (loopback packets come microseconds apart, a retransmission timeout is a second).
void append_time_ms(std::string& out, std::int64_t ns) {
  const double ms = static_cast<double>(ns) / 1e6;
  const double mag = ms < 0 ? -ms : ms;
  if (mag >= 1e7)  // hours apart (or a damaged timestamp): seconds, kept to the column's width
    appendf(out, mag < 1e10 ? "%.0fs" : "%.1es", ms / 1000);
  else if (mag < 10)
    appendf(out, "%.3f", ms);
  else if (mag < 100)
    appendf(out, "%.2f", ms);
  else if (mag < 1000)
    appendf(out, "%.1f", ms);
  else
    appendf(out, "%.0f", ms);
}

const char kStyle[] =
    ".ss-bg{fill:#fff}"
    ".ss-title{font-size:16px;font-weight:bold;fill:#222}"
    ".ss-head{font-size:13px;font-weight:bold;fill:#222}"
    ".ss-role{font-size:12px;font-weight:bold;fill:#333}"
    ".ss-addr{font-size:11px;fill:#333}"
    ".ss-time{font-size:10px;fill:#666;font-family:'DejaVu Sans Mono',Menlo,Consolas,'Noto Sans Mono CJK SC','WenQuanYi Micro Hei Mono',monospace}"
    ".ss-lifeline{stroke:#777;stroke-width:1.5}"
    ".ss-pkt line{stroke-width:1.4}"
    ".ss-tcp{stroke:#2b4a6f;fill:#2b4a6f}"
    ".ss-udp{stroke:#1d7a74;fill:#1d7a74}"
    ".ss-icmp{stroke:#7a4a9e;fill:#7a4a9e}"
    ".ss-other{stroke:#666;fill:#666}"
    ".ss-retx{stroke:#d9730d;fill:#d9730d}"
    ".ss-bad{stroke:#b0307a;fill:#b0307a}"
    ".ss-bad line{stroke-dasharray:4 3}"
    ".ss-label{font-size:11px;stroke:none;fill:#222}"
    ".ss-retx .ss-label{fill:#a85400}"
    ".ss-bad .ss-label{fill:#8a1f5c}"
    ".ss-cross{stroke:#d62728;stroke-width:2.2}"
    ".ss-lost-text{font-size:11px;stroke:none;fill:#d62728;font-weight:bold}"
    ".ss-reason{font-size:10px;font-weight:normal}"
    ".ss-call{font-size:10px;font-style:italic;fill:#444}"
    ".ss-call-failed{fill:#c62828}"
    ".ss-dot{fill:#777}"
    ".ss-band-handshake{fill:#dcefd6}"
    ".ss-band-data{fill:#e1ebf8}"
    ".ss-band-teardown{fill:#fce3cc}"
    ".ss-band-name{font-size:10px;font-style:italic;fill:#556}"
    ".ss-note{font-size:11px;font-style:italic;fill:#444}"
    ".ss-legend{font-size:11px;fill:#333}";

}  // namespace

struct SvgLadder::Impl {
  SvgOptions opts;
  std::vector<PacketRec> packets;
  std::vector<CallRec> calls;
  std::vector<Item> items;  // packets and calls in the order they came
  std::vector<Section> sections;
  std::unordered_map<std::uint32_t, std::uint32_t> section_of;  // conn (0: none) -> index
  std::string arena;  // labels, tooltips and call texts, terminal-safe
  std::map<std::uint64_t, std::string> lost;         // mark_lost: frame -> reason (raw)
  std::map<std::uint64_t, std::uint64_t> resent_as;  // a lost original -> the frame that re-sent it
  std::uint64_t packets_left_out = 0, calls_left_out = 0;
  bool have_start = false;
  std::int64_t start_ns = 0;
  bool finished = false;
  std::string head, tail, text;  // reused while recording

  void see(std::int64_t ts) {
    if (!have_start) {
      have_start = true;
      start_ns = ts;
    }
  }

  std::uint32_t put_text(const std::string& s, std::uint32_t& off) {
    off = static_cast<std::uint32_t>(arena.size());
    arena += s;
    return static_cast<std::uint32_t>(s.size());
  }

  std::string_view at(std::uint32_t off, std::uint32_t len) const {
    return std::string_view(arena).substr(off, len);
  }

  // The sender's address: ARP's sender, else IP's source (none for other packets).
  static IpAddr source_of(const Packet& p, const Annotation& a) {
    return a.proto == Proto::Arp ? p.arp.sender_ip : p.ip.src;
  }

  std::uint32_t section_for(std::uint32_t conn, const Packet& p, const Annotation& a) {
    auto it = section_of.find(conn);
    if (it != section_of.end()) return it->second;
    Section s;
    s.conn = conn;
    s.proto = a.proto;
    if (conn != 0 && (p.transport == Transport::Tcp || p.transport == Transport::Udp)) {
      const bool c2s = a.dir != Direction::S2C;
      if (c2s) {
        views::append_src(s.client, p);
        views::append_dst(s.server, p);
        s.client_ip = p.ip.src;
      } else {
        views::append_dst(s.client, p);
        views::append_src(s.server, p);
        s.client_ip = p.ip.dst;
      }
    } else if (conn == 0) {
      // Packets outside a conversation (ARP, ICMP): the first one's sender is on the left, and an
      // answer from the other host goes right to left.
      s.client_ip = source_of(p, a);
    }
    const auto idx = static_cast<std::uint32_t>(sections.size());
    sections.push_back(std::move(s));
    section_of.emplace(conn, idx);
    return idx;
  }

  std::string render(bool standalone) const;
};

SvgLadder::SvgLadder(SvgOptions opts) : impl_(std::make_unique<Impl>()) { impl_->opts = std::move(opts); }
SvgLadder::~SvgLadder() = default;

void SvgLadder::packet(const Packet& p, const Annotation& a) {
  Impl& d = *impl_;
  d.see(p.ts.ns());
  // The arena is addressed with 32-bit offsets: far beyond any picture a person can read anyway.
  if (d.packets.size() >= d.opts.max_packets || d.arena.size() > (std::size_t{1} << 30)) {
    ++d.packets_left_out;
    return;
  }
  const EventSet& ev = a.events;
  PacketRec r;
  r.frame = p.frame;
  r.ts_ns = p.ts.ns();
  r.kind = kind_of(p);
  r.phase = phase_of(p, ev);
  r.malformed = ev.has(Event::Malformed) || !p.ok();
  r.retransmission = ev.has(Event::Retransmission) || ev.has(Event::FastRetransmission) ||
                     ev.has(Event::SpuriousRetransmission);
  // An ICMP error belongs with the conversation of the datagram it answers.
  std::uint32_t conn = a.conn;
  if (conn == 0 && p.transport == Transport::Icmp && a.quotes_conn != 0) conn = a.quotes_conn;
  r.section = d.section_for(conn, p, a);
  const Section& sec = d.sections[r.section];
  if (a.dir == Direction::S2C)
    r.from_client = false;
  else if (sec.conn == 0)
    r.from_client = sec.client_ip.family == 0 || Impl::source_of(p, a) == sec.client_ip;
  else if (a.dir == Direction::C2S)
    r.from_client = true;
  else
    r.from_client = p.ip.src == sec.client_ip;

  // The capture's own proof of a loss: bytes re-sent although the receiver had not acknowledged them
  // (a spurious retransmission re-sends bytes that had arrived: nothing was lost then).
  if (a.original_frame != 0 && !ev.has(Event::SpuriousRetransmission) &&
      (ev.has(Event::Retransmission) || ev.has(Event::FastRetransmission)))
    d.resent_as.emplace(a.original_frame, p.frame);

  d.head.clear();
  d.tail.clear();
  d.text.clear();
  if (p.transport == Transport::Tcp)
    tcp_label(p, a, d.head, d.tail);
  else
    other_label(p, a, d.tail);
  if (r.malformed) part(d.tail) += tr("malformed");
  if (ev.has(Event::ChecksumBad) && !a.checksum_offload_likely) part(d.tail) += tr("bad checksum");
  views::append_u64(d.text, p.frame);
  d.text += ' ';
  d.text += d.head;
  if (!d.head.empty() && !d.tail.empty()) d.text += "  ";
  d.text += d.tail;
  if (p.payload_captured > 0) {
    d.text += " \"";
    text::escape_text(d.text, p.payload, p.payload_captured, kPreviewBytes, p.payload_len > p.payload_captured);
    d.text += '"';
  }
  if (sec.conn == 0) {  // no heading names the addresses: the label does
    d.head.clear();
    if (views::append_src(d.head, p)) {
      d.text += "  ";
      d.text += d.head;
      d.head.clear();
      if (views::append_dst(d.head, p)) {
        d.text += " \xe2\x86\x92 ";  // →
        d.text += d.head;
      }
    }
  }
  r.label_len = d.put_text(d.text, r.label_off);

  d.text.clear();
  appendf_tr(d.text, tr("frame %llu: "), static_cast<unsigned long long>(p.frame));
  d.head.clear();
  describe(p, a, d.head);
  d.text += d.head;
  r.tip_len = d.put_text(d.text, r.tip_off);

  d.items.push_back({false, static_cast<std::uint32_t>(d.packets.size())});
  d.packets.push_back(r);
}

void SvgLadder::conversation(const ConnSummary& s) {
  // The heading's addresses come from the first packet; a conversation whose packets were all left
  // out of the picture has no section, and needs none.
  Impl& d = *impl_;
  auto it = d.section_of.find(s.conn);
  if (it == d.section_of.end()) return;
  Section& sec = d.sections[it->second];
  if (sec.client.empty() && s.client.ip.family != 0) {
    views::append_endpoint(sec.client, s.client.ip, s.client.port);
    views::append_endpoint(sec.server, s.server.ip, s.server.port);
  }
}

void SvgLadder::call(const CallRecord& c, std::uint32_t conn) {
  Impl& d = *impl_;
  const std::int64_t ts = c.timeline_ts().ns();
  d.see(ts);
  if (d.packets_left_out > 0) {  // the picture already stopped
    ++d.calls_left_out;
    return;
  }
  CallRec r;
  r.ts_ns = ts;
  r.endpoint = c.endpoint;
  r.conn = conn;
  r.failed = views::call_failed(c);
  d.text.clear();
  views::append_call_text(d.text, c);
  r.text_len = d.put_text(d.text, r.text_off);
  d.items.push_back({true, static_cast<std::uint32_t>(d.calls.size())});
  d.calls.push_back(r);
}

void SvgLadder::finish() { impl_->finished = true; }

void SvgLadder::mark_lost(std::uint64_t frame, std::string reason) {
  impl_->lost[frame] = std::move(reason);
}

std::string SvgLadder::svg(bool standalone) const { return impl_->render(standalone); }

namespace {

void text_el(std::string& out, const char* css, double x, double y, const char* anchor, std::string_view safe) {
  appendf(out, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\"", css, x, y);
  if (anchor && *anchor) appendf(out, " text-anchor=\"%s\"", anchor);
  out += '>';
  views::xml_entities(out, safe);
  out += "</text>\n";
}

}  // namespace

std::string SvgLadder::Impl::render(bool standalone) const {
  double w = static_cast<double>(opts.width);
  if (w < 480) w = 480;
  if (w > 4000) w = 4000;
  const bool with_calls = !calls.empty();
  const double inner = w - kInnerLeft - kMarginRight;
  const double side = inner * (with_calls ? 0.28 : 0.14);
  const double cx = kInnerLeft + side;
  const double sx = w - kMarginRight - side;
  const double mid = (cx + sx) / 2;
  const std::size_t label_cols = columns_for(sx - cx - 16, kLabelFont);
  const std::size_t client_call_cols = columns_for(cx - 8 - kInnerLeft, kCallFont);
  const std::size_t server_call_cols = columns_for(w - kMarginRight - (sx + 8), kCallFont);

  // Which section each call is drawn in: its conversation's, else that of the next packet (a live run
  // starts with socket() and connect() before the conversation exists), else of the previous one.
  std::vector<std::uint32_t> item_section(items.size(), 0);
  {
    std::uint32_t next = sections.empty() ? 0 : std::numeric_limits<std::uint32_t>::max();
    std::vector<bool> resolved(items.size(), false);
    for (std::size_t i = items.size(); i-- > 0;) {
      const Item& it = items[i];
      if (!it.is_call) {
        next = packets[it.index].section;
        item_section[i] = next;
        resolved[i] = true;
        continue;
      }
      const CallRec& c = calls[it.index];
      auto s = section_of.find(c.conn);
      if (c.conn != 0 && s != section_of.end()) {
        item_section[i] = s->second;
        resolved[i] = true;
      } else if (next != std::numeric_limits<std::uint32_t>::max()) {
        item_section[i] = next;
        resolved[i] = true;
      }
    }
    std::uint32_t prev = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (resolved[i])
        prev = item_section[i];
      else
        item_section[i] = prev;
    }
  }
  // Calls alone (no packet at all) still get a section to stand in.
  const std::size_t nsections = sections.empty() && !calls.empty() ? 1 : sections.size();
  std::vector<std::vector<std::uint32_t>> rows(nsections);
  for (std::size_t i = 0; i < items.size(); ++i)
    if (item_section[i] < nsections) rows[item_section[i]].push_back(static_cast<std::uint32_t>(i));

  std::string body;
  body.reserve(items.size() * 420 + 2048);
  std::string tmp, tmp2;
  double y = 8;

  if (!opts.title.empty()) {
    y += 18;
    tmp.clear();
    text::escape_text(tmp, reinterpret_cast<const std::uint8_t*>(opts.title.data()), opts.title.size(), 400,
                       false, false);
    fit(tmp, columns_for(w - 20, 16));
    text_el(body, "ss-title", 10, y, "", tmp);
    y += 8;
  }

  // Legend: the three phases, a retransmission, a loss, and what the time column counts.
  {
    y += 14;
    double x = 10;
    const double ly = y;
    for (const Phases& ph : kPhaseInfo) {
      appendf(body, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"11\" rx=\"2\"/>\n", ph.css, x,
              ly - 9);
      tmp = tr(ph.name);
      text_el(body, "ss-legend", x + 23, ly, "", tmp);
      x += 23 + static_cast<double>(text::display_width(tmp)) * 11 * kCharWidth + 14;
    }
    appendf(body,
            "<g class=\"ss-retx\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"1.6\"/></g>\n",
            x, ly - 4, x + 20, ly - 4);
    tmp = tr("retransmission");
    text_el(body, "ss-legend", x + 25, ly, "", tmp);
    x += 25 + static_cast<double>(text::display_width(tmp)) * 11 * kCharWidth + 14;
    if (x + 90 > w) {  // a narrow picture: the rest on a second line
      x = 10;
      y += 16;
    }
    const double cy = y - 4;
    appendf(body,
            "<line class=\"ss-cross\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
            "<line class=\"ss-cross\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
            x + 4, cy - 4, x + 12, cy + 4, x + 4, cy + 4, x + 12, cy - 4);
    tmp = tr("lost");
    text_el(body, "ss-legend", x + 18, y, "", tmp);
    x += 18 + static_cast<double>(text::display_width(tmp)) * 11 * kCharWidth + 14;
    tmp = tr("left column: milliseconds since the first packet or call");
    if (x + static_cast<double>(text::display_width(tmp)) * 11 * kCharWidth > w - 10) {
      x = 10;
      y += 16;
    }
    text_el(body, "ss-legend", x, y, "", tmp);
    y += 8;
  }

  struct Band {
    Phase phase;
    double top, bottom;
  };
  std::vector<Band> bands;
  std::string rows_svg;

  for (std::size_t si = 0; si < nsections; ++si) {
    const Section* sec = si < sections.size() ? &sections[si] : nullptr;
    y += 14;
    // Heading.
    tmp.clear();
    if (sec && sec->conn != 0) {
      const char* proto = sec->proto == Proto::Tcp ? "TCP" : sec->proto == Proto::Udp ? "UDP" : proto_name(sec->proto);
      appendf_tr(tmp, tr("conversation %1$u (%2$s)"), sec->conn, proto);
    } else if (sec) {
      tmp = tr("packets outside any TCP or UDP conversation");
    } else {
      tmp = tr("socket calls");
    }
    y += 14;
    text_el(body, "ss-head", 10, y, "", tmp);
    // Who is on which line.
    y += 18;
    const bool conv = sec && sec->conn != 0;
    tmp = conv || !sec ? tr("client") : tr("first sender");
    text_el(body, "ss-role", cx, y, "middle", tmp);
    tmp = conv || !sec ? tr("server") : tr("the other side");
    text_el(body, "ss-role", sx, y, "middle", tmp);
    text_el(body, "ss-time", kTimeRight, y, "end", "ms");
    if (conv) {
      y += 14;
      // Centred under the role, but kept inside the picture (an IPv6 address is long).
      const double half_room = (sx - cx) / 2 - 6;
      for (int side_i = 0; side_i < 2; ++side_i) {
        tmp = side_i == 0 ? sec->client : sec->server;
        const double line_x = side_i == 0 ? cx : sx;
        const double edge = side_i == 0 ? line_x - 4 : w - 4 - line_x;  // room beyond the line
        fit_middle(tmp, columns_for(half_room + edge, 11));
        const double est = static_cast<double>(text::display_width(tmp)) * 11 * kCharWidth;
        double x = line_x;
        if (est / 2 > edge) x = side_i == 0 ? 4 + est / 2 : w - 4 - est / 2;
        text_el(body, "ss-addr", x, y, "middle", tmp);
      }
    }
    y += 6;
    const double line_top = y;
    y += 4;

    bands.clear();
    rows_svg.clear();
    bool in_band = false;
    for (std::uint32_t item_idx : rows[si]) {
      const Item& it = items[item_idx];
      double top = y;
      if (it.is_call) {
        const CallRec& c = calls[it.index];
        tmp.clear();
        append_time_ms(tmp, c.ts_ns - start_ns);
        text_el(rows_svg, "ss-time", kTimeRight, top + 13, "end", tmp);
        const bool client = c.endpoint == CallRole::Client;
        const double lx = client ? cx : sx;
        appendf(rows_svg, "<circle class=\"ss-dot\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>\n", lx, top + 9);
        tmp.assign(at(c.text_off, c.text_len));
        fit(tmp, client ? client_call_cols : server_call_cols);
        text_el(rows_svg, c.failed ? "ss-call ss-call-failed" : "ss-call", client ? cx - 8 : sx + 8, top + 13,
                client ? "end" : "start", tmp);
        y += kRowCall;
        continue;
      }
      const PacketRec& r = packets[it.index];
      // Bands: runs of packets in one phase (calls between them stay inside the run).
      if (r.phase == Phase::Other) {
        in_band = false;
      } else if (in_band && bands.back().phase == r.phase) {
        bands.back().bottom = top + kRowPacket;
      } else {
        // A new band starts with a strip that holds its name, so the name never meets a label.
        y += kBandStrip;
        top = y;
        bands.push_back({r.phase, top - kBandStrip, top + kRowPacket});
        in_band = true;
      }

      tmp.clear();
      append_time_ms(tmp, r.ts_ns - start_ns);
      text_el(rows_svg, "ss-time", kTimeRight, top + 23, "end", tmp);

      const auto lost_it = lost.find(r.frame);
      const auto resent_it = resent_as.find(r.frame);
      const bool is_lost = lost_it != lost.end() || resent_it != resent_as.end();
      const char* css = r.malformed ? "ss-bad" : r.retransmission ? "ss-retx" : kind_css(r.kind);
      appendf(rows_svg, "<g class=\"ss-pkt %s%s\">", css, is_lost ? " ss-lost" : "");
      // The tooltip (browsers show it on hover): the human view's whole sentence.
      rows_svg += "<title>";
      views::xml_entities(rows_svg, at(r.tip_off, r.tip_len));
      tmp.clear();
      if (lost_it != lost.end()) {
        tmp = xml_escape(lost_it->second);
      } else if (resent_it != resent_as.end()) {
        appendf_tr(tmp, tr("never acknowledged; frame %llu re-sent it"),
                   static_cast<unsigned long long>(resent_it->second));
      }
      if (is_lost) {
        rows_svg += " (";
        rows_svg += tr("lost");
        rows_svg += ": ";
        if (lost_it != lost.end())
          rows_svg += tmp;  // xml_escape'd above
        else
          views::xml_entities(rows_svg, tmp);
        rows_svg += ')';
      }
      rows_svg += "</title>\n";

      const double x1 = r.from_client ? cx : sx;
      const double x2 = r.from_client ? sx : cx;
      const double dir = r.from_client ? 1 : -1;
      const double y1 = top + 19, y2 = top + 19 + kSlope;
      tmp2.assign(at(r.label_off, r.label_len));
      fit(tmp2, label_cols);
      text_el(rows_svg, "ss-label", mid, top + 13, "middle", tmp2);
      if (is_lost) {
        // The arrow stops half way, with a cross where the packet vanished.
        const double mx = mid, my = (y1 + y2) / 2;
        appendf(rows_svg, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x1, y1, mx, my);
        appendf(rows_svg,
                "<line class=\"ss-cross\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<line class=\"ss-cross\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                mx - 5, my - 5, mx + 5, my + 5, mx - 5, my + 5, mx + 5, my - 5);
        // "lost: <reason>" where the rest of the arrow would have been.
        std::string said;
        if (lost_it != lost.end()) {
          text::escape_text(said, reinterpret_cast<const std::uint8_t*>(lost_it->second.data()),
                             lost_it->second.size(), 400, false, false);
        } else {
          said = tmp;
        }
        // The row has nothing else on that side: the text may run past the other line to the edge.
        const double room = (dir > 0 ? w - kMarginRight - (mx + 10) : mx - 10 - kInnerLeft) - 6 * kLabelFont * kCharWidth;
        fit(said, columns_for(room, 10));
        appendf(rows_svg, "<text class=\"ss-lost-text\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", mx + 10 * dir,
                my + 4, dir > 0 ? "start" : "end");
        if (dir > 0) {
          rows_svg += tr("lost");
          if (!said.empty()) {
            rows_svg += "<tspan class=\"ss-reason\">: ";
            views::xml_entities(rows_svg, said);
            rows_svg += "</tspan>";
          }
        } else {
          if (!said.empty()) {
            rows_svg += "<tspan class=\"ss-reason\">";
            views::xml_entities(rows_svg, said);
            rows_svg += " :</tspan>";
          }
          rows_svg += tr("lost");
        }
        rows_svg += "</text>\n";
      } else {
        // A line that stops where the head begins, and the head as a small triangle (no markers: they
        // differ between renderers).
        const double dx = x2 - x1, dy = y2 - y1;
        const double len = std::sqrt(dx * dx + dy * dy);
        const double ux = dx / len, uy = dy / len;
        const double hx = x2 - 9 * ux, hy = y2 - 9 * uy;
        appendf(rows_svg, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x1, y1, hx, hy);
        appendf(rows_svg, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\"/>\n", x2, y2, hx - 3.8 * uy,
                hy + 3.8 * ux, hx + 3.8 * uy, hy - 3.8 * ux);
      }
      rows_svg += "</g>\n";
      y += kRowPacket;
    }
    const double line_bottom = y + 4;
    for (const Band& b : bands) {
      const Phases* ph = phase_info(b.phase);
      appendf(body, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"4\"/>\n", ph->css,
              kInnerLeft - 2, b.top + 1, w - kMarginRight - kInnerLeft + 2, b.bottom - b.top - 2);
      // UDP has no ACKs: its band says what it holds.
      tmp = b.phase == Phase::Data && sec && sec->proto == Proto::Udp ? tr("datagrams") : tr(ph->name);
      text_el(body, "ss-band-name", kInnerLeft + 4, b.top + 11, "", tmp);
    }
    appendf(body,
            "<line class=\"ss-lifeline\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
            "<line class=\"ss-lifeline\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
            cx, line_top, cx, line_bottom, sx, line_top, sx, line_bottom);
    body += rows_svg;
    y = line_bottom;
  }

  if (items.empty()) {
    y += 24;
    tmp = tr("no packets");
    text_el(body, "ss-note", 10, y, "", tmp);
  }
  if (packets_left_out > 0) {
    y += 22;
    tmp.clear();
    if (calls_left_out > 0)
      appendf_tr(tmp, trn("%1$llu more packet not drawn: the picture stops at %2$llu packets (socket calls left out: %3$llu)",
                     "%1$llu more packets not drawn: the picture stops at %2$llu packets (socket calls left out: %3$llu)",
                     packets_left_out),
                 static_cast<unsigned long long>(packets_left_out), static_cast<unsigned long long>(opts.max_packets),
                 static_cast<unsigned long long>(calls_left_out));
    else
      appendf_tr(tmp, trn("%1$llu more packet not drawn: the picture stops at %2$llu packets",
                     "%1$llu more packets not drawn: the picture stops at %2$llu packets", packets_left_out),
                 static_cast<unsigned long long>(packets_left_out), static_cast<unsigned long long>(opts.max_packets));
    text_el(body, "ss-note", 10, y, "", tmp);
  }
  if (!finished) {
    y += 18;
    tmp = tr("(drawn before the end of the capture)");
    text_el(body, "ss-note", 10, y, "", tmp);
  }
  y += 16;

  std::string out;
  out.reserve(body.size() + 4096);
  if (standalone) out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  appendf(out,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" height=\"%.0f\" "
          "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Verdana, Arial, Noto Sans CJK SC, WenQuanYi Micro Hei, Microsoft YaHei, PingFang SC, sans-serif\" xml:space=\"preserve\">\n",
          w, std::ceil(y), w, std::ceil(y));
  out += "<title>";
  if (!opts.title.empty())
    out += xml_escape(opts.title);
  else
    out += tr("ladder diagram: client on the left, server on the right, one arrow per packet");
  out += "</title>\n<style type=\"text/css\">";
  out += kStyle;
  out += "</style>\n";
  appendf(out, "<rect class=\"ss-bg\" x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\"/>\n", w, std::ceil(y));
  out += body;
  out += "</svg>\n";
  return out;
}

bool SvgLadder::write(const std::string& path, std::string& error) const {
  const std::string doc = svg(true);
  // Written next to the target and renamed over it (rename(2) is atomic within a file system), so
  // nobody ever sees half a picture, and a failed write leaves an older picture as it was.
  std::string tmp_path = path + ".tmp.XXXXXX";
  std::vector<char> name(tmp_path.begin(), tmp_path.end());
  name.push_back('\0');
  const int fd = mkstemp(name.data());
  const std::string shown = text::printable(path);
  if (fd < 0) {
    error = text::format(tr("%1$s: %2$s (cannot write the picture there; choose another path)"), shown.c_str(), std::strerror(errno));
    return false;
  }
  tmp_path.assign(name.data());
  std::size_t done = 0;
  int err = 0;
  while (done < doc.size()) {
    const ssize_t n = ::write(fd, doc.data() + done, doc.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  // mkstemp creates the file 0600; a picture is meant to be shared: the usual 0644 less the umask.
  const mode_t mask = umask(0);
  umask(mask);
  if (err == 0 && fchmod(fd, 0644 & ~mask) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && std::rename(tmp_path.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp_path.c_str());
    error = text::format(tr("%1$s: %2$s (the picture was not written)"), shown.c_str(), std::strerror(err));
    return false;
  }
  return true;
}

}  // namespace sockscope
