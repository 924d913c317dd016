// The code path of the lesson fuzz target (lesson_fuzz.cpp), shared with the regression test: a
// lesson script, any bytes at all, through the parser that checks a whole file before anything runs.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sockscope/lessons/lesson.hpp"

namespace sockscope::fuzz {

// Parses text as a lesson. Besides no crash, leak or sanitizer report: a failed parse gives at least
// one diagnostic, and every diagnostic names a line of the text (or 0 for the whole file) and says
// something. A violation aborts, so libFuzzer saves the input.
inline void run_lesson_text(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  lesson::Lesson parsed;
  std::vector<lesson::Diagnostic> errors;
  const bool ok = lesson::parse_lesson(text, "fuzz.lesson", parsed, errors);
  if (!ok && errors.empty()) std::abort();
  std::size_t lines = 1;
  for (char c : text) lines += c == '\n';
  for (const lesson::Diagnostic& d : errors) {
    if (d.line < 0 || static_cast<std::size_t>(d.line) > lines + 1) std::abort();
    if (d.message.empty()) std::abort();
    const std::string shown = lesson::format_diagnostic(d);
    if (shown.empty()) std::abort();
  }
  if (ok) {
    // Every step of a lesson that parsed points back at a line of it.
    for (const lesson::Step& s : parsed.steps)
      if (s.line <= 0 || static_cast<std::size_t>(s.line) > lines) std::abort();
  }
}

}  // namespace sockscope::fuzz
