// The lines of a program's output, for tests that look at one line or one column.
#pragma once
#include <sstream>
#include <string>
#include <vector>

namespace sockscope::testing {

// The lines of `text`, without their '\n' (a last line without one counts too).
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

}  // namespace sockscope::testing
