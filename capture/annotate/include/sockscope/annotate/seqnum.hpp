// TCP sequence numbers: 32-bit modular arithmetic (RFC 9293 section 3.4, "Sequence Numbers").
// a < b means "a comes before b" within half the sequence space, so comparisons survive wrap-around.
#pragma once
#include <cstdint>

namespace sockscope {

struct SeqNum {
  std::uint32_t v = 0;

  constexpr SeqNum() = default;
  constexpr explicit SeqNum(std::uint32_t x) : v(x) {}

  friend constexpr SeqNum operator+(SeqNum a, std::uint32_t n) { return SeqNum(a.v + n); }
  friend constexpr SeqNum operator-(SeqNum a, std::uint32_t n) { return SeqNum(a.v - n); }
  // Signed distance from b to a (a - b), valid while |a - b| < 2^31.
  friend constexpr std::int32_t operator-(SeqNum a, SeqNum b) {
    return static_cast<std::int32_t>(a.v - b.v);
  }
  friend constexpr bool operator==(SeqNum a, SeqNum b) { return a.v == b.v; }
  friend constexpr bool operator!=(SeqNum a, SeqNum b) { return a.v != b.v; }
  friend constexpr bool operator<(SeqNum a, SeqNum b) { return (a - b) < 0; }
  friend constexpr bool operator>(SeqNum a, SeqNum b) { return (a - b) > 0; }
  friend constexpr bool operator<=(SeqNum a, SeqNum b) { return (a - b) <= 0; }
  friend constexpr bool operator>=(SeqNum a, SeqNum b) { return (a - b) >= 0; }
};

constexpr SeqNum seq_max(SeqNum a, SeqNum b) { return a < b ? b : a; }

}  // namespace sockscope
