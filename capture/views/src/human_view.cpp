// The human view: one line per packet, like tcpdump but for learners, with the annotation under it.
//      4     0.361  #1   c→s  127.0.0.1:51514 → 127.0.0.1:9000  TCP [P.] seq 1 ack 1 win 65483 len 5  "hello"
//                   data: bytes 1..5
// In live runs, the endpoints' socket calls on their own lines between the packets:
//              0.350  #1        send("hello") = 5
//              0.402  #1                                              recv() = 5 "hello"
#include <cstring>
#include <string>

#include "sockscope/text/escape.hpp"
#include "format.hpp"
#include "osi.hpp"
#include "sockscope/decode/decode.hpp"
#include "sockscope/text/i18n.hpp"
#include "view_common.hpp"

namespace sockscope::views {
namespace {

constexpr std::size_t kPreviewBytes = 40;
constexpr const char* kIndent = "                  ";  // under the conversation column
constexpr std::size_t kCallCol = 28;      // client calls start where a packet line says "from -> to"
constexpr std::size_t kServerShift = 38;  // server calls this much further right

const char* dir_arrow(Direction d) {
  switch (d) {
    case Direction::C2S: return "c\xe2\x86\x92s";  // c→s
    case Direction::S2C: return "c\xe2\x86\x90s";  // c←s
    case Direction::None: break;
  }
  return "   ";
}

class HumanView final : public View {
 public:
  HumanView(OutBuffer& out, const ViewOptions& opts) : out_(out), opts_(opts) {}

  void packet(const Packet& p, const Annotation& a) override {
    if (start_.see(p.ts)) header();
    line_.clear();
    appendf(line_, "%6llu ", static_cast<unsigned long long>(p.frame));
    time_.clear();
    append_rel_time(time_, start_.first, p.ts);
    appendf(line_, "%9s  ", time_.c_str());
    if (a.conn != 0)
      appendf(line_, "#%-4u", a.conn);
    else
      line_ += "     ";
    line_ += dir_arrow(a.dir);
    line_ += "  ";
    const std::size_t before = line_.size();
    if (append_src(line_, p)) {
      line_ += " \xe2\x86\x92 ";
      append_dst(line_, p);
    }
    if (line_.size() > before) line_ += "  ";
    append_what(p, a);
    if (p.several_interfaces) {
      line_ += "  ";
      append_interface(line_, p);
    }
    if (opts_.payload && p.payload_captured > 0 &&
        (p.transport == Transport::Tcp || p.transport == Transport::Udp)) {
      line_ += "  \"";
      escape_text(line_, p.payload, p.payload_captured, kPreviewBytes, p.payload_len > p.payload_captured);
      line_ += '"';
    }
    line_ += '\n';

    text_.clear();
    describe(p, a, text_);
    line_ += kIndent;
    const char* colour = opts_.color ? event_colour(a.events) : nullptr;
    if (colour) line_ += colour;
    line_ += text_;
    if (colour) line_ += kReset;
    line_ += '\n';
    if (opts_.osi) osi_.render(p, line_, kIndent);
    out_.put(line_);
  }

  // A call gets its own line, in the client's column (where packet lines show "from -> to") or
  // further right in the server's, so a learner sees who asked the kernel for what, between the
  // packets it caused.
  void call(const CallRecord& c, std::uint32_t conn) override {
    const Timestamp& ts = c.timeline_ts();
    if (start_.see(ts)) header();
    line_.clear();
    // sockscope trace names each call's process on its line instead.
    if (!call_legend_ && c.pid == 0) {
      call_legend_ = true;
      line_.append(kCallCol, ' ');
      text_ = tr("client calls");
      line_ += text_;
      line_.append(kServerShift > display_width(text_) ? kServerShift - display_width(text_) : 2, ' ');
      line_ += tr("server calls");
      line_ += '\n';
    }
    time_.clear();
    append_rel_time(time_, start_.first, ts);
    appendf(line_, "%6s %9s  ", "", time_.c_str());
    if (conn != 0)
      appendf(line_, "#%-4u", conn);
    else
      line_ += "     ";
    line_ += "     ";  // the direction column
    if (c.endpoint == CallRole::Server) line_.append(kServerShift, ' ');
    const char* colour = opts_.color && call_failed(c) ? kRed : nullptr;
    if (colour) line_ += colour;
    append_call_text(line_, c);
    if (colour) line_ += kReset;
    line_ += '\n';
    // A local socket is shown as the program made it, but nothing of it reaches a capture: say so
    // once, under the first one (the C library makes them too, e.g. to ask nscd for a user name).
    if (!local_socket_noted_ && c.call == "socket" && !call_failed(c) && c.args.rfind("AF_UNIX", 0) == 0) {
      local_socket_noted_ = true;
      line_ += kIndent;
      line_ += tr("an AF_UNIX socket links programs on this machine: it never reaches a network, so it makes no "
                  "packets");
      line_ += '\n';
    }
    out_.put(line_);
  }

  void conversation(const ConnSummary& s) override {
    line_.clear();
    appendf(line_, "conn %u %s ", s.conn, proto_name(s.proto));
    append_summary_endpoint(line_, s, s.client);
    line_ += " -> ";
    append_summary_endpoint(line_, s, s.server);
    line_ += "  ";
    if (s.proto == Proto::Tcp) {
      if (s.close == CloseKind::Open || s.close == CloseKind::HalfClosed)
        line_ += close_kind_name(s.close);
      else
        appendf_tr(line_, tr("closed %s"), close_kind_name(s.close));
      line_ += "  history ";
      escape_text(line_, std::string_view(s.history.data(), strnlen(s.history.data(), s.history.size())));
      line_ += "  ";
    } else if (s.proto == Proto::Udp) {
      appendf_tr(line_, tr("datagrams %1$llu c\xe2\x86\x92s, %2$llu s\xe2\x86\x92" "c"),
                 static_cast<unsigned long long>(s.datagrams_c2s), static_cast<unsigned long long>(s.datagrams_s2c));
      line_ += "  ";
    }
    line_ += conn_state_name(s.conn_state);
    line_ += "  ";
    appendf_tr(line_, trn("%llu packet", "%llu packets", s.packets), static_cast<unsigned long long>(s.packets));
    line_ += '\n';
    out_.put(line_);
  }

  void finish() override { out_.flush(); }

 private:
  void header() {
    line_.clear();
    line_ += tr(" frame  time(ms)  conn dir  from \xe2\x86\x92 to  what");
    line_ += '\n';
    out_.put(line_);
  }

  void append_what(const Packet& p, const Annotation& a) {
    switch (p.transport) {
      case Transport::Tcp: {
        line_ += "TCP [";
        append_tcp_flags(line_, p.tcp.flags);
        line_ += ']';
        const bool rel = a.has_rel;
        appendf(line_, " seq %u", rel ? a.rel_seq : p.tcp.seq);
        if (p.tcp.has(tcpflag::kAck)) appendf(line_, " ack %u", rel ? a.rel_ack : p.tcp.ack);
        appendf(line_, " win %u len %u", a.conn != 0 ? a.window : p.tcp.window, p.payload_len);
        break;
      }
      case Transport::Udp: appendf(line_, "UDP len %u", p.payload_len); break;
      case Transport::Icmp:
        appendf(line_, "%s type %u code %u", p.icmp.v6 ? "ICMPv6" : "ICMP", static_cast<unsigned>(p.icmp.type),
                static_cast<unsigned>(p.icmp.code));
        break;
      case Transport::Arp: line_ += p.arp.op == 1 ? tr("ARP request") : p.arp.op == 2 ? tr("ARP reply") : "ARP"; break;
      default:
        if (p.ip.version != 0)
          appendf(line_, "IPv%u proto %u", static_cast<unsigned>(p.ip.version), static_cast<unsigned>(p.ip.proto));
        else if (p.tunnel_count > 0)
          line_ += tr("tunnel payload");
        else if (p.link.kind == LinkKind::Unknown || p.link.ethertype == 0) {
          // No EtherType to show (a link type not decoded, FDDI's other LLC traffic, ARCNET parts).
          if (const char* name = linktype_name(p.link.linktype))
            line_ += name;
          else
            appendf(line_, "LINKTYPE %u", p.link.linktype);
        } else
          appendf(line_, "EtherType 0x%04x", static_cast<unsigned>(p.link.ethertype));
        break;
    }
    if (p.truncated.layer != nullptr)
      appendf(line_, " [truncated-%s - %u bytes missing]", p.truncated.layer, p.truncated.missing);
    if (p.error.status == DecodeStatus::Truncated) line_ += " [|truncated]";
    if (p.error.status == DecodeStatus::Malformed) line_ += " (malformed)";
    const std::size_t tunnels = p.tunnel_count < p.tunnels.size() ? p.tunnel_count : p.tunnels.size();
    for (std::size_t i = 0; i < tunnels; ++i) {
      line_ += " [in ";
      append_tunnel_tag(line_, p.tunnels[i]);
      line_ += ']';
    }
  }

  OutBuffer& out_;
  ViewOptions opts_;
  TimelineStart start_;
  bool call_legend_ = false;
  bool local_socket_noted_ = false;  // the AF_UNIX note is said once
  std::string line_, text_, time_;
  OsiBlock osi_;
};

}  // namespace

std::unique_ptr<View> make_human_view(OutBuffer& out, const ViewOptions& opts) {
  return std::make_unique<HumanView>(out, opts);
}

}  // namespace sockscope::views
