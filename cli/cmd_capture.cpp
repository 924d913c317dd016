// sockscope capture: live packets from an interface, annotated as they happen; Ctrl-C ends it with
// the conversation summaries and the kernel's drop count, and completes the -w file.
#include "cmd_capture.hpp"

#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "sockscope/pcap/live_capture.hpp"
#include "sockscope/pcap/live_session.hpp"
#include "sockscope/views/out_buffer.hpp"
#include "sockscope/views/views.hpp"

namespace sockscope::cli {

namespace {

// Set by SIGINT, SIGTERM, SIGPIPE (the reader of our output went away) and SIGALRM (--duration).
// A lock-free atomic may be stored to from a signal handler ([support.signal]).
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_stop_signal(int) { g_stop.store(true); }

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll(2) returns at once with EINTR
  for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGALRM}) sigaction(sig, &sa, nullptr);
}

po::options_description capture_options() {
  po::options_description d(tr("Options of sockscope capture"), 100, 50);
  d.add_options()
      ("interface,i", po::value<std::string>()->value_name("IFACE")->default_value("lo"),
       tr("the interface to capture on (default lo, the loopback interface where the chats and "
          "demos run)"))
      ("port", po::value<unsigned>()->value_name("P"),
       tr("only TCP and UDP packets to or from this port (and the ICMP errors about them)"))
      ("filter", po::value<std::string>()->value_name("BPF"),
       tr("only the packets matching this pcap-filter expression, e.g. 'tcp port 9000'"))
      ("write,w", po::value<std::string>()->value_name("FILE"),
       tr("also save the packets: FILE.pcapng keeps each annotation as a packet comment (Wireshark "
          "shows it), any other name is plain pcap"))
      ("json", tr("one JSON object per line: packets, then conversations (see docs/)"))
      ("summary", tr("one block per conversation instead of one line per packet"))
      ("ladder", tr("a sequence diagram: client on the left, server on the right"))
      ("osi", tr("under every packet, its headers layer by layer (OSI 2 to 7)"))
      ("color", po::value<std::string>()->value_name("WHEN")->default_value("auto"),
       tr("colour: auto (on a terminal, unless NO_COLOR is set), always or never"))
      ("no-payload", tr("do not preview payload bytes"))
      ("user", po::value<std::string>()->value_name("USER"),
       tr("after opening the interface, run as this user (default: the user who ran sudo)"))
      ("count", po::value<std::uint64_t>()->value_name("N"), tr("stop after N packets"))
      ("duration", po::value<double>()->value_name("S"), tr("stop after S seconds"))
      ("help,h", tr("show this help"));
  return d;
}


}  // namespace

void print_capture_help(std::FILE* out) {
  HelpWriter f(out);
  std::fprintf(f, "%s\n\n", tr("sockscope capture: captures live packets and explains each one as it happens."));
  std::fprintf(f, "%s\n", tr("Capturing needs root or CAP_NET_RAW: run it with sudo (it then runs as you once the interface is open),"));
  std::fprintf(f, "%s\n", tr("or grant the capability once: sudo setcap cap_net_raw,cap_net_admin=eip $(command -v sockscope)."));
  std::fprintf(f, "%s\n", tr("Ctrl-C stops it: the conversations are summarised and the -w file is completed."));
  std::fprintf(f, "%s\n\n", tr("Exit status: 0 done, 1 the capture or the file failed (or no privileges), 2 bad usage."));
  std::fprintf(f, "%s\n\n", tr("Example: sudo sockscope capture --port 9000 -w chat.pcapng"));
  std::ostringstream os;
  os << options_help(capture_options());
  std::fputs(os.str().c_str(), f);
}

int cmd_capture(const std::vector<std::string>& args) {
  po::options_description d = capture_options();
  po::positional_options_description pos;
  po::variables_map vm;
  if (!parse("capture", args, d, pos, vm)) return kExitUsage;
  if (vm.count("help")) {
    print_capture_help(stdout);
    return kExitOk;
  }
  const char* hint = tr("See sockscope help capture");

  ViewKind kind = ViewKind::Human;
  ViewOptions vo;
  if (const int rc = view_from(vm, "capture", hint, kind, vo); rc != kExitOk) return rc;

  LiveSessionOptions so;
  std::string shown_filter;  // what the user asked for, in the "capturing on" line
  so.capture.interface = vm["interface"].as<std::string>();
  if (so.capture.interface.empty())
    return usage_error("capture", tr("-i needs an interface name, e.g. lo"), hint);
  if (vm.count("port") && vm.count("filter"))
    return usage_error("capture", tr("give --port or --filter, not both (a filter can say 'port P and ...')"), hint);
  if (vm.count("port")) {
    const unsigned port = vm["port"].as<unsigned>();
    if (port == 0 || port > 65535) return usage_error("capture", tr("a port is a number from 1 to 65535"), hint);
    // The port's TCP and UDP packets, and the ICMP destination-unreachable errors (ICMPv4 type 3,
    // RFC 792; ICMPv6 type 1, RFC 4443) that quote a datagram of this port: a UDP datagram sent to a
    // closed port is answered that way. The quoted ports are read at fixed offsets, which assumes a
    // quoted IPv4 header without options (20 bytes) and an IPv6 header without extensions.
    const std::string p = std::to_string(port);
    shown_filter = "port " + p;
    so.capture.filter = "port " + p + " or (icmp[icmptype] == icmp-unreach and (icmp[28:2] == " + p +
                        " or icmp[30:2] == " + p + ")) or (icmp6 and ip6[40] == 1 and (ip6[88:2] == " +
                        p + " or ip6[90:2] == " + p + "))";
  } else if (vm.count("filter")) {
    so.capture.filter = vm["filter"].as<std::string>();
    shown_filter = so.capture.filter;
  }
  if (vm.count("write")) {
    so.write_path = vm["write"].as<std::string>();
    if (so.write_path.empty() || so.write_path == "-")
      return usage_error("capture", tr("-w needs a file name, e.g. chat.pcapng"), hint);
  }
  if (vm.count("user")) so.user = vm["user"].as<std::string>();
  if (vm.count("count")) {
    so.max_packets = vm["count"].as<std::uint64_t>();
    if (so.max_packets == 0) return usage_error("capture", tr("--count takes a number above 0"), hint);
  }
  double duration = 0;
  if (vm.count("duration")) {
    duration = vm["duration"].as<double>();
    if (!(duration > 0) || duration > 31536000.0 || !std::isfinite(duration))
      return usage_error("capture", tr("--duration takes seconds above 0, e.g. 10 or 0.5"), hint);
  }

  if (!have_capture_privileges()) {
    std::fprintf(stderr, "sockscope capture: %s\n", privilege_hint(self_path()).c_str());
    return kExitFailed;
  }

  install_stop_handlers();
  LiveSessionResult r;
  {
    OutBuffer out(stdout);
    auto view = make_view(kind, out, vo);
    std::string error;
    auto session = LiveSession::open(so, *view, out, error);
    if (!session) {
      std::fprintf(stderr, "sockscope capture: %s\n", error.c_str());
      return kExitFailed;
    }
    if (!session->warning().empty()) std::fprintf(stderr, "sockscope capture: %s\n", session->warning().c_str());
    // Like tcpdump's "listening on": from here on, no matching packet is missed.
    if (shown_filter.empty())
      std::fprintf(stderr, tr("sockscope: capturing on %s. Ctrl-C to stop.\n"), printable(so.capture.interface).c_str());
    else
      std::fprintf(stderr, tr("sockscope: capturing on %1$s (filter: %2$s). Ctrl-C to stop.\n"),
                   printable(so.capture.interface).c_str(), printable(shown_filter).c_str());
    if (duration > 0) {
      itimerval it{};
      const double whole = std::floor(duration);
      it.it_value.tv_sec = static_cast<time_t>(whole);
      it.it_value.tv_usec = static_cast<suseconds_t>((duration - whole) * 1e6);
      if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0) it.it_value.tv_usec = 1;
      setitimer(ITIMER_REAL, &it, nullptr);
    }
    r = session->run(g_stop);
    session.reset();
    view.reset();
    out.flush();
  }

  const unsigned long long captured = r.packets, dropped = r.stats.dropped_kernel + r.stats.dropped_iface;
  if (!so.write_path.empty() && r.ok)
    std::fprintf(stderr, trn("%1$llu packet captured, %2$llu dropped by the kernel, %3$llu saved to %4$s\n",
                             "%1$llu packets captured, %2$llu dropped by the kernel, %3$llu saved to %4$s\n", captured), captured,
                 dropped, static_cast<unsigned long long>(r.written), printable(so.write_path).c_str());
  else
    std::fprintf(stderr, trn("%1$llu packet captured, %2$llu dropped by the kernel\n",
                             "%1$llu packets captured, %2$llu dropped by the kernel\n", captured), captured, dropped);
  if (!r.ok) {
    std::fprintf(stderr, "sockscope capture: %s\n", r.error.c_str());
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace sockscope::cli
