// Where the program finds its lessons: the shipped ones from the build tree or from an installed
// prefix (whatever the current folder), and a teacher's own folders added with SOCKSCOPE_LESSONS or
// --lessons DIR. Runs the real binary, copied into a prefix laid out as `cmake --install` lays it out.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "e2e_support.hpp"
#include "paths.hpp"

namespace {

namespace fs = std::filesystem;

std::string shipped(const std::string& file) { return sockscope::testing::source_dir() + "/lessons/" + file; }

// A copy of a shipped lesson with another title, as a teacher would adapt one.
void write_retitled(const std::string& from, const std::string& to, const std::string& title) {
  std::string text = e2e::read_file(shipped(from));
  const auto at = text.find("title ");
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, text.find('\n', at) - at, "title " + title);
  e2e::write_file(to, text);
}

TEST(LessonDirs, NamesOnlyOneALine) {
  const e2e::RunResult r = e2e::sockscope({"lesson", "list", "--names"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("layers\n", 0), 0u) << r.out;  // 01-layers.lesson sorts first
  EXPECT_NE(r.out.find("\nhandshake\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(' '), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Lesson"), std::string::npos) << r.out;
}

TEST(LessonDirs, ATeachersFolderIsAddedAndWinsOnAName) {
  const std::string dir = sockscope::testing::temp_dir("teacher-lessons");
  write_retitled("03-handshake.lesson", dir + "/03-handshake.lesson", "Our own handshake");
  write_retitled("02-udp.lesson", dir + "/20-our-udp.lesson", "UDP, our way");

  const e2e::RunResult r = e2e::sockscope({"lesson", "list", "--lessons", dir});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("Our own handshake"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("UDP, our way"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("teardown"), std::string::npos) << "the shipped lessons are still listed:\n" << r.out;
  EXPECT_NE(r.out.find("Lesson files are in " + dir + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Lesson files are in " + sockscope::testing::source_dir() + "/lessons\n"), std::string::npos)
      << r.out;

  const e2e::RunResult names = e2e::sockscope({"lesson", "list", "--names", "--lessons", dir});
  std::size_t handshakes = 0;
  for (std::size_t at = names.out.find("handshake\n"); at != std::string::npos; at = names.out.find("handshake\n", at + 1))
    ++handshakes;
  EXPECT_EQ(handshakes, 1u) << names.out;

  // check (and run) find the teacher's file by name.
  const e2e::RunResult c = e2e::sockscope({"lesson", "check", "handshake", "--lessons", dir});
  EXPECT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.out, dir + "/03-handshake.lesson: ok\n");

  // The environment variable does the same, several folders separated by ':'.
  const std::string dir2 = sockscope::testing::temp_dir("teacher-lessons-2");
  write_retitled("05-teardown.lesson", dir2 + "/31-closing.lesson", "Closing, second folder");
  const e2e::RunResult env = e2e::run({"env", "SOCKSCOPE_LESSONS=" + dir + ":" + dir2, SOCKSCOPE_BINARY, "lesson", "list"});
  ASSERT_EQ(env.status, 0) << env.err;
  EXPECT_NE(env.out.find("Our own handshake"), std::string::npos) << env.out;
  EXPECT_NE(env.out.find("Closing, second folder"), std::string::npos) << env.out;
}

TEST(LessonDirs, AFolderThatIsNotThereIsNamed) {
  const e2e::RunResult r = e2e::sockscope({"lesson", "list", "--lessons", "/nonexistent/lessons"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--lessons /nonexistent/lessons: no such folder"), std::string::npos) << r.err;
  const e2e::RunResult env = e2e::run({"env", "SOCKSCOPE_LESSONS=/nonexistent/x", SOCKSCOPE_BINARY, "lesson", "run", "handshake"});
  EXPECT_EQ(env.status, 2);
  EXPECT_NE(env.err.find("SOCKSCOPE_LESSONS: /nonexistent/x: no such folder"), std::string::npos) << env.err;
}

// An installed binary uses P/share/sockscope/lessons for its prefix P, from any folder, even when the
// source tree it was built from is still there.
TEST(LessonDirs, AnInstalledBinaryFindsItsPrefixsLessons) {
  const std::string prefix = sockscope::testing::temp_dir("prefix");
  fs::create_directories(prefix + "/bin");
  fs::create_directories(prefix + "/share/sockscope/lessons");
  fs::copy_file(SOCKSCOPE_BINARY, prefix + "/bin/sockscope", fs::copy_options::overwrite_existing);
  fs::copy_file(shipped("02-udp.lesson"), prefix + "/share/sockscope/lessons/02-udp.lesson",
                fs::copy_options::overwrite_existing);
  const e2e::RunResult r =
      e2e::run({"sh", "-c", "cd / && exec \"$0\" lesson list --names", prefix + "/bin/sockscope"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "udp\n");
  // Through a symbolic link (as /usr/local/bin/sockscope -> /opt/sockscope/bin/sockscope): the
  // prefix is the real file's.
  const std::string link = sockscope::testing::temp_dir("prefix-link") + "/sockscope";
  fs::remove(link);
  fs::create_symlink(prefix + "/bin/sockscope", link);
  EXPECT_EQ(e2e::run({link, "lesson", "list", "--names"}).out, "udp\n");
}

}  // namespace
