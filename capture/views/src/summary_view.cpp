// The summary view: nothing per packet; one block per conversation as it finishes, totals at the end.
#include <cstring>
#include <string>

#include "sockscope/text/escape.hpp"
#include "format.hpp"
#include "sockscope/text/i18n.hpp"
#include "view_common.hpp"

namespace sockscope::views {
namespace {

using ull = unsigned long long;

template <std::size_t N>
void append_frames(std::string& out, const std::array<std::uint64_t, N>& frames, std::size_t count) {
  if (count > N) count = N;
  for (std::size_t i = 0; i < count; ++i) {
    if (i) out += ", ";
    append_u64(out, frames[i]);
  }
}

class SummaryView final : public View {
 public:
  SummaryView(OutBuffer& out, const ViewOptions& opts) : out_(out), opts_(opts) {}

  void packet(const Packet& p, const Annotation& a) override {
    ++packets_;
    if (p.transport == Transport::Tcp || p.transport == Transport::Udp) payload_bytes_ += p.payload_len;
    if (a.events.has(Event::Malformed) || p.error.status != DecodeStatus::Ok) ++malformed_;
  }

  // Calls have no block of their own here; the totals count them (only those that returned: a blocking
  // call is reported twice).
  void call(const CallRecord& c, std::uint32_t) override {
    if (c.returned) ++calls_;
  }

  void conversation(const ConnSummary& s) override {
    ++conns_;
    if (s.proto == Proto::Tcp) ++tcp_;
    if (s.proto == Proto::Udp) ++udp_;
    retrans_ += s.retransmissions;
    dup_acks_ += s.dup_acks;

    b_.clear();
    appendf(b_, "conn %u  %s  ", s.conn, proto_name(s.proto));
    b_ += tr("client");
    b_ += ' ';
    append_summary_endpoint(b_, s, s.client);
    b_ += "  ";
    b_ += tr("server");
    b_ += ' ';
    append_summary_endpoint(b_, s, s.server);
    b_ += '\n';

    const double ms = static_cast<double>(s.last_ts.ns() - s.first_ts.ns()) / 1e6;
    b_ += "  ";
    appendf_tr(b_, tr("frames %1$llu..%2$llu: %3$llu packets in %4$.3f ms"), static_cast<ull>(s.first_frame),
               static_cast<ull>(s.last_frame), static_cast<ull>(s.packets), ms);
    b_ += "\n  ";
    appendf_tr(b_, tr("payload bytes: client\xe2\x86\x92server %1$llu, server\xe2\x86\x92" "client %2$llu"),
               static_cast<ull>(s.bytes_c2s), static_cast<ull>(s.bytes_s2c));
    b_ += '\n';

    if (s.proto == Proto::Tcp) {
      b_ += "  ";
      tmp_.clear();
      append_frames(tmp_, s.handshake_frames, s.handshake_frame_count);
      if (s.handshake_complete)
        appendf_tr(b_, tr("handshake: complete (frames %s)"), tmp_.c_str());
      else if (s.handshake_frame_count == 1)
        appendf_tr(b_, tr("handshake: incomplete (frame %s)"), tmp_.c_str());
      else if (s.handshake_frame_count > 1)
        appendf_tr(b_, tr("handshake: incomplete (frames %s)"), tmp_.c_str());
      else
        b_ += tr("handshake: not seen");
      b_ += "\n  ";
      tmp_.clear();
      append_frames(tmp_, s.close_frames, s.close_frame_count);
      if (s.close_frame_count == 1)
        appendf_tr(b_, tr("close: %1$s (frame %2$s): %3$s"), close_kind_name(s.close), tmp_.c_str(),
                   close_explained(s.close));
      else if (s.close_frame_count > 1)
        appendf_tr(b_, tr("close: %1$s (frames %2$s): %3$s"), close_kind_name(s.close), tmp_.c_str(),
                   close_explained(s.close));
      else
        appendf_tr(b_, tr("close: %1$s: %2$s"), close_kind_name(s.close), close_explained(s.close));
      b_ += "\n  ";
      appendf_tr(b_, tr("retransmissions: %1$llu, dup ACKs: %2$llu"), static_cast<ull>(s.retransmissions),
                 static_cast<ull>(s.dup_acks));
      b_ += "\n  ";
      appendf_tr(b_, tr("final states: client %1$s, server %2$s"), tcp_state_name(s.client_state),
                 tcp_state_name(s.server_state));
      b_ += '\n';
    } else if (s.proto == Proto::Udp) {
      b_ += "  ";
      appendf_tr(b_, tr("datagrams: client\xe2\x86\x92server %1$llu, server\xe2\x86\x92" "client %2$llu"),
                 static_cast<ull>(s.datagrams_c2s), static_cast<ull>(s.datagrams_s2c));
      b_ += '\n';
    }
    b_ += "  history ";
    escape_text(b_, std::string_view(s.history.data(), strnlen(s.history.data(), s.history.size())));
    b_ += "  conn_state ";
    b_ += conn_state_name(s.conn_state);
    b_ += ": ";
    b_ += conn_state_explained(s);
    b_ += "\n\n";
    out_.put(b_);
  }

  void finish() override {
    b_.clear();
    appendf_tr(b_, tr("totals: %1$llu packets, %2$llu payload bytes, %3$llu conversations (%4$llu tcp, %5$llu udp), "
                      "%6$llu retransmissions, %7$llu dup ACKs, %8$llu malformed"),
               static_cast<ull>(packets_), static_cast<ull>(payload_bytes_), static_cast<ull>(conns_),
               static_cast<ull>(tcp_), static_cast<ull>(udp_), static_cast<ull>(retrans_),
               static_cast<ull>(dup_acks_), static_cast<ull>(malformed_));
    if (calls_ > 0) {
      b_ += ", ";
      appendf_tr(b_, tr("%llu socket calls"), static_cast<ull>(calls_));
    }
    b_ += '\n';
    out_.put(b_);
    out_.flush();
  }

 private:
  OutBuffer& out_;
  ViewOptions opts_;
  std::uint64_t packets_ = 0, payload_bytes_ = 0, malformed_ = 0;
  std::uint64_t calls_ = 0;
  std::uint64_t conns_ = 0, tcp_ = 0, udp_ = 0, retrans_ = 0, dup_acks_ = 0;
  std::string b_, tmp_;
};

}  // namespace

std::unique_ptr<View> make_summary_view(OutBuffer& out, const ViewOptions& opts) {
  return std::make_unique<SummaryView>(out, opts);
}

}  // namespace sockscope::views
