// Shared by the subcommands of the sockscope command line (one cmd_*.cpp per subcommand).
#pragma once
#include <boost/program_options.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "sockscope/views/views.hpp"

namespace sockscope::cli {

namespace po = boost::program_options;

// Exit statuses: 0 success, 1 a run that failed (exchange, writing the output), 2 bad usage or a
// missing, bad or truncated input file.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Words the user typed, echoed in messages: control bytes become \xNN.
std::string printable(const std::string& s);

// Prints "sockscope WHERE: WHAT. HINT" on stderr and returns kExitUsage.
int usage_error(const char* where, const std::string& raw_what, const char* help_hint);

// Prints a command's help: lines wider than 100 terminal columns (a translated paragraph) are wrapped
// by display width under their own indentation.
void print_help(std::FILE* f, const std::string& help);

// What a help function writes to it (with fprintf, as to any FILE*) is collected and, at the end of
// its scope, printed with print_help: `void print_x_help(std::FILE* out) { HelpWriter f(out); ... }`.
class HelpWriter {
 public:
  explicit HelpWriter(std::FILE* out);
  ~HelpWriter();
  HelpWriter(const HelpWriter&) = delete;
  HelpWriter& operator=(const HelpWriter&) = delete;
  operator std::FILE*() const { return mem_ != nullptr ? mem_ : out_; }

 private:
  std::FILE* out_;
  std::FILE* mem_ = nullptr;
  char* text_ = nullptr;
  std::size_t size_ = 0;
};

// A command's options for its help: each name with its parameter, then its explanation wrapped by
// terminal columns (Chinese characters take two, and none is split), as Boost would lay them out.
std::string options_help(const po::options_description& d);

// Parses a subcommand's arguments; returns false (after printing one line) on a bad option.
bool parse(const char* cmd, const std::vector<std::string>& args, const po::options_description& d,
           const po::positional_options_description& pos, po::variables_map& vm);

// This program's own path (for hints such as "sudo setcap ... PATH"), "sockscope" when unknown.
std::string self_path();

// Where the message catalogues (<lang>/LC_MESSAGES/sockscope.mo) are: $SOCKSCOPE_LOCALEDIR when set;
// else sockscope::locale_dir(self_exe()) (install_dirs.hpp): build/locale beside a build tree's
// binary, <prefix>/share/locale for an installed one, else the configured locale folder.
std::string locale_dir();

// Takes the global option --lang LANG (or --lang=LANG) out of argv, wherever it stands (before or
// after the command, not after "--"). Returns false when it has no value (the caller says so once
// the language of messages is set).
bool take_lang_option(std::vector<std::string>& args, std::string& lang);

// Whether --lang LANG can be honoured: English, or a language with a catalogue in locale_dir().
bool language_available(const std::string& lang);
// The sentence for a --lang nobody translated to, naming the languages there are.
std::string unknown_language_message(const std::string& lang);

// The terminal's width (or COLUMNS), 100 when unknown.
int terminal_width();

// The view chosen by --json, --summary or --ladder (whichever the command offers; at most one) and
// its options from --osi, --no-payload and --color auto|always|never (auto: colour only on a terminal,
// unless NO_COLOR is set or TERM=dumb). Returns kExitOk, or prints one line and returns kExitUsage.
int view_from(const po::variables_map& vm, const char* cmd, const char* hint, ViewKind& kind, ViewOptions& vo);

// A subcommand: main.cpp lists them in kCommands.
struct Command {
  const char* name;
  const char* usage;    // one usage line (not translated: it is syntax)
  const char* summary;  // one sentence, marked for translation (tr() is applied when printed)
  int (*run)(const std::vector<std::string>& args);
  void (*help)(std::FILE* f);
};

}  // namespace sockscope::cli
