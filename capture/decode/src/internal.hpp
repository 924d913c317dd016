// Private helpers shared by the decoder's source files (link, IP, transport, reassembly).
#pragma once
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "sockscope/decode/byte_reader.hpp"
#include "sockscope/decode/packet.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope::decode_detail {

// A stretch of bytes being decoded. Two ends are kept apart, as tcpdump does: `cap_end` is where the
// captured bytes stop, `decl_end` where the enclosing headers (frame length, IP total length, ...)
// say the bytes stop. A header that needs bytes past decl_end contradicts its container (Malformed);
// one that only needs bytes past cap_end was cut by the snapshot length (Truncated).
struct Span {
  const std::uint8_t* base = nullptr;
  std::uint32_t cap_end = 0;      // captured bytes available from base (always <= decl_end)
  std::uint32_t decl_end = 0;     // bytes the enclosing headers say exist from base
  std::uint32_t report_base = 0;  // added to offsets reported in errors (frame offset of base)
  bool plain_sum = false;         // DecoderLimits::reference_paths: the plain checksum loop

  ByteReader reader(std::uint32_t off, std::uint32_t n) const { return ByteReader(base + off, n); }
};

enum class Need : std::uint8_t { Ok, Truncated, Malformed };

// Where each field of the fixed TCP and UDP headers sits: its offset from the header's start and its
// length in bytes (RFC 9293 3.1, RFC 768). The decoder reads the fields here and the OSI map
// (layers.cpp) reports them here, so the two cannot drift apart.
struct FieldPos {
  std::uint32_t at, len;
};
namespace tcp_header {
inline constexpr FieldPos kSrcPort{0, 2}, kDstPort{2, 2}, kSeq{4, 4}, kAck{8, 4}, kOffsetAndFlags{12, 2},
    kWindow{14, 2}, kChecksum{16, 2}, kUrgent{18, 2};
inline constexpr std::uint32_t kFixedLen = 20;  // the options follow
// A header cut after the window field still has everything the TCP analysis reads.
inline constexpr std::uint32_t kAnalysedLen = kWindow.at + kWindow.len;
}  // namespace tcp_header
namespace udp_header {
inline constexpr FieldPos kSrcPort{0, 2}, kDstPort{2, 2}, kLength{4, 2}, kChecksum{6, 2};
inline constexpr std::uint32_t kLen = 8;
}  // namespace udp_header

// Reads the big-endian field at `f` of the header at `off` (the caller checked the bytes are there).
inline void read_be(const Span& s, std::uint32_t off, FieldPos f, std::uint16_t& out) {
  s.reader(off + f.at, 2).be16(out);
}
inline void read_be(const Span& s, std::uint32_t off, FieldPos f, std::uint32_t& out) {
  s.reader(off + f.at, 4).be32(out);
}

// A GRE header's length from its first 16 bits (RFC 2784, RFC 2890; PPTP's version 1 adds the
// acknowledgement number): 4, plus 4 for each of checksum, key, sequence, acknowledgement present.
inline std::uint32_t gre_header_len(std::uint16_t flags) {
  const bool ack = (flags & 7) == 1 && (flags & 0x0080) != 0;
  return 4u + ((flags & 0x8000) ? 4u : 0u) + ((flags & 0x2000) ? 4u : 0u) + ((flags & 0x1000) ? 4u : 0u) +
         (ack ? 4u : 0u);
}

// Whether bytes [off, off + n) are available.
inline Need need(const Span& s, std::uint32_t off, std::uint32_t n) {
  const std::uint64_t end = std::uint64_t{off} + n;
  if (end > s.decl_end) return Need::Malformed;
  if (end > s.cap_end) return Need::Truncated;
  return Need::Ok;
}

inline void set_error(Packet& p, DecodeStatus st, const char* layer, const char* what,
                      std::uint32_t offset) {
  if (p.error.status != DecodeStatus::Ok) return;  // the first problem is the one reported
  p.error.status = st;
  p.error.layer = layer;
  p.error.what = what;
  p.error.offset = offset;
}

// Notes a length field that claims `missing` bytes more than the frame holds (the first one counts).
inline void note_shortfall(Packet& p, const char* layer, std::uint32_t missing, std::uint32_t field_offset) {
  if (p.truncated.layer != nullptr) return;
  p.truncated.layer = layer;
  p.truncated.missing = missing;
  p.truncated.offset = field_offset;
}

inline constexpr const char* kCutShort = SOCKSCOPE_N_("the capture stopped inside this header (snapshot length)");

// Reports a failed need(): Truncated with the standard words, or Malformed with `malformed_what`.
// Returns false so callers can write `return fail_need(...)`.
inline bool fail_need(Packet& p, Need n, const Span& s, const char* layer, const char* malformed_what,
                      std::uint32_t off) {
  if (n == Need::Truncated)
    set_error(p, DecodeStatus::Truncated, layer, kCutShort, s.report_base + off);
  else if (n == Need::Malformed)
    set_error(p, DecodeStatus::Malformed, layer, malformed_what, s.report_base + off);
  return n == Need::Ok;
}


// RFC 1071 one's-complement sum, the plain way: one 16-bit big-endian word at a time, an odd last
// byte padded with zero. Not yet folded or complemented. The reference for ones_sum_fast.
inline std::uint32_t ones_sum_plain(const std::uint8_t* p, std::uint32_t n, std::uint32_t sum = 0) {
  std::uint64_t acc = sum;
  std::uint32_t i = 0;
  for (; i + 1 < n; i += 2) acc += (std::uint32_t{p[i]} << 8) | p[i + 1];
  if (i < n) acc += std::uint32_t{p[i]} << 8;
  while (acc >> 32) acc = (acc & 0xffffffffu) + (acc >> 32);
  return static_cast<std::uint32_t>(acc);
}

// The same sum, fast. Words are added in host order and swapped once at the end: the
// one's-complement sum does not depend on byte order except for that swap (RFC 1071 section 2(B)),
// and any grouping gives the same folded result because 2^16 = 1 (mod 2^16 - 1).
//  - With SSE2 (baseline on x86-64): 32 bytes an iteration, each 16-bit word zero-extended into a
//    32-bit lane of four accumulators; a lane gains less than 2^16 per iteration, so blocks of at
//    most 65535 iterations cannot overflow it.
//  - Elsewhere, and for the tail: 32-bit words into four 64-bit accumulators (independent chains the
//    CPU adds in parallel; 2^32 additions of 32-bit words cannot overflow 64 bits).
inline std::uint32_t ones_sum_fast(const std::uint8_t* p, std::uint32_t n, std::uint32_t sum = 0) {
  std::uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  std::uint32_t i = 0;
#ifdef __SSE2__
  const __m128i low16 = _mm_set1_epi32(0xffff);
  while (n - i >= 32) {
    const std::uint32_t iterations = std::min<std::uint32_t>((n - i) / 32, 65535);
    __m128i v0 = _mm_setzero_si128(), v1 = v0, v2 = v0, v3 = v0;
    for (std::uint32_t k = 0; k < iterations; ++k, i += 32) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 16));
      v0 = _mm_add_epi32(v0, _mm_and_si128(x, low16));
      v1 = _mm_add_epi32(v1, _mm_srli_epi32(x, 16));
      v2 = _mm_add_epi32(v2, _mm_and_si128(y, low16));
      v3 = _mm_add_epi32(v3, _mm_srli_epi32(y, 16));
    }
    // Lanes up to 2^32 - 1: widen to 64 bits before adding them together.
    alignas(16) std::uint32_t lanes[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(lanes), v0);
    _mm_store_si128(reinterpret_cast<__m128i*>(lanes + 4), v1);
    _mm_store_si128(reinterpret_cast<__m128i*>(lanes + 8), v2);
    _mm_store_si128(reinterpret_cast<__m128i*>(lanes + 12), v3);
    for (std::uint32_t lane : lanes) a0 += lane;
  }
#endif
  for (; i + 16 <= n; i += 16) {
    std::uint32_t w[4];
    std::memcpy(w, p + i, 16);
    a0 += w[0];
    a1 += w[1];
    a2 += w[2];
    a3 += w[3];
  }
  for (; i + 4 <= n; i += 4) {
    std::uint32_t w;
    std::memcpy(&w, p + i, 4);
    a0 += w;
  }
  std::uint64_t acc = (a0 & 0xffffffffu) + (a0 >> 32) + (a1 & 0xffffffffu) + (a1 >> 32) +
                      (a2 & 0xffffffffu) + (a2 >> 32) + (a3 & 0xffffffffu) + (a3 >> 32);
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  std::uint32_t host16 = static_cast<std::uint32_t>(acc);
  if constexpr (std::endian::native == std::endian::little)
    host16 = ((host16 & 0xff) << 8) | (host16 >> 8);
  sum += host16;
  for (; i + 1 < n; i += 2) sum += (std::uint32_t{p[i]} << 8) | p[i + 1];
  if (i < n) sum += std::uint32_t{p[i]} << 8;
  return sum;
}

inline std::uint32_t ones_sum(const Span& s, const std::uint8_t* p, std::uint32_t n, std::uint32_t sum = 0) {
  return s.plain_sum ? ones_sum_plain(p, n, sum) : ones_sum_fast(p, n, sum);
}

inline std::uint16_t fold(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

// What the transport checksum is computed over besides the segment (RFC 793 3.1, RFC 8200 8.1).
struct Pseudo {
  const IpAddr* src = nullptr;
  const IpAddr* dst = nullptr;
  bool usable = true;  // false when an IPv6 routing header hides the final destination
};

inline std::uint32_t pseudo_sum(const Pseudo& ph, std::uint8_t proto, std::uint32_t length) {
  const std::uint32_t alen = ph.src->family == 6 ? 16 : 4;
  std::uint32_t sum = ones_sum_plain(ph.src->b.data(), alen);
  sum = ones_sum_plain(ph.dst->b.data(), alen, sum);
  sum += proto;
  sum += length >> 16;
  sum += length & 0xffff;
  return sum;
}

// True for IPv6 next-header values that are extension headers walked by the decoder.
inline bool is_ipv6_ext(std::uint8_t nh) {
  switch (nh) {
    case 0:    // hop-by-hop options
    case 43:   // routing
    case 44:   // fragment
    case 51:   // authentication header
    case 60:   // destination options
    case 135:  // mobility
    case 139:  // HIP
    case 140:  // shim6
      return true;
    default:
      return false;
  }
}

// An IPv6 extension header's size in bytes from its type and its second byte (the length field).
inline std::uint32_t ipv6_ext_size(std::uint8_t nh, std::uint8_t len) {
  if (nh == 44) return 8;                              // fragment header: fixed size (RFC 8200 4.5)
  if (nh == 51) return (std::uint32_t{len} + 2) * 4;  // AH counts 4-byte words minus 2 (RFC 4302 2.2)
  return (std::uint32_t{len} + 1) * 8;                 // 8-byte units, not counting the first 8
}

// Decodes the transport header at `off` in s (TCP, UDP, ICMP, ICMPv6; anything else is Other).
// `fragment`: this is the first fragment of a larger datagram, so lengths beyond it are not checked
// and the checksum cannot be verified. `frame_off` is where s's bytes sit in the frame (for offsets).
void decode_transport(Packet& p, std::uint8_t proto, const Span& s, std::uint32_t off,
                      const Pseudo& ph, bool fragment);

// Decodes an IPv4 or IPv6 packet at `off`; version must match (Malformed otherwise).
void decode_ipv4(Packet& p, const Span& s, std::uint32_t off);
void decode_ipv6(Packet& p, const Span& s, std::uint32_t off);

// Decodes what an EtherType names at `off`: IPv4, IPv6, ARP, MPLS; anything else is Transport::Other
// (the views name it). Used after the link header and after a tunnel's inner Ethernet header.
void decode_by_ethertype(Packet& p, const Span& s, std::uint16_t type, std::uint32_t off);

// Tunnels (tunnel.cpp). Each moves what was decoded so far (the outer IP packet, the outer UDP
// datagram) into p.tunnels and decodes the inner packet into p.ip and the transport fields.
void decode_gre(Packet& p, const Span& s, std::uint32_t off);                 // IP protocol 47
void decode_mpls(Packet& p, const Span& s, std::uint32_t off);                // EtherType 0x8847/0x8848
// UDP payload at [off, s.decl_end) on a tunnel port: returns false when the port is not a tunnel's
// (or the tunnels nest too deep), leaving p untouched.
bool decode_udp_tunnel(Packet& p, const Span& s, std::uint32_t off);

// Walks IPv6 extension headers starting with next-header `nh` at `off`, until the upper layer or,
// when stop_at_fragment, the fragment header (left unconsumed, nh == 44). Records them in v6.
// Returns Need::Ok, or the failure (already reported to p with `layer`).
struct ExtWalk {
  std::uint8_t nh = 0;
  std::uint32_t off = 0;
  bool routing_pending = false;  // a routing header with segments left > 0
};
Need walk_ipv6_ext(Packet& p, const Span& s, ExtWalk& w, bool stop_at_fragment);

}  // namespace sockscope::decode_detail
