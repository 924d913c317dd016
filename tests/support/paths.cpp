#include "paths.hpp"

#include <filesystem>

namespace sockscope::testing {

std::string source_dir() { return SOCKSCOPE_SOURCE_DIR; }
std::string build_dir() { return SOCKSCOPE_BUILD_DIR; }

std::string temp_dir(const std::string& name) {
  std::filesystem::path p = std::filesystem::path(SOCKSCOPE_BUILD_DIR) / "test-tmp" / name;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

}  // namespace sockscope::testing
