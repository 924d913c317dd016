// libFuzzer target (a): frames of one link type through the stateless decoder, the reassembling
// Decoder, the Annotator, describe() and every view (input format: harness.hpp, run_frames).
#include <cstddef>
#include <cstdint>

#include "harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sockscope::fuzz::run_frames(data, size);
  return 0;
}
