// sockscope demo: a chat server, a chat client and a live capture in one command, on loopback: the
// whole life of a connection (or of a few datagrams), socket calls and packets on one timeline.
#pragma once
#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "sockscope/annotate/calls.hpp"
#include "sockscope/demo/chat.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope::cli {

int cmd_demo(const std::vector<std::string>& args);
void print_demo_help(std::FILE* f);

// `sockscope chat ... --trace`: a live capture of the chat's port beside the chat, in the same
// terminal, with the same timeline as the demo. The options it adds to `sockscope chat`:
po::options_description trace_options();
// Opens the capture (on the interface that reaches the chat's host, filter "port P") before the chat
// makes its first call, runs the chat (its calls go to the timeline), and when the chat ends (Q, the
// end of its script, or `stop` set by Ctrl-C) lets the last packets arrive and prints the summaries.
// Without capture rights it says so in one line and runs the chat alone, its calls going to
// `untraced_calls`. Returns the chat's exit status (kExitOk, kExitFailed, kExitUsage).
int run_traced_chat(const demo::ChatOptions& opts, const po::variables_map& vm, std::atomic<bool>& stop,
                    CallSink* untraced_calls);

inline constexpr Command kDemoCommand = {
    "demo",
    "sockscope demo tcp|udp [--messages N] [--port P] [--json | --ladder] [--osi]\n"
    "                          [--color auto|always|never] [-w FILE.pcapng] [--half-close]\n"
    "                          [--server-closes]",
    SOCKSCOPE_N_("run a chat server, a client and a capture together: socket calls and packets on one timeline"),
    cmd_demo, print_demo_help};

}  // namespace sockscope::cli
