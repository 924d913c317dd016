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

#include <algorithm>
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

  // Drawing (svg()): the layout of each section is computed first (rows with their tops, phase bands),
  // then drawn; each step below appends to the picture's body.
  struct Across;
  struct Place {
    std::uint32_t item;  // index into items
    double top;          // the row's top edge
  };
  struct Band {
    Phase phase;
    double top, bottom;
  };
  struct SectionLayout {
    std::vector<Place> rows;
    std::vector<Band> bands;
    double line_top = 0, line_bottom = 0;  // the two lifelines
  };

  std::string render(bool standalone) const;
  std::vector<std::vector<std::uint32_t>> items_by_section() const;
  SectionLayout lay_out_rows(const std::vector<std::uint32_t>& section_items, double line_top) const;
  void draw_title(std::string& body, double w, double& y) const;
  void draw_legend(std::string& body, double w, double& y) const;
  void draw_heading(std::string& body, const Across& a, const Section* sec, double& y) const;
  void draw_call(std::string& out, const Across& a, const CallRec& c, double top) const;
  void draw_packet(std::string& out, const Across& a, const PacketRec& r, double top) const;
  void draw_bands(std::string& body, const Across& a, const SectionLayout& l, const Section* sec) const;
  void draw_notes(std::string& body, double& y) const;
  std::string document(const std::string& body, double w, double height, bool standalone) const;
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

// Where things stand across the picture, from its width: the two lifelines (client left, server
// right), the middle where labels go, and how many columns of text fit beside and between them.
struct SvgLadder::Impl::Across {
  double w, cx, sx, mid;
  std::size_t label_cols, client_call_cols, server_call_cols;

  Across(std::size_t width, bool with_calls) {
    constexpr double kMinWidth = 480, kMaxWidth = 4000;
    constexpr double kSideWithCalls = 0.28, kSideWithout = 0.14;  // of the inner width, beside each line
    constexpr double kLabelGap = 16;  // between a label and the two lines, in all
    constexpr double kCallGap = 8;    // between a call's text and its line
    w = std::clamp(static_cast<double>(width), kMinWidth, kMaxWidth);
    const double inner = w - kInnerLeft - kMarginRight;
    const double side = inner * (with_calls ? kSideWithCalls : kSideWithout);
    cx = kInnerLeft + side;
    sx = w - kMarginRight - side;
    mid = (cx + sx) / 2;
    label_cols = columns_for(sx - cx - kLabelGap, kLabelFont);
    client_call_cols = columns_for(cx - kCallGap - kInnerLeft, kCallFont);
    server_call_cols = columns_for(w - kMarginRight - (sx + kCallGap), kCallFont);
  }
};

// The items of each section, in order. A call stands in its conversation's section, else in that of
// the next packet (a live run starts with socket() and connect() before the conversation exists),
// else of the previous one; calls alone (no packet at all) still get a section.
std::vector<std::vector<std::uint32_t>> SvgLadder::Impl::items_by_section() const {
  std::vector<std::uint32_t> item_section(items.size(), 0);
  constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
  std::uint32_t next = sections.empty() ? 0 : kNone;
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
    } else if (next != kNone) {
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
  const std::size_t nsections = sections.empty() && !calls.empty() ? 1 : sections.size();
  std::vector<std::vector<std::uint32_t>> rows(nsections);
  for (std::size_t i = 0; i < items.size(); ++i)
    if (item_section[i] < nsections) rows[item_section[i]].push_back(static_cast<std::uint32_t>(i));
  return rows;
}

// Rows are evenly spaced: a call row, a packet row; a run of packets in one phase is a band (calls
// between them stay inside it), and a new band starts with a strip that holds its name, so the name
// never meets a label.
SvgLadder::Impl::SectionLayout SvgLadder::Impl::lay_out_rows(const std::vector<std::uint32_t>& section_items,
                                                             double line_top) const {
  constexpr double kLifelinePad = 4;  // the lifelines reach this far above the first row and below the last
  SectionLayout l;
  l.line_top = line_top;
  double y = line_top + kLifelinePad;
  bool in_band = false;
  for (std::uint32_t item_idx : section_items) {
    const Item& it = items[item_idx];
    double top = y;
    if (it.is_call) {
      l.rows.push_back({item_idx, top});
      y += kRowCall;
      continue;
    }
    const PacketRec& r = packets[it.index];
    if (r.phase == Phase::Other) {
      in_band = false;
    } else if (in_band && l.bands.back().phase == r.phase) {
      l.bands.back().bottom = top + kRowPacket;
    } else {
      y += kBandStrip;
      top = y;
      l.bands.push_back({r.phase, top - kBandStrip, top + kRowPacket});
      in_band = true;
    }
    l.rows.push_back({item_idx, top});
    y += kRowPacket;
  }
  l.line_bottom = y + kLifelinePad;
  return l;
}

void SvgLadder::Impl::draw_title(std::string& body, double w, double& y) const {
  if (opts.title.empty()) return;
  y += 18;
  std::string t;
  text::escape_text(t, reinterpret_cast<const std::uint8_t*>(opts.title.data()), opts.title.size(), 400, false,
                    false);
  fit(t, columns_for(w - 20, 16));
  text_el(body, "ss-title", 10, y, "", t);
  y += 8;
}

// The legend: the three phases, a retransmission, a loss, and what the time column counts; what does
// not fit goes on the next line.
void SvgLadder::Impl::draw_legend(std::string& body, double w, double& y) const {
  constexpr double kLegendFont = 11;
  const auto text_width = [](const std::string& t) {
    return static_cast<double>(text::display_width(t)) * kLegendFont * kCharWidth;
  };
  std::string t;
  y += 14;
  double x = 10;
  const double ly = y;
  for (const Phases& ph : kPhaseInfo) {
    appendf(body, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"11\" rx=\"2\"/>\n", ph.css, x,
            ly - 9);
    t = tr(ph.name);
    text_el(body, "ss-legend", x + 23, ly, "", t);
    x += 23 + text_width(t) + 14;
  }
  appendf(body,
          "<g class=\"ss-retx\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"1.6\"/></g>\n",
          x, ly - 4, x + 20, ly - 4);
  t = tr("retransmission");
  text_el(body, "ss-legend", x + 25, ly, "", t);
  x += 25 + text_width(t) + 14;
  if (x + 90 > w) {  // a narrow picture: the rest on a second line
    x = 10;
    y += 16;
  }
  const double cy = y - 4;
  appendf(body,
          "<line class=\"ss-cross\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
          "<line class=\"ss-cross\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
          x + 4, cy - 4, x + 12, cy + 4, x + 4, cy + 4, x + 12, cy - 4);
  t = tr("lost");
  text_el(body, "ss-legend", x + 18, y, "", t);
  x += 18 + text_width(t) + 14;
  t = tr("left column: milliseconds since the first packet or call");
  if (x + text_width(t) > w - 10) {
    x = 10;
    y += 16;
  }
  text_el(body, "ss-legend", x, y, "", t);
  y += 8;
}

// A section's heading, who is on which line, and (for a conversation) their addresses.
void SvgLadder::Impl::draw_heading(std::string& body, const Across& a, const Section* sec, double& y) const {
  std::string t;
  y += 14;
  if (sec && sec->conn != 0) {
    const char* proto = sec->proto == Proto::Tcp ? "TCP" : sec->proto == Proto::Udp ? "UDP" : proto_name(sec->proto);
    appendf_tr(t, tr("conversation %1$u (%2$s)"), sec->conn, proto);
  } else if (sec) {
    t = tr("packets outside any TCP or UDP conversation");
  } else {
    t = tr("socket calls");
  }
  y += 14;
  text_el(body, "ss-head", 10, y, "", t);
  y += 18;
  const bool conv = sec && sec->conn != 0;
  t = conv || !sec ? tr("client") : tr("first sender");
  text_el(body, "ss-role", a.cx, y, "middle", t);
  t = conv || !sec ? tr("server") : tr("the other side");
  text_el(body, "ss-role", a.sx, y, "middle", t);
  text_el(body, "ss-time", kTimeRight, y, "end", "ms");
  if (conv) {
    y += 14;
    // Centred under the role, but kept inside the picture (an IPv6 address is long).
    const double half_room = (a.sx - a.cx) / 2 - 6;
    for (int side_i = 0; side_i < 2; ++side_i) {
      t = side_i == 0 ? sec->client : sec->server;
      const double line_x = side_i == 0 ? a.cx : a.sx;
      const double edge = side_i == 0 ? line_x - 4 : a.w - 4 - line_x;  // room beyond the line
      fit_middle(t, columns_for(half_room + edge, 11));
      const double est = static_cast<double>(text::display_width(t)) * 11 * kCharWidth;
      double x = line_x;
      if (est / 2 > edge) x = side_i == 0 ? 4 + est / 2 : a.w - 4 - est / 2;
      text_el(body, "ss-addr", x, y, "middle", t);
    }
  }
  y += 6;
}

// A call: its time, a dot on its endpoint's line, and its text beside the line, outwards.
void SvgLadder::Impl::draw_call(std::string& out, const Across& a, const CallRec& c, double top) const {
  std::string t;
  append_time_ms(t, c.ts_ns - start_ns);
  text_el(out, "ss-time", kTimeRight, top + 13, "end", t);
  const bool client = c.endpoint == CallRole::Client;
  const double lx = client ? a.cx : a.sx;
  appendf(out, "<circle class=\"ss-dot\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>\n", lx, top + 9);
  t.assign(at(c.text_off, c.text_len));
  fit(t, client ? a.client_call_cols : a.server_call_cols);
  text_el(out, c.failed ? "ss-call ss-call-failed" : "ss-call", client ? a.cx - 8 : a.sx + 8, top + 13,
          client ? "end" : "start", t);
}

// A packet: its time, a tooltip with the human view's sentence, its label, and an arrow sloping down
// from sender to receiver; a lost packet's arrow stops half way at a cross, with the reason.
void SvgLadder::Impl::draw_packet(std::string& out, const Across& a, const PacketRec& r, double top) const {
  std::string t;
  append_time_ms(t, r.ts_ns - start_ns);
  text_el(out, "ss-time", kTimeRight, top + 23, "end", t);

  const auto lost_it = lost.find(r.frame);
  const auto resent_it = resent_as.find(r.frame);
  const bool is_lost = lost_it != lost.end() || resent_it != resent_as.end();
  const char* css = r.malformed ? "ss-bad" : r.retransmission ? "ss-retx" : kind_css(r.kind);
  appendf(out, "<g class=\"ss-pkt %s%s\">", css, is_lost ? " ss-lost" : "");
  // The tooltip (browsers show it on hover): the human view's whole sentence.
  out += "<title>";
  views::xml_entities(out, at(r.tip_off, r.tip_len));
  std::string why_lost;
  if (lost_it != lost.end()) {
    why_lost = xml_escape(lost_it->second);
  } else if (resent_it != resent_as.end()) {
    appendf_tr(why_lost, tr("never acknowledged; frame %llu re-sent it"),
               static_cast<unsigned long long>(resent_it->second));
  }
  if (is_lost) {
    out += " (";
    out += tr("lost");
    out += ": ";
    if (lost_it != lost.end())
      out += why_lost;  // xml_escape'd above
    else
      views::xml_entities(out, why_lost);
    out += ')';
  }
  out += "</title>\n";

  const double x1 = r.from_client ? a.cx : a.sx;
  const double x2 = r.from_client ? a.sx : a.cx;
  const double dir = r.from_client ? 1 : -1;
  const double y1 = top + 19, y2 = top + 19 + kSlope;
  std::string label(at(r.label_off, r.label_len));
  fit(label, a.label_cols);
  text_el(out, "ss-label", a.mid, top + 13, "middle", label);
  if (!is_lost) {
    // A line that stops where the head begins, and the head as a small triangle (no markers: they
    // differ between renderers).
    constexpr double kHeadLength = 9, kHeadHalfWidth = 3.8;
    const double dx = x2 - x1, dy = y2 - y1;
    const double len = std::sqrt(dx * dx + dy * dy);
    const double ux = dx / len, uy = dy / len;
    const double hx = x2 - kHeadLength * ux, hy = y2 - kHeadLength * uy;
    appendf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x1, y1, hx, hy);
    appendf(out, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\"/>\n", x2, y2, hx - kHeadHalfWidth * uy,
            hy + kHeadHalfWidth * ux, hx + kHeadHalfWidth * uy, hy - kHeadHalfWidth * ux);
    out += "</g>\n";
    return;
  }
  // The arrow stops half way, with a cross where the packet vanished.
  const double mx = a.mid, my = (y1 + y2) / 2;
  appendf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x1, y1, mx, my);
  appendf(out,
          "<line class=\"ss-cross\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
          "<line class=\"ss-cross\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
          mx - 5, my - 5, mx + 5, my + 5, mx - 5, my + 5, mx + 5, my - 5);
  // "lost: <reason>" where the rest of the arrow would have been.
  std::string said;
  if (lost_it != lost.end()) {
    text::escape_text(said, reinterpret_cast<const std::uint8_t*>(lost_it->second.data()), lost_it->second.size(),
                      400, false, false);
  } else {
    said = why_lost;
  }
  // The row has nothing else on that side: the text may run past the other line to the edge.
  const double room =
      (dir > 0 ? a.w - kMarginRight - (mx + 10) : mx - 10 - kInnerLeft) - 6 * kLabelFont * kCharWidth;
  fit(said, columns_for(room, 10));
  appendf(out, "<text class=\"ss-lost-text\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", mx + 10 * dir, my + 4,
          dir > 0 ? "start" : "end");
  if (dir > 0) {
    out += tr("lost");
    if (!said.empty()) {
      out += "<tspan class=\"ss-reason\">: ";
      views::xml_entities(out, said);
      out += "</tspan>";
    }
  } else {
    if (!said.empty()) {
      out += "<tspan class=\"ss-reason\">";
      views::xml_entities(out, said);
      out += " :</tspan>";
    }
    out += tr("lost");
  }
  out += "</text>\n";
  out += "</g>\n";
}

// The shaded phase bands behind a section's rows, and its two lifelines.
void SvgLadder::Impl::draw_bands(std::string& body, const Across& a, const SectionLayout& l,
                                 const Section* sec) const {
  std::string t;
  for (const Band& b : l.bands) {
    const Phases* ph = phase_info(b.phase);
    appendf(body, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"4\"/>\n", ph->css,
            kInnerLeft - 2, b.top + 1, a.w - kMarginRight - kInnerLeft + 2, b.bottom - b.top - 2);
    // UDP has no ACKs: its band says what it holds.
    t = b.phase == Phase::Data && sec && sec->proto == Proto::Udp ? tr("datagrams") : tr(ph->name);
    text_el(body, "ss-band-name", kInnerLeft + 4, b.top + 11, "", t);
  }
  appendf(body,
          "<line class=\"ss-lifeline\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
          "<line class=\"ss-lifeline\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
          a.cx, l.line_top, a.cx, l.line_bottom, a.sx, l.line_top, a.sx, l.line_bottom);
}

// What the picture does not show: no packets, packets left out, a capture still running.
void SvgLadder::Impl::draw_notes(std::string& body, double& y) const {
  std::string t;
  if (items.empty()) {
    y += 24;
    t = tr("no packets");
    text_el(body, "ss-note", 10, y, "", t);
  }
  if (packets_left_out > 0) {
    y += 22;
    t.clear();
    if (calls_left_out > 0)
      appendf_tr(t, trn("%1$llu more packet not drawn: the picture stops at %2$llu packets (socket calls left out: %3$llu)",
                     "%1$llu more packets not drawn: the picture stops at %2$llu packets (socket calls left out: %3$llu)",
                     packets_left_out),
                 static_cast<unsigned long long>(packets_left_out), static_cast<unsigned long long>(opts.max_packets),
                 static_cast<unsigned long long>(calls_left_out));
    else
      appendf_tr(t, trn("%1$llu more packet not drawn: the picture stops at %2$llu packets",
                     "%1$llu more packets not drawn: the picture stops at %2$llu packets", packets_left_out),
                 static_cast<unsigned long long>(packets_left_out), static_cast<unsigned long long>(opts.max_packets));
    text_el(body, "ss-note", 10, y, "", t);
  }
  if (!finished) {
    y += 18;
    t = tr("(drawn before the end of the capture)");
    text_el(body, "ss-note", 10, y, "", t);
  }
}

// The SVG document around the drawn body.
std::string SvgLadder::Impl::document(const std::string& body, double w, double height, bool standalone) const {
  std::string out;
  out.reserve(body.size() + 4096);
  if (standalone) out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  appendf(out,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" height=\"%.0f\" "
          "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Verdana, Arial, Noto Sans CJK SC, WenQuanYi Micro Hei, Microsoft YaHei, PingFang SC, sans-serif\" xml:space=\"preserve\">\n",
          w, height, w, height);
  out += "<title>";
  if (!opts.title.empty())
    out += xml_escape(opts.title);
  else
    out += tr("ladder diagram: client on the left, server on the right, one arrow per packet");
  out += "</title>\n<style type=\"text/css\">";
  out += kStyle;
  out += "</style>\n";
  appendf(out, "<rect class=\"ss-bg\" x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\"/>\n", w, height);
  out += body;
  out += "</svg>\n";
  return out;
}

std::string SvgLadder::Impl::render(bool standalone) const {
  const Across a(opts.width, !calls.empty());
  const std::vector<std::vector<std::uint32_t>> by_section = items_by_section();
  std::string body;
  body.reserve(items.size() * 420 + 2048);
  double y = 8;
  draw_title(body, a.w, y);
  draw_legend(body, a.w, y);
  std::string rows_svg;
  for (std::size_t si = 0; si < by_section.size(); ++si) {
    const Section* sec = si < sections.size() ? &sections[si] : nullptr;
    draw_heading(body, a, sec, y);
    const SectionLayout l = lay_out_rows(by_section[si], y);
    rows_svg.clear();
    for (const Place& place : l.rows) {
      const Item& it = items[place.item];
      if (it.is_call)
        draw_call(rows_svg, a, calls[it.index], place.top);
      else
        draw_packet(rows_svg, a, packets[it.index], place.top);
    }
    draw_bands(body, a, l, sec);
    body += rows_svg;
    y = l.line_bottom;
  }
  draw_notes(body, y);
  y += 16;
  return document(body, a.w, std::ceil(y), standalone);
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
