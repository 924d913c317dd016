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
#include <optional>
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
// Across:
constexpr double kTextLeft = 10;    // where the title, legend, headings and notes start
constexpr double kTimeRight = 50;   // the time column's right edge
constexpr double kInnerLeft = 56;   // where the drawing starts, right of the time column
constexpr double kMarginRight = 8;
constexpr double kCallGap = 8;      // between a call's text and its line
// Down:
constexpr double kTopMargin = 8;
constexpr double kBottomMargin = 16;
constexpr double kRowPacket = 32;
constexpr double kRowCall = 18;
constexpr double kBandStrip = 10;  // above a band's first row, for its name
// Within a row, down from its top:
constexpr double kRowBaseline = 13;  // a call's text and time, a packet's label
constexpr double kArrowTop = 19;     // where an arrow leaves its sender's line
constexpr double kSlope = 8;         // how far an arrow drops on its way across
// Font sizes (kStyle's), to guess how many columns of text fit:
constexpr double kTitleFont = 16;
constexpr double kLegendFont = 11;
constexpr double kAddrFont = 11;
constexpr double kLabelFont = 11;
constexpr double kCallFont = 10;
constexpr double kReasonFont = 10;   // a loss's reason
constexpr double kCharWidth = 0.56;  // average advance of DejaVu Sans / Verdana in ems, a little generous
constexpr std::size_t kMaxTextBytes = 400;  // of a title or a loss's reason: more than a line holds

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

// What a legend entry shows left of its words.
enum class Mark : std::uint8_t { Swatch, Line, Cross, None };

// Where a legend entry's words start, right of its mark's left edge.
constexpr double words_offset(Mark m) {
  switch (m) {
    case Mark::Swatch: return 23;
    case Mark::Line: return 25;
    case Mark::Cross: return 18;
    case Mark::None: break;
  }
  return 0;
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

  // Drawing (svg()): lay_out() decides where everything goes, as plain numbers (a Layout), then the
  // draw_ steps write the picture from it, top to bottom.
  struct Across;
  struct Row {
    std::uint32_t item;  // index into items
    double top;          // the row's top edge
  };
  struct Band {
    Phase phase;
    double top, bottom;
  };
  struct LegendEntry {
    Mark mark;
    const char* css;    // the swatch's class (Mark::Swatch)
    const char* words;  // translated
    double x, y;        // the mark's left edge, the words' baseline
  };
  struct SectionLayout {
    const Section* sec = nullptr;  // nullptr: socket calls without any packet
    double heading_y = 0, roles_y = 0, addresses_y = 0;  // baselines; addresses: conversations only
    std::vector<Row> rows;
    std::vector<Band> bands;
    double line_top = 0, line_bottom = 0;  // the two lifelines
  };
  struct Notes {  // the baselines of the notes under the picture, for those it has
    std::optional<double> no_packets, left_out, unfinished;
  };
  struct Layout;

  std::string render(bool standalone) const;
  Layout lay_out() const;
  static std::optional<double> lay_out_title(bool has_title, double& y);
  static std::vector<LegendEntry> lay_out_legend(double w, double& y);
  std::vector<std::vector<std::uint32_t>> items_by_section() const;
  SectionLayout lay_out_section(const Section* sec, const std::vector<std::uint32_t>& section_items,
                                double& y) const;
  void lay_out_rows(SectionLayout& s, const std::vector<std::uint32_t>& section_items, double& y) const;
  Notes lay_out_notes(double& y) const;

  void draw_title(std::string& body, const Layout& l) const;
  static void draw_legend(std::string& body, const std::vector<LegendEntry>& legend);
  void draw_section(std::string& body, const Across& a, const SectionLayout& s) const;
  static void draw_heading(std::string& body, const Across& a, const SectionLayout& s);
  static void draw_addresses(std::string& body, const Across& a, const Section& sec, double y);
  static void draw_bands(std::string& body, const Across& a, const SectionLayout& s);
  void draw_call(std::string& out, const Across& a, const CallRec& c, double top) const;
  void draw_packet(std::string& out, const Across& a, const PacketRec& r, double top) const;
  std::optional<std::string> loss_reason(std::uint64_t frame, std::size_t max_raw) const;
  void append_tooltip(std::string& out, const PacketRec& r, const std::optional<std::string>& loss) const;
  static void draw_arrow(std::string& out, double x1, double y1, double x2, double y2);
  static void draw_lost_arrow(std::string& out, const Across& a, double x1, double y1, double y2, double dir,
                              std::string reason);
  void draw_notes(std::string& body, const Notes& n) const;
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

// Where everything goes, top to bottom: the picture without its text.
struct SvgLadder::Impl::Layout {
  explicit Layout(const Across& a) : across(a) {}
  Across across;
  std::optional<double> title_y;  // baseline; none without a title
  std::vector<LegendEntry> legend;
  std::vector<SectionLayout> sections;
  Notes notes;
  double height = 0;
};

SvgLadder::Impl::Layout SvgLadder::Impl::lay_out() const {
  Layout l(Across(opts.width, !calls.empty()));
  double y = kTopMargin;
  l.title_y = lay_out_title(!opts.title.empty(), y);
  l.legend = lay_out_legend(l.across.w, y);
  const std::vector<std::vector<std::uint32_t>> by_section = items_by_section();
  for (std::size_t si = 0; si < by_section.size(); ++si)
    l.sections.push_back(lay_out_section(si < sections.size() ? &sections[si] : nullptr, by_section[si], y));
  l.notes = lay_out_notes(y);
  l.height = std::ceil(y + kBottomMargin);
  return l;
}

std::optional<double> SvgLadder::Impl::lay_out_title(bool has_title, double& y) {
  constexpr double kAbove = 18, kBelow = 8;  // from the top to its baseline, and from there on
  if (!has_title) return std::nullopt;
  y += kAbove;
  const double baseline = y;
  y += kBelow;
  return baseline;
}

// The three phases, a retransmission, a loss, and what the time column counts; what does not fit goes
// on the next line.
std::vector<SvgLadder::Impl::LegendEntry> SvgLadder::Impl::lay_out_legend(double w, double& y) {
  constexpr double kFirstLine = 14, kNextLine = 16, kBelow = 8;  // baseline to baseline
  constexpr double kEntryGap = 14;  // after an entry's words
  constexpr double kLostRoom = 90;  // the loss's entry goes on a new line unless this much is left
  const auto width_of = [](const char* words) {
    return static_cast<double>(text::display_width(words)) * kLegendFont * kCharWidth;
  };
  std::vector<LegendEntry> legend;
  y += kFirstLine;
  double x = kTextLeft;
  const auto add = [&](Mark mark, const char* css, const char* words) {
    legend.push_back({mark, css, words, x, y});
    x += words_offset(mark) + width_of(words) + kEntryGap;
  };
  const auto new_line = [&] {
    x = kTextLeft;
    y += kNextLine;
  };
  for (const Phases& ph : kPhaseInfo) add(Mark::Swatch, ph.css, tr(ph.name));
  add(Mark::Line, nullptr, tr("retransmission"));
  if (x + kLostRoom > w) new_line();
  add(Mark::Cross, nullptr, tr("lost"));
  const char* time_note = tr("left column: milliseconds since the first packet or call");
  if (x + width_of(time_note) > w - kTextLeft) new_line();
  add(Mark::None, nullptr, time_note);
  y += kBelow;
  return legend;
}

// A section: its heading (title, roles, and a conversation's addresses), then its rows.
SvgLadder::Impl::SectionLayout SvgLadder::Impl::lay_out_section(const Section* sec,
                                                                const std::vector<std::uint32_t>& section_items,
                                                                double& y) const {
  constexpr double kHeadingLine = 28, kRolesLine = 18, kAddressLine = 14;  // baseline below the one above
  constexpr double kBelow = 6;
  SectionLayout s;
  s.sec = sec;
  y += kHeadingLine;
  s.heading_y = y;
  y += kRolesLine;
  s.roles_y = y;
  if (sec && sec->conn != 0) {
    y += kAddressLine;
    s.addresses_y = y;
  }
  y += kBelow;
  lay_out_rows(s, section_items, y);
  return s;
}

// Rows are evenly spaced: a call row, a packet row; a run of packets in one phase is a band (calls
// between them stay inside it), and a new band starts with a strip that holds its name, so the name
// never meets a label.
void SvgLadder::Impl::lay_out_rows(SectionLayout& s, const std::vector<std::uint32_t>& section_items,
                                   double& y) const {
  constexpr double kLifelinePad = 4;  // the lifelines reach this far above the first row and below the last
  s.line_top = y;
  y += kLifelinePad;
  bool in_band = false;
  for (std::uint32_t item_idx : section_items) {
    const Item& it = items[item_idx];
    double top = y;
    if (it.is_call) {
      s.rows.push_back({item_idx, top});
      y += kRowCall;
      continue;
    }
    const PacketRec& r = packets[it.index];
    if (r.phase == Phase::Other) {
      in_band = false;
    } else if (in_band && s.bands.back().phase == r.phase) {
      s.bands.back().bottom = top + kRowPacket;
    } else {
      y += kBandStrip;
      top = y;
      s.bands.push_back({r.phase, top - kBandStrip, top + kRowPacket});
      in_band = true;
    }
    s.rows.push_back({item_idx, top});
    y += kRowPacket;
  }
  y += kLifelinePad;
  s.line_bottom = y;
}

// What the picture does not show: no packets, packets left out, a capture still running.
SvgLadder::Impl::Notes SvgLadder::Impl::lay_out_notes(double& y) const {
  constexpr double kNoPackets = 24, kLeftOut = 22, kUnfinished = 18;  // each baseline below the one above
  const auto next_line = [&y](double step) {
    y += step;
    return y;
  };
  Notes n;
  if (items.empty()) n.no_packets = next_line(kNoPackets);
  if (packets_left_out > 0) n.left_out = next_line(kLeftOut);
  if (!finished) n.unfinished = next_line(kUnfinished);
  return n;
}

std::string SvgLadder::Impl::render(bool standalone) const {
  const Layout l = lay_out();
  std::string body;
  body.reserve(items.size() * 420 + 2048);
  draw_title(body, l);
  draw_legend(body, l.legend);
  for (const SectionLayout& s : l.sections) draw_section(body, l.across, s);
  draw_notes(body, l.notes);
  return document(body, l.across.w, l.height, standalone);
}

void SvgLadder::Impl::draw_title(std::string& body, const Layout& l) const {
  if (!l.title_y) return;
  std::string t = text::printable(opts.title, kMaxTextBytes);
  fit(t, columns_for(l.across.w - 2 * kTextLeft, kTitleFont));
  text_el(body, "ss-title", kTextLeft, *l.title_y, "", t);
}

void SvgLadder::Impl::draw_legend(std::string& body, const std::vector<LegendEntry>& legend) {
  constexpr double kSwatchTop = 9;  // a swatch's top, above the words' baseline
  constexpr double kMarkMiddle = 4;  // the middle of a line or cross, above the words' baseline
  constexpr double kLineLength = 20;
  constexpr double kCrossLeft = 4, kCrossRight = 12, kCrossHalf = 4;
  for (const LegendEntry& e : legend) {
    const double mid = e.y - kMarkMiddle;
    switch (e.mark) {
      case Mark::Swatch:
        appendf(body, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"11\" rx=\"2\"/>\n", e.css, e.x,
                e.y - kSwatchTop);
        break;
      case Mark::Line:
        appendf(body,
                "<g class=\"ss-retx\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke-width=\"1.6\"/></g>\n",
                e.x, mid, e.x + kLineLength, mid);
        break;
      case Mark::Cross:
        appendf(body,
                "<line class=\"ss-cross\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<line class=\"ss-cross\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                e.x + kCrossLeft, mid - kCrossHalf, e.x + kCrossRight, mid + kCrossHalf, e.x + kCrossLeft,
                mid + kCrossHalf, e.x + kCrossRight, mid - kCrossHalf);
        break;
      case Mark::None: break;
    }
    text_el(body, "ss-legend", e.x + words_offset(e.mark), e.y, "", e.words);
  }
}

// A section: its heading, then the phase bands and lifelines, then the rows over them.
void SvgLadder::Impl::draw_section(std::string& body, const Across& a, const SectionLayout& s) const {
  draw_heading(body, a, s);
  draw_bands(body, a, s);
  for (const Row& row : s.rows) {
    const Item& it = items[row.item];
    if (it.is_call)
      draw_call(body, a, calls[it.index], row.top);
    else
      draw_packet(body, a, packets[it.index], row.top);
  }
}

// A section's heading, who is on which line, and (for a conversation) their addresses.
void SvgLadder::Impl::draw_heading(std::string& body, const Across& a, const SectionLayout& s) {
  const Section* sec = s.sec;
  const bool conv = sec && sec->conn != 0;
  std::string t;
  if (conv) {
    const char* proto = sec->proto == Proto::Tcp ? "TCP" : sec->proto == Proto::Udp ? "UDP" : proto_name(sec->proto);
    appendf_tr(t, tr("conversation %1$u (%2$s)"), sec->conn, proto);
  } else if (sec) {
    t = tr("packets outside any TCP or UDP conversation");
  } else {
    t = tr("socket calls");
  }
  text_el(body, "ss-head", kTextLeft, s.heading_y, "", t);
  t = conv || !sec ? tr("client") : tr("first sender");
  text_el(body, "ss-role", a.cx, s.roles_y, "middle", t);
  t = conv || !sec ? tr("server") : tr("the other side");
  text_el(body, "ss-role", a.sx, s.roles_y, "middle", t);
  text_el(body, "ss-time", kTimeRight, s.roles_y, "end", "ms");
  if (conv) draw_addresses(body, a, *sec, s.addresses_y);
}

// Each address centred under its role, but kept inside the picture (an IPv6 address is long).
void SvgLadder::Impl::draw_addresses(std::string& body, const Across& a, const Section& sec, double y) {
  constexpr double kEdge = 4;     // the closest an address comes to the picture's edge
  constexpr double kBetween = 6;  // half the least gap between the two addresses
  const double half_room = (a.sx - a.cx) / 2 - kBetween;
  std::string t;
  for (int side_i = 0; side_i < 2; ++side_i) {
    t = side_i == 0 ? sec.client : sec.server;
    const double line_x = side_i == 0 ? a.cx : a.sx;
    const double edge = side_i == 0 ? line_x - kEdge : a.w - kEdge - line_x;  // room beyond the line
    fit_middle(t, columns_for(half_room + edge, kAddrFont));
    const double est = static_cast<double>(text::display_width(t)) * kAddrFont * kCharWidth;
    double x = line_x;
    if (est / 2 > edge) x = side_i == 0 ? kEdge + est / 2 : a.w - kEdge - est / 2;
    text_el(body, "ss-addr", x, y, "middle", t);
  }
}

// The shaded phase bands behind a section's rows, and its two lifelines.
void SvgLadder::Impl::draw_bands(std::string& body, const Across& a, const SectionLayout& s) {
  constexpr double kOverhang = 2;  // a band reaches this far left of the drawing
  constexpr double kInset = 1;     // a band's top and bottom, inside its rows (a gap between two bands)
  constexpr double kNameLeft = 4, kNameBaseline = 11;  // the band's name, inside its top-left corner
  std::string t;
  for (const Band& b : s.bands) {
    const Phases* ph = phase_info(b.phase);
    appendf(body, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"4\"/>\n", ph->css,
            kInnerLeft - kOverhang, b.top + kInset, a.w - kMarginRight - kInnerLeft + kOverhang,
            b.bottom - b.top - 2 * kInset);
    // UDP has no ACKs: its band says what it holds.
    t = b.phase == Phase::Data && s.sec && s.sec->proto == Proto::Udp ? tr("datagrams") : tr(ph->name);
    text_el(body, "ss-band-name", kInnerLeft + kNameLeft, b.top + kNameBaseline, "", t);
  }
  appendf(body,
          "<line class=\"ss-lifeline\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
          "<line class=\"ss-lifeline\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
          a.cx, s.line_top, a.cx, s.line_bottom, a.sx, s.line_top, a.sx, s.line_bottom);
}

// A call: its time, a dot on its endpoint's line, and its text beside the line, outwards.
void SvgLadder::Impl::draw_call(std::string& out, const Across& a, const CallRec& c, double top) const {
  constexpr double kDotMiddle = 9;  // below the row's top
  std::string t;
  append_time_ms(t, c.ts_ns - start_ns);
  text_el(out, "ss-time", kTimeRight, top + kRowBaseline, "end", t);
  const bool client = c.endpoint == CallRole::Client;
  const double lx = client ? a.cx : a.sx;
  appendf(out, "<circle class=\"ss-dot\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>\n", lx, top + kDotMiddle);
  t.assign(at(c.text_off, c.text_len));
  fit(t, client ? a.client_call_cols : a.server_call_cols);
  text_el(out, c.failed ? "ss-call ss-call-failed" : "ss-call", client ? a.cx - kCallGap : a.sx + kCallGap,
          top + kRowBaseline, client ? "end" : "start", t);
}

// A packet: its time, a tooltip with the human view's sentence, its label, and an arrow sloping down
// from sender to receiver; a lost packet's arrow stops half way at a cross, with the reason.
void SvgLadder::Impl::draw_packet(std::string& out, const Across& a, const PacketRec& r, double top) const {
  constexpr double kTimeBaseline = 23;  // below the row's top: level with the arrow
  std::string t;
  append_time_ms(t, r.ts_ns - start_ns);
  text_el(out, "ss-time", kTimeRight, top + kTimeBaseline, "end", t);
  const std::optional<std::string> loss = loss_reason(r.frame, static_cast<std::size_t>(-1));
  const char* css = r.malformed ? "ss-bad" : r.retransmission ? "ss-retx" : kind_css(r.kind);
  appendf(out, "<g class=\"ss-pkt %s%s\">", css, loss ? " ss-lost" : "");
  append_tooltip(out, r, loss);
  t.assign(at(r.label_off, r.label_len));
  fit(t, a.label_cols);
  text_el(out, "ss-label", a.mid, top + kRowBaseline, "middle", t);
  const double x1 = r.from_client ? a.cx : a.sx;
  const double x2 = r.from_client ? a.sx : a.cx;
  const double y1 = top + kArrowTop, y2 = top + kArrowTop + kSlope;
  if (loss)
    draw_lost_arrow(out, a, x1, y1, y2, r.from_client ? 1 : -1, *loss_reason(r.frame, kMaxTextBytes));
  else
    draw_arrow(out, x1, y1, x2, y2);
  out += "</g>\n";
}

// Why a frame is drawn lost, terminal-safe (mark_lost's reason escaped from at most max_raw bytes), or
// nothing when it is not.
std::optional<std::string> SvgLadder::Impl::loss_reason(std::uint64_t frame, std::size_t max_raw) const {
  if (const auto marked = lost.find(frame); marked != lost.end()) return text::printable(marked->second, max_raw);
  const auto resent = resent_as.find(frame);
  if (resent == resent_as.end()) return std::nullopt;
  std::string why;
  appendf_tr(why, tr("never acknowledged; frame %llu re-sent it"), static_cast<unsigned long long>(resent->second));
  return why;
}

// The tooltip (browsers show it on hover): the human view's whole sentence, and why it was lost.
void SvgLadder::Impl::append_tooltip(std::string& out, const PacketRec& r,
                                     const std::optional<std::string>& loss) const {
  out += "<title>";
  views::xml_entities(out, at(r.tip_off, r.tip_len));
  if (loss) {
    out += " (";
    out += tr("lost");
    out += ": ";
    views::xml_entities(out, *loss);
    out += ')';
  }
  out += "</title>\n";
}

// A line that stops where the head begins, and the head as a small triangle (no markers: they differ
// between renderers).
void SvgLadder::Impl::draw_arrow(std::string& out, double x1, double y1, double x2, double y2) {
  constexpr double kHeadLength = 9, kHeadHalfWidth = 3.8;
  const double dx = x2 - x1, dy = y2 - y1;
  const double len = std::sqrt(dx * dx + dy * dy);
  const double ux = dx / len, uy = dy / len;
  const double hx = x2 - kHeadLength * ux, hy = y2 - kHeadLength * uy;
  appendf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x1, y1, hx, hy);
  appendf(out, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\"/>\n", x2, y2, hx - kHeadHalfWidth * uy,
          hy + kHeadHalfWidth * ux, hx + kHeadHalfWidth * uy, hy - kHeadHalfWidth * ux);
}

// The arrow stops half way, at a cross, and "lost: <reason>" goes where the rest of it would have been
// (dir: 1 rightwards, -1 leftwards).
void SvgLadder::Impl::draw_lost_arrow(std::string& out, const Across& a, double x1, double y1, double y2, double dir,
                                      std::string reason) {
  constexpr double kCrossHalf = 5;
  constexpr double kTextGap = 10;      // between the cross and the text
  constexpr double kTextDrop = 4;      // the text's baseline below the cross's middle
  constexpr double kLostWordCols = 6;  // "lost: ", in label columns
  const double mx = a.mid, my = (y1 + y2) / 2;
  appendf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x1, y1, mx, my);
  appendf(out,
          "<line class=\"ss-cross\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
          "<line class=\"ss-cross\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
          mx - kCrossHalf, my - kCrossHalf, mx + kCrossHalf, my + kCrossHalf, mx - kCrossHalf, my + kCrossHalf,
          mx + kCrossHalf, my - kCrossHalf);
  // The row has nothing else on that side: the text may run past the other line to the edge.
  const double room = (dir > 0 ? a.w - kMarginRight - (mx + kTextGap) : mx - kTextGap - kInnerLeft) -
                      kLostWordCols * kLabelFont * kCharWidth;
  fit(reason, columns_for(room, kReasonFont));
  appendf(out, "<text class=\"ss-lost-text\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", mx + kTextGap * dir,
          my + kTextDrop, dir > 0 ? "start" : "end");
  if (dir > 0) {
    out += tr("lost");
    if (!reason.empty()) {
      out += "<tspan class=\"ss-reason\">: ";
      views::xml_entities(out, reason);
      out += "</tspan>";
    }
  } else {
    if (!reason.empty()) {
      out += "<tspan class=\"ss-reason\">";
      views::xml_entities(out, reason);
      out += " :</tspan>";
    }
    out += tr("lost");
  }
  out += "</text>\n";
}

void SvgLadder::Impl::draw_notes(std::string& body, const Notes& n) const {
  std::string t;
  if (n.no_packets) {
    t = tr("no packets");
    text_el(body, "ss-note", kTextLeft, *n.no_packets, "", t);
  }
  if (n.left_out) {
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
    text_el(body, "ss-note", kTextLeft, *n.left_out, "", t);
  }
  if (n.unfinished) {
    t = tr("(drawn before the end of the capture)");
    text_el(body, "ss-note", kTextLeft, *n.unfinished, "", t);
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
