// A lesson script: what a teacher writes (docs/lessons.md is the reference). One step a line, in the
// spirit of packetdrill: endpoints and their socket calls with the result each should give,
// narration for the learner, pauses, expectations on what the capture and the calls showed, and quiz
// questions answered from the run's own capture. The whole file is checked before anything runs: a
// malformed lesson gets every error at once, each with file:line and a hint.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sockscope/annotate/annotate.hpp"

namespace sockscope::lesson {

// ---- values the lesson refers to: fields of packets and calls, counts, numbers ----

// "handshake-2@server#1": the Nth packet (1-based; negative counts from the end) carrying an event
// word (or any packet: word "packet"), optionally only those sent by one side.
struct PacketSelector {
  bool any = false;          // the word "packet" (or "arp": any ARP packet, with proto Arp)
  Proto proto = Proto::Other;  // Arp: only ARP packets (the selector word "arp"); Other: no filter
  Event word = Event::Data;
  Direction side = Direction::None;  // C2S: sent by the client, S2C: by the server, None: either
  int index = 1;
  std::string text;          // as written, for messages
};

// "client.recv#2": the Nth returned call of that name made by that endpoint.
struct CallSelector {
  std::string endpoint;
  std::string call;
  int index = 1;
  std::string text;
};

struct Term {
  enum class Kind : std::uint8_t { Number, Text, PacketField, CallField, CountPackets, CountCalls };
  Kind kind = Kind::Number;
  int sign = 1;              // + or - in a sum
  std::int64_t number = 0;
  std::string text;          // Text: the word (TIME-WAIT, ECONNREFUSED)
  PacketSelector packet;
  CallSelector call;
  std::string field;         // "ack", "raw-seq", "result", "after-frame", ...
  bool ok_only = false;      // CountCalls written "count client.recv ok": only calls that did not fail
  std::string source;        // the term as written
};

// A sum of terms: "handshake-1.seq + 1". A text value stands alone.
struct Expr {
  std::vector<Term> terms;
  std::string source;
};

// ---- the lesson ----

enum class Role : std::uint8_t { Server, Client };

struct EndpointDecl {
  std::string name;          // "server", "client", or a name given in the declaration
  Role role = Role::Client;
  Proto proto = Proto::Tcp;  // Tcp or Udp
  std::string address;       // server: where it binds (127.0.0.1 by default, or ::1)
  bool port_auto = true;     // server: a free port is found when the lesson starts
  std::uint16_t port = 0;
  std::string target;        // client: the server it talks to (by name)
  // "tcp server ... run python3 {examples}/tcp_server.py {address} {port}": a program of the learner's
  // (or any program) is this endpoint, run under trace; its own socket calls are the endpoint's calls.
  // Empty: sockscope makes the calls the lesson writes. Placeholders are filled when it starts:
  // {address} and {port} of the server (its own, or its client's server), {examples} (the example
  // programs that come with sockscope), {dir} (the lesson file's folder).
  std::vector<std::string> command;
  int line = 0;
  bool program() const { return !command.empty(); }
};

// What a call should give: nothing said (must not fail), ok, any, a number, or an errno name.
struct CallExpect {
  enum class Kind : std::uint8_t { Default, Ok, Any, Result, Errno };
  Kind kind = Kind::Default;
  std::int64_t result = 0;
  int err = 0;
  std::string text;          // as written
};

struct Step {
  enum class Kind : std::uint8_t { Narrate, Pause, Sleep, Wait, Call, Expect, Quiz };
  Kind kind = Kind::Narrate;
  int line = 0;
  std::string source;        // the line as written (trimmed)

  // Narrate: paragraphs (may hold {expression} placeholders, filled from the capture when shown)
  std::vector<std::string> paragraphs;
  // Sleep (the whole lesson waits) and endpoint "sleep": milliseconds
  int ms = 0;

  // Call
  std::string endpoint;
  std::string call;          // socket, bind, listen, accept, connect, send, recv, sendto, recvfrom,
                             // shutdown, close, setsockopt, sleep
  std::string data;          // send/sendto: the bytes
  std::size_t size = 0;      // recv/recvfrom: the buffer size
  bool nowait = false;       // send/recv: MSG_DONTWAIT
  bool all = false;          // recv: MSG_WAITALL (wait for the whole buffer, or the end of the stream)
  std::string to;            // connect/sendto: the server endpoint's name (empty: the default)
  int how = 0;               // shutdown: SHUT_RD, SHUT_WR, SHUT_RDWR
  bool listener = false;     // close listener
  int backlog = 16;          // listen
  std::string option;        // setsockopt: SO_LINGER, TCP_NODELAY, SO_RCVBUF, SO_SNDBUF, SO_REUSEADDR
  std::vector<int> values;   // setsockopt values (SO_LINGER: seconds; -1 = off)
  // A program endpoint's steps: "start", "type" (data: the line typed into its standard input),
  // "await CALL [N]" (the lesson waits until the program's CALL has returned N times), "end" (its
  // input is closed and the lesson waits for it to exit; expect: its exit status).
  std::string awaited;
  int count = 1;
  CallExpect expect;

  // Expect
  enum class ExpectKind : std::uint8_t { InOrder, Relation };
  ExpectKind expect_kind = ExpectKind::InOrder;
  std::vector<Event> words;  // InOrder
  Expr lhs, rhs;             // Relation
  std::string op;            // ==, !=, <, <=, >, >=
  std::string label;         // after " -- ": what it shows, in plain words

  // Quiz: the question, the answer's expression, and why (after " -- ")
  std::string question;
  Expr answer;
};

// "lab [mtu N] [loss PCT] [drop-syn N]": the lesson runs between the two hosts of the lab (lab.hpp)
// instead of on loopback: servers on the server host, clients on the client host, the capture on the
// client's side of the link.
struct LabDecl {
  bool on = false;
  int mtu = 1500;
  int loss_pct = 0;
  int drop_syn = 0;
  bool sack = true;  // "sack 0": the client host does not offer SACK (lab.hpp)
  int line = 0;
};

struct Lesson {
  std::string path;          // the file it came from
  std::string name;          // the file's name without number prefix and extension: "handshake"
  std::string title, summary, topic, watch;
  std::vector<std::string> explain;  // what the learner can now explain
  LabDecl lab;
  std::vector<EndpointDecl> endpoints;
  std::vector<Step> steps;
  const EndpointDecl* endpoint(std::string_view name) const;
};

struct Diagnostic {
  std::string file;
  int line = 0;
  std::string message;
  std::string hint;
};
// "lessons/03-handshake.lesson:12: unknown call 'conect' (hint: the calls are ...)"
std::string format_diagnostic(const Diagnostic& d);

// Parses a lesson. Returns false with every problem found (each with its line and a hint).
bool parse_lesson(std::string_view text, const std::string& path, Lesson& out, std::vector<Diagnostic>& errors);
// Reads and parses a file.
bool load_lesson(const std::string& path, Lesson& out, std::vector<Diagnostic>& errors);

// The lesson's short name from its file name: "lessons/03-handshake.lesson" -> "handshake".
std::string lesson_name_of(const std::string& path);

// errno by symbolic name ("ECONNREFUSED" -> 111), 0 when unknown.
int errno_from_name(std::string_view name);

}  // namespace sockscope::lesson
