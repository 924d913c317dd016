// The one decode -> annotate -> view step, shared by capture files (pipeline.cpp) and live sessions
// (live_session.cpp): a frame becomes a Packet, the Packet an Annotation, and both go to the view;
// the conversations the annotator lets go become the view's `conn` lines.
#pragma once
#include <cstdint>
#include <vector>

#include "sockscope/annotate/annotate.hpp"
#include "sockscope/decode/decode.hpp"
#include "sockscope/views/views.hpp"

namespace sockscope {

class PacketFlow {
 public:
  PacketFlow(View& view, const DecoderLimits& decoder = {}, const AnnotatorLimits& annotator = {});

  // Decodes a frame and returns the packet. The caller may look at it (a trace keeps only its
  // program's) and add what the source knows (its interface) before show().
  Packet& decode(std::uint32_t linktype, const std::uint8_t* data, std::uint32_t caplen, std::uint32_t wirelen,
                 Timestamp ts, std::uint64_t number);

  // Annotates the packet decoded last and hands both to the view; the annotation stays readable until the next call.
  const Annotation& show();
  // show() in its two steps, for a caller that must know the packet's conversation before the view
  // sees the packet (a live session shows the call that caused it first, with that conversation).
  const Annotation& annotate();
  void present();

  // The conversations the annotator has released, to the view. Returns how many.
  std::uint64_t show_finished();
  // Every conversation still open, then the view's finish(). Returns how many conversations.
  std::uint64_t finish();

  const Annotator& annotator() const { return annotator_; }

 private:
  std::uint64_t show_summaries();

  View& view_;
  Decoder decoder_;
  Annotator annotator_;
  bool reference_paths_;
  Packet packet_;
  Annotation annotation_;
  std::vector<ConnSummary> summaries_;  // reused: no allocation per batch
};

}  // namespace sockscope
