// sockscope lesson list | run NAME|FILE: executable lessons (lessons/*.lesson, docs/lessons.md).
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope::cli {

int cmd_lesson(const std::vector<std::string>& args);
void print_lesson_help(std::FILE* f);

inline constexpr Command kLessonCommand = {
    "lesson",
    "sockscope lesson list [--names] | check FILE... | run NAME|FILE [--auto] [--json | --ladder]\n"
    "                          [--osi] [-w FILE.pcapng] [--svg FILE.svg] [--color auto|always|never]\n"
    "                          [--lessons DIR]...",
    SOCKSCOPE_N_("run a lesson: narration, live packets and calls, a quiz, and checks of what was seen"),
    cmd_lesson, print_lesson_help};

}  // namespace sockscope::cli
