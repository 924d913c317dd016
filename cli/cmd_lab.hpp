// sockscope lab up | down | status: the two-host lab (two network namespaces joined by a veth pair,
// loss from nftables, delay from netem where the kernel has it). docs/lab.md.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope::cli {

int cmd_lab(const std::vector<std::string>& args);
void print_lab_help(std::FILE* f);

inline constexpr Command kLabCommand = {
    "lab",
    "sockscope lab up [--mtu N] [--loss PCT] [--drop-syn N] [--delay MS] [--json]\n"
    "                          | lab down | lab status [--json]",
    SOCKSCOPE_N_("build two hosts joined by one cable (network namespaces), with loss and an MTU (needs root)"),
    cmd_lab, print_lab_help};

}  // namespace sockscope::cli
