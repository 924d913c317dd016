// printf-style formatting into a std::string, through {fmt}: the printf syntax translators know
// (with positional arguments, "%2$s %1$s", so a translation may reorder them), and a type check on
// every argument instead of undefined behaviour. For messages built once per run, file or error;
// the per-packet views keep their own appends (capture/views/src/format.hpp).
#pragma once
#include <fmt/printf.h>
#include <libintl.h>

#include <string>
#include <string_view>

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

// "Quiz: what is ...": a translated label that ends in its colon, then what follows it, joined as the
// language joins them (a space after "Quiz:", nothing after Chinese "小测验：", whose colon is wide).
inline std::string labelled(const char* translated_label, std::string_view value) {
  // TRANSLATORS: %1$s is a label ending in a colon ("Quiz:"), %2$s what follows it. Keep the space
  // only if your language puts one after that colon.
  return format(dgettext("sockscope", "%1$s %2$s"), translated_label, std::string(value));
}

}  // namespace sockscope::text
