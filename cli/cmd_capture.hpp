// sockscope capture: the standalone live annotator, "a tcpdump for learners".
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope::cli {

int cmd_capture(const std::vector<std::string>& args);
void print_capture_help(std::FILE* f);

inline constexpr Command kCaptureCommand = {
    "capture",
    "sockscope capture [-i IFACE] [--port P | --filter BPF] [-w FILE.pcapng|FILE.pcap]\n"
    "                          [--json | --summary | --ladder] [--osi] [--color auto|always|never]\n"
    "                          [--user USER] [--count N] [--duration S]",
    SOCKSCOPE_N_("capture live packets and explain them as they happen (needs root or CAP_NET_RAW)"),
    cmd_capture, print_capture_help};

}  // namespace sockscope::cli
