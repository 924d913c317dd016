// Decoding captured frames into Packet (packet.hpp). Never throws, never reads past the captured
// bytes: a short or lying frame is reported in Packet::error and decoding of later frames goes on.
// Does not include <pcap.h>: it works on bytes and a link-type number.
#pragma once
#include <cstdint>
#include <memory>

#include "sockscope/decode/packet.hpp"

namespace sockscope {

struct DecoderLimits {
  // IP reassembly is bounded: at most this many datagrams in progress and this many bytes buffered;
  // the oldest is dropped first. Incomplete datagrams older than the timeout (capture time) are dropped.
  std::uint32_t max_pending_datagrams = 64;
  std::uint32_t max_reassembly_bytes = 4u << 20;
  std::int64_t fragment_timeout_ns = 30'000'000'000LL;
  // The plain reference loops instead of the fast ones (the checksum): only for tests/perf, which
  // show that both print the same (SOCKSCOPE_SLOW_PATHS=1, read by the pipeline, never here).
  bool reference_paths = false;
};

// The name of a link type as libpcap's list gives it ("ETHERNET", "IEEE802_11"), nullptr when unknown;
// and the usual name of an EtherType ("LLDP"), nullptr when unknown. For saying what was not decoded.
const char* linktype_name(std::uint32_t linktype);
const char* ethertype_name(std::uint16_t type);

// Decodes one frame with no state: IP fragments stay fragments (ip.is_fragment), nothing is reassembled.
// reference_paths: DecoderLimits::reference_paths.
void decode_frame(std::uint32_t linktype, const std::uint8_t* data, std::uint32_t caplen,
                  std::uint32_t wirelen, Packet& out, bool reference_paths = false);

// Stateful decoder: decode_frame plus IPv4/IPv6 reassembly. When the last missing fragment arrives,
// that frame's Packet has ip.reassembled set and its transport fields and payload describe the whole
// datagram (payload then points into the decoder's buffer, valid until the next call).
class Decoder {
 public:
  explicit Decoder(DecoderLimits limits = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  void decode(std::uint32_t linktype, const std::uint8_t* data, std::uint32_t caplen,
              std::uint32_t wirelen, Timestamp ts, std::uint64_t frame, Packet& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sockscope
