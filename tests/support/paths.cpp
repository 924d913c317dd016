#include "paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <system_error>

namespace sockscope::testing {

namespace fs = std::filesystem;

std::string source_dir() { return SOCKSCOPE_SOURCE_DIR; }
std::string build_dir() { return SOCKSCOPE_BUILD_DIR; }

std::string temp_dir(const std::string& name) {
  fs::path p = fs::path(SOCKSCOPE_BUILD_DIR) / "test-tmp" / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

bool reachable_by_others(const std::string& path) {
  for (fs::path p = fs::absolute(path).parent_path();; p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || (st.st_mode & S_IXOTH) == 0) return false;
    if (p == p.root_path()) return true;
  }
}

namespace {

// This process's folder under the system's temporary folder, made once (mode 755) and removed at exit.
const std::string& process_shared_root() {
  static std::once_flag once;
  static std::string root;
  std::call_once(once, [] {
    std::string tmpl = (fs::temp_directory_path() / "sockscope-tests-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return;
    ::chmod(tmpl.c_str(), 0755);
    root = tmpl;
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(root, ec);
    });
  });
  return root;
}

}  // namespace

std::string shared_temp_dir(const std::string& name) {
  const fs::path in_build = fs::path(SOCKSCOPE_BUILD_DIR) / "test-tmp" / name;
  if (reachable_by_others(in_build.string())) return temp_dir(name);
  const fs::path p = fs::path(process_shared_root()) / name;
  fs::remove_all(p);
  fs::create_directories(p);
  ::chmod(p.c_str(), 0755);
  return p.string();
}

std::string binary_for_other_users() {
  const std::string built = std::string(SOCKSCOPE_BUILD_DIR) + "/sockscope";
  if (reachable_by_others(built)) return built;
  static std::once_flag once;
  static std::string copy;
  std::call_once(once, [&] {
    const std::string dir = shared_temp_dir("bin");
    copy = dir + "/sockscope";
    fs::copy_file(built, copy, fs::copy_options::overwrite_existing);
    ::chmod(copy.c_str(), 0755);
  });
  return copy;
}

}  // namespace sockscope::testing
