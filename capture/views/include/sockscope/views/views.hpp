// The views: human timeline, ladder, summary, OSI, JSON lines. They turn packets, annotations and
// summaries into text; every byte that came from the wire or a file is escaped before it is written.
// Learner-facing sentences go through tr() (i18n.hpp) so they can be translated.
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "sockscope/annotate/annotate.hpp"
#include "sockscope/annotate/calls.hpp"
#include "sockscope/views/out_buffer.hpp"
#include "sockscope/decode/packet.hpp"

namespace sockscope {

enum class ViewKind : std::uint8_t { Human, Ladder, Summary, Json };

struct ViewOptions {
  bool color = false;      // ANSI colour (only when writing to a terminal)
  bool osi = false;        // human view: the OSI breakdown of every packet under its line
  bool payload = true;     // human view: payload preview
  int width = 100;         // terminal width for the ladder
  // Live runs with chat endpoints: the ladder makes room for their socket calls, three columns
  // client | wire | server (it also does when the first item it sees is a call).
  bool calls = false;
};

class View {
 public:
  virtual ~View() = default;
  virtual void packet(const Packet& p, const Annotation& a) = 0;
  virtual void conversation(const ConnSummary& s) = 0;
  // A socket call of a chat endpoint (live runs), in timeline order with the packets. `conn` is the
  // conversation the call's socket belongs to, 0 when not known (yet). Views that have no use for
  // calls ignore them.
  virtual void call(const CallRecord& c, std::uint32_t conn) {
    (void)c;
    (void)conn;
  }
  // End of input: flushes anything the view holds (the summary view prints its blocks here).
  virtual void finish() = 0;
};

std::unique_ptr<View> make_view(ViewKind kind, OutBuffer& out, const ViewOptions& opts);

// The one-sentence annotation of a packet, in plain words (the human view's line and JSON `text`).
void describe(const Packet& p, const Annotation& a, std::string& out);

// A socket call as the timeline's call line writes it (escaped), e.g. for a pcapng comment:
// "python3[4242] connect() = 0  [kernel: ESTABLISHED]". A `standalone` line is read on its own, with
// no start line above it and no conversation column (`sockscope chat`, where a server talks to several
// clients): a blocking call's arguments are repeated, and a connected socket's send, recv, close and
// shutdown name the peer.
void describe_call(const CallRecord& c, std::string& out, bool standalone = false);

}  // namespace sockscope
