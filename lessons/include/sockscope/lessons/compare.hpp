// sockscope compare: the same numbered conversation over TCP and over UDP, each with the capture on,
// measured from the capture and from the programs' own calls, side by side (lesson 17 of the course).
// The client sends N numbered messages ("0001 " + filler up to the asked size); the server reads what
// arrives and counts which numbers it got, how often, and how many arrived merged in one recv().
// On loopback by default; --lab runs it between the two lab hosts (lab.hpp), where loss can be added.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sockscope/views/svg.hpp"

namespace sockscope::compare {

struct Options {
  int messages = 10;          // 1..10000
  int size = 32;              // bytes a message, including its number (6..60000)
  int loss_pct = 0;           // only with lab: the lab's loss rule
  bool sack = true;           // only with lab: false turns SACK off on the client host (lab.hpp)
  bool lab = false;           // between the two lab hosts (built and removed by the run)
  std::string write_prefix;   // when set: PREFIX-tcp.pcapng and PREFIX-udp.pcapng are saved
  int timeout_ms = 20000;     // the whole run of one protocol (longer when messages * gap_ms needs it)
  int gap_ms = 1;             // pause between two messages (0: back to back): one message, one packet
};

struct Figures {
  std::uint64_t messages_sent = 0, messages_delivered = 0, messages_lost = 0, messages_duplicated = 0,
                messages_merged = 0;   // merged: messages that arrived in a recv() with another one
  // packets by role, from the annotator's events (a packet counts once, in the first role that fits:
  // retransmission, handshake, teardown, data, ack; UDP datagrams count as data)
  std::uint64_t pk_handshake = 0, pk_data = 0, pk_ack = 0, pk_teardown = 0, pk_retransmission = 0,
                pk_total = 0;
  std::uint64_t bytes_l2 = 0, bytes_l3 = 0, bytes_l4 = 0, bytes_l7 = 0;  // header bytes per layer; payload
  double overhead_pct = 0;     // (l2+l3+l4) / (l2+l3+l4+l7) * 100
  double first_byte_ms = 0;    // first call of the client (socket) to the server's first byte received;
                               // -1 when no byte arrived
  std::uint64_t retransmissions = 0;
  std::uint64_t recv_calls = 0;  // recv()/recvfrom() calls that returned data
  // TCP segments that carried payload bytes already sent: the retransmissions, and also the copies
  // sent so soon after their original that the capture (like Wireshark) calls them out-of-order.
  std::uint64_t resent_segments = 0;
};

struct Result {
  bool ok = false;
  std::string error;           // one line, when !ok
  std::string note;            // e.g. why delay is absent
  Figures tcp, udp;
  std::string tcp_pcap, udp_pcap;        // saved files (write_prefix), else empty
  std::string tcp_svg, udp_svg;          // the two ladder diagrams (standalone = false)
  std::vector<std::string> tcp_ladder, udp_ladder;  // the text ladders, one line each (for the terminal)
  std::string tcp_svg_doc, udp_svg_doc;  // the same drawings as standalone SVG documents (--svg files)
  Options options;                       // what the run was asked (render_json reports it)
  // The effective uid when the first packet was decoded (-1: none was). Under sudo the run gives
  // root up once both captures are open, so this is the sudo user's uid (issue 7: privileges).
  std::int64_t decode_euid = -1;
};

Result run(const Options& opts);

// The table, the two ladders side by side and the verdict (plain words drawn from the figures).
std::string render_text(const Options& opts, const Result& r, int width, bool color);
// {"tcp": {...}, "udp": {...}} with the keys of issue 5 (messages_sent ... retransmissions), one line.
std::string render_json(const Result& r);
// One self-contained page: the table, the verdict and both diagrams.
std::string render_html(const Options& opts, const Result& r);

}  // namespace sockscope::compare
