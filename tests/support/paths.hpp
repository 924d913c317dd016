// Where the tests find the project: paths come from CMake, so tests run from any folder.
#pragma once
#include <string>

namespace sockscope::testing {
std::string source_dir();  // the project's top folder
std::string build_dir();   // the build folder (holds the sockscope binary)
// A fresh temporary folder for one test's files, removed by nobody: under the build folder.
std::string temp_dir(const std::string& name);
}  // namespace sockscope::testing
