// Private to the views: the factories behind make_view() and what the views share.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "sockscope/views.hpp"

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

}  // namespace sockscope::views
