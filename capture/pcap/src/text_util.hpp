// Small text helpers for the messages of the live capture, the writer and the session: built once
// per run or per error, never per packet.
#pragma once
#include <cstdio>
#include <string>

#include "sockscope/text/escape.hpp"

namespace sockscope::text {

// A user-supplied name (path, interface, filter) for messages: escaped like any text from outside
// (controls, C1, bidi overrides, invalid UTF-8), and cut when very long.
inline std::string printable(const std::string& s) { return views::printable(s); }

// printf into a std::string.
template <typename... Args>
std::string format(const char* fmt, Args... args) {
  const int n = std::snprintf(nullptr, 0, fmt, args...);
  if (n <= 0) return {};
  std::string s(static_cast<std::size_t>(n) + 1, '\0');
  std::snprintf(s.data(), s.size(), fmt, args...);
  s.resize(static_cast<std::size_t>(n));
  return s;
}

}  // namespace sockscope::text
