// Where the tests find the project: paths come from CMake, so tests run from any folder.
#pragma once
#include <string>

namespace sockscope::testing {
std::string source_dir();  // the project's top folder
std::string build_dir();   // the build folder (holds the sockscope binary)
// A fresh temporary folder for one test's files, removed by nobody: under the build folder.
std::string temp_dir(const std::string& name);

// For tests that run something as another user (nobody, or the user sudo names): the clone may sit
// in a folder only root can enter (Debian's /root is mode 700). True when every folder above path
// lets others pass (search permission for "other").
bool reachable_by_others(const std::string& path);
// A fresh folder that every user can reach: under the build folder when others can reach it, else
// under the system's temporary folder (removed when the test process ends).
std::string shared_temp_dir(const std::string& name);
// The sockscope binary at a path every user can run: build/sockscope, or a copy of it in a
// shared_temp_dir when the build folder is out of other users' reach.
std::string binary_for_other_users();
}  // namespace sockscope::testing
