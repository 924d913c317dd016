// libFuzzer target (c): a lesson script through the lesson parser (lesson_harness.hpp). Seeds: the
// project's own lessons (lessons/*.lesson).
#include <cstddef>
#include <cstdint>

#include "lesson_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sockscope::fuzz::run_lesson_text(data, size);
  return 0;
}
