// sockscope trace -- PROGRAM: runs any program (Python, C, Go, a static binary ...) with the
// terminal's standard input, output and error, and shows its socket calls (sockscope/trace) and the
// packets of its sockets (a live capture on loopback, kept to the addresses its sockets use) on one
// timeline, as `demo` does for the built-in chat endpoints.
//
// Order matters as in the demo: the capture is open before the program starts, so no SYN is missed;
// the tracer runs in this thread (ptrace answers only the thread that traces), the capture in another;
// when the program has ended, the last packets get a moment to arrive, then the summaries print.
#include "cmd_trace.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstring>
#include <memory>
#include <sstream>
#include <thread>

#include "sockscope/pcap/live_capture.hpp"
#include "sockscope/pcap/live_session.hpp"
#include "sockscope/trace/tracer.hpp"
#include "sockscope/views/out_buffer.hpp"
#include "sockscope/views/svg.hpp"
#include "sockscope/views/views.hpp"

namespace sockscope::cli {
namespace {

// Ctrl-C and Ctrl-\ are for the program (the terminal sends them to both): sockscope waits for the
// program to end, then completes its output.
extern "C" void on_trace_signal(int) {}

po::options_description trace_cmd_options() {
  po::options_description d(tr("Options of sockscope trace"), 100, 50);
  d.add_options()
      ("json", tr("one JSON object per line: packets, calls (with pid and program), then conversations"))
      ("ladder", tr("columns: the first process's calls | packets on the wire | the other processes' calls"))
      ("summary", tr("one block per conversation instead of one line per packet"))
      ("osi", tr("under every packet, its headers layer by layer (OSI 2 to 7)"))
      ("color", po::value<std::string>()->value_name("WHEN")->default_value("auto"),
       tr("colour: auto (on a terminal, unless NO_COLOR is set), always or never"))
      ("write,w", po::value<std::string>()->value_name("FILE"),
       tr("also save the packets: FILE.pcapng keeps each packet's explanation as a comment (Wireshark)"))
      ("svg", po::value<std::string>()->value_name("FILE"),
       tr("also draw the timeline as an SVG ladder picture into FILE"))
      ("output,o", po::value<std::string>()->value_name("FILE"),
       tr("write the trace to FILE (or another terminal, e.g. /dev/pts/3) so the program's own output stays "
          "readable"))
      ("interface,i", po::value<std::string>()->value_name("IFACE")->default_value("lo"),
       tr("where to capture the program's packets: lo (its talk with programs on this machine), an interface "
          "such as eth0 (with other hosts), or any (every interface)"))
      ("user", po::value<std::string>()->value_name("USER"),
       tr("under sudo: the user the program runs as (default: the user who ran sudo)"))
      ("help,h", tr("show this help"));
  return d;
}

// Options that take a value ("-i any", "--output FILE"): their value is not the program's name. Read
// from the options themselves, so a new option cannot be forgotten here.
bool takes_value(const std::string& a) {
  static const po::options_description d = trace_cmd_options();
  for (const auto& o : d.options()) {
    if (o->semantic()->max_tokens() == 0) continue;
    // format_name(): "--output" or "-o [ --output ]".
    const std::string names = o->format_name();
    if (a == "--" + o->long_name() || (names.size() > 2 && names[0] == '-' && names[1] != '-' && a == names.substr(0, 2)))
      return true;
  }
  return false;
}

// Calls straight to the view, in the tracer's thread (no capture: no packets to merge them with).
class DirectSink final : public CallSink {
 public:
  explicit DirectSink(View& v) : view_(v) {}
  void on_call(const CallRecord& c) override { view_.call(c, 0); }

 private:
  View& view_;
};

// Says why ptrace failed and what to do, in one line.
std::string ptrace_advice(const std::string& error) {
  std::string s = error + ". ";
  const int fd = ::open("/proc/sys/kernel/yama/ptrace_scope", O_RDONLY | O_CLOEXEC);
  char v = 0;
  if (fd >= 0) {
    if (::read(fd, &v, 1) != 1) v = 0;
    ::close(fd);
  }
  if (v == '3')
    s += tr("The kernel forbids ptrace on this system (Yama: kernel.yama.ptrace_scope = 3) until the next reboot; "
            "sockscope trace cannot run here.");
  else if (v == '2')
    s += tr("Only root may use ptrace on this system (Yama: kernel.yama.ptrace_scope = 2): run sudo sockscope trace.");
  else
    s += tr("ptrace is not allowed here: in a container, allow it (docker run --cap-add SYS_PTRACE, or a seccomp "
            "profile that permits ptrace).");
  return s;
}

// Without capture rights: a new user namespace (where sockscope holds every capability, over nothing
// outside it) and a new network namespace with its own loopback, where opening a capture needs no
// privilege (user_namespaces(7)). The program runs in it as the same user. Returns "" or why not.
std::string enter_own_network() {
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) return std::string("unshare: ") + std::strerror(errno);
  auto write_file = [](const char* path, const std::string& text) {
    const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok;
  };
  // The same user and group inside as outside, so files the program creates are yours.
  if (!write_file("/proc/self/setgroups", "deny") ||
      !write_file("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1\n") ||
      !write_file("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1\n"))
    return std::string("uid_map: ") + std::strerror(errno);
  // A new network namespace's loopback is down.
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("socket: ") + std::strerror(errno);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  bool up = ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  up = up && ::ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
  const int err = errno;
  ::close(fd);
  if (!up) return std::string("lo: ") + std::strerror(err);
  return "";
}

// When the trace and the program share a terminal, every trace line starts with a mark, so a reader
// tells them apart: a stdio stream over the terminal that writes the mark at each line's start.
struct MarkedLines {
  std::FILE* to;
  bool at_start = true;
};
extern "C" ssize_t marked_write(void* cookie, const char* buf, size_t n) {
  auto* m = static_cast<MarkedLines*>(cookie);
  static constexpr char kMark[] = "\xe2\x94\x82 ";  // "│ "
  std::size_t i = 0;
  while (i < n) {
    if (m->at_start) {
      std::fwrite(kMark, 1, sizeof kMark - 1, m->to);
      m->at_start = false;
    }
    const void* nl = std::memchr(buf + i, '\n', n - i);
    const std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - buf) + 1 : n;
    std::fwrite(buf + i, 1, end - i, m->to);
    if (nl) m->at_start = true;
    i = end;
  }
  std::fflush(m->to);
  return static_cast<ssize_t>(n);
}

}  // namespace

void print_trace_help(std::FILE* out) {
  HelpWriter f(out);
  std::fprintf(f, "%s\n\n", tr("sockscope trace -- PROGRAM [ARGS...]: runs any program and shows its socket calls "
                               "and the packets of its sockets on one timeline, explained."));
  std::fprintf(f, "%s\n", tr("The program keeps the terminal: type to it as usual. Every process and thread it "
                             "starts is followed."));
  std::fprintf(f, "%s\n", tr("The packets need root (sudo sockscope trace -- python3 server.py); without it only "
                             "the calls are shown."));
  std::fprintf(f, "%s\n", tr("Exit status: the program's own (128+N when signal N ended it), 127 when there is no "
                             "such program, 2 bad usage."));
  std::fprintf(f, "%s\n\n", tr("Example: sudo sockscope trace -- python3 tcp_server.py, and in another terminal: "
                               "sudo sockscope trace -- python3 tcp_client.py"));
  std::ostringstream os;
  os << options_help(trace_cmd_options());
  std::fputs(os.str().c_str(), f);
}

int cmd_trace(const std::vector<std::string>& args) {
  // Everything after "--" (or from the first word that is not an option) is the program's.
  std::vector<std::string> mine, program;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") {
      program.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (args[i].empty() || args[i][0] != '-') {
      program.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    mine.push_back(args[i]);
    if (takes_value(args[i]) && i + 1 < args.size()) mine.push_back(args[++i]);
  }

  po::options_description d = trace_cmd_options();
  po::positional_options_description pos;
  po::variables_map vm;
  if (!parse("trace", mine, d, pos, vm)) return kExitUsage;
  if (vm.count("help")) {
    print_trace_help(stdout);
    return kExitOk;
  }
  const char* hint = tr("See sockscope help trace");
  if (program.empty())
    return usage_error("trace", tr("which program? e.g. sockscope trace -- python3 tcp_server.py"), hint);

  std::string path;
  if (const int rc = trace::find_program(program[0], path); rc != 0) {
    std::fprintf(stderr, "sockscope trace: %s: %s\n", printable(program[0]).c_str(),
                 rc == 127 ? tr("no such program (not a file, and not in any folder of PATH)")
                           : tr("not an executable program (check its permissions: chmod +x)"));
    return rc;
  }

  ViewKind kind = ViewKind::Human;
  ViewOptions vo;
  if (const int rc = view_from(vm, "trace", hint, kind, vo); rc != kExitOk) return rc;
  vo.calls = true;

  std::FILE* outf = stdout;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> owned(nullptr, std::fclose);
  if (vm.count("output")) {
    const std::string o = vm["output"].as<std::string>();
    if (o.empty()) return usage_error("trace", tr("-o needs a file name, e.g. -o trace.txt"), hint);
    owned.reset(std::fopen(o.c_str(), "w"));
    if (!owned) {
      std::fprintf(stderr, "sockscope trace: %s: %s\n", printable(o).c_str(), std::strerror(errno));
      return kExitFailed;
    }
    outf = owned.get();
    // Colour follows the trace's destination, not the program's terminal.
    if (vm["color"].as<std::string>() == "auto") vo.color = isatty(fileno(outf)) != 0;
  }

  MarkedLines marked{stdout};
  if (!vm.count("output") && kind != ViewKind::Json && isatty(STDOUT_FILENO)) {
    cookie_io_functions_t io{};
    io.write = marked_write;
    owned.reset(fopencookie(&marked, "w", io));
    if (owned) outf = owned.get();
  }

  OutBuffer out(outf);
  auto inner = make_view(kind, out, vo);
  std::unique_ptr<SvgLadder> picture;
  std::unique_ptr<TeeView> tee;
  View* view = inner.get();
  std::string svg_path;
  if (vm.count("svg")) {
    svg_path = vm["svg"].as<std::string>();
    if (svg_path.empty() || svg_path == "-")
      return usage_error("trace", tr("--svg needs a file name, e.g. --svg trace.svg"), hint);
    SvgOptions so;
    so.title = "sockscope trace " + program[0];
    picture = std::make_unique<SvgLadder>(so);
    tee = std::make_unique<TeeView>(std::vector<View*>{inner.get(), picture.get()});
    view = tee.get();
  }

  struct sigaction sa {};
  sa.sa_handler = on_trace_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  struct sigaction old_int {}, old_quit {};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGQUIT, &sa, &old_quit);

  trace::SocketSet sockets;
  trace::TraceOptions to;
  to.argv = program;
  to.sockets = &sockets;

  trace::TraceResult tr_result;
  LiveSessionResult live;
  bool live_ok = true;
  bool own_network = false;
  std::string ns_error;
  if (!have_capture_privileges()) {
    ns_error = enter_own_network();
    own_network = ns_error.empty();
    if (own_network)
      std::fprintf(stderr, "sockscope trace: %s\n",
                   tr("without root, the program runs in a network of its own (a new network namespace with its "
                      "own loopback), where sockscope may capture: it can reach its own servers on 127.0.0.1 "
                      "and ::1, but no other host or program."));
  }
  if (have_capture_privileges()) {
    LiveSessionOptions so;
    so.capture.interface = vm["interface"].as<std::string>();
    // Every TCP and UDP packet of the interface (loopback by default) and the ICMP errors about them;
    // the session keeps those of the program's sockets (their addresses become known while it runs).
    so.capture.filter = "tcp or udp or icmp or icmp6";
    so.keep = [&sockets](const Packet& p) { return sockets.matches(p); };
    // A socket's address is known when the call that gave it one returns (connect, the first
    // sendto): its packets wait for that, however slow the machine (at most 5 s, for a connect to a
    // host that does not answer).
    so.holdback_ms = 100;
    so.settled_ns = [&sockets] { return sockets.settled_ns(); };
    so.max_wait_ms = 5000;
    if (vm.count("write")) so.write_path = vm["write"].as<std::string>();
    if (vm.count("user")) so.user = vm["user"].as<std::string>();
    std::string error;
    auto session = LiveSession::open(so, *view, out, error);
    if (!session) {
      std::fprintf(stderr, "sockscope trace: %s\n", error.c_str());
      return kExitFailed;
    }
    if (!session->warning().empty()) std::fprintf(stderr, "sockscope trace: %s\n", session->warning().c_str());
    std::atomic<bool> stop{false};
    std::thread capture([&] { live = session->run(stop); });
    tr_result = trace::run_traced(to, *session);
    // The last packets (the ACK of a FIN) may still be on their way to the capture.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop.store(true);
    capture.join();
    live_ok = live.ok;
    if (!live.ok) std::fprintf(stderr, "sockscope trace: %s\n", live.error.c_str());
  } else {
    if (vm.count("write"))
      return usage_error("trace", tr("-w saves packets, and capturing them needs root: run sudo sockscope trace"),
                         hint);
    std::fprintf(stderr, "sockscope trace: %s (%s)\n",
                 tr("no packets without root or CAP_NET_RAW, and no network namespace of its own: only the "
                    "program's socket calls are shown. Run sudo sockscope trace to see its packets too"),
                 ns_error.c_str());
    DirectSink sink(*view);
    tr_result = trace::run_traced(to, sink);
    view->finish();
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGQUIT, &old_quit, nullptr);
  out.flush();

  if (!tr_result.started) {
    if (tr_result.status == 126 || tr_result.status == 127) {
      std::fprintf(stderr, "sockscope trace: %s: %s\n", printable(program[0]).c_str(), tr_result.error.c_str());
      return tr_result.status;
    }
    std::fprintf(stderr, "sockscope trace: %s\n", ptrace_advice(tr_result.error).c_str());
    return kExitFailed;
  }
  if (picture) {
    std::string error;
    if (!picture->write(svg_path, error)) {
      std::fprintf(stderr, "sockscope trace: %s\n", error.c_str());
      return kExitFailed;
    }
  }
  (void)own_network;
  if (!live_ok && tr_result.status == 0) return kExitFailed;
  return tr_result.status;
}

}  // namespace sockscope::cli
