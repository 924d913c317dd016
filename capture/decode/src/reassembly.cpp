// The stateful Decoder: decode_frame plus IPv4 (RFC 791 3.2) and IPv6 (RFC 8200 4.5) reassembly.
// Memory is bounded by DecoderLimits: a fixed number of slots, each with a buffer allocated once
// and reused, and a cap on the bytes held. Overlapping fragments are refused (RFC 5722 for IPv6;
// for IPv4 too, since overlaps are how fragment attacks hide data from inspection).
#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "internal.hpp"
#include "sockscope/decode/decode.hpp"

namespace sockscope {

namespace {
constexpr std::uint32_t kMaxDatagram = 65535;  // largest IP payload the length fields allow
constexpr std::size_t kMaxFragments = 128;     // per datagram

struct Range {
  std::uint32_t start = 0, end = 0;
};

struct Slot {
  bool used = false;
  std::uint8_t version = 0;
  IpAddr src, dst;
  std::uint8_t v4_proto = 0;
  std::uint32_t id = 0;
  std::int64_t first_ns = 0;
  std::uint64_t order = 0;      // creation order, to drop the oldest first
  bool have_last = false;
  std::uint32_t total = 0;      // known once the last fragment (MF = 0) arrived
  bool have_first = false;
  std::uint8_t first_next = 0;  // IPv6: next header in the first fragment's fragment header
  std::uint32_t received = 0;
  std::uint16_t count = 0;
  std::array<Range, kMaxFragments> ranges{};
  std::vector<std::uint8_t> buf;  // kMaxDatagram bytes, allocated on first use and kept
};
}  // namespace

struct Decoder::Impl {
  DecoderLimits limits;
  std::vector<Slot> slots;
  std::uint64_t order = 0;
  std::uint64_t buffered = 0;

  void release(Slot& s) {
    buffered -= s.received;
    s.used = false;
    s.received = 0;
    s.count = 0;
  }

  void expire(std::int64_t now) {
    for (Slot& s : slots)
      if (s.used && now - s.first_ns > limits.fragment_timeout_ns) release(s);
  }

  Slot* oldest(const Slot* except) {
    Slot* best = nullptr;
    for (Slot& s : slots)
      if (s.used && &s != except && (!best || s.order < best->order)) best = &s;
    return best;
  }

  Slot* find(const Packet& p, std::uint8_t v4_proto) {
    for (Slot& s : slots)
      if (s.used && s.version == p.ip.version && s.id == p.ip.frag_key && s.src == p.ip.src &&
          s.dst == p.ip.dst && (s.version == 6 || s.v4_proto == v4_proto))
        return &s;
    return nullptr;
  }

  Slot* create(const Packet& p, std::uint8_t v4_proto, std::int64_t now) {
    Slot* free_slot = nullptr;
    for (Slot& s : slots)
      if (!s.used) {
        free_slot = &s;
        break;
      }
    if (!free_slot) {
      free_slot = oldest(nullptr);
      if (!free_slot) return nullptr;
      release(*free_slot);
    }
    Slot& s = *free_slot;
    if (s.buf.empty()) s.buf.resize(kMaxDatagram);
    s.used = true;
    s.version = p.ip.version;
    s.src = p.ip.src;
    s.dst = p.ip.dst;
    s.v4_proto = v4_proto;
    s.id = p.ip.frag_key;
    s.first_ns = now;
    s.order = ++order;
    s.have_last = s.have_first = false;
    s.total = 0;
    s.first_next = 0;
    s.received = 0;
    s.count = 0;
    return &s;
  }

  void add_fragment(Packet& out, const std::uint8_t* data);
};

namespace {
void malformed(Packet& p, const char* what) {
  p.error = DecodeError{DecodeStatus::Malformed, p.ip.version == 4 ? "ipv4" : "ipv6", what,
                        p.ip.header_offset};
}
}  // namespace

void Decoder::Impl::add_fragment(Packet& out, const std::uint8_t* data) {
  using namespace decode_detail;
  // Where this fragment's bytes are, and what the fragment header says.
  std::uint32_t start = 0, end = 0, frag_off = 0;
  bool more = false;
  std::uint8_t v6_next = 0;
  bool routing_pending = false;
  Ipv6Info v6_before_payload;
  if (out.ip.version == 4) {
    start = out.ip.header_offset + out.ip.header_len;
    end = start + out.ip.payload_len;
    frag_off = out.ip.v4.frag_offset;
    more = out.ip.v4.mf;
  } else {
    // Walk again, stopping at the fragment header: what follows it is the fragmentable part.
    Packet scratch;
    const std::uint32_t hoff = out.ip.header_offset;
    const std::uint32_t dend = hoff + 40 + (out.ip.v6.payload_len ? out.ip.v6.payload_len : 0);
    if (out.ip.v6.payload_len == 0) return;  // no reassembly of jumbograms
    const Span s{data, std::min(out.caplen, dend), dend, 0, limits.reference_paths};
    ExtWalk w{out.ip.v6.next_header, hoff + 40, false};
    if (walk_ipv6_ext(scratch, s, w, true) != Need::Ok || w.nh != 44) return;
    if (need(s, w.off, 8) != Need::Ok) return;
    ByteReader r = s.reader(w.off, 1);
    r.u8(v6_next);
    routing_pending = w.routing_pending;
    v6_before_payload = scratch.ip.v6;
    v6_before_payload.has_fragment = true;
    v6_before_payload.frag_id = out.ip.v6.frag_id;
    v6_before_payload.frag_offset = out.ip.v6.frag_offset;
    v6_before_payload.frag_more = out.ip.v6.frag_more;
    if (v6_before_payload.ext_count < v6_before_payload.ext_types.size())
      v6_before_payload.ext_types[v6_before_payload.ext_count] = 44;
    ++v6_before_payload.ext_count;
    v6_before_payload.ext_len = static_cast<std::uint16_t>(v6_before_payload.ext_len + 8);
    v6_before_payload.payload_len = out.ip.v6.payload_len;
    v6_before_payload.next_header = out.ip.v6.next_header;
    v6_before_payload.hop_limit = out.ip.v6.hop_limit;
    v6_before_payload.traffic_class = out.ip.v6.traffic_class;
    v6_before_payload.flow_label = out.ip.v6.flow_label;
    start = w.off + 8;
    end = dend;
    frag_off = out.ip.v6.frag_offset;
    more = out.ip.v6.frag_more;
  }
  if (end > out.caplen || end < start) return;  // not all of it captured: nothing to add
  const std::uint32_t len = end - start;
  if (len == 0) return;
  if (more && len % 8 != 0) {
    // RFC 791 and RFC 8200 4.5: every fragment but the last carries a multiple of 8 bytes.
    malformed(out, SOCKSCOPE_N_("a fragment that is not the last is not a multiple of 8 bytes long"));
    return;
  }
  const std::uint32_t fend = frag_off + len;
  const std::uint32_t limit = out.ip.version == 4 ? kMaxDatagram - out.ip.header_len : kMaxDatagram;
  if (fend > limit) {
    malformed(out, SOCKSCOPE_N_("the fragment ends past the largest possible datagram"));
    return;
  }

  const std::uint8_t v4_proto = out.ip.version == 4 ? out.ip.v4.proto : 0;
  Slot* slot = find(out, v4_proto);
  if (!slot) slot = create(out, v4_proto, out.ts.ns());
  if (!slot) return;
  Slot& s = *slot;

  for (std::uint16_t i = 0; i < s.count; ++i) {
    const Range& r = s.ranges[i];
    if (fend <= r.start || frag_off >= r.end) continue;
    if (r.start == frag_off && r.end == fend &&
        std::memcmp(s.buf.data() + frag_off, data + start, len) == 0)
      return;  // the same fragment again (a duplicate on the wire): nothing new
    release(s);
    malformed(out, SOCKSCOPE_N_("the fragment overlaps an earlier fragment of the same datagram"));
    return;
  }
  if (!more) {
    if ((s.have_last && s.total != fend) || std::any_of(s.ranges.begin(), s.ranges.begin() + s.count,
                                                        [&](const Range& r) { return r.end > fend; })) {
      release(s);
      malformed(out, SOCKSCOPE_N_("the last fragment disagrees with the other fragments about the length"));
      return;
    }
  } else if (s.have_last && fend > s.total) {
    release(s);
    malformed(out, SOCKSCOPE_N_("a fragment lies beyond the end the last fragment gave"));
    return;
  }
  if (s.count == kMaxFragments) {
    release(s);
    malformed(out, SOCKSCOPE_N_("the datagram has too many fragments"));
    return;
  }
  // Memory bound: drop the oldest other datagrams until this fragment fits.
  while (buffered + len > limits.max_reassembly_bytes) {
    Slot* o = oldest(&s);
    if (!o) {
      release(s);
      return;
    }
    release(*o);
  }

  std::memcpy(s.buf.data() + frag_off, data + start, len);
  s.ranges[s.count++] = Range{frag_off, fend};
  s.received += len;
  buffered += len;
  if (!more) {
    s.have_last = true;
    s.total = fend;
  }
  if (frag_off == 0) {
    s.have_first = true;
    s.first_next = v6_next;
  }
  if (!(s.have_last && s.have_first && s.received == s.total)) return;

  // Complete: this frame now describes the whole datagram.
  out.ip.reassembled = true;
  out.ip.frag_count = s.count;
  out.ip.payload_len = s.total;
  out.transport = Transport::None;
  out.tcp = TcpInfo{};
  out.udp = UdpInfo{};
  out.icmp = IcmpInfo{};
  out.payload = nullptr;
  out.payload_captured = out.payload_len = out.payload_offset = 0;
  out.transport_offset = out.transport_header_len = 0;
  out.transport_checksum_checked = false;
  out.transport_checksum_ok = true;
  const Span whole{s.buf.data(), s.total, s.total, start};
  const std::uint8_t first_next = s.first_next;
  release(s);  // the buffer stays valid until the next call
  if (out.ip.version == 4) {
    const Pseudo ph{&out.ip.src, &out.ip.dst, true};
    decode_transport(out, v4_proto, whole, 0, ph, false);
    return;
  }
  out.ip.v6 = v6_before_payload;
  ExtWalk w{first_next, 0, false};
  if (walk_ipv6_ext(out, whole, w, false) != Need::Ok) return;
  out.ip.proto = w.nh;
  const Pseudo ph{&out.ip.src, &out.ip.dst, !(routing_pending || w.routing_pending)};
  decode_transport(out, w.nh, whole, w.off, ph, false);
}

Decoder::Decoder(DecoderLimits limits) : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
  impl_->slots.resize(limits.max_pending_datagrams);
}

Decoder::~Decoder() = default;

void Decoder::decode(std::uint32_t linktype, const std::uint8_t* data, std::uint32_t caplen,
                     std::uint32_t wirelen, Timestamp ts, std::uint64_t frame, Packet& out) {
  out.frame = frame;
  out.ts = ts;
  decode_frame(linktype, data, caplen, wirelen, out, impl_->limits.reference_paths);
  if (!out.ip.is_fragment || !out.ok() || impl_->slots.empty()) return;
  impl_->expire(ts.ns());
  impl_->add_fragment(out, data);
}

}  // namespace sockscope
