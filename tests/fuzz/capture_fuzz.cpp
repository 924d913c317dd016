// libFuzzer target (b): the input is a whole capture file (pcap or pcapng), read by PcapSource through
// libpcap and run through run_annotate into every view, as `sockscope annotate FILE` does.
#include <cstddef>
#include <cstdint>

#include "harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sockscope::fuzz::run_capture(data, size);
  return 0;
}
