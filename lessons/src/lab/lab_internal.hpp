// Inside the lab (lab.hpp): what its three parts share. process.cpp runs the tools (ip, nft, tc) as
// child processes; build.cpp builds, reads back and removes the lab; watchdog.cpp holds the lab's lock
// and the watchdog that removes a guard's lab however its owner ends.
#pragma once
#include <string>
#include <vector>

#include "sockscope/lessons/lab.hpp"

namespace sockscope::lab::detail {

// process.cpp
struct Output {
  bool ran = false;   // the program started and exited by itself
  int status = -1;    // its exit status
  std::string out, err;
  bool ok() const { return ran && status == 0; }
};
std::string first_line(const std::string& s);  // the first non-empty line, without trailing blanks
std::string find_tool(const char* name);        // "/usr/sbin/ip", or "" when not installed
bool netns_exists(const char* ns);
bool iface_here(const char* name);              // in the calling thread's network namespace
void move_fd(int from, int to);                 // async-signal-safe: for a forked child
Output run(const std::vector<std::string>& argv, const char* ns = nullptr, const std::string& input = {},
           int timeout_ms = 10000);
std::string shown(const std::vector<std::string>& argv, const char* ns);
bool step(const std::vector<std::string>& argv, std::string& error, const char* ns = nullptr,
          const std::string& input = {});

// build.cpp
const char* not_root_message();
bool check_options(const LabOptions& o, std::string& error);
bool may_build(const LabOptions& opts, std::string& error);  // options valid, and root
std::vector<std::string> find_leftovers();
UpResult up_unlocked(const LabOptions& opts, std::string& error);  // with the lock held

// watchdog.cpp
// Returns the locked file's descriptor (close it to unlock), or -1 with `error` set.
int lock_lab(int wait_ms, std::string& error);

}  // namespace sockscope::lab::detail
