// sockscope lab: builds, shows and removes the two-host lab (lessons/include/sockscope/lab.hpp). A lab
// built here stays up until `sockscope lab down`, so a learner can run their own commands in it;
// lessons and `sockscope compare --lab` build and remove their own.
#include "cmd_lab.hpp"

#include <unistd.h>

#include <initializer_list>
#include <sstream>
#include <string_view>

#include "sockscope/text/escape.hpp"
#include "sockscope/text/format.hpp"
#include "sockscope/text/json.hpp"
#include "sockscope/lessons/lab.hpp"

namespace sockscope::cli {
namespace {

po::options_description up_options() {
  po::options_description d(tr("Options of sockscope lab up"), 100, 50);
  d.add_options()
      ("mtu", po::value<int>()->value_name("N")->default_value(1500),
       tr("the link's MTU in bytes, on both ends (68 to 65535): the largest IP packet that crosses it whole; below 1280 the hosts have no IPv6"))
      ("loss", po::value<int>()->value_name("PCT")->default_value(0),
       tr("drop this share (0 to 100 percent) of the client's TCP and UDP packets at random, on arrival at the server"))
      ("drop-syn", po::value<int>()->value_name("N")->default_value(0),
       tr("drop the client's first N SYNs (connection attempts); later ones pass"))
      ("delay", po::value<int>()->value_name("MS")->default_value(0),
       tr("one-way delay in milliseconds on both ends (needs the kernel's sch_netem)"))
      ("no-sack", tr("the client host does not offer SACK: TCP then recovers from a loss the textbook way (three duplicate ACKs, fast retransmission)"))
      ("json", tr("one JSON object describing the lab"))
      ("help,h", tr("show this help"));
  return d;
}

po::options_description status_options() {
  po::options_description d(tr("Options of sockscope lab status"), 100, 50);
  d.add_options()
      ("json", tr("one JSON object describing the lab"))
      ("help,h", tr("show this help"));
  return d;
}

text::Json json_host(const lab::HostInfo& h) {
  return {{"namespace", h.ns}, {"interface", h.interface}, {"mac", h.mac}, {"ipv4", h.ipv4},
          {"ipv6", h.ipv6},    {"mtu", h.mtu},             {"up", h.up}};
}

// One object: {"type":"lab","up":...,"partial":...,"client":{...},"server":{...},"mtu":...,
// "loss_pct":...,"drop_syn":...,"delay_ms":...,"dropped_packets":...,"leftovers":[...]}.
void print_json(const lab::LabStatus& s) {
  const text::Json j{{"type", "lab"},
                     {"up", s.exists && !s.partial},
                     {"partial", s.partial},
                     {"client", json_host(s.client)},
                     {"server", json_host(s.server)},
                     {"mtu", s.options.mtu},
                     {"loss_pct", s.options.loss_pct},
                     {"drop_syn", s.options.drop_syn},
                     {"delay_ms", s.options.delay_ms},
                     {"dropped_packets", s.dropped_packets},
                     {"leftovers", s.leftovers}};
  std::fputs((text::json_dump(j) + "\n").c_str(), stdout);
}

std::string or_unknown(const std::string& s) { return s.empty() ? std::string("?") : printable(s); }

// The label column of lab status ("client host", "the cable", "loss" ...): as wide as the widest
// label in the language of messages (at least 12 columns), padded by terminal columns.
struct LabelColumn {
  std::size_t width;
  explicit LabelColumn(std::initializer_list<std::string_view> labels) : width(text::column_width(labels, 12)) {}
  std::string operator()(const char* label) const { return text::pad_right(label, width); }
  std::string blank() const { return std::string(width, ' '); }
};

void print_host(const LabelColumn& col, const char* role, const lab::HostInfo& h, bool ipv6) {
  std::printf(tr("  %1$s namespace %2$s, interface %3$s\n"), col(role).c_str(), printable(h.ns).c_str(),
              printable(h.interface).c_str());
  const std::string v6 = ipv6 || !h.ipv6.empty() ? or_unknown(h.ipv6) : std::string(tr("none"));
  std::printf(tr("  %1$s MAC %2$s, IPv4 %3$s, IPv6 %4$s%5$s\n"), col.blank().c_str(), or_unknown(h.mac).c_str(),
              or_unknown(h.ipv4).c_str(), v6.c_str(), h.up ? "" : tr(" (interface down)"));
}

// The two hosts and the cable between them (the names and addresses are fixed: lab.hpp); the
// headings and the cable's name are padded by terminal columns, so they stay over their hosts.
void print_picture(bool ipv6) {
  constexpr std::size_t kHostColumn = 37, kCableWidth = 24;
  std::printf("    %s%s\n", text::pad_right(tr("client host"), kHostColumn).c_str(), tr("server host"));
  std::printf("    %s%s\n", text::pad_right(lab::kClientNs, kHostColumn).c_str(), lab::kServerNs);
  // Below IPv6's minimum MTU the hosts have IPv4 only (lab.hpp): no IPv6 address is shown.
  std::printf("    %-10s %-26s%-10s %s\n", lab::kClientIPv4, ipv6 ? lab::kClientIPv6 : "", lab::kServerIPv4,
              ipv6 ? lab::kServerIPv6 : "");
  // TRANSLATORS: the name written on the cable in the picture of the lab, between two veth interfaces.
  const std::string name = std::string(" ") + tr("the cable") + " ";
  const std::size_t w = text::display_width(name), fill = w < kCableWidth ? kCableWidth - w : 2;
  std::printf("    [%s]%s%s%s[%s]\n\n", lab::kClientIf, std::string((fill + 1) / 2, '=').c_str(), name.c_str(),
              std::string(fill / 2, '=').c_str(), lab::kServerIf);
}

void print_human(const lab::LabStatus& s, bool just_built) {
  if (!s.exists && !s.partial) {
    std::printf("%s\n", tr("No lab is up. Build one with: sudo sockscope lab up"));
    std::printf("%s\n", tr("(Lessons that need two hosts build their own lab and remove it when they end.)"));
    return;
  }
  if (s.partial) {
    std::printf("%s\n", tr("Part of a lab is left over (an interrupted run, or a lab removed by hand):"));
    for (const auto& l : s.leftovers) std::printf("  %s\n", printable(l).c_str());
    std::printf("%s\n", tr("Remove it with: sudo sockscope lab down"));
    return;
  }
  std::printf("%s\n\n", just_built ? tr("The lab is up: two hosts joined by one cable.")
                                   : tr("A lab is up: two hosts joined by one cable."));
  const bool ipv6 = lab::has_ipv6(s.options.mtu);
  print_picture(ipv6);
  if (geteuid() != 0) {
    std::printf("%s\n", tr("(Run as root to see the addresses, MACs and rule counters: sudo sockscope lab status)"));
    return;
  }
  const LabelColumn col{tr("client host"), tr("server host"), tr("the cable"), "IPv6",       tr("loss"),
                        tr("lost SYNs"),   tr("delay"),       tr("dropped")};
  print_host(col, tr("client host"), s.client, ipv6);
  print_host(col, tr("server host"), s.server, ipv6);
  std::printf(tr("  %1$s a veth pair, MTU %2$d bytes on both ends (the largest IP packet that crosses it whole)\n"),
              col(tr("the cable")).c_str(), s.options.mtu);
  if (!ipv6)
    std::printf(tr("  %1$s none: IPv6 needs an MTU of at least %2$d bytes (RFC 8200), and Linux removes IPv6 from a "
                   "link with a smaller one\n"),
                col("IPv6").c_str(), lab::kIPv6MinMtu);
  if (s.options.loss_pct >= 100)
    std::printf(tr("  %1$s every TCP and UDP packet of the client is dropped where it reaches the server\n"
                   "  %2$s (an nftables rule in %3$s): a capture at the client still sees them leave\n"),
                col(tr("loss")).c_str(), col.blank().c_str(), lab::kServerNs);
  else if (s.options.loss_pct > 0)
    std::printf(tr("  %1$s %2$d%% of the client's TCP and UDP packets are dropped at random where they reach the "
                   "server\n  %3$s (an nftables rule in %4$s): a capture at the client still sees them leave\n"),
                col(tr("loss")).c_str(), s.options.loss_pct, col.blank().c_str(), lab::kServerNs);
  else
    std::printf(tr("  %1$s none\n"), col(tr("loss")).c_str());
  if (s.options.drop_syn > 0)
    std::printf(trn("  %1$s the client's first SYN (connection attempt) is dropped; later ones pass\n",
                    "  %1$s the client's first %2$d SYNs (connection attempts) are dropped; later ones pass\n",
                    static_cast<unsigned long>(s.options.drop_syn)),
                col(tr("lost SYNs")).c_str(), s.options.drop_syn);
  if (s.options.delay_ms > 0) std::printf(tr("  %1$s %2$d ms each way\n"), col(tr("delay")).c_str(), s.options.delay_ms);
  if (s.options.loss_pct > 0 || s.options.drop_syn > 0)
    std::printf(trn("  %1$s %2$llu packet so far\n", "  %1$s %2$llu packets so far\n", s.dropped_packets),
                col(tr("dropped")).c_str(), static_cast<unsigned long long>(s.dropped_packets));
  std::printf("\n");
  // Two commands under each other, after labels padded to the wider one.
  const char* run_label = tr("Run a command inside a host:");
  const char* watch_label = tr("Watch the cable:");
  const std::size_t w = std::max(text::display_width(run_label), text::display_width(watch_label)) + 2;
  std::printf("%ssudo ip netns exec %s ping -c 1 %s\n", text::pad_right(run_label, w).c_str(), lab::kClientNs,
              lab::kServerIPv4);
  std::printf("%ssudo ip netns exec %s sockscope capture -i %s\n", text::pad_right(watch_label, w).c_str(),
              lab::kClientNs, lab::kClientIf);
  std::printf("%s\n", tr("The lab stays up until: sudo sockscope lab down (lessons build and remove their own lab)."));
}

int cmd_up(const std::vector<std::string>& args) {
  const char* hint = tr("See sockscope help lab");
  po::options_description d = up_options();
  po::positional_options_description pos;
  po::variables_map vm;
  if (!parse("lab up", args, d, pos, vm)) return kExitUsage;
  if (vm.count("help")) {
    print_lab_help(stdout);
    return kExitOk;
  }
  lab::LabOptions o;
  o.mtu = vm["mtu"].as<int>();
  o.loss_pct = vm["loss"].as<int>();
  o.drop_syn = vm["drop-syn"].as<int>();
  o.delay_ms = vm["delay"].as<int>();
  o.sack = !vm.count("no-sack");
  if (o.mtu < 68 || o.mtu > 65535)
    return usage_error("lab up", text::format(tr("--mtu takes 68 to 65535 bytes, not %1$d"), o.mtu), hint);
  if (o.loss_pct < 0 || o.loss_pct > 100)
    return usage_error("lab up", text::format(tr("--loss takes a percentage from 0 to 100, not %1$s"), std::to_string(o.loss_pct)), hint);
  if (o.drop_syn < 0 || o.drop_syn > 1000000)
    return usage_error("lab up", text::format(tr("--drop-syn takes a number of SYNs from 0 to 1000000, not %1$s"), std::to_string(o.drop_syn)), hint);
  if (o.delay_ms < 0 || o.delay_ms > 60000)
    return usage_error("lab up", text::format(tr("--delay takes 0 to 60000 milliseconds, not %1$s"), std::to_string(o.delay_ms)), hint);
  if (geteuid() != 0) {
    std::fprintf(stderr, "sockscope lab up: %s\n",
                 tr("the lab builds network namespaces, which needs root: run it with sudo, e.g. sudo sockscope lab up"));
    return kExitFailed;
  }
  std::string error;
  const lab::UpResult r = lab::up(o, error);
  if (r != lab::UpResult::Ok) {
    std::fprintf(stderr, "sockscope lab up: %s\n", printable(error).c_str());
    return kExitFailed;
  }
  const lab::LabStatus s = lab::status();
  if (vm.count("json"))
    print_json(s);
  else
    print_human(s, true);
  return kExitOk;
}

int cmd_down(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    print_lab_help(stdout);
    return kExitOk;
  }
  if (!args.empty()) return usage_error("lab down", tr("takes no arguments"), tr("See sockscope help lab"));
  const bool had_some = !lab::status().leftovers.empty();
  std::string error;
  if (!lab::down(error)) {
    std::fprintf(stderr, "sockscope lab down: %s\n", printable(error).c_str());
    return kExitFailed;
  }
  std::printf("%s\n", had_some ? tr("The lab is removed: both hosts, their cable and the loss rules are gone.")
                               : tr("There was no lab to remove: nothing of it is left."));
  return kExitOk;
}

int cmd_status(const std::vector<std::string>& args) {
  po::options_description d = status_options();
  po::positional_options_description pos;
  po::variables_map vm;
  if (!parse("lab status", args, d, pos, vm)) return kExitUsage;
  if (vm.count("help")) {
    print_lab_help(stdout);
    return kExitOk;
  }
  const lab::LabStatus s = lab::status();
  if (vm.count("json"))
    print_json(s);
  else
    print_human(s, false);
  return kExitOk;
}

}  // namespace

void print_lab_help(std::FILE* out) {
  HelpWriter f(out);
  std::fprintf(f, "%s\n\n", tr("sockscope lab: two hosts on this machine, joined by one cable. Each host is a network "
                               "namespace with its own interface, MAC, IPv4 and IPv6 address; the cable is a veth pair."));
  std::fprintf(f, "  sockscope lab up [OPTIONS]     %s\n", tr("build the lab (removing any earlier one); it stays up"));
  std::fprintf(f, "  sockscope lab status [--json]  %s\n", tr("what is up now: hosts, addresses, MACs, MTU, loss, drops"));
  std::fprintf(f, "  sockscope lab down             %s\n\n", tr("remove it (safe to run again: nothing left is fine)"));
  std::fprintf(f, "%s\n", tr("Loss is an nftables rule on the server's end of the cable: a dropped packet has left the "
                             "client (a capture there sees it go) and never reaches the server."));
  std::fprintf(f, "%s\n", tr("Delay needs the kernel's sch_netem; where it is missing, lab up says so and builds nothing."));
  std::fprintf(f, "%s\n", tr("Needs root: run with sudo. Lessons build and remove their own lab. More: docs/lab.md."));
  std::fprintf(f, "%s\n\n", tr("Exit status: 0 done, 1 the lab could not be built or removed (or no root), 2 bad usage."));
  std::fprintf(f, "%s\n\n", tr("Example: sudo sockscope lab up --loss 20, then sudo ip netns exec sockscope-client ping 10.77.0.2"));
  std::ostringstream os;
  os << options_help(up_options());
  std::fputs(os.str().c_str(), f);
}

int cmd_lab(const std::vector<std::string>& args) {
  const char* hint = tr("See sockscope help lab");
  if (args.empty()) return usage_error("lab", tr("say what to do: lab up, lab down or lab status"), hint);
  const std::string sub = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "--help" || sub == "-h" || sub == "help") {
    print_lab_help(stdout);
    return kExitOk;
  }
  if (sub == "up") return cmd_up(rest);
  if (sub == "down") return cmd_down(rest);
  if (sub == "status") return cmd_status(rest);
  return usage_error("lab", text::format(tr("there is no subcommand '%1$s': it is up, down or status"), sub), hint);
}

}  // namespace sockscope::cli
