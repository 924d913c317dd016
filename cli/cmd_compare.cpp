// sockscope compare: runs compare::run (lessons/src/compare.cpp) and prints its table, ladders and
// verdict, or one JSON object; optionally the HTML page and the two SVG drawings.
#include "cmd_compare.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "sockscope/lessons/compare.hpp"
#include "sockscope/text/format.hpp"
#include "sockscope/pcap/live_capture.hpp"

namespace sockscope::cli {
namespace {

po::options_description compare_options() {
  po::options_description d(tr("Options of sockscope compare"), 100, 50);
  d.add_options()
      ("messages", po::value<int>()->value_name("N")->default_value(10),
       tr("how many numbered messages the client sends over each protocol (1 to 10000)"))
      ("size", po::value<int>()->value_name("BYTES")->default_value(32),
       tr("bytes in each message, its number included (6 to 60000)"))
      ("gap", po::value<int>()->value_name("MS")->default_value(1),
       tr("pause between two messages; with a pause the TCP client also sets TCP_NODELAY, so each message "
          "leaves in a packet of its own (0: back to back, Nagle's algorithm on: TCP gathers them)"))
      ("lab", tr("run between the two hosts of the lab (two network namespaces joined by a cable), built for "
                 "the run and removed after it"))
      ("loss", po::value<int>()->value_name("PCT"),
       tr("with --lab: drop this percentage of the client's packets on the cable (0 to 100)"))
      ("no-sack", tr("with --lab: the client does not offer SACK, so TCP recovers the textbook way: three duplicate "
                     "ACKs, then a fast retransmission, or its timer"))
      ("json", tr("one JSON object: {\"tcp\": {...}, \"udp\": {...}}"))
      ("html", po::value<std::string>()->value_name("FILE"),
       tr("also write one self-contained page: the table, the verdict and both ladder diagrams"))
      ("svg", po::value<std::string>()->value_name("PREFIX"),
       tr("also write the ladder diagrams: PREFIX-tcp.svg and PREFIX-udp.svg"))
      ("write,w", po::value<std::string>()->value_name("PREFIX"),
       tr("also save the captures: PREFIX-tcp.pcapng and PREFIX-udp.pcapng"))
      ("color", po::value<std::string>()->value_name("WHEN")->default_value("auto"),
       tr("colour: auto (on a terminal, unless NO_COLOR is set), always or never"))
      ("help,h", tr("show this help"));
  return d;
}

// Written under a temporary name in the same folder, renamed when complete: a reader never sees half
// a file. Written after compare::run(), which gave root up under sudo (as the captures do): the
// files belong to the user who ran sudo, as tcpdump -Z's do, with no chown.
bool write_whole_file(const std::string& path, const std::string& data, std::string& error) {
  const std::string tmp = path + ".tmp-" + std::to_string(getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    error = text::format(tr("%1$s: %2$s. Check that the folder exists and is writable"), printable(path).c_str(), std::strerror(errno));
    return false;
  }
  const bool wrote = std::fwrite(data.data(), 1, data.size(), f) == data.size();
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = text::format(tr("%1$s: %2$s. Is the disk full?"), printable(path).c_str(), std::strerror(errno));
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

// A name given for an output file: not empty, not "-" (the output already goes to the terminal).
bool output_name_ok(const po::variables_map& vm, const char* opt) {
  if (!vm.count(opt)) return true;
  const std::string v = vm[opt].as<std::string>();
  return !v.empty() && v != "-";
}

}  // namespace

void print_compare_help(std::FILE* out) {
  HelpWriter f(out);
  std::fprintf(f, "%s\n\n", tr("sockscope compare: the same numbered messages over TCP, then over UDP, each with the "
                               "capture on; one table side by side, the two ladders, and what the numbers say."));
  std::fprintf(f, "%s\n", tr("Packets by role, header bytes per OSI layer against the payload, time to the first "
                             "byte, what arrived (lost, duplicated, merged in one read)."));
  std::fprintf(f, "%s\n", tr("On loopback nothing is lost: --lab --loss 20 runs it between two hosts over a cable "
                             "that drops a fifth of the client's packets."));
  std::fprintf(f, "%s\n\n", tr("Needs root (sudo sockscope compare): for the capture, and for the lab."));
  std::ostringstream os;
  os << options_help(compare_options());
  std::fputs(os.str().c_str(), f);
}

int cmd_compare(const std::vector<std::string>& args) {
  po::options_description d = compare_options();
  po::positional_options_description pos;
  po::variables_map vm;
  if (!parse("compare", args, d, pos, vm)) return kExitUsage;
  if (vm.count("help")) {
    print_compare_help(stdout);
    return kExitOk;
  }
  const char* hint = tr("See sockscope help compare");
  compare::Options opts;
  opts.messages = vm["messages"].as<int>();
  if (opts.messages < 1 || opts.messages > 10000)
    return usage_error("compare", tr("--messages takes 1 to 10000"), hint);
  opts.size = vm["size"].as<int>();
  if (opts.size < 6 || opts.size > 60000)
    return usage_error("compare", tr("--size takes 6 to 60000 bytes (a message holds its number, e.g. '0001 ')"), hint);
  opts.gap_ms = vm["gap"].as<int>();
  if (opts.gap_ms < 0 || opts.gap_ms > 1000) return usage_error("compare", tr("--gap takes 0 to 1000 (milliseconds)"), hint);
  opts.lab = vm.count("lab") > 0;
  if (vm.count("loss")) {
    if (!opts.lab)
      return usage_error("compare", tr("--loss needs --lab: on loopback nothing is lost, the loss rule lives on the "
                                       "lab's cable (sudo sockscope compare --lab --loss 20)"),
                         hint);
    opts.loss_pct = vm["loss"].as<int>();
    if (opts.loss_pct < 0 || opts.loss_pct > 100) return usage_error("compare", tr("--loss takes 0 to 100 (percent)"), hint);
  }
  if (vm.count("no-sack")) {
    if (!opts.lab) return usage_error("compare", tr("--no-sack needs --lab (it is set on the lab's client host)"), hint);
    opts.sack = false;
  }
  if (!output_name_ok(vm, "html")) return usage_error("compare", tr("--html needs a file name, e.g. --html compare.html"), hint);
  if (!output_name_ok(vm, "svg")) return usage_error("compare", tr("--svg needs a prefix, e.g. --svg compare (compare-tcp.svg, compare-udp.svg)"), hint);
  if (!output_name_ok(vm, "write")) return usage_error("compare", tr("-w needs a prefix, e.g. -w compare (compare-tcp.pcapng, compare-udp.pcapng)"), hint);
  if (vm.count("write")) opts.write_prefix = vm["write"].as<std::string>();
  ViewKind kind = ViewKind::Human;
  ViewOptions vo;
  if (const int rc = view_from(vm, "compare", hint, kind, vo); rc != kExitOk) return rc;

  if (opts.lab && geteuid() != 0) {
    std::fprintf(stderr, "sockscope compare: %s\n",
                 tr("--lab builds two network namespaces and a cable between them, which needs root: run sudo "
                    "sockscope compare --lab"));
    return kExitFailed;
  }
  if (!have_capture_privileges()) {
    std::fprintf(stderr, "sockscope compare: %s %s\n", tr("compare watches the packets on the loopback interface."),
                 privilege_hint(self_path()).c_str());
    return kExitFailed;
  }

  const compare::Result r = compare::run(opts);
  std::string error;
  if (!r.ok) {
    std::fprintf(stderr, "sockscope compare: %s\n", printable(r.error).c_str());
    return kExitFailed;
  }
  if (vm.count("json"))
    std::printf("%s\n", compare::render_json(r).c_str());
  else
    std::fputs(compare::render_text(opts, r, vo.width, vo.color).c_str(), stdout);
  std::fflush(stdout);

  int rc = kExitOk;
  if (vm.count("html") && !write_whole_file(vm["html"].as<std::string>(), compare::render_html(opts, r), error)) {
    std::fprintf(stderr, "sockscope compare: --html %s\n", error.c_str());
    rc = kExitFailed;
  }
  if (vm.count("svg")) {
    const std::string prefix = vm["svg"].as<std::string>();
    if (!write_whole_file(prefix + "-tcp.svg", r.tcp_svg_doc, error) ||
        !write_whole_file(prefix + "-udp.svg", r.udp_svg_doc, error)) {
      std::fprintf(stderr, "sockscope compare: --svg %s\n", error.c_str());
      rc = kExitFailed;
    }
  }
  return rc;
}

}  // namespace sockscope::cli
