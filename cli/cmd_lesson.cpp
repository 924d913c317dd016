// sockscope lesson: list the lessons, check a lesson file, run one. A lesson is checked whole before
// anything runs; then it runs live (capture on loopback, the lesson's endpoints, narration, quiz) and
// its exit status says whether every expectation held: 0 yes, 1 no (or it could not run), 2 bad usage
// or a malformed lesson.
#include "cmd_lesson.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "sockscope/lessons/lesson.hpp"
#include "sockscope/text/format.hpp"
#include "sockscope/lessons/lesson_run.hpp"
#include "sockscope/pcap/live_capture.hpp"

namespace sockscope::cli {
namespace {

po::options_description lesson_options() {
  po::options_description d(tr("Options of sockscope lesson run"), 100, 50);
  d.add_options()
      ("auto", tr("no pauses and no quiz input: quiz answers are printed (for CI and for projecting in class); "
                  "also the case when standard input is not a terminal"))
      ("json", tr("JSON lines: packets, calls, conversations, then one line per check and quiz"))
      ("ladder", tr("three columns: client calls | packets on the wire | server calls"))
      ("osi", tr("under every packet, its headers layer by layer (OSI 2 to 7)"))
      ("color", po::value<std::string>()->value_name("WHEN")->default_value("auto"),
       tr("colour: auto (on a terminal, unless NO_COLOR is set), always or never"))
      ("write,w", po::value<std::string>()->value_name("FILE"),
       tr("also save the capture: FILE.pcapng keeps each packet's explanation as a comment (Wireshark)"))
      ("svg", po::value<std::string>()->value_name("FILE"),
       tr("also draw the run as a ladder diagram: FILE.svg (for slides and handouts)"))
      ("lessons", po::value<std::vector<std::string>>()->composing()->value_name("DIR"),
       tr("also the lessons in DIR, a teacher's own folder (see lesson list)"))
      ("help,h", tr("show this help"));
  return d;
}

po::options_description lesson_list_options() {
  po::options_description d(tr("Options of sockscope lesson list and lesson check"), 100, 50);
  d.add_options()
      ("names", tr("list: only the lesson names, one a line (for scripts and shell completion)"))
      ("lessons", po::value<std::vector<std::string>>()->composing()->value_name("DIR"),
       tr("also the lessons in DIR, a teacher's own folder: listed first, and a lesson there replaces a "
          "shipped one of the same name; may be given more than once; SOCKSCOPE_LESSONS=DIR1:DIR2 does the same"))
      ("help,h", tr("show this help"));
  return d;
}

// The folders to search: the teacher's ($SOCKSCOPE_LESSONS, --lessons) and the shipped lessons. A
// teacher's folder that is not one is a usage error naming it (returns kExitUsage after one line).
int dirs_from(const char* where, const po::variables_map& vm, const char* hint, std::vector<std::string>& dirs) {
  const std::vector<std::string> given =
      vm.count("lessons") ? vm["lessons"].as<std::vector<std::string>>() : std::vector<std::string>();
  const char* env = std::getenv("SOCKSCOPE_LESSONS");
  for (const auto& d : lesson::teacher_dirs(env, given)) {
    struct stat st {};
    if (::stat(d.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      const bool from_option = std::find(given.begin(), given.end(), d) != given.end();
      return usage_error(where,
                         from_option ? "--lessons " + d + ": " + tr("no such folder; give the folder that holds your .lesson files")
                                     : "SOCKSCOPE_LESSONS: " + d + ": " +
                                           tr("no such folder; set it to the folder that holds your .lesson files "
                                              "(several are separated by ':')"),
                         hint);
    }
  }
  dirs = lesson::lesson_dirs(self_path(), given);
  return kExitOk;
}


void print_diagnostics(const std::vector<lesson::Diagnostic>& errors) {
  std::fflush(stdout);  // what was printed before comes first
  for (const auto& d : errors) std::fprintf(stderr, "%s\n", printable(lesson::format_diagnostic(d)).c_str());
}

int cmd_list(const std::vector<std::string>& dirs, bool names_only) {
  const auto files = lesson::lesson_files(dirs);
  if (files.empty()) {
    std::fprintf(stderr, "sockscope lesson list: %s\n",
                 tr("no lessons found: set SOCKSCOPE_LESSONS to the folder that holds the .lesson files"));
    return kExitFailed;
  }
  if (names_only) {
    for (const auto& f : files) std::printf("%s\n", printable(lesson::lesson_name_of(f)).c_str());
    return kExitOk;
  }
  std::printf("%s\n\n", tr("Lessons (run one with: sockscope lesson run NAME):"));
  int width = 14;  // the name column fits the longest name
  for (const auto& f : files) width = std::max(width, static_cast<int>(printable(lesson::lesson_name_of(f)).size()));
  std::vector<std::string> folders;
  for (const auto& f : files) {
    if (std::string folder = f.substr(0, f.find_last_of('/'));
        std::find(folders.begin(), folders.end(), folder) == folders.end())
      folders.push_back(std::move(folder));
    lesson::Lesson l;
    std::vector<lesson::Diagnostic> errors;
    const std::string name = lesson::lesson_name_of(f);
    if (!lesson::load_lesson(lesson::localized_lesson(f), l, errors)) {
      std::printf("  %-*s %s\n", width, printable(name).c_str(), tr("(malformed: see sockscope lesson check)"));
      continue;
    }
    std::string title = printable(l.title);
    if (l.lab.on) title += std::string(" ") + tr("[lab: two hosts, needs root]");
    std::printf("  %-*s %s\n  %-*s %s\n", width, printable(name).c_str(), title.c_str(), width, "",
                printable(l.summary).c_str());
  }
  std::printf("\n");
  for (const auto& folder : folders) std::printf(tr("Lesson files are in %s\n"), printable(folder).c_str());
  return kExitOk;
}

int cmd_check(const std::vector<std::string>& dirs, const std::vector<std::string>& names) {
  std::vector<std::string> files;
  if (names.empty()) files = lesson::lesson_files(dirs);
  int rc = kExitOk;
  for (const auto& n : names) {
    std::string error;
    const std::string f = lesson::find_lesson(n, dirs, error);
    if (f.empty()) {
      std::fprintf(stderr, "sockscope lesson check: %s\n", printable(error).c_str());
      rc = kExitUsage;
    } else {
      files.push_back(f);
    }
  }
  for (const auto& f : files) {
    lesson::Lesson l;
    std::vector<lesson::Diagnostic> errors;
    if (lesson::load_lesson(f, l, errors)) {
      std::printf("%s: %s\n", printable(f).c_str(), tr("ok"));
    } else {
      print_diagnostics(errors);
      rc = kExitUsage;
    }
  }
  return rc;
}

}  // namespace

void print_lesson_help(std::FILE* out) {
  HelpWriter f(out);
  std::fprintf(f, "%s\n\n", tr("sockscope lesson: executable lessons. Each starts real endpoints on loopback and a "
                               "live capture, narrates, provokes one thing, shows it annotated, and checks it."));
  std::fprintf(f, "  sockscope lesson list                 %s\n", tr("the lessons, with one line each"));
  std::fprintf(f, "  sockscope lesson list --names         %s\n", tr("only their names, one a line"));
  std::fprintf(f, "  sockscope lesson run NAME|FILE        %s\n", tr("run one (e.g. handshake, or 3, or a .lesson file)"));
  std::fprintf(f, "  sockscope lesson check [NAME|FILE...] %s\n\n",
               tr("check lesson files without running them (errors with file:line and a hint)"));
  std::fprintf(f, "%s\n", tr("Exit status of run: 0 every expectation held, 1 one did not (or the lesson could not "
                             "run), 2 bad usage or a malformed lesson."));
  std::fprintf(f, "%s\n", tr("Needs root or CAP_NET_RAW for the capture. Writing lessons: docs/lessons.md."));
  std::fprintf(f, "\n");
  std::ostringstream os;
  os << options_help(lesson_list_options()) << "\n" << options_help(lesson_options());
  std::fputs(os.str().c_str(), f);
}

int cmd_lesson(const std::vector<std::string>& args) {
  const char* hint = tr("See sockscope help lesson");
  if (args.empty()) return usage_error("lesson", tr("lesson list, lesson run NAME, or lesson check FILE?"), hint);
  const std::string sub = args[0];
  if (sub == "--help" || sub == "-h" || sub == "help") {
    print_lesson_help(stdout);
    return kExitOk;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "list" || sub == "check") {
    const std::string where = "lesson " + sub;
    po::options_description d = lesson_list_options();
    po::options_description all;
    all.add(d).add_options()("lesson", po::value<std::vector<std::string>>());
    po::positional_options_description pos;
    pos.add("lesson", -1);
    po::variables_map vm;
    if (!parse(where.c_str(), rest, all, pos, vm)) return kExitUsage;
    if (vm.count("help")) {
      print_lesson_help(stdout);
      return kExitOk;
    }
    const auto names = vm.count("lesson") ? vm["lesson"].as<std::vector<std::string>>() : std::vector<std::string>();
    std::vector<std::string> dirs;
    if (const int rc = dirs_from(where.c_str(), vm, hint, dirs); rc != kExitOk) return rc;
    if (sub == "check") return cmd_check(dirs, names);
    if (!names.empty()) return usage_error("lesson list", tr("takes no lesson names (only --names and --lessons DIR)"), hint);
    return cmd_list(dirs, vm.count("names") > 0);
  }
  if (sub != "run")
    return usage_error("lesson", sockscope::text::format(tr("there is no subcommand '%1$s': it is list, run or check"), sub), hint);

  po::options_description d = lesson_options();
  po::options_description all;
  all.add(d).add_options()("lesson", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("lesson", -1);
  po::variables_map vm;
  if (!parse("lesson run", rest, all, pos, vm)) return kExitUsage;
  if (vm.count("help")) {
    print_lesson_help(stdout);
    return kExitOk;
  }
  if (!vm.count("lesson"))
    return usage_error("lesson run", tr("which lesson? e.g. sockscope lesson run handshake (sockscope lesson list)"), hint);
  const auto& names = vm["lesson"].as<std::vector<std::string>>();
  if (names.size() != 1) return usage_error("lesson run", tr("one lesson at a time"), hint);
  lesson::RunOptions opts;
  opts.examples_dir = lesson::shipped_examples_dir(self_path());
  if (const int rc = view_from(vm, "lesson run", hint, opts.view, opts.view_options); rc != kExitOk) return rc;
  if (vm.count("write")) opts.write_path = vm["write"].as<std::string>();
  if (vm.count("svg")) {
    opts.svg_path = vm["svg"].as<std::string>();
    if (opts.svg_path.empty() || opts.svg_path == "-")
      return usage_error("lesson run", tr("--svg needs a file name, e.g. --svg handshake.svg"), hint);
  }
  // Without a terminal on standard input (CI, a script, a pipe) there is no one to press Enter.
  opts.interactive = !vm.count("auto") && !vm.count("json") && isatty(STDIN_FILENO);

  std::vector<std::string> dirs;
  if (const int rc = dirs_from("lesson run", vm, hint, dirs); rc != kExitOk) return rc;
  std::string error;
  const std::string path = lesson::find_lesson(names[0], dirs, error);
  if (path.empty())
    return usage_error("lesson run", error, tr("See sockscope lesson list"));
  lesson::Lesson l;
  std::vector<lesson::Diagnostic> errors;
  if (!lesson::load_lesson(path, l, errors)) {
    print_diagnostics(errors);
    std::fprintf(stderr, "sockscope lesson run: %s\n", tr("the lesson is malformed; nothing was run"));
    return kExitUsage;
  }
  const lesson::RunResult r = lesson::run_lesson(l, opts);
  if (!r.ran) {
    std::string why = r.error;
    if (!have_capture_privileges() && !l.lab.on) why = std::string(tr("a lesson watches the packets on the loopback interface.")) + " " + privilege_hint(self_path());
    std::fprintf(stderr, "sockscope lesson run: %s\n", printable(why).c_str());
    return kExitFailed;
  }
  if (!r.error.empty()) std::fprintf(stderr, "sockscope lesson run: %s\n", printable(r.error).c_str());
  return r.ok() ? kExitOk : kExitFailed;
}

}  // namespace sockscope::cli
