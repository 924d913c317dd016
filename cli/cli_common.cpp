#include "cli_common.hpp"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include <algorithm>

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

std::string locale_dir() {
  if (const char* d = std::getenv("SOCKSCOPE_LOCALEDIR"); d && *d) return d;
  return sockscope::locale_dir(self_exe());
}

bool take_lang_option(std::vector<std::string>& args, std::string& lang) {
  for (std::size_t i = 0; i < args.size();) {
    if (args[i] == "--") break;
    if (args[i].rfind("--lang=", 0) == 0) {
      lang = args[i].substr(7);
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
    } else if (args[i] == "--lang") {
      if (i + 1 >= args.size() || args[i + 1].empty() || args[i + 1][0] == '-') return false;
      lang = args[i + 1];
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i), args.begin() + static_cast<std::ptrdiff_t>(i) + 2);
    } else {
      ++i;
    }
  }
  return true;
}

namespace {

// The languages with a catalogue in locale_dir(), "en" first (the text of the sources).
std::vector<std::string> available_languages() {
  std::vector<std::string> out{"en"};
  const std::string dir = locale_dir();
  if (DIR* d = opendir(dir.c_str())) {
    std::vector<std::string> found;
    while (const dirent* e = readdir(d)) {
      struct stat st {};
      const std::string name = e->d_name;
      if (name[0] != '.' && stat((dir + "/" + name + "/LC_MESSAGES/sockscope.mo").c_str(), &st) == 0) found.push_back(name);
    }
    closedir(d);
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

}  // namespace

bool language_available(const std::string& lang) {
  std::string bare = lang.substr(0, lang.find_first_of(".@"));
  if (bare == "en" || bare == "C" || bare == "POSIX" || bare.rfind("en_", 0) == 0) return true;
  const auto all = available_languages();
  const std::string short_form = bare.substr(0, bare.find('_'));
  return std::find(all.begin(), all.end(), bare) != all.end() ||
         std::find(all.begin(), all.end(), short_form) != all.end();
}

std::string unknown_language_message(const std::string& lang) {
  std::string list;
  for (const std::string& l : available_languages()) list += (list.empty() ? "" : ", ") + l;
  char buf[600];
  std::snprintf(buf, sizeof buf, tr("--lang %1$s: sockscope has no messages in that language; it speaks %2$s"),
                printable(lang).c_str(), list.c_str());
  return buf;
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
