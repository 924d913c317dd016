// The folders worked out from the binary's location (sockscope/text/install_dirs.hpp) and the
// teacher's folders of lessons (lesson_run.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "paths.hpp"
#include "sockscope/lessons/lesson_run.hpp"
#include "sockscope/text/install_dirs.hpp"

namespace {

namespace fs = std::filesystem;

TEST(InstallDirs, PrefixAndDataFromTheBinarysPath) {
  EXPECT_EQ(sockscope::install_prefix("/usr/bin/sockscope"), "/usr");
  EXPECT_EQ(sockscope::data_dir("/usr/bin/sockscope"), "/usr/share/sockscope");
  EXPECT_EQ(sockscope::data_dir("/opt/sockscope/bin/sockscope"), "/opt/sockscope/share/sockscope");
  EXPECT_EQ(sockscope::data_dir("/bin/sockscope"), "/share/sockscope");
  EXPECT_EQ(sockscope::install_prefix(""), "");
  EXPECT_EQ(sockscope::data_dir(""), "");
}

TEST(InstallDirs, TheRunningProgramKnowsItself) {
  const std::string self = sockscope::self_exe();
  ASSERT_FALSE(self.empty());
  EXPECT_TRUE(fs::equivalent(self, "/proc/self/exe"));
}

TEST(InstallDirs, LocaleBesideTheBinaryThenUnderItsPrefix) {
  const std::string prefix = sockscope::testing::temp_dir("locale-prefix");
  fs::remove_all(prefix);
  fs::create_directories(prefix + "/bin");
  const std::string exe = prefix + "/bin/sockscope";
  // Neither folder: the prefix the build was configured for (an absolute path ending in locale).
  const std::string configured = sockscope::locale_dir(exe);
  EXPECT_EQ(configured.front(), '/');
  EXPECT_EQ(configured.substr(configured.size() - 13), "/share/locale");
  fs::create_directories(prefix + "/share/locale");
  EXPECT_EQ(sockscope::locale_dir(exe), prefix + "/share/locale");
  fs::create_directories(prefix + "/bin/locale");  // the build tree's layout: build/locale
  EXPECT_EQ(sockscope::locale_dir(exe), prefix + "/bin/locale");
}

TEST(LessonFolders, TeachersFoldersFromTheEnvironmentThenOptions) {
  using sockscope::lesson::teacher_dirs;
  EXPECT_EQ(teacher_dirs(nullptr, {}), std::vector<std::string>{});
  EXPECT_EQ(teacher_dirs("", {}), std::vector<std::string>{});
  EXPECT_EQ(teacher_dirs("/a", {}), (std::vector<std::string>{"/a"}));
  EXPECT_EQ(teacher_dirs("/a::/b:", {"/c"}), (std::vector<std::string>{"/a", "/b", "/c"}));
  EXPECT_EQ(teacher_dirs(nullptr, {"/c", "/d"}), (std::vector<std::string>{"/c", "/d"}));
}

TEST(LessonFolders, TheShippedLessonsComeLast) {
  const auto dirs = sockscope::lesson::lesson_dirs("/nonexistent/bin/sockscope", {"/mine"});
  ASSERT_FALSE(dirs.empty());
  EXPECT_EQ(dirs.back(), sockscope::lesson::shipped_lessons_dir("/nonexistent/bin/sockscope"));
  EXPECT_TRUE(fs::equivalent(dirs.back(), sockscope::testing::source_dir() + "/lessons"));
  EXPECT_NE(std::find(dirs.begin(), dirs.end(), "/mine"), dirs.end());
}

}  // namespace
