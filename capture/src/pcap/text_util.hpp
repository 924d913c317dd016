// Small text helpers for the messages of the live capture, the writer and the session: built once
// per run or per error, never per packet.
#pragma once
#include <cstdio>
#include <string>

namespace sockscope::text {

// A user-supplied name (path, interface, filter) for messages: control bytes become \xNN.
inline std::string printable(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      char tmp[5];
      std::snprintf(tmp, sizeof tmp, "\\x%02x", static_cast<unsigned>(c));
      out += tmp;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

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
