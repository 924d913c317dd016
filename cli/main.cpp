// sockscope: the command line. Subcommands: annotate (explain a capture file), exchange (make a
// scripted TCP and UDP exchange on loopback to record), help.
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "sockscope/demo/exchange.hpp"
#include "sockscope/text/format.hpp"
#include "sockscope/text/i18n.hpp"
#include "sockscope/views/out_buffer.hpp"
#include "sockscope/pcap/pcap_source.hpp"
#include "sockscope/pcap/pipeline.hpp"
#include "sockscope/views/svg.hpp"
#include "sockscope/views/views.hpp"
#include "cli_common.hpp"
#include "sockscope/text/escape.hpp"
#include "cmd_capture.hpp"
#include "cmd_chat.hpp"
#include "cmd_compare.hpp"
#include "cmd_demo.hpp"
#include "cmd_lab.hpp"
#include "cmd_lesson.hpp"
#include "cmd_trace.hpp"

#ifndef SOCKSCOPE_VERSION
#define SOCKSCOPE_VERSION "0.0.0"
#endif

namespace po = boost::program_options;
using sockscope::tr;
using namespace sockscope::cli;

namespace {

po::options_description annotate_options() {
  po::options_description d(tr("Options of sockscope annotate FILE"), 100, 50);
  d.add_options()
      ("json", tr("one JSON object per line: packets, then conversations (see docs/)"))
      ("summary", tr("one block per conversation instead of one line per packet"))
      ("ladder", tr("a sequence diagram: client on the left, server on the right"))
      ("osi", tr("under every packet, its headers layer by layer (OSI 2 to 7)"))
      ("filter", po::value<std::string>()->value_name("BPF"),
       tr("only the packets matching this pcap-filter expression, e.g. 'tcp port 9000'"))
      ("color", po::value<std::string>()->value_name("WHEN")->default_value("auto"),
       tr("colour: auto (on a terminal, unless NO_COLOR is set), always or never"))
      ("no-payload", tr("do not preview payload bytes"))
      ("svg", po::value<std::string>()->value_name("FILE"),
       tr("also draw the ladder diagram as an SVG picture into FILE; the text output still prints (docs/pictures.md)"))
      ("help,h", tr("show this help"));
  return d;
}

// --svg FILE: the picture is written when the capture ends, so a folder that does not exist or cannot
// be written is found now, before a long capture is read. Returns an empty string when the path is fine.
std::string svg_path_problem(const std::string& path) {
  if (path == "-")
    return tr("--svg needs a file name: the picture cannot go to standard output, which the text output uses");
  if (path.empty()) return tr("--svg needs a file name, e.g. --svg chat.svg");
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return sockscope::text::format(tr("%1$s: is a folder; --svg needs a file name, e.g. %1$s/chat.svg"), path.c_str());
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return sockscope::text::format(tr("%s: the folder does not exist; create it or choose another path for --svg"), path.c_str());
  if (access(dir.c_str(), W_OK) != 0)
    return sockscope::text::format(tr("%s: cannot write in that folder; choose another path for --svg"), path.c_str());
  return {};
}

po::options_description exchange_options() {
  po::options_description d(tr("Options of sockscope exchange"), 100, 50);
  d.add_options()
      ("tcp-port", po::value<unsigned>()->value_name("P")->default_value(0),
       tr("the server's TCP port (0: any free port)"))
      ("udp-port", po::value<unsigned>()->value_name("Q")->default_value(0),
       tr("the server's UDP port (0: any free port)"))
      ("host", po::value<std::string>()->value_name("ADDR")->default_value("127.0.0.1"),
       tr("loopback address: 127.0.0.1 or ::1"))
      ("timeout-ms", po::value<int>()->value_name("MS")->default_value(3000),
       tr("give up a blocking call after this long"))
      ("help,h", tr("show this help"));
  return d;
}

void print_annotate_help(std::FILE* out) {
  HelpWriter f(out);
  std::fprintf(f, "%s\n\n", tr("sockscope annotate FILE: explains every packet of a capture file."));
  std::fprintf(f, "%s\n", tr("FILE is a pcap or pcapng file (tcpdump -w, Wireshark, dumpcap), or - for standard input."));
  std::fprintf(f, "%s\n\n", tr("Exit status: 0 done, 2 bad usage or a missing, damaged or cut-short file (after what could be read)."));
  std::ostringstream os;
  os << options_help(annotate_options());
  std::fputs(os.str().c_str(), f);
}

void print_exchange_help(std::FILE* out) {
  HelpWriter f(out);
  std::fprintf(f, "%s\n\n", tr("sockscope exchange: a scripted TCP and UDP conversation on loopback, to record and annotate."));
  std::fprintf(f, "%s\n", tr("TCP: the client connects, sends three lines, the server answers each, the client closes."));
  std::fprintf(f, "%s\n\n", tr("UDP: the client sends three datagrams, the server answers each."));
  std::ostringstream os;
  os << options_help(exchange_options());
  std::fputs(os.str().c_str(), f);
}

int cmd_annotate(const std::vector<std::string>& args) {
  po::options_description d = annotate_options();
  po::options_description all;
  all.add(d).add_options()("file", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("file", -1);
  po::variables_map vm;
  if (!parse("annotate", args, all, pos, vm)) return kExitUsage;
  if (vm.count("help")) {
    print_annotate_help(stdout);
    return kExitOk;
  }
  const char* hint = tr("See sockscope help annotate");
  if (!vm.count("file"))
    return usage_error("annotate", tr("which capture file? Give one, e.g. sockscope annotate chat.pcap"), hint);
  const auto& files = vm["file"].as<std::vector<std::string>>();
  if (files.size() != 1)
    return usage_error("annotate", tr("one capture file at a time, please"), hint);
  const std::string& path = files.front();

  sockscope::ViewKind kind = sockscope::ViewKind::Human;
  sockscope::ViewOptions vo;
  if (const int rc = view_from(vm, "annotate", hint, kind, vo); rc != kExitOk) return rc;

  if (path == "-" && isatty(STDIN_FILENO))
    return usage_error("annotate", tr("standard input is a terminal, not a capture. Pipe one in, e.g. sudo tcpdump -i lo -w - | sockscope annotate -"), "");
  const std::string svg_path = vm.count("svg") ? vm["svg"].as<std::string>() : std::string();
  if (vm.count("svg")) {
    if (const std::string why = svg_path_problem(svg_path); !why.empty()) return usage_error("annotate", why, hint);
  }

  const std::string filter = vm.count("filter") ? vm["filter"].as<std::string>() : std::string();
  std::string error;
  auto source = sockscope::PcapSource::open(path, filter, error);
  if (!source) {
    std::fprintf(stderr, "sockscope: %s\n", error.c_str());
    return kExitUsage;
  }

  sockscope::PipelineResult r;
  bool write_failed = false;
  std::string svg_error;
  {
    sockscope::OutBuffer out(stdout);
    auto view = sockscope::make_view(kind, out, vo);
    sockscope::PipelineOptions po_opts;
    // A pipe or socket on standard input is usually a live capture: show each packet at once.
    struct stat st {};
    if (path == "-" && fstat(STDIN_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
      po_opts.flush_each_packet = &out;
    if (svg_path.empty()) {
      r = sockscope::run_annotate(*source, *view, po_opts);
    } else {
      // The picture is drawn from the same packets, next to the terminal view.
      sockscope::SvgOptions so;
      so.title = path == "-" ? std::string("sockscope annotate -") : "sockscope annotate " + path.substr(path.rfind('/') + 1);
      sockscope::SvgLadder picture(so);
      sockscope::TeeView tee({view.get(), &picture});
      r = sockscope::run_annotate(*source, tee, po_opts);
      // Even a damaged file gets the picture of what could be read.
      if (!picture.write(svg_path, svg_error) && svg_error.empty()) svg_error = svg_path;
    }
    view.reset();
    // Everything read before any damage is on stdout before the error reaches stderr.
    write_failed = !out.flush();
  }
  if (!svg_error.empty()) {
    std::fprintf(stderr, "sockscope annotate: %s\n", svg_error.c_str());
    if (r.ok) return kExitFailed;
  }
  if (!r.ok) {
    std::fprintf(stderr, "sockscope: %s\n", r.error.c_str());
    return kExitUsage;
  }
  if (write_failed) {
    std::fprintf(stderr, "sockscope: %s\n", tr("could not write the output (disk full or closed pipe?)"));
    return kExitFailed;
  }
  return kExitOk;
}

int cmd_exchange(const std::vector<std::string>& args) {
  po::options_description d = exchange_options();
  po::positional_options_description pos;
  po::variables_map vm;
  if (!parse("exchange", args, d, pos, vm)) return kExitUsage;
  if (vm.count("help")) {
    print_exchange_help(stdout);
    return kExitOk;
  }
  const char* hint = tr("See sockscope help exchange");
  sockscope::demo::ExchangeOptions opts;
  const unsigned tcp_port = vm["tcp-port"].as<unsigned>();
  const unsigned udp_port = vm["udp-port"].as<unsigned>();
  if (tcp_port > 65535 || udp_port > 65535)
    return usage_error("exchange", tr("a port is a number from 0 to 65535"), hint);
  opts.tcp_port = static_cast<std::uint16_t>(tcp_port);
  opts.udp_port = static_cast<std::uint16_t>(udp_port);
  opts.host = vm["host"].as<std::string>();
  opts.timeout_ms = vm["timeout-ms"].as<int>();
  if (opts.timeout_ms <= 0 || opts.timeout_ms > 600000)
    return usage_error("exchange", tr("--timeout-ms takes 1 to 600000"), hint);

  const sockscope::demo::ExchangeResult r = sockscope::demo::run_exchange(opts);
  if (r.steps.empty()) {
    // Nothing happened (e.g. not a loopback address): only the reason.
    std::fprintf(stderr, "sockscope: exchange: %s. %s\n", printable(r.error).c_str(), hint);
    return kExitUsage;
  }
  std::printf(tr("exchange on %1$s: TCP server port %2$u, UDP server port %3$u\n"), opts.host.c_str(),
              static_cast<unsigned>(r.tcp_port), static_cast<unsigned>(r.udp_port));
  // Columns padded by terminal columns: "服务器" is 9 bytes but 6 columns wide.
  const std::size_t who_width = sockscope::text::column_width({tr("who"), tr("server"), tr("client")}, 6);
  std::printf("  %s  %s  %s\n", sockscope::text::pad_right(tr("time(ms)"), 10).c_str(),
              sockscope::text::pad_right(tr("who"), who_width).c_str(), tr("call"));
  for (const auto& s : r.steps)
    std::printf("  %10.3f  %s  %s\n", static_cast<double>(s.t_ns) / 1e6,
                sockscope::text::pad_right(s.server ? tr("server") : tr("client"), who_width).c_str(), s.text.c_str());
  std::fflush(stdout);
  if (!r.ok) {
    std::fprintf(stderr, "sockscope: exchange: %s. %s\n", r.error.c_str(),
                 tr("Check that the ports are free (or use port 0) and try again"));
    return kExitFailed;
  }
  std::printf(tr("done: TCP client port %1$u (3 lines each way, then closed), UDP client port %2$u (3 datagrams each way)\n"),
              static_cast<unsigned>(r.tcp_client_port), static_cast<unsigned>(r.udp_client_port));
  return kExitOk;
}

// The subcommands, in the order --help lists them. Each lives in its own cmd_*.cpp (or here).
const Command kCommands[] = {
    kLessonCommand,
    kDemoCommand,
    kTraceCommand,
    kChatCommand,
    {"annotate", "sockscope annotate FILE [--json | --summary | --ladder] [--osi] [--filter BPF]\n"
                 "                          [--color auto|always|never] [--no-payload] [--svg FILE]",
     SOCKSCOPE_N_("explain every packet of a pcap or pcapng file ('-' reads standard input)"), cmd_annotate,
     print_annotate_help},
    {"exchange", "sockscope exchange [--tcp-port P] [--udp-port Q] [--host 127.0.0.1|::1]",
     SOCKSCOPE_N_("run a short scripted TCP and UDP conversation on loopback (to record with tcpdump)"),
     cmd_exchange, print_exchange_help},
    kCaptureCommand,
    kLabCommand,
    kCompareCommand,
};

void print_main_help(std::FILE* f) {
  std::string h = std::string(tr("sockscope: decodes TCP and UDP packets and explains them in plain words.")) + "\n\n";
  h += std::string(tr("Usage:")) + "\n";
  for (const Command& c : kCommands) h += std::string("  ") + c.usage + "\n";
  h += "  sockscope help [COMMAND]\n";
  h += "  sockscope --help | --version\n\n";
  h += std::string(tr("Commands:")) + "\n";
  // Each summary beside its command, wrapped under itself.
  const auto command_line = [&h](const char* name, const char* summary) {
    char first[16];
    std::snprintf(first, sizeof first, "  %-9s ", name);
    h += sockscope::text::wrap_text(summary, 99, first, std::string(12, ' '));
  };
  for (const Command& c : kCommands) command_line(c.name, tr(c.summary));
  command_line("help", tr("show the help of a command"));
  h += "\n";
  h += std::string(tr("Example: sudo tcpdump -i lo -w chat.pcap port 9000, then sockscope annotate chat.pcap")) + "\n";
  h += std::string(tr("Language: --lang zh_CN or --lang en, before or after the command; without it, as LANGUAGE, LC_ALL, LC_MESSAGES or LANG say.")) + "\n";
  print_help(f, h);
}

const Command* find_command(const std::string& name) {
  for (const Command& c : kCommands)
    if (name == c.name) return &c;
  return nullptr;
}

int cmd_help(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "help") {
    print_main_help(stdout);
    return kExitOk;
  }
  if (const Command* c = find_command(args[0])) {
    c->help(stdout);
    return kExitOk;
  }
  return usage_error("help", sockscope::text::format(tr("no command named '%s'"), args[0].c_str()), tr("See sockscope --help"));
}

}  // namespace

int main(int argc, char** argv) {
  // The language is chosen before anything is translated: --lang (anywhere on the line) or the
  // environment. tr() remembers translations, so nothing may call it before init_messages.
  std::vector<std::string> words(argv + 1, argv + argc);
  std::string lang;
  const bool lang_ok = take_lang_option(words, lang);
  sockscope::init_messages(locale_dir(), lang == "C" || lang == "POSIX" ? std::string("en") : lang);
  if (!lang_ok) return usage_error("", tr("--lang needs a language, e.g. --lang zh_CN or --lang en"), tr("See sockscope --help"));
  if (!lang.empty() && !sockscope::cli::language_available(lang))
    return usage_error("", sockscope::cli::unknown_language_message(lang), tr("See sockscope --help"));

  if (words.empty()) {
    print_main_help(stderr);
    return kExitUsage;
  }
  const std::string cmd = words.front();
  std::vector<std::string> rest(words.begin() + 1, words.end());
  if (cmd == "--help" || cmd == "-h") {
    print_main_help(stdout);
    return kExitOk;
  }
  if (cmd == "--version" || cmd == "-V") {
    // The libpcap that is loaded, not the one built against: a bug report needs the one that ran.
    std::printf("sockscope %s\n%s\n", SOCKSCOPE_VERSION, sockscope::libpcap_version().c_str());
    return kExitOk;
  }
  try {
    if (const Command* c = find_command(cmd)) return c->run(rest);
    if (cmd == "help") return cmd_help(rest);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sockscope: %s: %s\n", cmd.c_str(), e.what());
    return kExitFailed;
  }
  if (!cmd.empty() && cmd[0] == '-')
    return usage_error("", sockscope::text::format(tr("unknown option '%s'"), cmd.c_str()), tr("See sockscope --help"));
  return usage_error("", sockscope::text::format(tr("unknown command '%s'"), cmd.c_str()), tr("See sockscope --help"));
}
