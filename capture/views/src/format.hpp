// Small formatting helpers shared by the views: append into a reused std::string, no iostreams.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "sockscope/annotate/annotate.hpp"
#include "sockscope/decode/packet.hpp"
#include "sockscope/text/escape.hpp"

namespace sockscope::views {

// The escaping every view writes through (sockscope/text/escape.hpp).
using text::escape_text;
using text::json_string;
using text::display_width;
using text::printable;
using text::utf8_decode;

// printf into a stack buffer, then append (long results are cut at 511 bytes).
void appendf(std::string& out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
// The same for a format string that comes from the catalogue (tr()): the compiler cannot check it.
void appendf_tr(std::string& out, const char* fmt, ...);

void append_u64(std::string& out, std::uint64_t v);
void append_ip(std::string& out, const IpAddr& ip);
void append_mac(std::string& out, const MacAddr& mac);
// "1.2.3.4:80", "[::1]:80"; just the address when with_port is false.
void append_endpoint(std::string& out, const IpAddr& ip, std::uint16_t port, bool with_port = true);
// tcpdump's flag letters in tcpdump's order: F S R P . U E W e ("S." for SYN-ACK).
void append_tcp_flags(std::string& out, std::uint16_t flags);
// Wireshark-style names for the ladder: "SYN,ACK", "PSH,ACK", "FIN,ACK".
void append_tcp_flag_names(std::string& out, std::uint16_t flags);
// Seconds and nanoseconds as "S.NNNNNNNNN" (exact, no floating point).
void append_ts(std::string& out, Timestamp ts);
// A duration in milliseconds, short: "201", "12.5", "0.204".
void append_ms(std::string& out, std::int64_t ns);
void format_ms(char* buf, std::size_t size, std::int64_t ns);

// Source and destination endpoint of a packet, as the glossary's `src`/`dst` say (ports only for
// TCP and UDP; ARP uses the sender and target protocol addresses). Returns false when there is none.
bool append_src(std::string& out, const Packet& p);
bool append_dst(std::string& out, const Packet& p);

// The capture interface of a packet from a file with several: "interface 1 (eth0)" or "interface 1".
void append_interface(std::string& out, const Packet& p);

const char* transport_name(Transport t);  // "tcp", "udp", "icmp", "arp", "other"

// Tunnels (Packet::tunnels): the JSON name ("gre", "erspan", "vxlan", "geneve", "mpls"), the short
// tag of the human line ("VXLAN vni 4242", "GRE key 7", "MPLS 100,200"), the sentence that says what
// carried the packet, and the JSON object ({"kind":..,"src":..,"dst":..,...}).
const char* tunnel_kind_name(TunnelKind k);
void append_tunnel_tag(std::string& out, const Tunnel& t);
void describe_tunnel(std::string& out, const Tunnel& t);
void append_tunnel_json(std::string& out, const Tunnel& t);

// The translated word for the sender of a packet ("client"/"server"), and for the receiver.
const char* sender_role(Direction d);
const char* receiver_role(Direction d);

}  // namespace sockscope::views
