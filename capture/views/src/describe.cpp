// describe(): one plain-English sentence per packet, built from the annotator's events and numbers.
// Every sentence is a whole catalogue entry with printf placeholders, so a translator can reorder it
// ("%1$s"); fragments are only ever joined with "; ".
#include <cstdio>
#include <string>

#include "sockscope/text/escape.hpp"
#include "format.hpp"
#include "sockscope/decode/decode.hpp"
#include "sockscope/text/i18n.hpp"
#include "sockscope/views/views.hpp"

namespace sockscope {
namespace {

using views::appendf_tr;

using ull = unsigned long long;

// The state an endpoint reached, or the state RFC 9293 says it reaches in the usual case.
const char* state_or(TcpState s, const char* usual) {
  return s == TcpState::Unknown ? usual : tcp_state_name(s);
}

TcpState sender_state(const Annotation& a) {
  return a.dir == Direction::S2C ? a.server_state : a.client_state;
}

// "4" or "4, 6, 8" or "4, 6, 8, …": the frames an ACK covers, into a stack buffer.
void frame_list(const Annotation& a, char* buf, std::size_t size) {
  const std::size_t n = a.acked_frame_count < a.acked_frames.size() ? a.acked_frame_count : a.acked_frames.size();
  std::size_t len = 0;
  buf[0] = '\0';
  for (std::size_t i = 0; i < n && len < size; ++i) {
    const int w = std::snprintf(buf + len, size - len, i ? ", %llu" : "%llu", static_cast<ull>(a.acked_frames[i]));
    if (w < 0) break;
    len += static_cast<std::size_t>(w);
  }
  if (a.acked_frames_more && len < size) std::snprintf(buf + len, size - len, ", \xe2\x80\xa6");
}

class Sentence {
 public:
  // TRANSLATORS: joins two explanations of one packet, each a whole clause ("data: bytes 1..6; retransmission").
  explicit Sentence(std::string& out) : out_(out), separator_(tr("; ")) { out_.clear(); }
  // Starts the next fragment; fragments join with "; " (the language's own separator: "；" in Chinese).
  std::string& next() {
    if (!out_.empty()) out_ += separator_;
    return out_;
  }

 private:
  std::string& out_;
  const char* separator_;  // looked up once a packet, not once a clause
};

void describe_handshake(const Packet& p, const Annotation& a, Sentence& s) {
  const EventSet& ev = a.events;
  if (ev.has(Event::Handshake1)) {
    const std::uint32_t isn = a.isn_client_known ? a.isn_client : p.tcp.seq;
    appendf_tr(s.next(), tr("handshake 1/3: the client asks to open a connection; its ISN is %u"), isn);
  }
  if (ev.has(Event::Handshake2)) {
    const std::uint32_t isn = a.isn_server_known ? a.isn_server : p.tcp.seq;
    appendf_tr(s.next(), tr("handshake 2/3: the server agrees; ack = client ISN + 1; its own ISN is %u"), isn);
  }
  if (ev.has(Event::Handshake3))
    s.next() += tr("handshake 3/3: the client confirms; both sides are ESTABLISHED");
}

void describe_data_ack(const Packet& p, const Annotation& a, Sentence& s) {
  const EventSet& ev = a.events;
  const char* who = views::sender_role(a.dir);
  if (ev.has(Event::Data)) {
    if (a.has_rel && a.data_last >= a.data_first)
      appendf_tr(s.next(), tr("data: bytes %1$u..%2$u"), a.data_first, a.data_last);
    else
      appendf_tr(s.next(), trn("data: %u byte", "data: %u bytes", p.payload_len), p.payload_len);
  }
  if (ev.has(Event::Ack)) {
    const bool bytes = a.acked_last >= a.acked_first && (a.acked_last != 0 || a.acked_frame_count != 0);
    if (bytes && a.acked_frame_count > 0) {
      char frames[160];
      frame_list(a, frames, sizeof frames);
      const char* fmt = a.acked_frame_count == 1 && !a.acked_frames_more
                            ? tr("ack: the %1$s has bytes %2$u..%3$u (frame %4$s)")
                            : tr("ack: the %1$s has bytes %2$u..%3$u (frames %4$s)");
      appendf_tr(s.next(), fmt, who, a.acked_first, a.acked_last, frames);
    } else if (bytes) {
      appendf_tr(s.next(), tr("ack: the %1$s has bytes %2$u..%3$u"), who, a.acked_first, a.acked_last);
    } else {
      appendf_tr(s.next(), tr("ack: the %1$s acknowledges everything before byte %2$u"), who, a.rel_ack);
    }
  }
}

void describe_close(const Packet& p, const Annotation& a, Sentence& s) {
  const EventSet& ev = a.events;
  const char* who = views::sender_role(a.dir);
  const char* other = views::receiver_role(a.dir);
  const TcpState st = sender_state(a);
  if (ev.has(Event::Teardown1))
    appendf_tr(s.next(), tr("teardown 1/4: the %1$s is done sending (%2$s)"), who, state_or(st, "FIN-WAIT-1"));
  // RFC 9293 3.6: the second FIN may carry the ACK of the first. Any stack may do it (annotate reads
  // other systems' captures too); Linux does when the program closes before its delayed ACK is due.
  const bool merged = ev.has(Event::Teardown2) && ev.has(Event::Teardown3);
  if (merged) {
    appendf_tr(s.next(),
               tr("teardown 2/4 and 3/4 in one segment: the %s acknowledges the FIN and sends its own in "
                  "the same segment, so this close takes three segments, not four"),
               who);
  } else if (ev.has(Event::Teardown2)) {
    appendf_tr(s.next(), tr("teardown 2/4: the %1$s acknowledges the FIN (%2$s)"), who, state_or(st, "CLOSE-WAIT"));
  } else if (ev.has(Event::Teardown3)) {
    appendf_tr(s.next(), tr("teardown 3/4: the %1$s is done sending too (%2$s)"), who, state_or(st, "LAST-ACK"));
  }
  if (ev.has(Event::Teardown4))
    appendf_tr(s.next(), tr("teardown 4/4: the %1$s acknowledges the last FIN and waits in %2$s; the %3$s is CLOSED"),
               who, state_or(st, "TIME-WAIT"), other);
  if (ev.has(Event::SimultaneousClose))
    s.next() += tr("simultaneous close: both sides sent FIN before either FIN was acknowledged (CLOSING)");
  if (ev.has(Event::HalfClose))
    appendf_tr(s.next(), tr("half-close: the %1$s still sends data after the %2$s's FIN"), who, other);

  if (ev.has(Event::Refused)) {
    appendf_tr(s.next(), tr("refused: RST answers the SYN: nobody listens on port %u"),
               static_cast<unsigned>(p.tcp.sport));
  } else if (ev.has(Event::Abort)) {
    appendf_tr(s.next(), tr("abort: the %1$s resets the connection (it was %2$s); bytes in flight are lost"), who,
               state_or(a.rst_sender_state, "ESTABLISHED"));
  } else if (ev.has(Event::Rst)) {
    appendf_tr(s.next(), tr("rst: the %s resets the connection"), who);
  }
}

void describe_analysis(const Annotation& a, Sentence& s) {
  const EventSet& ev = a.events;
  const char* who = views::sender_role(a.dir);
  const char* other = views::receiver_role(a.dir);
  char ms[32];
  views::format_ms(ms, sizeof ms, a.since_original_ns);
  const ull orig = a.original_frame;
  if (ev.has(Event::SpuriousRetransmission)) {
    if (orig)
      appendf_tr(s.next(), tr("spurious retransmission of frame %1$llu: the %2$s already had these bytes"), orig, other);
    else
      appendf_tr(s.next(), tr("spurious retransmission: the %s already had these bytes"), other);
  } else if (ev.has(Event::FastRetransmission)) {
    if (orig)
      appendf_tr(s.next(), tr("fast retransmission of frame %1$llu after %2$s ms: duplicate ACKs asked for it"), orig, ms);
    else
      s.next() += tr("fast retransmission: duplicate ACKs asked for these bytes again");
  } else if (ev.has(Event::Retransmission)) {
    if (orig)
      appendf_tr(s.next(), tr("retransmission of frame %1$llu after %2$s ms"), orig, ms);
    else
      s.next() += tr("retransmission: these bytes were sent before");
  }
  if (ev.has(Event::OutOfOrder)) {
    if (orig)
      // The bytes were seen before: a re-send that came within one round trip of newer bytes, which
      // Wireshark's timing rule (followed here) names out-of-order. Say both, so it is not misread.
      appendf_tr(s.next(), tr("out-of-order (Wireshark's rule: within one round trip of newer bytes), but these bytes were sent before, in frame %llu: a quick re-send"), orig);
    else
      s.next() += tr("out-of-order: these bytes belong before bytes already sent");
  }
  if (ev.has(Event::LostSegment))
    s.next() += tr("lost segment: bytes before these are missing from the capture");
  if (ev.has(Event::AckUnseen))
    appendf_tr(s.next(), tr("ack-unseen: the %s acknowledges bytes this capture never saw"), who);
  if (ev.has(Event::DupAck)) {
    if (a.has_rel)
      appendf_tr(s.next(), tr("dup ack #%1$u of frame %2$llu: the %3$s still waits for byte %4$u"), a.dup_ack_count,
                 static_cast<ull>(a.dup_ack_of), who, a.rel_ack);
    else
      appendf_tr(s.next(), tr("dup ack #%1$u of frame %2$llu"), a.dup_ack_count, static_cast<ull>(a.dup_ack_of));
  }
  if (ev.has(Event::ZeroWindow))
    appendf_tr(s.next(), tr("zero window: the %1$s's receive buffer is full; the %2$s must stop sending"), who, other);
  if (ev.has(Event::ZeroWindowProbe))
    appendf_tr(s.next(), tr("zero-window probe: the %1$s checks whether the %2$s's window has opened"), who, other);
  if (ev.has(Event::WindowUpdate))
    appendf_tr(s.next(), tr("window update: the %1$s can take %2$u bytes again"), who, a.window);
  if (ev.has(Event::WindowFull))
    appendf_tr(s.next(), tr("window full: the %1$s has sent all that the %2$s's window allows"), who, other);
  if (ev.has(Event::Keepalive) && a.keepalive_is_zero_window_probe)
    appendf_tr(s.next(),
               tr("zero-window probe: the %1$s asks whether the %2$s's window has opened, with the number of "
                  "a byte already acknowledged and no data (Linux's form; Wireshark labels it Keep-Alive)"),
               who, other);
  else if (ev.has(Event::Keepalive))
    appendf_tr(s.next(), tr("keepalive: the %s checks that the idle connection is still there"), who);
  if (ev.has(Event::KeepaliveAck))
    appendf_tr(s.next(), tr("keepalive-ack: the %s answers that it is still there"), who);
  if (ev.has(Event::PortReuse))
    s.next() += tr("port-reuse: a new connection on the same addresses and ports as an earlier one");
}

void describe_ip_udp_icmp(const Packet& p, const Annotation& a, Sentence& s) {
  const EventSet& ev = a.events;
  if (ev.has(Event::Datagram))
    appendf_tr(s.next(), tr("UDP datagram %1$llu from the %2$s: no handshake, no ACK"),
               static_cast<ull>(a.datagram_index), views::sender_role(a.dir));
  if (ev.has(Event::IpFragment)) {
    const bool v6 = p.ip.version == 6;
    const unsigned off = v6 ? p.ip.v6.frag_offset : p.ip.v4.frag_offset;
    const bool more = v6 ? p.ip.v6.frag_more : p.ip.v4.mf;
    if (more)
      appendf_tr(s.next(), tr("IP fragment: bytes from %1$u of datagram id %2$u; more fragments follow"), off,
                 p.ip.frag_key);
    else
      appendf_tr(s.next(), tr("IP fragment: the last part, from byte %1$u, of datagram id %2$u"), off, p.ip.frag_key);
  }
  if (ev.has(Event::Reassembled)) {
    const unsigned n = a.fragment_count ? a.fragment_count : p.ip.frag_count;
    appendf_tr(s.next(), tr("reassembled: this fragment completes the datagram (%u fragments)"), n);
  }
  if (ev.has(Event::IcmpUnreachable)) {
    const ull q = a.quotes_frame;
    if (p.icmp.port_unreachable) {
      if (q)
        appendf_tr(s.next(), tr("ICMP port unreachable: answers frame %llu"), q);
      else
        s.next() += tr("ICMP port unreachable: the datagram it answers is not in this capture");
      if (p.icmp.quoted_ports)
        appendf_tr(s.next(), tr("nothing listens on port %u"), static_cast<unsigned>(p.icmp.quoted_dport));
    } else {
      if (q)
        appendf_tr(s.next(), tr("ICMP destination unreachable (code %1$u): answers frame %2$llu"),
                   static_cast<unsigned>(p.icmp.code), q);
      else
        appendf_tr(s.next(), tr("ICMP destination unreachable (code %u): the datagram it answers is not in this capture"),
                   static_cast<unsigned>(p.icmp.code));
    }
  }
}

void describe_errors(const Packet& p, const Annotation& a, Sentence& s) {
  const EventSet& ev = a.events;
  if (ev.has(Event::Malformed) || p.error.status != DecodeStatus::Ok) {
    // Decoder strings are static, but they are escaped anyway: this text reaches terminals.
    std::string layer, what;
    text::escape_text(layer, p.error.layer ? p.error.layer : "?");
    text::escape_text(what, p.error.what && *p.error.what ? tr(p.error.what) : "?");
    if (p.error.status == DecodeStatus::Truncated)
      appendf_tr(s.next(), tr("malformed: %1$s: %2$s (byte %3$u): the capture kept only %4$u of %5$u bytes"),
                 layer.c_str(), what.c_str(), p.error.offset, p.caplen, p.wirelen);
    else if (p.error.status == DecodeStatus::Malformed)
      appendf_tr(s.next(), tr("malformed: %1$s: %2$s (byte %3$u)"), layer.c_str(), what.c_str(), p.error.offset);
    else
      s.next() += tr("malformed: the bytes do not parse");
  }
  if (p.truncated.layer != nullptr) {
    std::string layer;
    views::escape_text(layer, p.truncated.layer);
    appendf_tr(s.next(),
               tr("truncated: the %1$s length field claims %2$u bytes more than the frame holds; the headers that are there are decoded"),
               layer.c_str(), p.truncated.missing);
  }
  if (ev.has(Event::ChecksumBad)) {
    const char* which = p.transport == Transport::Tcp   ? "TCP"
                        : p.transport == Transport::Udp ? "UDP"
                        : p.transport == Transport::Icmp ? (p.icmp.v6 ? "ICMPv6" : "ICMP")
                                                         : "IP";
    // TRANSLATORS: fills "the %s checksum is wrong" in place of "TCP" or "UDP".
    if (p.ip.version == 4 && !p.ip.v4.checksum_ok) which = tr("IPv4 header");
    if (a.checksum_offload_likely)
      appendf_tr(s.next(),
                 tr("checksum-bad: the %s checksum is wrong (likely checksum offload: the sender is this host)"),
                 which);
    else
      appendf_tr(s.next(), tr("checksum-bad: the %s checksum is wrong"), which);
  }
}

void describe_other(const Packet& p, std::string& out);

// Packets without events still get a sentence.
void describe_plain(const Packet& p, Sentence& s) {
  std::string& out = s.next();
  switch (p.transport) {
    case Transport::Tcp:
      if (p.tcp.has(tcpflag::kAck) && p.payload_len == 0)
        out += tr("ack: nothing new acknowledged");
      else
        out += tr("TCP segment");
      return;
    case Transport::Udp:
      out += tr("UDP datagram: no handshake, no ACK");
      return;
    case Transport::Icmp: {
      const unsigned t = p.icmp.type;
      const bool req = p.icmp.v6 ? t == 128 : t == 8;
      const bool rep = p.icmp.v6 ? t == 129 : t == 0;
      if (req)
        appendf_tr(out, tr("ICMP echo request (ping) id %1$u seq %2$u"), static_cast<unsigned>(p.icmp.id),
                   static_cast<unsigned>(p.icmp.seq));
      else if (rep)
        appendf_tr(out, tr("ICMP echo reply id %1$u seq %2$u"), static_cast<unsigned>(p.icmp.id),
                   static_cast<unsigned>(p.icmp.seq));
      else
        appendf_tr(out, tr("ICMP type %1$u code %2$u"), t, static_cast<unsigned>(p.icmp.code));
      return;
    }
    case Transport::Arp: {
      std::string x, y;
      if (p.arp.op == 1) {
        views::append_ip(x, p.arp.target_ip);
        views::append_ip(y, p.arp.sender_ip);
        appendf_tr(out, tr("ARP: who has %1$s? tell %2$s"), x.c_str(), y.c_str());
      } else {
        views::append_ip(x, p.arp.sender_ip);
        views::append_mac(y, p.arp.sender_mac);
        appendf_tr(out, tr("ARP: %1$s is at %2$s"), x.c_str(), y.c_str());
      }
      return;
    }
    default:
      describe_other(p, out);
      return;
  }
}

// The packets sockscope does not decode say what they are as far as the bytes tell, never a guess.
void describe_other(const Packet& p, std::string& out) {
  if (p.ip.version != 0) {
    appendf_tr(out, tr("IP protocol %u: not decoded further"), static_cast<unsigned>(p.ip.proto));
    return;
  }
  if (p.tunnel_count > 0) {
    out += tr("what the tunnel carries is not decoded");
    return;
  }
  switch (p.link.kind) {
    case LinkKind::Unknown: {
      const char* name = linktype_name(p.link.linktype);
      if (name != nullptr)
        appendf_tr(out, tr("link type %1$u (%2$s) is not decoded"), p.link.linktype, name);
      else
        appendf_tr(out, tr("link type %u is not decoded"), p.link.linktype);
      return;
    }
    case LinkKind::Fddi: out += tr("an FDDI frame that does not carry IP (802.2 LLC without SNAP)"); return;
    case LinkKind::Nflog: out += tr("a netfilter log message that does not carry an IP packet"); return;
    case LinkKind::Arcnet:
      if (p.link.arc_type == 212 || p.link.arc_type == 213 || p.link.arc_type == 196)
        out += tr("one part of an ARCNET packet split over several frames: the parts are not put together");
      else
        appendf_tr(out, tr("ARCNET protocol %u is not decoded"), static_cast<unsigned>(p.link.arc_type));
      return;
    default: break;
  }
  if (const char* name = ethertype_name(p.link.ethertype))
    appendf_tr(out, tr("not an IP packet: EtherType 0x%1$04x (%2$s)"), static_cast<unsigned>(p.link.ethertype), name);
  else
    appendf_tr(out, tr("not an IP packet (EtherType 0x%04x)"), static_cast<unsigned>(p.link.ethertype));
}

}  // namespace

void describe(const Packet& p, const Annotation& a, std::string& out) {
  Sentence s(out);
  describe_handshake(p, a, s);
  describe_close(p, a, s);
  describe_analysis(a, s);  // "retransmission of frame 7 ...; data: bytes 1..5" reads in that order
  describe_data_ack(p, a, s);
  describe_ip_udp_icmp(p, a, s);
  describe_errors(p, a, s);
  if (out.empty()) describe_plain(p, s);
  const std::size_t tunnels = p.tunnel_count < p.tunnels.size() ? p.tunnel_count : p.tunnels.size();
  for (std::size_t i = 0; i < tunnels; ++i) views::describe_tunnel(s.next(), p.tunnels[i]);
}

}  // namespace sockscope
