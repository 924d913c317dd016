#include "sockscope/pcap/packet_flow.hpp"

namespace sockscope {

PacketFlow::PacketFlow(View& view, const DecoderLimits& decoder, const AnnotatorLimits& annotator)
    : view_(view), decoder_(decoder), annotator_(annotator), reference_paths_(decoder.reference_paths) {
  summaries_.reserve(64);
}

Packet& PacketFlow::decode(std::uint32_t linktype, const std::uint8_t* data, std::uint32_t caplen,
                           std::uint32_t wirelen, Timestamp ts, std::uint64_t number) {
  // decode() resets the whole packet, the fields a source added included.
  decoder_.decode(linktype, data, caplen, wirelen, ts, number, packet_);
  return packet_;
}

const Annotation& PacketFlow::show() {
  annotate();
  present();
  return annotation_;
}

const Annotation& PacketFlow::annotate() {
  annotation_ = annotator_.annotate(packet_);
  return annotation_;
}

void PacketFlow::present() { view_.packet(packet_, annotation_); }

std::uint64_t PacketFlow::show_summaries() {
  for (const ConnSummary& s : summaries_) view_.conversation(s);
  const std::uint64_t n = summaries_.size();
  summaries_.clear();  // keeps the capacity
  return n;
}

std::uint64_t PacketFlow::show_finished() {
  annotator_.take_finished(summaries_);
  return show_summaries();
}

std::uint64_t PacketFlow::finish() {
  std::uint64_t n = show_finished();
  // In steps, so the summaries of the conversations still open are not all held at once.
  if (reference_paths_) {
    annotator_.finish(summaries_);
  } else {
    while (annotator_.finish_some(summaries_, 64)) n += show_summaries();
  }
  n += show_summaries();
  view_.finish();
  return n;
}

}  // namespace sockscope
