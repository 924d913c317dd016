// The event words of the glossary: the contract between the annotator, the views, JSON and lessons.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace sockscope {

enum class Event : std::uint8_t {
  Handshake1, Handshake2, Handshake3,
  Data, Ack,
  Teardown1, Teardown2, Teardown3, Teardown4, SimultaneousClose, HalfClose,
  Rst, Refused, Abort,
  Retransmission, FastRetransmission, SpuriousRetransmission, OutOfOrder, LostSegment, AckUnseen,
  DupAck, ZeroWindow, ZeroWindowProbe, WindowUpdate, WindowFull, Keepalive, KeepaliveAck, PortReuse,
  Datagram, IpFragment, Reassembled, IcmpUnreachable,
  Malformed, ChecksumBad,
  Count_
};

inline constexpr int kEventCount = static_cast<int>(Event::Count_);

// The glossary word: "handshake-1", "fast-retransmission", ...
const char* event_name(Event e);
// Parses a glossary word; nullopt if unknown.
std::optional<Event> event_from_name(std::string_view name);

class EventSet {
 public:
  constexpr void add(Event e) { bits_ |= bit(e); }
  constexpr void remove(Event e) { bits_ &= ~bit(e); }
  constexpr bool has(Event e) const { return (bits_ & bit(e)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr std::uint64_t bits() const { return bits_; }
  friend constexpr bool operator==(EventSet, EventSet) = default;
  // Iterates in the enum's order (the glossary's order).
  template <typename F>
  void for_each(F&& f) const {
    for (int i = 0; i < kEventCount; ++i)
      if (bits_ & (std::uint64_t{1} << i)) f(static_cast<Event>(i));
  }

 private:
  static constexpr std::uint64_t bit(Event e) { return std::uint64_t{1} << static_cast<int>(e); }
  std::uint64_t bits_ = 0;
};

}  // namespace sockscope
