#include "cli_common.hpp"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include <algorithm>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "sockscope/text/escape.hpp"
#include "sockscope/text/format.hpp"
#include "sockscope/text/i18n.hpp"
#include "sockscope/text/install_dirs.hpp"

namespace sockscope::cli {

// Words the user typed, echoed in messages (escape.hpp: controls, C1, bidi overrides, invalid UTF-8).
std::string printable(const std::string& s) { return text::printable(s, 600); }

int usage_error(const char* where, const std::string& raw_what, const char* help_hint) {
  const std::string what = printable(raw_what);
  // TRANSLATORS: a usage error: %1$s is what was wrong, %2$s where to read more ("See sockscope help
  // chat"). Two sentences: end the first as your language ends a sentence.
  const std::string line = text::format(tr("%1$s. %2$s"), what, help_hint);
  std::fprintf(stderr, "sockscope%s%s: %s\n", where[0] ? " " : "", where, line.c_str());
  return kExitUsage;
}

namespace {
constexpr std::size_t kHelpLine = 100;  // columns, as the commands' options_description say
}  // namespace

void print_help(std::FILE* f, const std::string& help) {
  std::string out;
  std::istringstream in(help);
  for (std::string line; std::getline(in, line);) {
    if (text::display_width(line) < kHelpLine) {
      out += line + "\n";
      continue;
    }
    // A line longer than the terminal's 100 columns (a translation's paragraph on one line): wrapped
    // under its own indentation.
    const std::size_t body = std::min(line.find_first_not_of(' '), line.size());
    const std::string indent(body, ' ');
    out += text::wrap_text(std::string_view(line).substr(body), kHelpLine - 1, indent, indent);
  }
  std::fputs(out.c_str(), f);
}

HelpWriter::HelpWriter(std::FILE* out) : out_(out), mem_(open_memstream(&text_, &size_)) {}

HelpWriter::~HelpWriter() {
  if (mem_ == nullptr) return;  // no memory for the stream: the help went straight to out
  std::fclose(mem_);
  print_help(out_, std::string(text_, size_));
  std::free(text_);
}

std::string options_help(const po::options_description& d) {
  constexpr std::size_t kLine = kHelpLine;
  constexpr std::size_t kMinText = 50;     // the explanation keeps at least this many
  std::vector<std::pair<std::string, std::string>> rows;  // "  --port P (=9000)", its explanation
  std::size_t name_width = 0;
  for (const auto& o : d.options()) {
    std::string name = "  " + o->format_name();
    const std::string param = o->format_parameter();
    if (!param.empty()) name += " " + param;
    name_width = std::max(name_width, text::display_width(name));
    rows.emplace_back(std::move(name), o->description());
  }
  constexpr std::size_t kMinNames = 23;   // Boost's narrowest name column
  const std::size_t column = std::min(std::max(name_width, kMinNames), kLine - kMinText) + 1;
  std::string out;
  // Boost keeps the caption to itself but prints it first, unindented ("Options of sockscope chat:").
  std::ostringstream boost_layout;
  boost_layout << d;
  const std::string first = boost_layout.str().substr(0, boost_layout.str().find('\n'));
  if (!first.empty() && first[0] != ' ' && first.back() == ':') {
    // TRANSLATORS: the heading over a command's options; %1$s is its caption ("Options of sockscope chat").
    out += text::format(tr("%1$s:"), first.substr(0, first.size() - 1)) + "\n";
  }
  const std::string indent(column, ' ');
  for (const auto& [name, what] : rows) {
    const std::size_t w = text::display_width(name);
    if (what.empty()) {
      out += name + "\n";
    } else if (w < column) {
      out += text::wrap_text(what, kLine - 1, name + std::string(column - w, ' '), indent);
    } else {
      out += name + "\n" + text::wrap_text(what, kLine - 1, indent, indent);
    }
  }
  return out;
}

namespace {

// Boost's message for a bad command line, as a whole translated sentence naming the option.
std::string command_line_error(const po::error& e) {
  using text::format;
  if (const auto* u = dynamic_cast<const po::unknown_option*>(&e))
    return format(tr("there is no option %1$s"), u->get_option_name());
  if (const auto* a = dynamic_cast<const po::ambiguous_option*>(&e))
    return format(tr("%1$s is short for more than one option: write it out"), a->get_option_name());
  if (const auto* m = dynamic_cast<const po::multiple_occurrences*>(&e))
    return format(tr("%1$s is given more than once"), m->get_option_name());
  if (const auto* r = dynamic_cast<const po::required_option*>(&e))
    return format(tr("%1$s is required"), r->get_option_name());
  if (const auto* v = dynamic_cast<const po::validation_error*>(&e))
    return format(tr("the value given to %1$s is not valid"), v->get_option_name());
  if (const auto* c = dynamic_cast<const po::invalid_command_line_syntax*>(&e)) {
    switch (c->kind()) {
      case po::invalid_syntax::missing_parameter: return format(tr("%1$s needs a value"), c->get_option_name());
      case po::invalid_syntax::extra_parameter: return format(tr("%1$s takes no value"), c->get_option_name());
      default: break;
    }
  }
  if (dynamic_cast<const po::too_many_positional_options_error*>(&e)) return tr("there are more arguments than the command takes");
  return e.what();
}

}  // namespace

// Parses a subcommand's arguments; returns false (after printing one line) on a bad option.
bool parse(const char* cmd, const std::vector<std::string>& args, const po::options_description& d,
           const po::positional_options_description& pos, po::variables_map& vm) {
  try {
    po::store(po::command_line_parser(args).options(d).positional(pos).run(), vm);
    po::notify(vm);
    return true;
  } catch (const po::error& e) {
    const std::string hint = text::format(tr("See sockscope help %1$s"), cmd);
    usage_error(cmd, command_line_error(e), hint.c_str());
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
    return usage_error(cmd, text::format(tr("--color takes auto, always or never, not '%1$s'"), color), hint);
  }
  vo.osi = vm.count("osi") > 0;
  vo.payload = vm.count("no-payload") == 0;
  vo.width = terminal_width();
  return kExitOk;
}

}  // namespace sockscope::cli
