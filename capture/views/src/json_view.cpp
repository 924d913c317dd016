// JSON lines (docs/glossary.md): one `packet` object per packet, one `call` object per socket call of a live
// run (merged by time with the packets), one `conn` object per conversation.
// Every string goes through json_string(), so the output is valid UTF-8 JSON whatever the wire held.
#include <cstring>
#include <string>

#include "sockscope/text/escape.hpp"
#include "format.hpp"
#include "osi.hpp"
#include "view_common.hpp"

namespace sockscope::views {
namespace {

const char* dir_json(Direction d) {
  switch (d) {
    case Direction::C2S: return "\"c2s\"";
    case Direction::S2C: return "\"s2c\"";
    case Direction::None: break;
  }
  return "null";
}

class JsonView final : public View {
 public:
  JsonView(OutBuffer& out, const ViewOptions&) : out_(out) {}

  void packet(const Packet& p, const Annotation& a) override {
    std::string& l = line_;
    l.clear();
    l += "{\"type\":\"packet\",\"frame\":";
    append_u64(l, p.frame);
    if (p.several_interfaces) {
      l += ",\"interface\":";
      append_u64(l, p.interface);
      if (!p.interface_name.empty()) {
        l += ",\"interface_name\":";
        json_string(l, p.interface_name);
      }
    }
    l += ",\"ts\":";
    append_ts(l, p.ts);
    l += ",\"conn\":";
    append_u64(l, a.conn);
    l += ",\"proto\":\"";
    l += transport_name(p.transport);
    l += "\",\"src\":";
    tmp_.clear();
    if (append_src(tmp_, p))
      json_string(l, tmp_);
    else
      l += "null";
    l += ",\"dst\":";
    tmp_.clear();
    if (append_dst(tmp_, p))
      json_string(l, tmp_);
    else
      l += "null";
    l += ",\"dir\":";
    l += dir_json(a.dir);
    l += ",\"len\":";
    append_u64(l, p.payload_len);

    if (p.transport == Transport::Tcp) {
      l += ",\"flags\":\"";
      append_tcp_flags(l, p.tcp.flags);
      l += "\",\"seq\":";
      append_u64(l, a.has_rel ? a.rel_seq : p.tcp.seq);
      l += ",\"ack\":";
      if (p.tcp.has(tcpflag::kAck))
        append_u64(l, a.has_rel ? a.rel_ack : p.tcp.ack);
      else
        l += "null";
      l += ",\"win\":";
      append_u64(l, a.conn != 0 ? a.window : p.tcp.window);
      l += ",\"state\":{\"client\":";
      json_string(l, tcp_state_name(a.client_state));
      l += ",\"server\":";
      json_string(l, tcp_state_name(a.server_state));
      l += '}';
    }

    if (p.truncated.layer != nullptr) {
      l += ",\"truncated\":{\"layer\":";
      json_string(l, p.truncated.layer);
      l += ",\"missing\":";
      append_u64(l, p.truncated.missing);
      l += '}';
    }
    if (p.tunnel_count > 0) {
      l += ",\"tunnels\":[";
      const std::size_t n = p.tunnel_count < p.tunnels.size() ? p.tunnel_count : p.tunnels.size();
      for (std::size_t i = 0; i < n; ++i) {
        if (i) l += ',';
        append_tunnel_json(l, p.tunnels[i]);
      }
      l += ']';
    }
    l += ",\"events\":[";
    bool first = true;
    a.events.for_each([&](Event e) {
      if (!first) l += ',';
      first = false;
      const char* name = event_name(e);
      json_string(l, name ? name : "?");
    });
    l += ']';

    if (a.events.has(Event::Ack)) {
      l += ",\"acks\":{\"first\":";
      append_u64(l, a.acked_first);
      l += ",\"last\":";
      append_u64(l, a.acked_last);
      l += ",\"frames\":[";
      const std::size_t n = a.acked_frame_count < a.acked_frames.size() ? a.acked_frame_count : a.acked_frames.size();
      for (std::size_t i = 0; i < n; ++i) {
        if (i) l += ',';
        append_u64(l, a.acked_frames[i]);
      }
      l += "]}";
    }
    if (a.events.has(Event::DupAck)) {
      l += ",\"dup_ack_of\":";
      append_u64(l, a.dup_ack_of);
      l += ",\"dup_ack_count\":";
      append_u64(l, a.dup_ack_count);
    }
    if (a.events.has(Event::IcmpUnreachable)) {
      l += ",\"quotes\":";
      if (a.quotes_frame != 0)
        append_u64(l, a.quotes_frame);
      else
        l += "null";
    }
    if (p.error.status != DecodeStatus::Ok) {
      l += ",\"error\":{\"layer\":";
      json_string(l, p.error.layer ? p.error.layer : "");
      l += ",\"what\":";
      json_string(l, p.error.what ? p.error.what : "");
      l += ",\"offset\":";
      append_u64(l, p.error.offset);
      l += ",\"kind\":";
      l += p.error.status == DecodeStatus::Truncated ? "\"truncated\"" : "\"malformed\"";
      l += '}';
    }
    l += ",\"layers\":";
    layers_.render(p, l);
    l += ",\"text\":";
    text_.clear();
    describe(p, a, text_);
    json_string(l, text_);
    l += "}\n";
    out_.put(l);
  }

  // Only calls that returned: a blocking call's first report (returned = false) has no result yet, and
  // its `ts` is in the line of its return anyway.
  void call(const CallRecord& c, std::uint32_t conn) override {
    if (!c.returned) return;
    std::string& l = line_;
    l.clear();
    l += "{\"type\":\"call\",\"ts\":";
    append_ts(l, c.ts);
    l += ",\"ts_return\":";
    append_ts(l, c.ts_return);
    l += ",\"endpoint\":";
    l += c.endpoint == CallRole::Server ? "\"server\"" : "\"client\"";
    l += ",\"call\":";
    json_string(l, c.call);
    l += ",\"result\":";
    appendf(l, "%lld", static_cast<long long>(c.result));
    l += ",\"errno\":";
    if (c.err != 0)
      json_string(l, errno_name(c.err));
    else
      l += "null";
    l += ",\"kernel_state\":";
    if (!c.kernel_state.empty())
      json_string(l, c.kernel_state);
    else
      l += "null";
    l += ",\"conn\":";
    append_u64(l, conn);
    l += ",\"args\":";
    json_string(l, c.args);
    l += ",\"data\":";
    json_string(l, c.data);
    l += ",\"fd\":";
    appendf(l, "%d", c.fd);
    l += ",\"local\":";
    append_call_endpoint(l, c.has_local, c.local);
    l += ",\"peer\":";
    append_call_endpoint(l, c.has_peer, c.peer);
    // sockscope trace: which process made the call (its program's name is as the kernel gives it).
    if (c.pid != 0) {
      l += ",\"pid\":";
      appendf(l, "%d", c.pid);
      l += ",\"program\":";
      json_string(l, c.program);
    }
    l += "}\n";
    out_.put(l);
  }

  void conversation(const ConnSummary& s) override {
    std::string& l = line_;
    l.clear();
    l += "{\"type\":\"conn\",\"conn\":";
    append_u64(l, s.conn);
    l += ",\"proto\":";
    json_string(l, proto_name(s.proto));
    l += ",\"client\":";
    tmp_.clear();
    append_summary_endpoint(tmp_, s, s.client);
    json_string(l, tmp_);
    l += ",\"server\":";
    tmp_.clear();
    append_summary_endpoint(tmp_, s, s.server);
    json_string(l, tmp_);
    l += ",\"first_frame\":";
    append_u64(l, s.first_frame);
    l += ",\"last_frame\":";
    append_u64(l, s.last_frame);
    l += ",\"packets\":";
    append_u64(l, s.packets);
    l += ",\"bytes\":{\"c2s\":";
    append_u64(l, s.bytes_c2s);
    l += ",\"s2c\":";
    append_u64(l, s.bytes_s2c);
    l += '}';
    if (s.proto == Proto::Tcp) {
      l += ",\"handshake\":{\"complete\":";
      l += s.handshake_complete ? "true" : "false";
      l += ",\"frames\":[";
      const std::size_t hn = s.handshake_frame_count < s.handshake_frames.size() ? s.handshake_frame_count
                                                                               : s.handshake_frames.size();
      for (std::size_t i = 0; i < hn; ++i) {
        if (i) l += ',';
        append_u64(l, s.handshake_frames[i]);
      }
      l += "]},\"close\":";
      json_string(l, close_kind_name(s.close));
      l += ",\"close_frames\":[";
      const std::size_t cn = s.close_frame_count < s.close_frames.size() ? s.close_frame_count : s.close_frames.size();
      for (std::size_t i = 0; i < cn; ++i) {
        if (i) l += ',';
        append_u64(l, s.close_frames[i]);
      }
      l += ']';
    } else if (s.proto == Proto::Udp) {
      l += ",\"datagrams\":{\"c2s\":";
      append_u64(l, s.datagrams_c2s);
      l += ",\"s2c\":";
      append_u64(l, s.datagrams_s2c);
      l += '}';
    }
    l += ",\"retransmissions\":";
    append_u64(l, s.retransmissions);
    l += ",\"dup_acks\":";
    append_u64(l, s.dup_acks);
    l += ",\"history\":";
    json_string(l, std::string_view(s.history.data(), strnlen(s.history.data(), s.history.size())));
    l += ",\"conn_state\":";
    json_string(l, conn_state_name(s.conn_state));
    l += "}\n";
    out_.put(l);
  }

  void finish() override { out_.flush(); }

 private:
  void append_call_endpoint(std::string& l, bool has, const Endpoint& e) {
    if (!has) {
      l += "null";
      return;
    }
    tmp_.clear();
    append_endpoint(tmp_, e.ip, e.port);
    json_string(l, tmp_);
  }

  OutBuffer& out_;
  std::string line_, tmp_, text_;
  JsonLayers layers_;
};

}  // namespace

std::unique_ptr<View> make_json_view(OutBuffer& out, const ViewOptions& opts) {
  return std::make_unique<JsonView>(out, opts);
}

}  // namespace sockscope::views
