#include "sockscope/pcap/pipeline.hpp"

#include <cstdlib>
#include <vector>

namespace sockscope {

namespace {

// SOCKSCOPE_SLOW_PATHS=1 (tests/perf only) selects the plain way of each step the fast paths
// replaced, here and (through DecoderLimits and AnnotatorLimits::reference_paths, so that those
// two never read the environment) in the decoder and the annotator: both must print the same.
bool slow_paths() {
  const char* v = std::getenv("SOCKSCOPE_SLOW_PATHS");
  return v != nullptr && v[0] == '1' && v[1] == '\0';
}

void emit(std::vector<ConnSummary>& summaries, View& view, PipelineResult& r) {
  for (const ConnSummary& s : summaries) view.conversation(s);
  r.conversations += summaries.size();
  summaries.clear();  // keeps the capacity: the vector is reused
}

}  // namespace

PipelineResult run_annotate(PcapSource& source, View& view, const PipelineOptions& opts) {
  PipelineResult r;
  const bool slow = slow_paths();
  DecoderLimits decoder_limits = opts.decoder;
  AnnotatorLimits annotator_limits = opts.annotator;
  if (slow) decoder_limits.reference_paths = annotator_limits.reference_paths = true;
  Decoder decoder(decoder_limits);
  Annotator annotator(annotator_limits);
  std::vector<ConnSummary> summaries;
  summaries.reserve(64);
  Packet packet;
  Frame frame;
  const std::uint32_t interval = opts.summary_interval == 0 ? 1 : opts.summary_interval;
  std::uint32_t since_take = 0;

  for (;;) {
    const ReadResult rr = source.next(frame);
    if (rr == ReadResult::End) break;
    if (rr == ReadResult::Error) {
      r.ok = false;
      r.error = source.error();
      break;
    }
    // decode() resets the packet itself (all but frame and ts, which it sets).
    if (slow) packet = Packet{};
    decoder.decode(frame.linktype, frame.data, frame.caplen, frame.wirelen, frame.ts, frame.number,
                   packet);
    const auto& interfaces = source.interfaces();
    if (interfaces.size() > 1 && frame.interface < interfaces.size()) {
      packet.several_interfaces = true;
      packet.interface = frame.interface;
      packet.interface_name = interfaces[frame.interface].name;
    }
    const Annotation a = annotator.annotate(packet);
    view.packet(packet, a);
    ++r.frames;
    if (opts.flush_each_packet != nullptr) opts.flush_each_packet->flush();
    if (++since_take >= interval) {
      since_take = 0;
      annotator.take_finished(summaries);
      emit(summaries, view, r);
    }
  }
  annotator.take_finished(summaries);
  emit(summaries, view, r);
  // In steps, so the summaries of the conversations still open are not all held at once.
  if (slow) {
    annotator.finish(summaries);
  } else {
    while (annotator.finish_some(summaries, 64)) emit(summaries, view, r);
  }
  emit(summaries, view, r);
  view.finish();
  r.frames_read = source.frames_read();
  return r;
}

}  // namespace sockscope
