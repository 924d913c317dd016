// Inside the lessons library: the parser's helpers, what a run remembers of its packets and calls
// (the facts expectations and quizzes are checked against), and the evaluation of expressions.
#pragma once
#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "sockscope/annotate/annotate.hpp"
#include "sockscope/annotate/calls.hpp"
#include "sockscope/lessons/expect.hpp"
#include "sockscope/lessons/lesson.hpp"
#include "sockscope/decode/packet.hpp"

namespace sockscope::lesson::detail {

std::string trim(std::string_view s);
bool parse_int(std::string_view s, std::int64_t& out);  // a decimal integer, optionally negative
bool is_packet_field(std::string_view f);  // a row of facts.cpp's packet field table
bool is_call_field(std::string_view f);    // a row of facts.cpp's call field table
bool is_call_name(std::string_view c);     // a call a lesson may name (annotate's call table)
// "a, b, c": the names of a table's rows that keep() accepts, for a message that lists them.
template <typename Rows, typename Keep>
std::string row_names(const Rows& rows, Keep keep) {
  std::string out;
  for (const auto& r : rows)
    if (keep(r)) out += (out.empty() ? "" : ", ") + std::string(r.name);
  return out;
}
std::string packet_field_names();          // "frame, seq, ack, ...": the packet field table's names
std::string call_field_names();            // "result, errno, ...": the call field table's names
std::string lesson_call_names();           // "socket, bind, ...": the calls a lesson may name
bool traced_call_name(std::string_view c);  // a system call `sockscope trace` shows (a program's calls)
bool parse_packet_selector(const std::string& text, PacketSelector& out, std::string& error);
bool parse_call_selector(const std::string& text, const Lesson& lesson, CallSelector& out, std::string& error);
bool parse_expr(const std::string& text, const Lesson& lesson, Expr& out, std::string& error);

// One annotated packet, as far as a lesson asks about it.
struct PacketFact {
  std::uint64_t frame = 0;
  std::int64_t ts_ns = 0;
  std::uint32_t conn = 0;
  Direction dir = Direction::None;
  EventSet events;
  Transport transport = Transport::None;
  bool has_rel = false;
  std::uint32_t rel_seq = 0, rel_ack = 0, raw_seq = 0, raw_ack = 0;
  std::uint32_t len = 0;           // payload bytes
  std::uint32_t win = 0;           // scaled
  std::uint16_t raw_win = 0;
  std::uint16_t sport = 0, dport = 0;
  std::uint16_t tcp_flags = 0;
  bool has_mss = false, has_wscale = false;
  std::uint16_t mss = 0;
  std::uint8_t wscale = 0;
  std::uint8_t ttl = 0;
  std::uint32_t ip_header = 0, transport_header = 0, link_header = 0, wire_len = 0;
  std::uint16_t udp_length = 0;
  std::uint8_t ip_proto = 0, ip_version = 0;
  std::uint64_t quotes_frame = 0;
  Proto proto = Proto::Other;
  std::uint16_t ip_id = 0, frag_offset = 0;  // IPv4 id (IPv6: the fragment header's id, low 16 bits)
  bool mf = false, df = false, has_macs = false;
  std::array<std::uint8_t, 6> src_mac{}, dst_mac{};
  std::uint16_t arp_op = 0;
};

// One returned socket call of an endpoint.
struct CallFact {
  std::string endpoint;   // the lesson's name for it
  CallRole role = CallRole::Client;
  std::string call;
  std::int64_t result = 0;
  int err = 0;
  std::string state;      // the kernel's TCP state after the call
  std::string data;       // bytes sent or received
  std::int64_t ts_ns = 0, ts_return_ns = 0;
};

// Where a call appeared on the timeline: the last frame shown before its return.
struct CallPlace {
  CallRole role = CallRole::Client;
  std::int64_t ts_ns = 0;
  std::uint64_t after_frame = 0;
};

// What the run saw, shared by the capture thread (packets, places) and the endpoints (calls).
class Facts {
 public:
  void add_packet(const Packet& p, const Annotation& a);
  void add_call(const std::string& endpoint, const CallRecord& c);
  void add_place(const CallRecord& c, std::uint64_t after_frame);

  std::mutex mu;  // held while reading the vectors below
  std::vector<PacketFact> packets;
  std::vector<CallFact> calls;
  std::vector<CallPlace> places;
};

// A computed value: a number or a word, with the frames it came from; or why it could not be had.
struct Value {
  bool ok = false;
  bool is_text = false;
  std::int64_t n = 0;
  std::string text;
  std::vector<std::uint64_t> frames;
  std::string why;  // when !ok: "the capture has no handshake-2 packet"
  std::string shown() const;  // "1", "TIME-WAIT"
};

// Call with facts.mu held.
Value eval(const Expr& e, const Facts& facts);
std::vector<SeenPacket> seen_packets(const Facts& facts);

// "frame 2" / "frames 1, 2, 3" / "" for none.
std::string frames_text(const std::vector<std::uint64_t>& frames);

// Replaces each {expression} in text with its value from the facts ("?" when the capture lacks it).
std::string fill_placeholders(const std::string& text, const Lesson& lesson, const Facts& facts);

}  // namespace sockscope::lesson::detail
