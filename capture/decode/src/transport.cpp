// Layer 4 (TCP, UDP) and ICMP/ICMPv6, including the datagram an ICMP error quotes.
#include <algorithm>

#include "internal.hpp"

namespace sockscope::decode_detail {
namespace {

constexpr std::uint8_t kProtoIcmp = 1;
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint8_t kProtoIcmpv6 = 58;
constexpr std::uint8_t kProtoGre = 47;
constexpr std::uint8_t kProtoIpv4 = 4;
constexpr std::uint8_t kProtoIpv6 = 41;

void set_payload(Packet& p, const Span& s, std::uint32_t start, std::uint32_t end) {
  p.payload_offset = s.report_base + start;
  p.payload_len = end > start ? end - start : 0;
  const std::uint32_t cap = std::min(end, s.cap_end);
  p.payload_captured = cap > start ? cap - start : 0;
  p.payload = p.payload_captured > 0 ? s.base + start : nullptr;
}

// Verifies the checksum over [off, end) of s plus the pseudo-header (if any).
void check_transport_sum(Packet& p, const Span& s, std::uint32_t off, std::uint32_t end,
                         std::uint8_t proto, const Pseudo* ph, std::uint32_t field_at) {
  if (end > s.cap_end || end < off) return;  // not all captured: cannot tell
  if (p.truncated.layer != nullptr) return;   // a length field claims bytes the frame does not hold
  std::uint32_t sum = ph ? pseudo_sum(*ph, proto, end - off) : 0;
  sum = ones_sum(s, s.base + off, end - off, sum);
  p.transport_checksum_checked = true;
  p.transport_checksum_ok = fold(sum) == 0xffff;
  if (!p.transport_checksum_ok && ph && field_at >= off && field_at + 2 <= end) {
    // Checksum offload (Linux CHECKSUM_PARTIAL, as on loopback and before a NIC computes it): the
    // field still holds the folded pseudo-header sum that the hardware would complete. That is not a
    // corrupted segment; the annotator says so instead of calling it bad.
    std::uint16_t field = 0;
    p.transport_checksum_partial =
        s.reader(field_at, 2).be16(field) && field == fold(pseudo_sum(*ph, proto, end - off));
  }
}

// TCP options (RFC 9293 3.1, RFC 7323, RFC 2018) in [off, end). Returns false on a problem.
bool decode_tcp_options(Packet& p, const Span& s, std::uint32_t off, std::uint32_t end) {
  constexpr const char* kL = "tcp";
  TcpInfo& t = p.tcp;
  std::uint32_t o = off;
  while (o < end) {
    std::uint8_t kind = 0;
    if (!fail_need(p, need(s, o, 1), s, kL, SOCKSCOPE_N_("an option runs past the end of the header"), o)) return false;
    s.reader(o, 1).u8(kind);
    if (kind == 0) break;  // end of option list: the rest is padding
    if (kind == 1) {       // no-operation
      if (t.nop_count < 255) ++t.nop_count;
      ++o;
      continue;
    }
    if (o + 1 >= end) {
      set_error(p, DecodeStatus::Malformed, kL, SOCKSCOPE_N_("an option length runs past the end of the header"), s.report_base + o);
      return false;
    }
    if (!fail_need(p, need(s, o + 1, 1), s, kL, "", o + 1)) return false;
    std::uint8_t len = 0;
    s.reader(o + 1, 1).u8(len);
    if (len < 2) {
      set_error(p, DecodeStatus::Malformed, kL, SOCKSCOPE_N_("an option length is below 2"), s.report_base + o + 1);
      return false;
    }
    if (o + len > end) {
      set_error(p, DecodeStatus::Malformed, kL, SOCKSCOPE_N_("an option length runs past the end of the header"), s.report_base + o + 1);
      return false;
    }
    if (!fail_need(p, need(s, o, len), s, kL, "", o)) return false;
    ByteReader r = s.reader(o + 2, len - 2u);
    auto wrong_len = [&] {
      set_error(p, DecodeStatus::Malformed, kL, SOCKSCOPE_N_("an option has the wrong length for its kind"), s.report_base + o + 1);
      return false;
    };
    switch (kind) {
      case 2:  // maximum segment size
        if (len != 4) return wrong_len();
        t.has_mss = true;
        r.be16(t.mss);
        break;
      case 3:  // window scale
        if (len != 3) return wrong_len();
        t.has_wscale = true;
        r.u8(t.wscale);
        break;
      case 4:  // SACK permitted
        if (len != 2) return wrong_len();
        t.sack_permitted = true;
        break;
      case 5: {  // SACK: 1 to 4 blocks of left and right edges
        if (len < 10 || (len - 2) % 8 != 0) return wrong_len();
        const int blocks = (len - 2) / 8;
        for (int i = 0; i < blocks; ++i) {
          SackBlock b;
          r.be32(b.left);
          r.be32(b.right);
          if (t.sack_count < t.sack.size()) t.sack[t.sack_count++] = b;
        }
        break;
      }
      case 8:  // timestamps
        if (len != 10) return wrong_len();
        t.has_timestamps = true;
        r.be32(t.ts_val);
        r.be32(t.ts_ecr);
        break;
      default:
        if (t.unknown_options < 255) ++t.unknown_options;
        break;
    }
    o += len;
  }
  return true;
}

void decode_tcp(Packet& p, const Span& s, std::uint32_t off, const Pseudo& ph, bool fragment) {
  namespace h = tcp_header;
  constexpr const char* kL = "tcp";
  const Need n = need(s, off, h::kFixedLen);
  if (n == Need::Malformed && fragment) {
    p.transport = Transport::Other;  // the header continues in the next fragment
    return;
  }
  // Cut by the snapshot length after the window field: what the analysis needs is there.
  const bool cut = n == Need::Truncated && need(s, off, h::kAnalysedLen) == Need::Ok;
  if (!cut && !fail_need(p, n, s, kL, SOCKSCOPE_N_("the header is longer than the IP payload"), off)) return;
  TcpInfo& t = p.tcp;
  std::uint16_t off_flags = 0;
  read_be(s, off, h::kSrcPort, t.sport);
  read_be(s, off, h::kDstPort, t.dport);
  read_be(s, off, h::kSeq, t.seq);
  read_be(s, off, h::kAck, t.ack);
  read_be(s, off, h::kOffsetAndFlags, off_flags);
  read_be(s, off, h::kWindow, t.window);
  if (!cut) {
    read_be(s, off, h::kChecksum, t.checksum);
    read_be(s, off, h::kUrgent, t.urgent);
  }
  t.header_len = static_cast<std::uint8_t>((off_flags >> 12) * 4);
  t.flags = static_cast<std::uint16_t>(off_flags & 0x01ff);
  p.transport = Transport::Tcp;
  p.transport_offset = s.report_base + off;
  p.transport_header_len = t.header_len;
  if (t.header_len < 20) {
    set_error(p, DecodeStatus::Malformed, kL, SOCKSCOPE_N_("the data offset is below 5"), s.report_base + off + h::kOffsetAndFlags.at);
    return;
  }
  const std::uint32_t hend = off + t.header_len;
  if (hend > s.decl_end && !fragment) {
    set_error(p, DecodeStatus::Malformed, kL, SOCKSCOPE_N_("the data offset points past the end of the segment"),
              s.report_base + off + h::kOffsetAndFlags.at);
    return;
  }
  if (hend > s.decl_end) {  // the options continue in the next fragment
    p.tcp = TcpInfo{};
    p.transport = Transport::Other;
    p.transport_offset = 0;
    p.transport_header_len = 0;
    return;
  }
  if (cut || !decode_tcp_options(p, s, off + h::kFixedLen, hend)) {
    if (p.error.status == DecodeStatus::Malformed) return;
    // The capture stopped inside the header: the segment's length still comes from the IP header.
    if (cut) set_error(p, DecodeStatus::Truncated, kL, kCutShort, s.report_base + off + h::kAnalysedLen);
    t.cut_after_window = true;
    set_payload(p, s, hend, s.decl_end);
    return;
  }
  set_payload(p, s, hend, s.decl_end);
  if (!fragment) check_transport_sum(p, s, off, s.decl_end, kProtoTcp, &ph, off + h::kChecksum.at);
  if (!ph.usable) p.transport_checksum_checked = false;
}

void decode_udp(Packet& p, const Span& s, std::uint32_t off, const Pseudo& ph, bool fragment) {
  namespace h = udp_header;
  constexpr const char* kL = "udp";
  const Need n = need(s, off, h::kLen);
  if (n == Need::Malformed && fragment) {
    p.transport = Transport::Other;
    return;
  }
  if (!fail_need(p, n, s, kL, SOCKSCOPE_N_("the header is longer than the IP payload"), off)) return;
  UdpInfo& u = p.udp;
  read_be(s, off, h::kSrcPort, u.sport);
  read_be(s, off, h::kDstPort, u.dport);
  read_be(s, off, h::kLength, u.length);
  read_be(s, off, h::kChecksum, u.checksum);
  p.transport = Transport::Udp;
  p.transport_offset = s.report_base + off;
  p.transport_header_len = h::kLen;
  // RFC 768: length counts the header and the data, so it is at least 8.
  if (u.length < h::kLen) {
    set_error(p, DecodeStatus::Malformed, kL, SOCKSCOPE_N_("the length field is below 8"), s.report_base + off + h::kLength.at);
    return;
  }
  if (fragment) {
    // The datagram continues in later fragments: only this fragment's bytes are here.
    set_payload(p, s, off + h::kLen, s.decl_end);
    return;
  }
  std::uint32_t end = off + u.length;
  if (end > s.decl_end) {
    // As for the IP length: note what is missing and go on with what is there.
    note_shortfall(p, kL, end - s.decl_end, s.report_base + off + h::kLength.at);
    end = s.decl_end;
  }
  // Bytes after u.length (the UDP options "surplus area", RFC 9868) are not payload.
  set_payload(p, s, off + h::kLen, end);
  // RFC 768: a zero checksum over IPv4 means the sender did not compute one. Over IPv6 it is
  // mandatory (RFC 8200 8.1), so zero is checked (and wrong).
  if (!(u.checksum == 0 && ph.src->family == 4)) {
    check_transport_sum(p, s, off, end, kProtoUdp, &ph, off + h::kChecksum.at);
    if (!ph.usable) p.transport_checksum_checked = false;
  }
  // VXLAN and Geneve carry a whole frame in the datagram.
  Span datagram = s;
  datagram.decl_end = end;
  datagram.cap_end = std::min(s.cap_end, end);
  decode_udp_tunnel(p, datagram, off + h::kLen);
}

// The IP header and first bytes of the datagram an ICMP error answers (RFC 792, RFC 4443 2.4(c)).
// A quote that the ICMP message itself does not contain is simply absent; one cut by the snapshot
// length makes the packet Truncated, since the quote is what ties the error to its datagram.
void decode_quote(Packet& p, const Span& s, std::uint32_t off) {
  constexpr const char* kL = "icmp";
  IcmpInfo& ic = p.icmp;
  auto have = [&](std::uint32_t at, std::uint32_t n) {
    const Need k = need(s, at, n);
    if (k == Need::Truncated)
      set_error(p, DecodeStatus::Truncated, kL, SOCKSCOPE_N_("the capture stopped inside the quoted datagram"), s.report_base + at);
    return k == Need::Ok;
  };
  if (!have(off, 1)) return;
  std::uint8_t b0 = 0;
  s.reader(off, 1).u8(b0);
  std::uint32_t l4 = 0;
  if ((b0 >> 4) == 4) {
    const std::uint32_t ihl = (b0 & 0x0fu) * 4;
    if (ihl < 20 || !have(off, ihl)) return;
    ByteReader r = s.reader(off + 4, 16);
    std::uint8_t ttl = 0;
    r.be16(ic.quoted_ip_id);
    r.skip(2);
    r.u8(ttl);
    r.u8(ic.quoted_proto);
    r.skip(2);
    ic.quoted_src.family = ic.quoted_dst.family = 4;
    r.bytes(ic.quoted_src.b.data(), 4);
    r.bytes(ic.quoted_dst.b.data(), 4);
    ic.has_quote = true;
    l4 = off + ihl;
  } else if ((b0 >> 4) == 6) {
    if (!have(off, 40)) return;
    ByteReader r = s.reader(off + 6, 34);
    std::uint8_t nh = 0, hops = 0;
    r.u8(nh);
    r.u8(hops);
    ic.quoted_src.family = ic.quoted_dst.family = 6;
    r.bytes(ic.quoted_src.b.data(), 16);
    r.bytes(ic.quoted_dst.b.data(), 16);
    ic.has_quote = true;
    // Skip the quoted extension headers, bounded by the quote.
    l4 = off + 40;
    while (is_ipv6_ext(nh)) {
      std::uint8_t next = 0, len = 0;
      if (!have(l4, 2)) {
        ic.quoted_proto = nh;
        return;
      }
      ByteReader er = s.reader(l4, 2);
      er.u8(next);
      er.u8(len);
      const std::uint32_t size = ipv6_ext_size(nh, len);
      const bool later_fragment = nh == 44;
      if (later_fragment) {
        std::uint16_t offm = 0;
        if (!have(l4, 4)) return;
        ByteReader fr = s.reader(l4 + 2, 2);
        fr.be16(offm);
        if ((offm & 0xfff8) != 0) {  // no transport header in a later fragment
          ic.quoted_proto = next;
          return;
        }
      }
      nh = next;
      l4 += size;
    }
    ic.quoted_proto = nh;
  } else {
    return;
  }
  if (ic.quoted_proto != kProtoTcp && ic.quoted_proto != kProtoUdp) return;
  // RFC 792 guarantees 8 bytes of the original datagram; the ports are its first 4.
  if (!have(l4, 4)) return;
  ByteReader pr = s.reader(l4, 4);
  pr.be16(ic.quoted_sport);
  pr.be16(ic.quoted_dport);
  ic.quoted_ports = true;
}

void decode_icmp(Packet& p, const Span& s, std::uint32_t off, const Pseudo& ph, bool v6, bool fragment) {
  const char* kL = v6 ? "icmpv6" : "icmp";
  const Need n = need(s, off, 8);
  if (n == Need::Malformed && fragment) {
    p.transport = Transport::Other;
    return;
  }
  if (!fail_need(p, n, s, kL, SOCKSCOPE_N_("the message is shorter than the ICMP header"), off)) return;
  ByteReader r = s.reader(off, 8);
  IcmpInfo& ic = p.icmp;
  std::uint16_t w1 = 0, w2 = 0;
  ic.v6 = v6;
  r.u8(ic.type);
  r.u8(ic.code);
  r.be16(ic.checksum);
  r.be16(w1);
  r.be16(w2);
  p.transport = Transport::Icmp;
  p.transport_offset = s.report_base + off;
  p.transport_header_len = 8;

  bool error_msg = false;
  if (!v6) {
    switch (ic.type) {
      case 0: case 8: case 13: case 14:  // echo reply/request, timestamp: identifier and sequence
        ic.id = w1;
        ic.seq = w2;
        break;
      case 3:  // destination unreachable
        ic.unreachable = true;
        ic.port_unreachable = ic.code == 3;
        if (ic.code == 4) ic.next_hop_mtu = w2;  // RFC 1191: fragmentation needed and DF set
        error_msg = true;
        break;
      case 4: case 5: case 11: case 12:  // source quench, redirect, time exceeded, parameter problem
        error_msg = true;
        break;
      default: break;
    }
  } else {
    switch (ic.type) {
      case 128: case 129:  // echo request/reply
        ic.id = w1;
        ic.seq = w2;
        break;
      case 1:  // destination unreachable (RFC 4443 3.1)
        ic.unreachable = true;
        ic.port_unreachable = ic.code == 4;
        error_msg = true;
        break;
      case 2: {  // packet too big: a 32-bit MTU
        const std::uint32_t mtu = (std::uint32_t{w1} << 16) | w2;
        ic.next_hop_mtu = static_cast<std::uint16_t>(std::min<std::uint32_t>(mtu, 0xffff));
        error_msg = true;
        break;
      }
      case 3: case 4:  // time exceeded, parameter problem
        error_msg = true;
        break;
      default: break;
    }
  }
  set_payload(p, s, off + 8, s.decl_end);
  if (error_msg && !fragment) decode_quote(p, s, off + 8);
  if (fragment) return;
  // ICMP sums the message alone; ICMPv6 adds the pseudo-header (RFC 4443 2.3).
  check_transport_sum(p, s, off, s.decl_end, kProtoIcmpv6, v6 ? &ph : nullptr, off + 2);
  if (v6 && !ph.usable) p.transport_checksum_checked = false;
}

}  // namespace

void decode_transport(Packet& p, std::uint8_t proto, const Span& s, std::uint32_t off,
                      const Pseudo& ph, bool fragment) {
  switch (proto) {
    case kProtoTcp: return decode_tcp(p, s, off, ph, fragment);
    case kProtoUdp: return decode_udp(p, s, off, ph, fragment);
    case kProtoIcmp:
      if (ph.src->family == 4) return decode_icmp(p, s, off, ph, false, fragment);
      break;
    case kProtoIcmpv6:
      if (ph.src->family == 6) return decode_icmp(p, s, off, ph, true, fragment);
      break;
    case kProtoGre:
      if (!fragment) return decode_gre(p, s, off);
      break;
    case kProtoIpv4:  // IP in IP (RFC 2003) and IPv6 in IP (RFC 4213) are not tunnels with a header
    case kProtoIpv6:  // of their own: not decoded further
    default: break;
  }
  p.transport = Transport::Other;
  p.transport_offset = s.report_base + off;
  set_payload(p, s, off, s.decl_end);
}

}  // namespace sockscope::decode_detail
