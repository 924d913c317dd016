// sockscope chat: the chat endpoints (demo/include/sockscope/chat.hpp) at the command line. Each
// socket call is printed on stderr as it returns; what arrives is printed on stdout.
#pragma once
#include <boost/program_options.hpp>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "sockscope/annotate/calls.hpp"
#include "sockscope/demo/chat.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope::cli {

int cmd_chat(const std::vector<std::string>& args);
void print_chat_help(std::FILE* f);

// The options of `sockscope chat` (a live capture beside the chat, --trace, adds its own to these).
po::options_description chat_options();
// ChatOptions from the parsed command line (KIND is the positional "kind"). Returns kExitOk, or
// kExitUsage after printing one line that says what is wrong.
int chat_options_from(const po::variables_map& vm, demo::ChatOptions& opts);

// Prints each call as it returns, one line: "client  connect(127.0.0.1:9000) = 0  [ESTABLISHED]".
// Thread-safe (the demo runs two endpoints in one process).
class CallPrinter final : public CallSink {
 public:
  explicit CallPrinter(std::FILE* f) : f_(f) {}
  void on_call(const CallRecord& call) override;

 private:
  std::FILE* f_;
  std::mutex m_;
};

inline constexpr Command kChatCommand = {
    "chat",
    "sockscope chat tcp-server|tcp-client|udp-server|udp-client [--host H] [--port P]\n"
    "                          [--say TEXT]... [--script FILE] [--gap-ms N] [--reply] [--half-close]\n"
    "                          [--server-closes-after N] [--max-clients N] [--max-line N]\n"
    "                          [--idle-timeout S] [--max-queue BYTES] [--backlog N]\n"
    "                          [--timeout-ms MS] [--quiet]",
    SOCKSCOPE_N_("a TCP or UDP chat server or client that shows every socket call it makes"),
    cmd_chat, print_chat_help};

}  // namespace sockscope::cli
