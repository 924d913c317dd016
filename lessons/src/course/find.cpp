// Where lessons are: a teacher's folders ($SOCKSCOPE_LESSONS, --lessons DIR) and the lessons that come
// with sockscope, installed (P/share/sockscope/lessons beside the binary's prefix P) or, for the binary
// in the build tree, the source tree's lessons/ (known at build time).
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>

#include "sockscope/lessons/lesson_run.hpp"
#include "sockscope/text/install_dirs.hpp"
#include "sockscope/text/format.hpp"
#include "sockscope/text/i18n.hpp"

#ifndef SOCKSCOPE_LESSONS_SOURCE_DIR
#define SOCKSCOPE_LESSONS_SOURCE_DIR ""
#endif

namespace sockscope::lesson {

namespace {

bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool has_suffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (const dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    // Translations (NAME.zh_CN.lesson) stand beside their original and are not lessons of their own.
    if (n[0] != '.' && has_suffix(n, ".lesson") && n.find('.') == n.size() - 7) out.push_back(dir + "/" + n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string localized_lesson(const std::string& path) {
  if (!has_suffix(path, ".lesson")) return path;
  const std::string stem = path.substr(0, path.size() - 7);
  const std::size_t slash = stem.find_last_of('/');
  if (stem.find('.', slash == std::string::npos ? 0 : slash + 1) != std::string::npos) return path;  // already one
  for (const std::string& lang : message_languages()) {
    if (is_file(stem + "." + lang + ".lesson")) return stem + "." + lang + ".lesson";
    const std::string language = lang.substr(0, lang.find('_'));  // zh_CN -> zh
    if (language != lang && is_file(stem + "." + language + ".lesson")) return stem + "." + language + ".lesson";
  }
  return path;
}

std::vector<std::string> teacher_dirs(const char* env, const std::vector<std::string>& options) {
  std::vector<std::string> dirs;
  if (env) {
    // Like PATH: several folders separated by ':'; empty parts are left out.
    const std::string list = env;
    std::size_t from = 0;
    while (from <= list.size()) {
      const auto colon = list.find(':', from);
      const std::string part = list.substr(from, colon == std::string::npos ? std::string::npos : colon - from);
      if (!part.empty()) dirs.push_back(part);
      if (colon == std::string::npos) break;
      from = colon + 1;
    }
  }
  dirs.insert(dirs.end(), options.begin(), options.end());
  return dirs;
}

std::string shipped_lessons_dir(const std::string& exe_path) {
  const std::string data = data_dir(exe_path);
  if (!data.empty() && is_dir(data + "/lessons")) return data + "/lessons";
  if (*SOCKSCOPE_LESSONS_SOURCE_DIR && is_dir(SOCKSCOPE_LESSONS_SOURCE_DIR)) return SOCKSCOPE_LESSONS_SOURCE_DIR;
  return {};
}

std::string shipped_examples_dir(const std::string& exe_path) {
  const std::string data = data_dir(exe_path);
  if (!data.empty() && is_dir(data + "/examples")) return data + "/examples";
  if (*SOCKSCOPE_EXAMPLES_SOURCE_DIR && is_dir(SOCKSCOPE_EXAMPLES_SOURCE_DIR)) return SOCKSCOPE_EXAMPLES_SOURCE_DIR;
  return {};
}

std::vector<std::string> lesson_dirs(const std::string& exe_path, const std::vector<std::string>& extra) {
  std::vector<std::string> dirs = teacher_dirs(std::getenv("SOCKSCOPE_LESSONS"), extra);
  if (std::string shipped = shipped_lessons_dir(exe_path); !shipped.empty()) dirs.push_back(std::move(shipped));
  return dirs;
}

std::vector<std::string> lesson_files(const std::vector<std::string>& dirs) {
  std::vector<std::string> out;
  std::vector<std::string> names;
  for (const auto& d : dirs) {
    for (auto& f : files_in(d)) {
      // The first folder with a lesson of this name wins: a teacher's handshake replaces the shipped one.
      std::string name = lesson_name_of(f);
      if (std::find(names.begin(), names.end(), name) != names.end()) continue;
      names.push_back(std::move(name));
      out.push_back(std::move(f));
    }
  }
  return out;
}

std::string find_lesson(const std::string& name, const std::vector<std::string>& dirs, std::string& error) {
  if (name.find('/') != std::string::npos || has_suffix(name, ".lesson")) {
    if (is_file(name)) return localized_lesson(name);
    error = text::format(tr("there is no lesson file '%1$s'"), name);
    return {};
  }
  const auto files = lesson_files(dirs);
  // A number names the lesson by its prefix: "3" and "03" are 03-handshake.lesson.
  const bool number = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
  for (const auto& f : files) {
    if (lesson_name_of(f) == name) return localized_lesson(f);
    if (number) {
      const std::string base = f.substr(f.find_last_of('/') + 1);
      const auto dash = base.find('-');
      if (dash != std::string::npos && std::atoi(base.substr(0, dash).c_str()) == std::atoi(name.c_str()) &&
          base.substr(0, dash).find_first_not_of("0123456789") == std::string::npos)
        return localized_lesson(f);
    }
  }
  error = files.empty() ? std::string(tr("no lessons were found (looked in $SOCKSCOPE_LESSONS, in --lessons folders "
                                     "and in the lessons installed with the binary)"))
                        : text::format(tr("no lesson is named '%1$s'"), name);
  return {};
}

}  // namespace sockscope::lesson
