// printf-style formatting into a std::string, through {fmt}: the printf syntax translators know
// (with positional arguments, "%2$s %1$s", so a translation may reorder them), and a type check on
// every argument instead of undefined behaviour. For messages built once per run, file or error;
// the per-packet views keep their own appends (capture/views/src/format.hpp).
#pragma once
#include <fmt/printf.h>

#include <string>

namespace sockscope::text {

// format("%s: %d bytes", name, n). A format that does not fit its arguments (a broken translation)
// gives the format itself rather than garbage or a crash.
template <typename... Args>
std::string format(const char* f, const Args&... args) {
  try {
    return fmt::sprintf(f, args...);
  } catch (const fmt::format_error&) {
    return f;
  }
}

}  // namespace sockscope::text
