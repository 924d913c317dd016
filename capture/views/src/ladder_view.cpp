// The ladder view: a two-column sequence diagram, client on the left, server on the right.
//   conn 1 tcp: client 127.0.0.1:51514                      server 127.0.0.1:9000
//      1     0.000  ──SYN seq=0 win=65495 mss=65495──────▶  handshake 1/3: ...
//      2     0.000  ◀──────────SYN,ACK seq=0 ack=1 win=65483──  handshake 2/3: ...
// With the socket calls of a live run, three columns: the client's calls at the left, the packets on
// the wire in the middle, the server's calls at the right (where the annotations are):
//              0.210  connect(127.0.0.1:9000) ...
//      1       0.231                              ──SYN seq=0 win=65495──▶  handshake 1/3: ...
//              0.301                                                        accept() = 4 from ...
#include <cstring>
#include <string>

#include "sockscope/text/escape.hpp"
#include "format.hpp"
#include "sockscope/text/i18n.hpp"
#include "view_common.hpp"

namespace sockscope::views {
namespace {

constexpr std::size_t kLeft = 18;          // "%6llu %9s  "
constexpr std::size_t kPreviewBytes = 12;  // payload shown on an arrow
constexpr std::size_t kClientCol = 26;     // the client's calls, left of the wire
constexpr const char* kDash = "\xe2\x94\x80";    // ─
constexpr const char* kRight = "\xe2\x96\xb6";   // ▶
constexpr const char* kLeftHead = "\xe2\x97\x80";  // ◀
constexpr const char* kEllipsis = "\xe2\x80\xa6";

// Cuts UTF-8 text s to at most w columns, ending with "…" when cut.
void fit_width(std::string& s, std::size_t w) {
  if (display_width(s) <= w) return;
  std::size_t cols = 0, i = 0;
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  while (i < s.size()) {
    std::uint32_t cp = 0;
    int len = utf8_decode(p + i, s.size() - i, cp);
    if (len <= 0) len = 1;
    const std::size_t cw = display_width(std::string_view(s.data() + i, static_cast<std::size_t>(len)));
    if (cols + cw + 1 > w) break;  // keep a column for the ellipsis
    cols += cw;
    i += static_cast<std::size_t>(len);
  }
  s.resize(i);
  s += kEllipsis;
}

void repeat(std::string& out, const char* s, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out += s;
}

class LadderView final : public View {
 public:
  LadderView(OutBuffer& out, const ViewOptions& opts) : out_(out), opts_(opts) {
    width_ = static_cast<std::size_t>(opts.width > 0 ? opts.width : 100);
    layout(opts.calls);
  }

  void packet(const Packet& p, const Annotation& a) override {
    line_.clear();
    if (start_.see(p.ts) && columns_) column_header();
    const bool arrowed = (p.transport == Transport::Tcp || p.transport == Transport::Udp) && p.ip.version != 0;
    if (arrowed && a.conn != 0 && a.conn > max_conn_) {
      max_conn_ = a.conn;
      header(p, a);
    } else if (arrowed && a.conn != 0 && a.conn != last_conn_) {
      line_ += kIndent();
      appendf_tr(line_, tr("(conn %u)"), a.conn);
      line_ += '\n';
    }
    if (arrowed && a.conn != 0) last_conn_ = a.conn;

    appendf(line_, "%6llu ", static_cast<unsigned long long>(p.frame));
    time_.clear();
    append_rel_time(time_, start_.first, p.ts);
    appendf(line_, "%9s  ", time_.c_str());
    line_.append(client_w_, ' ');

    text_.clear();
    describe(p, a, text_);
    if (arrowed) {
      label(p, a);
      fit_width(label_, arrow_w_ - 4);
      const std::size_t fill = arrow_w_ - 3 - display_width(label_);
      if (a.dir == Direction::S2C) {
        line_ += kLeftHead;
        repeat(line_, kDash, fill);
        line_ += label_;
        repeat(line_, kDash, 2);
      } else {
        repeat(line_, kDash, 2);
        line_ += label_;
        repeat(line_, kDash, fill);
        line_ += kRight;
      }
      line_ += "  ";
    }
    const char* colour = opts_.color ? event_colour(a.events) : nullptr;
    if (colour) line_ += colour;
    line_ += text_;
    if (colour) line_ += kReset;
    line_ += '\n';
    out_.put(line_);
  }

  // A call on its own line: the client's in the left column, the server's in the right one.
  void call(const CallRecord& c, std::uint32_t conn) override {
    (void)conn;
    const Timestamp& ts = c.timeline_ts();
    line_.clear();
    if (start_.see(ts)) {
      // The first item is a call: this is a live run with endpoints, whatever the options said.
      if (!columns_) layout(true);
      column_header();
    }
    time_.clear();
    append_rel_time(time_, start_.first, ts);
    appendf(line_, "%6s %9s  ", "", time_.c_str());
    if (c.endpoint == CallRole::Server) line_.append(client_w_ + arrow_w_ + 2, ' ');
    const char* colour = opts_.color && call_failed(c) ? kRed : nullptr;
    if (colour) line_ += colour;
    append_call_text(line_, c);
    if (colour) line_ += kReset;
    line_ += '\n';
    out_.put(line_);
  }

  void conversation(const ConnSummary&) override {}  // the summary view and JSON report these
  void finish() override { out_.flush(); }

 private:
  static const char* kIndent() { return "                  "; }

  // The arrow takes about half of what is left after frame, time (and the client's call column);
  // the annotation the rest.
  void layout(bool columns) {
    columns_ = columns;
    client_w_ = columns ? kClientCol : 0;
    const std::size_t used = kLeft + client_w_;
    const std::size_t rest = width_ > used + 20 ? width_ - used : 20;
    arrow_w_ = rest / 2;
    // With calls, a SYN-ACK's label ("SYN,ACK seq=0 ack=1 win=65483") still fits on its arrow.
    const std::size_t min_w = columns ? 34 : 24;
    if (arrow_w_ < min_w) arrow_w_ = min_w;
    if (arrow_w_ > 64) arrow_w_ = 64;
  }

  // "client ... wire ... server" over the three columns, once.
  void column_header() {
    line_ += kIndent();
    left_ = tr("client");
    line_ += left_;
    line_.append(client_w_ > display_width(left_) ? client_w_ - display_width(left_) : 1, ' ');
    right_ = tr("wire (packets)");
    const std::size_t rw = display_width(right_);
    const std::size_t pad = arrow_w_ > rw ? (arrow_w_ - rw) / 2 : 0;
    line_.append(pad, ' ');
    line_ += right_;
    line_.append(arrow_w_ > rw + pad ? arrow_w_ - rw - pad : 1, ' ');
    line_ += "  ";
    line_ += tr("server");
    line_ += '\n';
  }

  // "conn 1 tcp: client 127.0.0.1:51514 ...... server 127.0.0.1:9000"
  void header(const Packet& p, const Annotation& a) {
    const bool c2s = a.dir != Direction::S2C;
    left_.clear();
    right_.clear();
    left_ += tr("client");
    left_ += ' ';
    if (c2s)
      append_src(left_, p);
    else
      append_dst(left_, p);
    right_ += tr("server");
    right_ += ' ';
    if (c2s)
      append_dst(right_, p);
    else
      append_src(right_, p);
    line_ += '\n';
    appendf_tr(line_, tr("conn %1$u %2$s:"), a.conn, proto_name(a.proto));
    line_ += '\n';
    line_ += kIndent();
    line_ += left_;
    if (columns_) {
      // The server's address above the server's column.
      const std::size_t lw = display_width(left_);
      line_.append(lw + 1 < client_w_ + arrow_w_ + 2 ? client_w_ + arrow_w_ + 2 - lw : 1, ' ');
    } else {
      const std::size_t used = display_width(left_) + display_width(right_);
      line_.append(used + 2 < arrow_w_ ? arrow_w_ - used : 2, ' ');
    }
    line_ += right_;
    line_ += '\n';
  }

  // What the arrow says: "SYN seq=0 win=65495 mss=65495", "PSH,ACK seq=1:6 len=5 "hello"", "ACK ack=6".
  void label(const Packet& p, const Annotation& a) {
    label_.clear();
    if (p.transport == Transport::Udp) {
      appendf(label_, "UDP len=%u", p.payload_len);
    } else {
      const TcpInfo& t = p.tcp;
      append_tcp_flag_names(label_, t.flags);
      const std::uint32_t seq = a.has_rel ? a.rel_seq : t.seq;
      const std::uint32_t ack = a.has_rel ? a.rel_ack : t.ack;
      const bool syn = t.has(tcpflag::kSyn);
      if (p.payload_len > 0)
        appendf(label_, " seq=%u:%u", seq, seq + p.payload_len);
      else if (syn || t.has(tcpflag::kFin) || t.has(tcpflag::kRst))
        appendf(label_, " seq=%u", seq);
      if (t.has(tcpflag::kAck) && (p.payload_len == 0 || syn) && !t.has(tcpflag::kFin))
        appendf(label_, " ack=%u", ack);
      if (syn || a.events.has(Event::ZeroWindow) || a.events.has(Event::WindowUpdate))
        appendf(label_, " win=%u", a.conn != 0 ? a.window : t.window);
      if (syn && t.has_mss) appendf(label_, " mss=%u", static_cast<unsigned>(t.mss));
      if (p.payload_len > 0) appendf(label_, " len=%u", p.payload_len);
    }
    if (opts_.payload && p.payload_captured > 0) {
      label_ += " \"";
      escape_text(label_, p.payload, p.payload_captured, kPreviewBytes, p.payload_len > p.payload_captured);
      label_ += '"';
    }
  }

  OutBuffer& out_;
  ViewOptions opts_;
  std::size_t width_ = 100;
  std::size_t arrow_w_ = 40;
  bool columns_ = false;       // client | wire | server
  std::size_t client_w_ = 0;   // the client's call column (0 without calls)
  TimelineStart start_;
  std::uint32_t max_conn_ = 0, last_conn_ = 0;
  std::string line_, text_, time_, label_, left_, right_;
};

}  // namespace

std::unique_ptr<View> make_ladder_view(OutBuffer& out, const ViewOptions& opts) {
  return std::make_unique<LadderView>(out, opts);
}

}  // namespace sockscope::views
