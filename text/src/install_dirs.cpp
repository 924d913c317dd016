#include "sockscope/text/install_dirs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#ifndef SOCKSCOPE_CONFIGURED_LOCALEDIR
#define SOCKSCOPE_CONFIGURED_LOCALEDIR "/usr/local/share/locale"
#endif

namespace sockscope {

namespace {

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The folder holding a path ("/usr/bin" for "/usr/bin/sockscope"), "/" for a file at the root.
std::string parent_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::string self_exe() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string install_prefix(const std::string& exe_path) {
  if (exe_path.empty()) return {};
  return parent_of(parent_of(exe_path));
}

std::string data_dir(const std::string& exe_path) {
  const std::string prefix = install_prefix(exe_path);
  if (prefix.empty()) return {};
  return (prefix == "/" ? std::string() : prefix) + "/share/sockscope";
}

std::string locale_dir(const std::string& exe_path) {
  if (!exe_path.empty()) {
    const std::string beside = parent_of(exe_path) + "/locale";
    if (is_dir(beside)) return beside;
    const std::string prefix = install_prefix(exe_path);
    const std::string installed = (prefix == "/" ? std::string() : prefix) + "/share/locale";
    if (is_dir(installed)) return installed;
  }
  return SOCKSCOPE_CONFIGURED_LOCALEDIR;
}

}  // namespace sockscope
