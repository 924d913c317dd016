// sockscope trace -- PROGRAM [ARGS...]: any program's socket calls and the packets of its sockets on
// one timeline (docs/trace.md).
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope::cli {

int cmd_trace(const std::vector<std::string>& args);
void print_trace_help(std::FILE* f);

inline constexpr Command kTraceCommand = {
    "trace",
    "sockscope trace [--json | --ladder | --summary] [--osi] [--svg FILE] [-w FILE.pcapng]\n"
    "                          [-o FILE] [--color auto|always|never] -- PROGRAM [ARGS...]",
    SOCKSCOPE_N_("run any program and show its socket calls and its packets on one timeline"), cmd_trace,
    print_trace_help};

}  // namespace sockscope::cli
