#include "cli_common.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "sockscope/text/escape.hpp"
#include "sockscope/text/i18n.hpp"
#include "sockscope/text/install_dirs.hpp"

namespace sockscope::cli {

// Words the user typed, echoed in messages (escape.hpp: controls, C1, bidi overrides, invalid UTF-8).
std::string printable(const std::string& s) { return text::printable(s, 600); }

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

std::string self_path() {
  const std::string exe = self_exe();
  return exe.empty() ? std::string("sockscope") : exe;
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


int view_from(const po::variables_map& vm, const char* cmd, const char* hint, ViewKind& kind, ViewOptions& vo) {
  const auto views = vm.count("json") + vm.count("summary") + vm.count("ladder");
  if (views > 1) return usage_error(cmd, tr("choose one view: --json, --summary or --ladder"), hint);
  kind = vm.count("json") ? ViewKind::Json
         : vm.count("summary") ? ViewKind::Summary
         : vm.count("ladder") ? ViewKind::Ladder
                              : ViewKind::Human;
  const std::string color = vm.count("color") ? vm["color"].as<std::string>() : std::string("auto");
  if (color == "always") {
    vo.color = true;
  } else if (color == "never") {
    vo.color = false;
  } else if (color == "auto") {
    // https://no-color.org: a non-empty NO_COLOR turns colour off unless asked for explicitly.
    const char* no_color = std::getenv("NO_COLOR");
    const char* term = std::getenv("TERM");
    vo.color = isatty(STDOUT_FILENO) && !(no_color && no_color[0]) && !(term && std::strcmp(term, "dumb") == 0);
  } else {
    return usage_error(cmd, std::string(tr("--color takes auto, always or never, not ")) + "'" + color + "'", hint);
  }
  vo.osi = vm.count("osi") > 0;
  vo.payload = vm.count("no-payload") == 0;
  vo.width = terminal_width();
  return kExitOk;
}

}  // namespace sockscope::cli
