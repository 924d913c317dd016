// Checking what a lesson expects against what the annotator saw. A lesson says "I expect handshake-1,
// handshake-2, handshake-3, in that order, on one conversation"; the checker says whether the capture
// showed it and, when not, what it showed instead: a failure a learner or teacher can act on.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sockscope/annotate/annotate.hpp"

namespace sockscope {

// One annotated packet, as far as expectations care.
struct SeenPacket {
  std::uint64_t frame = 0;
  std::uint32_t conn = 0;
  Direction dir = Direction::None;
  EventSet events;
};

struct ExpectResult {
  bool ok = false;
  std::string message;          // plain words: what matched, or what was expected and what was seen
  std::vector<std::uint64_t> frames;  // on success: the frame that showed each expected word
};

// Parses "handshake-1 handshake-2 handshake-3" (spaces or commas); unknown words are reported by name.
bool parse_event_words(std::string_view text, std::vector<Event>& out, std::string& error);

// The words must appear in this order (other events may come between), all on one conversation
// (conn > 0) unless the list holds only connection-less words. The earliest match wins.
ExpectResult expect_in_order(const std::vector<SeenPacket>& seen, const std::vector<Event>& words);

// How many packets carry `word` (on any conversation).
std::size_t count_event(const std::vector<SeenPacket>& seen, Event word);

}  // namespace sockscope
