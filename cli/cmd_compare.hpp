// sockscope compare: the same numbered conversation over TCP and over UDP, captured and measured,
// side by side (lesson 17; docs/compare.md).
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope::cli {

int cmd_compare(const std::vector<std::string>& args);
void print_compare_help(std::FILE* f);

inline constexpr Command kCompareCommand = {
    "compare",
    "sockscope compare [--messages N] [--size BYTES] [--gap MS] [--lab [--loss PCT] [--no-sack]]\n"
    "                          [--json] [--html FILE] [--svg PREFIX] [-w PREFIX]\n"
    "                          [--color auto|always|never]",
    SOCKSCOPE_N_("send the same numbered messages over TCP and over UDP and compare what the capture shows"),
    cmd_compare, print_compare_help};

}  // namespace sockscope::cli
