#include "sockscope/pcap/pipeline.hpp"

#include <cstdlib>

#include "sockscope/pcap/packet_flow.hpp"

namespace sockscope {

namespace {

// SOCKSCOPE_SLOW_PATHS=1 (tests/perf only) selects the plain way of each step the fast paths
// replaced, here and (through DecoderLimits and AnnotatorLimits::reference_paths, so that those
// two never read the environment) in the decoder and the annotator: both must print the same.
bool slow_paths() {
  const char* v = std::getenv("SOCKSCOPE_SLOW_PATHS");
  return v != nullptr && v[0] == '1' && v[1] == '\0';
}

}  // namespace

PipelineResult run_annotate(PcapSource& source, View& view, const PipelineOptions& opts) {
  PipelineResult r;
  DecoderLimits decoder_limits = opts.decoder;
  AnnotatorLimits annotator_limits = opts.annotator;
  if (slow_paths()) decoder_limits.reference_paths = annotator_limits.reference_paths = true;
  PacketFlow flow(view, decoder_limits, annotator_limits);
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
    Packet& packet = flow.decode(frame.linktype, frame.data, frame.caplen, frame.wirelen, frame.ts, frame.number);
    const auto& interfaces = source.interfaces();
    if (interfaces.size() > 1 && frame.interface < interfaces.size()) {
      packet.several_interfaces = true;
      packet.interface = frame.interface;
      packet.interface_name = interfaces[frame.interface].name;
    }
    flow.show();
    ++r.frames;
    if (opts.flush_each_packet != nullptr) opts.flush_each_packet->flush();
    if (++since_take >= interval) {
      since_take = 0;
      r.conversations += flow.show_finished();
    }
  }
  r.conversations += flow.finish();
  r.frames_read = source.frames_read();
  return r;
}

}  // namespace sockscope
