// Private to the views: the factories behind make_view() and what the views share.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "sockscope/views/views.hpp"

namespace sockscope::views {

std::unique_ptr<View> make_human_view(OutBuffer& out, const ViewOptions& opts);
std::unique_ptr<View> make_ladder_view(OutBuffer& out, const ViewOptions& opts);
std::unique_ptr<View> make_summary_view(OutBuffer& out, const ViewOptions& opts);
std::unique_ptr<View> make_json_view(OutBuffer& out, const ViewOptions& opts);

// ANSI SGR colours (ECMA-48). Only ever written when ViewOptions::color is set.
inline constexpr const char* kGreen = "\x1b[32m";
inline constexpr const char* kBlue = "\x1b[34m";
inline constexpr const char* kRed = "\x1b[31m";
inline constexpr const char* kMagenta = "\x1b[35m";
inline constexpr const char* kReset = "\x1b[0m";

// The colour of a packet's annotation: malformed magenta, RST and retransmissions red, teardown blue,
// handshake green; nullptr (plain) for data and everything else.
const char* event_colour(const EventSet& ev);

// Seconds since the first packet, millisecond precision: "0.231".
void append_rel_time(std::string& out, Timestamp first, Timestamp now);

// "1.2.3.4:51514" for TCP/UDP, the bare address otherwise.
void append_summary_endpoint(std::string& out, const ConnSummary& s, const Endpoint& e);

// A plain-words explanation of Zeek's conn_state (TCP and UDP meanings differ).
const char* conn_state_explained(const ConnSummary& s);
// A plain-words explanation of the close kind.
const char* close_explained(CloseKind k);

// ---- socket calls (calls.hpp) on the timeline -------------------------------------------------------

// Packets and calls share one time column: milliseconds since the first item of the timeline, packet
// or call (a live run usually starts with the endpoints' socket() calls, before any packet).
struct TimelineStart {
  bool have = false;
  Timestamp first;
  // Returns true the first time (the view prints its header then).
  bool see(Timestamp t) {
    if (have) return false;
    first = t;
    have = true;
    return true;
  }
};

// What a call did, as a tutorial writes it; everything that came from a peer is escaped:
//   connect(127.0.0.1:9000) ...                 a blocking call that has not returned yet
//   connect() = 0  [kernel: ESTABLISHED]        its return (the arguments were on the first line)
//   send("hello") = 5    accept() = 4 from 127.0.0.1:51514    recv() = 0 (the peer closed: end of stream)
//   connect() = -1 ECONNREFUSED (nobody listens on that port)
void append_call_text(std::string& out, const CallRecord& c, bool standalone = false);
// Plain words for the errno a call failed with, for that call (EAGAIN after MSG_DONTWAIT is not
// EAGAIN after a timeout; EADDRNOTAVAIL from connect() is not EADDRNOTAVAIL from bind()); nullptr for
// the values a chat does not meet.
const char* errno_explained(const CallRecord& c);
// The call failed: the result is negative (the convention of the socket API, with errno set).
inline bool call_failed(const CallRecord& c) { return c.returned && c.result < 0; }

}  // namespace sockscope::views
