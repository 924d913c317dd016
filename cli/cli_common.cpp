#include "cli_common.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>

#include "sockscope/i18n.hpp"

namespace sockscope::cli {

// Words the user typed, echoed in messages: control bytes become \xNN.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      char tmp[5];
      std::snprintf(tmp, sizeof tmp, "\\x%02x", static_cast<unsigned>(c));
      out += tmp;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

int usage_error(const char* where, const std::string& raw_what, const char* help_hint) {
  const std::string what = printable(raw_what);
  std::fprintf(stderr, "sockscope%s%s: %s. %s\n", where[0] ? " " : "", where, what.c_str(), help_hint);
  return kExitUsage;
}

// Parses a subcommand's arguments; returns false (after printing one line) on a bad option.
bool parse(const char* cmd, const std::vector<std::string>& args, const po::options_description& d,
           const po::positional_options_description& pos, po::variables_map& vm) {
  try {
    po::store(po::command_line_parser(args).options(d).positional(pos).run(), vm);
    po::notify(vm);
    return true;
  } catch (const po::error& e) {
    const std::string hint = std::string(tr("See sockscope help ")) + cmd;
    usage_error(cmd, e.what(), hint.c_str());
    return false;
  }
}

int terminal_width() {
  winsize ws{};
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
    return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS")) {
    const int n = std::atoi(c);
    if (n >= 40 && n <= 1000) return n;
  }
  return 100;
}


}  // namespace sockscope::cli
