// Layer 3: IPv4 (RFC 791) and IPv6 (RFC 8200) headers, including IPv6 extension headers.
#include <algorithm>

#include "internal.hpp"

namespace sockscope::decode_detail {

void decode_ipv4(Packet& p, const Span& s, std::uint32_t off) {
  constexpr const char* kL = "ipv4";
  if (!fail_need(p, need(s, off, 1), s, kL, SOCKSCOPE_N_("the frame ends before the IP header"), off)) return;
  std::uint8_t vihl = 0;
  s.reader(off, 1).u8(vihl);
  if ((vihl >> 4) != 4) {
    set_error(p, DecodeStatus::Malformed, kL, SOCKSCOPE_N_("the version field is not 4"), off);
    return;
  }
  const std::uint8_t ihl = static_cast<std::uint8_t>((vihl & 0x0f) * 4);
  if (ihl < 20) {
    set_error(p, DecodeStatus::Malformed, kL, SOCKSCOPE_N_("the header length (ihl) is below 5"), off);
    return;
  }
  if (!fail_need(p, need(s, off, 20), s, kL, SOCKSCOPE_N_("the frame ends before the IP header does"), off)) return;

  ByteReader r = s.reader(off + 1, 19);
  Ipv4Info& v4 = p.ip.v4;
  std::uint16_t frag = 0;
  v4.ihl = ihl;
  r.u8(v4.tos);
  r.be16(v4.total_len);
  r.be16(v4.id);
  r.be16(frag);
  r.u8(v4.ttl);
  r.u8(v4.proto);
  r.be16(v4.checksum);
  IpInfo& ip = p.ip;
  ip.src.family = ip.dst.family = 4;
  r.bytes(ip.src.b.data(), 4);
  r.bytes(ip.dst.b.data(), 4);
  v4.df = (frag & 0x4000) != 0;
  v4.mf = (frag & 0x2000) != 0;
  v4.frag_offset = static_cast<std::uint16_t>((frag & 0x1fff) * 8);
  v4.options_len = static_cast<std::uint8_t>(ihl - 20);
  ip.version = 4;
  ip.proto = v4.proto;
  ip.header_offset = s.report_base + off;
  ip.header_len = ihl;
  ip.frag_key = v4.id;
  ip.is_fragment = v4.mf || v4.frag_offset != 0;

  std::uint32_t total = v4.total_len;
  if (total == 0) {
    // TCP segmentation offload: the sending host's capture sees total length 0 before the NIC fills
    // it in. Take the frame's length, as Wireshark does.
    total = s.decl_end - off;
  }
  if (total < ihl) {
    set_error(p, DecodeStatus::Malformed, kL, SOCKSCOPE_N_("the total length is shorter than the header"), off + 2);
    return;
  }
  if (off + total > s.decl_end) {
    // The length claims more than the frame holds (a sender that lies, or a frame cut before it was
    // captured): note how much is missing, as tcpdump does, and decode what is there.
    note_shortfall(p, kL, off + total - s.decl_end, s.report_base + off + 2);
    total = s.decl_end - off;
    if (total < ihl) {
      set_error(p, DecodeStatus::Malformed, kL, SOCKSCOPE_N_("the frame ends before the IP header does"), off);
      return;
    }
  }
  ip.payload_len = total - ihl;
  if (!fail_need(p, need(s, off, ihl), s, kL, SOCKSCOPE_N_("the options run past the end of the frame"), off + 20)) {
    v4.checksum_ok = true;  // unknown: not all of the header was captured
    return;
  }
  // RFC 791 / RFC 1071: the one's-complement sum over the header, checksum included, is all ones.
  v4.checksum_ok = fold(ones_sum(s, s.base + off, ihl)) == 0xffff;

  // Everything after total length (Ethernet padding) is not part of the datagram.
  Span inner = s;
  inner.decl_end = off + total;
  inner.cap_end = std::min(s.cap_end, inner.decl_end);
  if (v4.frag_offset != 0) {
    // A later fragment: its bytes continue the transport segment; there is no header to decode.
    p.transport = Transport::Other;
    return;
  }
  const Pseudo ph{&ip.src, &ip.dst, true};
  decode_transport(p, v4.proto, inner, off + ihl, ph, v4.mf);
}

Need walk_ipv6_ext(Packet& p, const Span& s, ExtWalk& w, bool stop_at_fragment) {
  constexpr const char* kL = "ipv6";
  Ipv6Info& v6 = p.ip.v6;
  while (is_ipv6_ext(w.nh)) {
    if (w.nh == 44 && stop_at_fragment) return Need::Ok;
    if (w.nh == 0 && v6.ext_count != 0) {
      // RFC 8200 4.1: the hop-by-hop options header, when present, comes right after the IPv6 header.
      set_error(p, DecodeStatus::Malformed, kL, SOCKSCOPE_N_("a hop-by-hop options header is not first"), s.report_base + w.off);
      return Need::Malformed;
    }
    Need n = need(s, w.off, 2);
    if (n != Need::Ok) {
      fail_need(p, n, s, kL, SOCKSCOPE_N_("an extension header runs past the payload"), w.off);
      return n;
    }
    std::uint8_t next = 0, len = 0;
    ByteReader r = s.reader(w.off, 2);
    r.u8(next);
    r.u8(len);
    const std::uint32_t size = ipv6_ext_size(w.nh, len);
    n = need(s, w.off, size);
    if (n != Need::Ok) {
      fail_need(p, n, s, kL, SOCKSCOPE_N_("an extension header runs past the payload"), w.off);
      return n;
    }
    if (w.nh == 43) {
      std::uint8_t seg_left = 0;
      s.reader(w.off + 3, 1).u8(seg_left);
      if (seg_left > 0) w.routing_pending = true;
    }
    if (w.nh == 44) {
      ByteReader fr = s.reader(w.off + 2, 6);
      std::uint16_t offm = 0;
      fr.be16(offm);
      fr.be32(v6.frag_id);
      v6.has_fragment = true;
      v6.frag_offset = static_cast<std::uint16_t>(offm & 0xfff8);
      v6.frag_more = (offm & 1) != 0;
    }
    if (v6.ext_count < v6.ext_types.size()) v6.ext_types[v6.ext_count] = w.nh;
    if (v6.ext_count < 255) ++v6.ext_count;
    v6.ext_len = static_cast<std::uint16_t>(v6.ext_len + size);
    const bool later_fragment = w.nh == 44 && v6.frag_offset != 0;
    w.nh = next;
    w.off += size;
    // After the fragment header of a later fragment come fragment bytes, not headers.
    if (later_fragment) return Need::Ok;
  }
  return Need::Ok;
}

void decode_ipv6(Packet& p, const Span& s, std::uint32_t off) {
  constexpr const char* kL = "ipv6";
  if (!fail_need(p, need(s, off, 1), s, kL, SOCKSCOPE_N_("the frame ends before the IP header"), off)) return;
  std::uint8_t b0 = 0;
  s.reader(off, 1).u8(b0);
  if ((b0 >> 4) != 6) {
    set_error(p, DecodeStatus::Malformed, kL, SOCKSCOPE_N_("the version field is not 6"), off);
    return;
  }
  if (!fail_need(p, need(s, off, 40), s, kL, SOCKSCOPE_N_("the frame ends before the IP header does"), off)) return;
  ByteReader r = s.reader(off, 40);
  std::uint32_t first = 0;
  Ipv6Info& v6 = p.ip.v6;
  IpInfo& ip = p.ip;
  r.be32(first);
  r.be16(v6.payload_len);
  r.u8(v6.next_header);
  r.u8(v6.hop_limit);
  ip.src.family = ip.dst.family = 6;
  r.bytes(ip.src.b.data(), 16);
  r.bytes(ip.dst.b.data(), 16);
  v6.traffic_class = static_cast<std::uint8_t>((first >> 20) & 0xff);
  v6.flow_label = first & 0xfffff;
  ip.version = 6;
  ip.header_offset = s.report_base + off;
  ip.header_len = 40;
  ip.proto = v6.next_header;

  std::uint32_t plen = v6.payload_len;
  if (plen == 0 && v6.next_header != 59) {
    // A jumbogram (RFC 2675) or a segmentation-offload capture: the frame gives the length.
    plen = s.decl_end - off - 40;
  }
  if (off + 40u + plen > s.decl_end) {
    note_shortfall(p, kL, off + 40u + plen - s.decl_end, s.report_base + off + 4);
    plen = s.decl_end - off - 40;
  }
  Span inner = s;
  inner.decl_end = off + 40 + plen;
  inner.cap_end = std::min(s.cap_end, inner.decl_end);

  ExtWalk w{v6.next_header, off + 40, false};
  const Need n = walk_ipv6_ext(p, inner, w, false);
  ip.proto = w.nh;
  ip.header_len = w.off - off;
  if (n != Need::Ok) return;
  ip.payload_len = inner.decl_end - w.off;
  // An atomic fragment (offset 0, no more fragments; RFC 6946) is a whole datagram.
  if (v6.has_fragment && (v6.frag_offset != 0 || v6.frag_more)) {
    ip.is_fragment = true;
    ip.frag_key = v6.frag_id;
  }
  if (v6.has_fragment && v6.frag_offset != 0) {
    p.transport = Transport::Other;
    return;
  }
  const Pseudo ph{&ip.src, &ip.dst, !w.routing_pending};
  decode_transport(p, w.nh, inner, w.off, ph, ip.is_fragment);
}

}  // namespace sockscope::decode_detail
