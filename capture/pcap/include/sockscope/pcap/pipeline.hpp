// The annotate loop: frames from a capture file -> Decoder -> Annotator -> View.
// One Packet and one summaries vector are reused for the whole run: no heap allocation per packet
// (beyond what the decoder, annotator and view need for their own bounded state).
#pragma once
#include <cstdint>
#include <string>

#include "sockscope/annotate/annotate.hpp"
#include "sockscope/decode/decode.hpp"
#include "sockscope/views/out_buffer.hpp"
#include "sockscope/pcap/pcap_source.hpp"
#include "sockscope/views/views.hpp"

namespace sockscope {

struct PipelineOptions {
  DecoderLimits decoder;
  AnnotatorLimits annotator;
  // How many packets between two calls of Annotator::take_finished: conversation lines appear at
  // most this many packets after the conversation was released.
  std::uint32_t summary_interval = 64;
  // When set, flushed after every packet: for a live stream on standard input
  // (tcpdump -U -w - | sockscope annotate -), so each packet shows as it arrives.
  OutBuffer* flush_each_packet = nullptr;
};

struct PipelineResult {
  std::uint64_t frames = 0;         // frames annotated (after the filter)
  std::uint64_t frames_read = 0;    // frames read from the file
  std::uint64_t conversations = 0;  // conversation summaries given to the view
  bool ok = true;                   // false: the source failed; error says why
  std::string error;                // one line, "FILE: problem. What to do."
};

// Runs the whole capture through the view. On a read error, everything read before the damage is
// still annotated, the open conversations are summarised and the view finished, then the error is
// returned: callers print it after the output.
PipelineResult run_annotate(PcapSource& source, View& view, const PipelineOptions& opts = {});

}  // namespace sockscope
