// Running a lesson: a live capture on loopback, the lesson's endpoints making their calls (each in
// its own thread, so a call that waits does not hold up the others), narration and pauses on the
// same timeline as the packets, quizzes graded from this run's capture, and every expectation
// checked at the end. Finding lessons: by name in the lessons folder, or by path.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "sockscope/lessons/lesson.hpp"
#include "sockscope/views/views.hpp"

namespace sockscope::lesson {

struct RunOptions {
  // Pauses wait for Enter and quizzes read an answer from `in`; otherwise (--auto, no terminal) the
  // lesson runs straight through and prints each quiz's answer.
  bool interactive = false;
  ViewKind view = ViewKind::Human;  // Human, Ladder or Json
  ViewOptions view_options;
  std::string write_path;           // -w FILE.pcapng
  std::string svg_path;             // --svg FILE.svg: the ladder diagram of the run
  std::FILE* out = stdout;
  std::FILE* in = stdin;
  // Under sudo, continue as the invoking user once the capture is open (as tcpdump -Z does).
  bool drop_privileges = true;
  // What {examples} means in a program endpoint's command: the example programs that come with
  // sockscope (shipped_examples_dir()).
  std::string examples_dir;
};

struct Check {
  int line = 0;
  std::string source;   // the lesson line
  std::string label;    // its plain words (after " -- "), or empty
  bool ok = false;
  std::string message;  // what was seen; on failure what was expected and what the capture showed
  std::vector<std::uint64_t> frames;
};

struct RunResult {
  bool ran = false;     // false: the lesson could not start (no capture rights, no free port...)
  std::string error;    // why it could not start, one line
  std::vector<Check> checks;
  int quiz_asked = 0, quiz_right = 0;
  bool ok() const;      // ran, and every check held
};

RunResult run_lesson(const Lesson& lesson, const RunOptions& opts);

// A teacher's folders of lessons, in order: those in the value of $SOCKSCOPE_LESSONS (env, may be
// null; several are separated by ':', as in PATH), then those given with --lessons (options).
std::vector<std::string> teacher_dirs(const char* env, const std::vector<std::string>& options);
// The lessons that come with sockscope: P/share/sockscope/lessons for the binary's prefix P when it
// exists (installed), else the source tree's lessons/ (the binary in the build tree); empty if neither.
std::string shipped_lessons_dir(const std::string& exe_path);
// The example programs that come with sockscope (demo/python: a TCP and a UDP chat in plain Python):
// P/share/sockscope/examples when installed, else the source tree's demo/python; empty if neither.
std::string shipped_examples_dir(const std::string& exe_path);
// Folders searched for lessons, in order: teacher_dirs($SOCKSCOPE_LESSONS, extra), then the shipped ones.
std::vector<std::string> lesson_dirs(const std::string& exe_path, const std::vector<std::string>& extra = {});
// The *.lesson files of every folder, each folder's sorted by name (their number prefix). A lesson name
// found in an earlier folder hides the same name in later ones (a teacher's own handshake is used).
std::vector<std::string> lesson_files(const std::vector<std::string>& dirs);
// A path that exists, or a lesson's name ("handshake") or number ("3", "03"). Empty with an error.
// The translation of a lesson file in the language of messages (message_languages()), the file beside
// it named NAME.<lang>.lesson (03-handshake.zh_CN.lesson); the file itself when there is none.
std::string localized_lesson(const std::string& path);
// The lesson file for a name, a number or a path, in the language of messages when translated.
std::string find_lesson(const std::string& name_or_path, const std::vector<std::string>& dirs, std::string& error);

}  // namespace sockscope::lesson
