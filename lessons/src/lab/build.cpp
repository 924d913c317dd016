// The two-host lab (lab.hpp): two network namespaces joined by a veth pair, loss from nftables, delay
// from netem. Everything is done by running iproute2 (ip(8), tc(8)) and nftables (nft(8)) as child
// processes with fixed argument vectors: no shell ever sees a value, and the tool's own message on
// standard error goes into the one-line error the learner reads.
//
// Namespaces: ip-netns(8) keeps a named namespace alive by bind-mounting /proc/PID/ns/net on
// /run/netns/NAME; `ip netns del` unmounts it, and the kernel frees the namespace (and the veth end and
// nftables table inside it) once no process or open file refers to it any more (network_namespaces(7)).
// Deleting one end of a veth pair deletes the other (veth(4)).
#include "lab_internal.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>

#include "sockscope/text/format.hpp"
#include "sockscope/text/i18n.hpp"
#include "sockscope/text/json.hpp"

namespace sockscope::lab {

using namespace detail;

// The build, the reading back and the removal; what the watchdog also needs is in lab_internal.hpp.
namespace detail {

// Interface indexes of the two ends (any two different numbers above lo's 1 will do).
constexpr const char* kClientIndex = "2";
constexpr const char* kServerIndex = "3";

// ---------------------------------------------------------------------------------------------------
// Fields of what `ip -j` and `nft -j` print (text::json_parse), with a fallback when one is missing or
// of another type.

std::string string_at(const text::Json& j, const char* key) {
  const auto it = j.find(key);
  return j.is_object() && it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

double number_at(const text::Json& j, const char* key, double fallback) {
  const auto it = j.find(key);
  return j.is_object() && it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

// The member key of an object, or an empty array when there is none (so loops over it run zero times).
const text::Json& member(const text::Json& j, const char* key) {
  static const text::Json none = text::Json::array();
  if (!j.is_object()) return none;
  const auto it = j.find(key);
  return it != j.end() ? *it : none;
}

// ---------------------------------------------------------------------------------------------------
// Reading the lab back

// One host, from `ip -j addr show dev IF` in its namespace: MAC, MTU, up, the global addresses.
bool read_host(const std::string& ip, const char* ns, const char* ifname, HostInfo& h) {
  h.ns = ns;
  h.interface = ifname;
  const Output o = run({ip, "-j", "addr", "show", "dev", ifname}, ns);
  if (!o.ok()) return false;
  const std::optional<text::Json> root = text::json_parse(o.out);
  if (!root || !root->is_array() || root->empty()) return false;
  const text::Json& link = root->front();
  if (string_at(link, "ifname") != ifname) return false;
  h.mac = string_at(link, "address");
  h.mtu = static_cast<int>(number_at(link, "mtu", 0));
  for (const text::Json& f : member(link, "flags"))
    if (f == "UP") h.up = true;
  for (const text::Json& a : member(link, "addr_info")) {
    if (string_at(a, "scope") != "global") continue;
    const std::string local = string_at(a, "local");
    const int prefix = static_cast<int>(number_at(a, "prefixlen", 0));
    const std::string with_prefix = local + "/" + std::to_string(prefix);
    if (string_at(a, "family") == "inet" && h.ipv4.empty()) h.ipv4 = with_prefix;
    if (string_at(a, "family") == "inet6" && h.ipv6.empty()) h.ipv6 = with_prefix;
  }
  return true;
}

struct RuleFacts {
  bool table = false;
  int loss_pct = 0, drop_syn = 0;
  std::uint64_t dropped = 0;
};

// The loss rules, from `nft -j list table inet sockscope` (libnftables-json(5)): each rule is an
// array of expressions; ours hold a numgen match (random: loss, inc: first N SYNs) and a counter.
RuleFacts read_rules() {
  RuleFacts f;
  const std::string nft = find_tool("nft");
  if (nft.empty()) return f;
  const Output o = run({nft, "-j", "list", "table", "inet", kNftTable}, kServerNs);
  if (!o.ok()) return f;
  const std::optional<text::Json> root = text::json_parse(o.out);
  if (!root) return f;
  for (const text::Json& item : member(*root, "nftables")) {
    if (item.is_object() && item.contains("table")) f.table = true;
    const text::Json& expr = member(member(item, "rule"), "expr");
    std::string mode;
    int limit = 0;
    std::uint64_t packets = 0;
    bool counter = false;
    for (const text::Json& e : expr) {
      const text::Json& match = member(e, "match");
      const text::Json& ng = member(member(match, "left"), "numgen");
      if (ng.is_object()) {
        mode = string_at(ng, "mode");
        limit = static_cast<int>(number_at(match, "right", 0));
      }
      if (e.is_object() && e.contains("counter")) {
        counter = true;
        packets = static_cast<std::uint64_t>(number_at(e["counter"], "packets", 0));
      }
    }
    if (!counter) continue;
    if (mode == "random") f.loss_pct = limit;
    else if (mode == "inc") f.drop_syn = limit;
    else f.loss_pct = 100;  // the rule without a draw drops every packet
    f.dropped += packets;
  }
  return f;
}

// The one-way delay of a netem qdisc on IF, from `tc qdisc show dev IF` ("... netem ... delay 10ms").
int read_delay_ms(const char* ns, const char* ifname) {
  const std::string tc = find_tool("tc");
  if (tc.empty()) return 0;
  const Output o = run({tc, "qdisc", "show", "dev", ifname}, ns);
  if (!o.ok() || o.out.find("netem") == std::string::npos) return 0;
  const std::size_t at = o.out.find(" delay ");
  if (at == std::string::npos) return 0;
  char* end = nullptr;
  const double v = std::strtod(o.out.c_str() + at + 7, &end);
  const std::string unit(end, std::min<std::size_t>(2, std::strlen(end)));
  const double ms = unit == "us" ? v / 1000 : unit == "ms" ? v : unit.size() && unit[0] == 's' ? v * 1000 : v;
  return static_cast<int>(ms + 0.5);
}

// What exists of the lab, seen without privileges where possible (a guard may check after the
// process dropped root): the namespaces' mount points, stray veth ends here, and (root) what is
// inside the namespaces.
std::vector<std::string> find_leftovers(bool& client_if, bool& server_if, bool& table) {
  std::vector<std::string> left;
  client_if = server_if = table = false;
  const bool root = geteuid() == 0;
  const std::string ip = find_tool("ip");
  for (const char* ns : {kClientNs, kServerNs})
    if (netns_exists(ns)) left.push_back(text::format(tr("namespace %s"), ns));
  if (root && !ip.empty()) {
    if (netns_exists(kClientNs) && run({ip, "link", "show", "dev", kClientIf}, kClientNs).ok()) {
      client_if = true;
      left.push_back(text::format(tr("interface %1$s in %2$s"), kClientIf, kClientNs));
    }
    if (netns_exists(kServerNs) && run({ip, "link", "show", "dev", kServerIf}, kServerNs).ok()) {
      server_if = true;
      left.push_back(text::format(tr("interface %1$s in %2$s"), kServerIf, kServerNs));
    }
  }
  if (root && netns_exists(kServerNs)) {
    const std::string nft = find_tool("nft");
    if (!nft.empty() && run({nft, "list", "table", "inet", kNftTable}, kServerNs).ok()) {
      table = true;
      left.push_back(text::format(tr("nftables table inet %1$s in %2$s"), kNftTable, kServerNs));
    }
  }
  for (const char* ifname : {kClientIf, kServerIf})
    if (iface_here(ifname)) left.push_back(text::format(tr("interface %s in the root namespace"), ifname));
  return left;
}

std::vector<std::string> find_leftovers() {
  bool a = false, b = false, c = false;
  return find_leftovers(a, b, c);
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

const char* not_root_message() {
  return tr("the lab builds network namespaces, which needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN): run it with sudo");
}

bool check_options(const LabOptions& o, std::string& error) {
  if (o.mtu < 68 || o.mtu > 65535)
    error = text::format(tr("the MTU must be 68 to 65535 bytes, not %d"), o.mtu);
  else if (o.loss_pct < 0 || o.loss_pct > 100)
    error = text::format(tr("the loss must be 0 to 100 percent, not %d"), o.loss_pct);
  else if (o.drop_syn < 0 || o.drop_syn > 1000000)
    error = text::format(tr("the number of SYNs to drop must be 0 to 1000000, not %d"), o.drop_syn);
  else if (o.delay_ms < 0 || o.delay_ms > 60000)
    error = text::format(tr("the delay must be 0 to 60000 ms, not %d"), o.delay_ms);
  else
    return true;
  return false;
}

// The loss rules in nft's own syntax (nft(8)), loaded with `nft -f -`. One table in the server's
// namespace; the chain hooks prerouting at priority -300 (raw, before connection tracking), so a
// packet is dropped on arrival at the server: it has left the client (a capture there shows it go)
// and the server's stack never sees it. Only what the client sends is dropped (iifname is the
// server's end of the cable), so the server's replies all arrive.
std::string ruleset(const LabOptions& o) {
  std::string r = text::format("table inet %s {\n  chain loss {\n    type filter hook prerouting priority -300; policy accept;\n",
                         kNftTable);
  // numgen random mod 100 draws 0..99 for each packet; below PCT drops it. 100 % needs no draw (and
  // nft refuses "< 100" there, a value outside the numgen's range).
  if (o.loss_pct >= 100)
    r += text::format("    iifname \"%s\" meta l4proto { tcp, udp } counter drop\n", kServerIf);
  else if (o.loss_pct > 0)
    r += text::format("    iifname \"%s\" meta l4proto { tcp, udp } numgen random mod 100 < %d counter drop\n", kServerIf,
                o.loss_pct);
  // A SYN without ACK opens a connection (RFC 9293 section 3.5). numgen inc counts only the packets
  // that reached it (the SYNs), so the first N are dropped and the rest pass.
  if (o.drop_syn > 0)
    r += text::format("    iifname \"%s\" tcp flags & (syn|ack) == syn numgen inc mod 1000000000 < %d counter drop\n",
                kServerIf, o.drop_syn);
  r += "  }\n}\n";
  return r;
}

// The solicited-node multicast address of an IPv6 address (RFC 4291 section 2.7.1): ff02::1:ffXX:XXXX
// with its last 24 bits. Neighbour solicitations for the address are sent there.
std::string solicited_node(const char* addr) {
  in6_addr a{};
  if (inet_pton(AF_INET6, addr, &a) != 1) return {};
  in6_addr m{};
  m.s6_addr[0] = 0xff;
  m.s6_addr[1] = 0x02;
  m.s6_addr[11] = 0x01;
  m.s6_addr[12] = 0xff;
  m.s6_addr[13] = a.s6_addr[13];
  m.s6_addr[14] = a.s6_addr[14];
  m.s6_addr[15] = a.s6_addr[15];
  char text[INET6_ADDRSTRLEN] = "";
  inet_ntop(AF_INET6, &m, text, sizeof text);
  return text;
}

// Waits (at most 3 s) until both ends are operationally up and IPv6 (if the MTU allows it) listens
// on each address's solicited-node group: from then on the first packet of a lesson crosses at once,
// with no neighbour solicitation left unanswered.
bool wait_ready(const std::string& ip, bool ipv6, std::string& error) {
  struct Side {
    const char *ns, *ifname, *v6;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  std::string missing;
  while (true) {
    missing.clear();
    for (const Side& s : {Side{kClientNs, kClientIf, kClientIPv6}, Side{kServerNs, kServerIf, kServerIPv6}}) {
      const Output link = run({ip, "-j", "link", "show", "dev", s.ifname}, s.ns);
      const std::optional<text::Json> links = text::json_parse(link.out);
      if (!links || !links->is_array() || links->empty() || string_at(links->front(), "operstate") != "UP") {
        missing = text::format(tr("%s is not up yet"), s.ifname);
        break;
      }
      if (!ipv6) continue;
      const Output groups = run({ip, "-6", "maddr", "show", "dev", s.ifname}, s.ns);
      if (groups.out.find(" " + solicited_node(s.v6) + "\n") == std::string::npos) {
        missing = text::format(tr("%1$s has not joined the group of %2$s yet"), s.ifname, s.v6);
        break;
      }
    }
    if (missing.empty()) return true;
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  error = text::format(tr("the cable between the hosts did not come up within 3 s (%1$s); try again, or see ip -n %2$s link"),
                 missing.c_str(), kClientNs);
  return false;
}

bool build(const LabOptions& o, std::string& error) {
  const std::string ip = find_tool("ip");
  if (ip.empty()) {
    error = tr("the ip command (iproute2) is not installed: install the iproute2 package");
    return false;
  }
  const std::string ethtool = find_tool("ethtool"), sysctl = find_tool("sysctl");
  if (ethtool.empty()) {
    error = tr("the ethtool command is not installed: install the ethtool package (the lab turns the cards' offloads off with it)");
    return false;
  }
  if (sysctl.empty() && !o.sack) {
    error = tr("the sysctl command is not installed: install the procps package");
    return false;
  }
  if (!step({ip, "netns", "add", kClientNs}, error)) return false;
  if (!step({ip, "netns", "add", kServerNs}, error)) return false;
  // Each end is created directly inside its namespace (ip-link(8): netns), so none ever appears in
  // the root namespace. The two ends get different interface indexes: left alone, both would be 2
  // (the first after lo in a fresh namespace), and the kernel's link watcher then takes the carrier
  // change for a non-urgent event, handled up to a second later (net/core/link_watch.c: an interface
  // whose index equals its peer's); until then IPv6 has not joined the solicited-node group and the
  // first neighbour solicitation goes unanswered.
  if (!step({ip, "link", "add", kClientIf, "index", kClientIndex, "netns", kClientNs, "type", "veth", "peer", "name",
             kServerIf, "index", kServerIndex, "netns", kServerNs},
            error))
    return false;
  const std::string mtu = std::to_string(o.mtu);
  struct Side {
    const char *ns, *ifname, *v4, *v6;
  };
  for (const Side& s : {Side{kClientNs, kClientIf, kClientIPv4, kClientIPv6}, Side{kServerNs, kServerIf, kServerIPv4, kServerIPv6}}) {
    if (!step({ip, "-n", s.ns, "link", "set", "dev", "lo", "up"}, error)) return false;
    if (!step({ip, "-n", s.ns, "link", "set", "dev", s.ifname, "mtu", mtu}, error)) return false;
    if (!step({ip, "-n", s.ns, "addr", "add", std::string(s.v4) + "/24", "dev", s.ifname}, error)) return false;
    // nodad: the address is usable at once, not "tentative" for the second of duplicate address
    // detection (RFC 4862 section 5.4); nothing else is on this cable. Below IPv6's minimum MTU the
    // link has no IPv6 (lab.hpp): no address to add.
    if (has_ipv6(o.mtu) &&
        !step({ip, "-n", s.ns, "addr", "add", std::string(s.v6) + "/64", "dev", s.ifname, "nodad"}, error))
      return false;
    if (!step({ip, "-n", s.ns, "link", "set", "dev", s.ifname, "up"}, error)) return false;
    // A real network card puts on the wire frames of at most the MTU. A veth does not: it hands the
    // peer whole 64 KiB TCP "segments" (TSO/GSO) and leaves checksums unfilled, and a capture would
    // show both. Off, the capture shows what a cable between two computers would carry.
    if (!step({ethtool, "-K", s.ifname, "tso", "off", "gso", "off", "gro", "off", "tx", "off"}, error, s.ns))
      return false;
  }
  if (!o.sack) {
    // Per namespace (net.ipv4 sysctls belong to the network namespace): only the client host.
    if (!step({sysctl, "-qw", "net.ipv4.tcp_sack=0"}, error, kClientNs)) return false;
  }
  if (o.loss_pct > 0 || o.drop_syn > 0) {
    const std::string nft = find_tool("nft");
    if (nft.empty()) {
      error = tr("the nft command (nftables) is not installed: install the nftables package, or build the lab without --loss and --drop-syn");
      return false;
    }
    if (!step({nft, "-f", "-"}, error, kServerNs, ruleset(o))) return false;
  }
  if (!wait_ready(ip, has_ipv6(o.mtu), error)) return false;
  if (o.delay_ms > 0) {
    const std::string tc = find_tool("tc");
    const std::string delay = std::to_string(o.delay_ms) + "ms";
    if (!step({tc, "qdisc", "add", "dev", kClientIf, "root", "netem", "delay", delay}, error, kClientNs)) return false;
    if (!step({tc, "qdisc", "add", "dev", kServerIf, "root", "netem", "delay", delay}, error, kServerNs)) return false;
  }
  return true;
}

std::mutex g_netem_mutex;
int g_netem = -1;  // -1 not tried yet, 0 no, 1 yes

constexpr int kLockWaitMs = 10000;        // lab up / lab down: a running lesson is not stopped for them

bool down_unlocked(std::string& error) {
  error.clear();
  std::vector<std::string> left = find_leftovers();
  if (left.empty()) return true;
  if (geteuid() != 0) {
    error = text::format("%s (%s: %s)", not_root_message(), tr("left over"), join(left).c_str());
    return false;
  }
  const std::string ip = find_tool("ip");
  if (ip.empty()) {
    error = tr("the ip command (iproute2) is not installed: install the iproute2 package");
    return false;
  }
  std::string first_error;
  for (const char* ns : {kClientNs, kServerNs}) {
    std::string e;
    if (netns_exists(ns) && !step({ip, "netns", "del", ns}, e) && first_error.empty()) first_error = e;
  }
  // A veth end in the root namespace (an interrupted build of another kind): deleting one end
  // deletes its peer.
  for (const char* ifname : {kClientIf, kServerIf}) {
    std::string e;
    if (iface_here(ifname) && !step({ip, "link", "del", "dev", ifname}, e) && first_error.empty()) first_error = e;
  }
  left = find_leftovers();
  if (left.empty()) return true;
  error = text::format("%s: %s%s%s", tr("could not remove all of the lab"), join(left).c_str(),
                 first_error.empty() ? "" : "; ", first_error.c_str());
  return false;
}

bool may_build(const LabOptions& opts, std::string& error) {
  if (!check_options(opts, error)) return false;
  if (geteuid() == 0) return true;
  error = not_root_message();
  return false;
}

UpResult up_unlocked(const LabOptions& opts, std::string& error) {
  error.clear();
  if (!may_build(opts, error)) return UpResult::Failed;
  if (!down_unlocked(error)) {
    error = std::string(tr("an earlier lab could not be removed: ")) + error;
    return UpResult::Failed;
  }
  if (opts.delay_ms > 0 && !have_netem()) {
    error = tr("delay needs the kernel's netem queueing discipline (sch_netem), and this kernel has none "
               "(try: sudo modprobe sch_netem). Nothing was built; loss and MTU work without it");
    return UpResult::NoNetem;
  }
  if (build(opts, error)) return UpResult::Ok;
  std::string ignored;
  down_unlocked(ignored);
  return UpResult::Failed;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------------

UpResult up(const LabOptions& opts, std::string& error) {
  error.clear();
  if (!may_build(opts, error)) return UpResult::Failed;
  const int lock = lock_lab(kLockWaitMs, error);
  if (lock < 0) return UpResult::Failed;
  const UpResult r = up_unlocked(opts, error);
  close(lock);
  return r;
}

bool down(std::string& error) {
  error.clear();
  if (find_leftovers().empty()) return true;
  if (geteuid() != 0) return down_unlocked(error);  // says what is left and to use sudo
  const int lock = lock_lab(kLockWaitMs, error);
  if (lock < 0) return false;
  const bool ok = down_unlocked(error);
  close(lock);
  return ok;
}

LabStatus status() {
  LabStatus s;
  bool client_if = false, server_if = false, table = false;
  s.leftovers = find_leftovers(client_if, server_if, table);
  const bool client_ns = netns_exists(kClientNs), server_ns = netns_exists(kServerNs);
  s.exists = client_ns && server_ns;
  // Without root only the namespaces can be seen, not what is inside them.
  const bool complete = s.exists && (geteuid() != 0 || (client_if && server_if));
  s.partial = !s.leftovers.empty() && !complete;
  s.client.ns = kClientNs;
  s.client.interface = kClientIf;
  s.server.ns = kServerNs;
  s.server.interface = kServerIf;
  s.options = LabOptions{};
  s.options.mtu = 0;
  const std::string ip = find_tool("ip");
  if (client_if && !ip.empty()) read_host(ip, kClientNs, kClientIf, s.client);
  if (server_if && !ip.empty()) read_host(ip, kServerNs, kServerIf, s.server);
  s.options.mtu = s.client.mtu ? s.client.mtu : s.server.mtu;
  if (table) {
    const RuleFacts f = read_rules();
    s.options.loss_pct = f.loss_pct;
    s.options.drop_syn = f.drop_syn;
    s.dropped_packets = f.dropped;
  }
  if (client_if) s.options.delay_ms = read_delay_ms(kClientNs, kClientIf);
  return s;
}

bool have_netem() {
  std::lock_guard<std::mutex> lock(g_netem_mutex);
  if (g_netem >= 0) return g_netem == 1;
  const std::string ip = find_tool("ip"), tc = find_tool("tc");
  if (ip.empty() || tc.empty() || geteuid() != 0) return false;  // not known: tried again next time
  // A scratch namespace of our own (the pid keeps two processes apart), a veth pair inside it, and a
  // netem qdisc on one end: the only sure test, since sch_netem may be built in, a module, or absent.
  const std::string ns = "sockscope-probe-" + std::to_string(getpid());
  std::string error;
  if (!step({ip, "netns", "add", ns}, error)) return false;
  bool yes = false;
  if (step({ip, "-n", ns, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1"}, error)) {
    const Output o = run({tc, "qdisc", "add", "dev", "probe0", "root", "netem", "delay", "1ms"}, ns.c_str());
    yes = o.ok();
    g_netem = yes ? 1 : 0;
  }
  step({ip, "netns", "del", ns}, error);
  return yes;
}

bool enter(const char* ns, std::string& error) {
  error.clear();
  if (ns == nullptr || ns[0] == '\0' || std::strchr(ns, '/') != nullptr || std::strcmp(ns, ".") == 0 ||
      std::strcmp(ns, "..") == 0) {
    error = text::format(tr("'%s' is not a network namespace name"), ns ? ns : "");
    return false;
  }
  const std::string path = std::string("/run/netns/") + ns;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    error = e == ENOENT ? text::format(tr("there is no network namespace %s: is the lab up? (sudo sockscope lab up)"), ns)
                        : text::format("%s: %s", path.c_str(), std::strerror(e));
    return false;
  }
  // setns(2) on a thread of a multithreaded process moves that thread only (CLONE_NEWNET is allowed
  // there, unlike CLONE_NEWUSER).
  const int rc = setns(fd, CLONE_NEWNET);
  const int e = errno;
  close(fd);
  if (rc != 0) {
    error = text::format(tr("cannot enter the network namespace %1$s: %2$s (needs root)"), ns, std::strerror(e));
    return false;
  }
  return true;
}

}  // namespace sockscope::lab
