#include "sockscope/text/format.hpp"
// The two-host lab (lab.hpp): two network namespaces joined by a veth pair, loss from nftables, delay
// from netem. Everything is done by running iproute2 (ip(8), tc(8)) and nftables (nft(8)) as child
// processes with fixed argument vectors: no shell ever sees a value, and the tool's own message on
// standard error goes into the one-line error the learner reads.
//
// Namespaces: ip-netns(8) keeps a named namespace alive by bind-mounting /proc/PID/ns/net on
// /run/netns/NAME; `ip netns del` unmounts it, and the kernel frees the namespace (and the veth end and
// nftables table inside it) once no process or open file refers to it any more (network_namespaces(7)).
// Deleting one end of a veth pair deletes the other (veth(4)).
#include "sockscope/lessons/lab.hpp"

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

#include "sockscope/text/i18n.hpp"
#include "sockscope/text/json.hpp"

namespace sockscope::lab {
namespace {

// ---------------------------------------------------------------------------------------------------
// Small helpers

// The first non-empty line of a tool's message, without trailing blanks (one-line errors).
std::string first_line(const std::string& s) {
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    std::string line = s.substr(start, end - start);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t')) line.pop_back();
    if (!line.empty()) return line;
    start = end + 1;
  }
  return {};
}

// Interface indexes of the two ends (any two different numbers above lo's 1 will do).
constexpr const char* kClientIndex = "2";
constexpr const char* kServerIndex = "3";

// The tools are looked up in fixed places, not in PATH: this code runs as root.
std::string find_tool(const char* name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    std::string p = std::string(dir) + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

bool netns_exists(const char* ns) {
  struct stat st {};
  return stat((std::string("/run/netns/") + ns).c_str(), &st) == 0;
}

// An interface of this name in the calling thread's network namespace (if_nametoindex asks through a
// socket, and a socket belongs to the namespace of the thread that made it).
bool iface_here(const char* name) { return if_nametoindex(name) != 0; }

// ---------------------------------------------------------------------------------------------------
// Child processes

struct Output {
  bool ran = false;   // the program started and exited by itself
  int status = -1;    // its exit status
  std::string out, err;
  bool ok() const { return ran && status == 0; }
};

// Makes fd number `to` a copy of `from` that survives exec. Async-signal-safe (for the forked child).
void move_fd(int from, int to) {
  if (from == to)
    fcntl(to, F_SETFD, 0);  // dup2 onto itself would keep FD_CLOEXEC
  else
    dup2(from, to);
}

// Runs argv (argv[0] a full path) in network namespace `ns` (nullptr: the calling thread's), with
// `input` on its standard input, and collects its output. Bounded: a tool that hangs is killed after
// timeout_ms. Between fork and exec the child makes only async-signal-safe calls (signal-safety(7)):
// the parent may have other threads.
Output run(const std::vector<std::string>& argv, const char* ns = nullptr, const std::string& input = {},
           int timeout_ms = 10000) {
  Output r;
  if (argv.empty() || argv[0].empty()) {
    r.err = "no such program";
    return r;
  }
  int ns_fd = -1;
  if (ns != nullptr) {
    ns_fd = open((std::string("/run/netns/") + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (ns_fd < 0) {
      r.err = text::format("cannot open /run/netns/%s: %s", ns, std::strerror(errno));
      return r;
    }
  }
  // The input fits the pipe's buffer (a ruleset is a few hundred bytes; pipe(7): 64 KiB), so it is
  // written before the child exists: no SIGPIPE if the tool exits without reading it.
  int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {in_p, out_p, err_p})
      for (int i = 0; i < 2; ++i)
        if (p[i] >= 0) {
          close(p[i]);
          p[i] = -1;
        }
    if (ns_fd >= 0) close(ns_fd);
    ns_fd = -1;
  };
  if (input.size() > 60000) {
    r.err = "input too long for a pipe";
    if (ns_fd >= 0) close(ns_fd);
    return r;
  }
  if (pipe2(in_p, O_CLOEXEC) != 0 || pipe2(out_p, O_CLOEXEC) != 0 || pipe2(err_p, O_CLOEXEC) != 0) {
    r.err = text::format("cannot make a pipe: %s", std::strerror(errno));
    close_all();
    return r;
  }
  for (std::size_t done = 0; done < input.size();) {
    const ssize_t n = write(in_p[1], input.data() + done, input.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  close(in_p[1]);
  in_p[1] = -1;

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // A fixed environment: messages in English and the same on every machine (they are parsed), and no
  // PATH or loader variables from the caller reach a program run as root.
  static char env_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  static char env_lang[] = "LC_ALL=C";
  char* envp[] = {env_path, env_lang, nullptr};
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) {
    r.err = text::format("cannot start %s: %s", argv[0].c_str(), std::strerror(errno));
    close_all();
    return r;
  }
  if (pid == 0) {
    // If this process dies while the tool runs, the tool dies too (prctl(2) PR_SET_PDEATHSIG): no
    // `ip link add` finishing after a watchdog removed the lab.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    if (ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) != 0) _exit(126);
    move_fd(in_p[0], 0);
    move_fd(out_p[1], 1);
    move_fd(err_p[1], 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(args[0], args.data(), envp);
    _exit(127);
  }
  close(in_p[0]);
  in_p[0] = -1;
  close(out_p[1]);
  out_p[1] = -1;
  close(err_p[1]);
  err_p[1] = -1;
  if (ns_fd >= 0) close(ns_fd);
  ns_fd = -1;

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool timed_out = false;
  pollfd fds[2] = {{out_p[0], POLLIN, 0}, {err_p[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    const int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        if (sinks[i]->size() < (1u << 20)) sinks[i]->append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  if (timed_out) kill(pid, SIGKILL);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  close_all();
  if (timed_out) {
    r.err = text::format("did not finish within %d s and was stopped", timeout_ms / 1000);
  } else if (WIFEXITED(st)) {
    r.status = WEXITSTATUS(st);
    r.ran = r.status != 126 && r.status != 127;
    if (r.status == 126 && r.err.empty()) r.err = text::format("cannot enter the network namespace %s", ns ? ns : "");
    if (r.status == 127 && r.err.empty()) r.err = text::format("cannot run %s", argv[0].c_str());
  } else if (WIFSIGNALED(st)) {
    r.err = text::format("ended by signal %d", WTERMSIG(st));
  }
  return r;
}

// "ip -n sockscope-client addr add ..." for messages: the program's name, not its full path.
std::string shown(const std::vector<std::string>& argv, const char* ns) {
  std::string s;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (i) s += ' ';
    s += i == 0 ? argv[0].substr(argv[0].find_last_of('/') + 1) : argv[i];
  }
  if (ns != nullptr) s += text::format(" (in %s)", ns);
  return s;
}

// Runs a step of the lab's construction; on failure sets `error` to one line: the command, the tool's
// own words, and what to do.
bool step(const std::vector<std::string>& argv, std::string& error, const char* ns = nullptr,
          const std::string& input = {}) {
  const Output o = run(argv, ns, input);
  if (o.ok()) return true;
  std::string why = first_line(o.err);
  if (why.empty()) why = first_line(o.out);
  if (why.empty()) why = text::format("exit status %d", o.status);
  error = text::format(tr("`%1$s` failed: %2$s"), shown(argv, ns).c_str(), why.c_str());
  return false;
}

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
    if (netns_exists(ns)) left.push_back(std::string("namespace ") + ns);
  if (root && !ip.empty()) {
    if (netns_exists(kClientNs) && run({ip, "link", "show", "dev", kClientIf}, kClientNs).ok()) {
      client_if = true;
      left.push_back(text::format("interface %s in %s", kClientIf, kClientNs));
    }
    if (netns_exists(kServerNs) && run({ip, "link", "show", "dev", kServerIf}, kServerNs).ok()) {
      server_if = true;
      left.push_back(text::format("interface %s in %s", kServerIf, kServerNs));
    }
  }
  if (root && netns_exists(kServerNs)) {
    const std::string nft = find_tool("nft");
    if (!nft.empty() && run({nft, "list", "table", "inet", kNftTable}, kServerNs).ok()) {
      table = true;
      left.push_back(text::format("nftables table inet %s in %s", kNftTable, kServerNs));
    }
  }
  for (const char* ifname : {kClientIf, kServerIf})
    if (iface_here(ifname)) left.push_back(text::format("interface %s in the root namespace", ifname));
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
        missing = text::format("%s is not up yet", s.ifname);
        break;
      }
      if (!ipv6) continue;
      const Output groups = run({ip, "-6", "maddr", "show", "dev", s.ifname}, s.ns);
      if (groups.out.find(" " + solicited_node(s.v6) + "\n") == std::string::npos) {
        missing = text::format("%s has not joined the group of %s yet", s.ifname, s.v6);
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

// One lab on the machine, so one user at a time: an exclusive flock(2) on this file while a lab is
// built or removed, and for the whole life of a guard (held by its watchdog, so it is released only
// once the lab is gone). Another lesson started meanwhile waits, then says who holds the lab.
constexpr const char* kLockPath = "/run/sockscope-lab.lock";

// Returns the locked file's descriptor (close it to unlock), or -1 with `error` set.
int lock_lab(int wait_ms, std::string& error) {
  int fd = open(kLockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    error = text::format("cannot open %s: %s", kLockPath, std::strerror(errno));
    return -1;
  }
  if (fd < 3) {  // keep 0..2 free for the watchdog's standard streams
    const int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    fd = high;
    if (fd < 0) {
      error = text::format("cannot open %s: %s", kLockPath, std::strerror(errno));
      return -1;
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      error = text::format("cannot lock %s: %s", kLockPath, std::strerror(errno));
      close(fd);
      return -1;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      char holder[32] = "";
      const ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
      holder[n > 0 ? n : 0] = '\0';
      holder[std::strcspn(holder, "\n")] = '\0';
      error = text::format(tr("the lab is in use by another sockscope run (process %s: a lesson or a comparison); "
                        "wait for it to end and try again"),
                     holder[0] ? holder : "?");
      close(fd);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) == 0 && pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // Only the message of a later waiter would lack the process number.
  }
  return fd;
}

constexpr int kLockWaitMs = 10000;        // lab up / lab down: a running lesson is not stopped for them
constexpr int kGuardLockWaitMs = 60000;   // a guard waits for the lesson before it

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

UpResult up_unlocked(const LabOptions& opts, std::string& error) {
  error.clear();
  if (!check_options(opts, error)) return UpResult::Failed;
  if (geteuid() != 0) {
    error = not_root_message();
    return UpResult::Failed;
  }
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

}  // namespace

// ---------------------------------------------------------------------------------------------------

UpResult up(const LabOptions& opts, std::string& error) {
  error.clear();
  if (!check_options(opts, error)) return UpResult::Failed;
  if (geteuid() != 0) {
    error = not_root_message();
    return UpResult::Failed;
  }
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

// ---------------------------------------------------------------------------------------------------
// Guard

Guard::~Guard() {
  std::string ignored;
  down(ignored);
}

UpResult Guard::up(const LabOptions& opts, std::string& error) {
  error.clear();
  if (active()) {
    error = tr("this guard already holds a lab (one guard at a time)");
    return UpResult::Failed;
  }
  if (!check_options(opts, error)) return UpResult::Failed;
  if (geteuid() != 0) {
    error = not_root_message();
    return UpResult::Failed;
  }
  const std::string ip = find_tool("ip");
  if (ip.empty()) {
    error = tr("the ip command (iproute2) is not installed: install the iproute2 package");
    return UpResult::Failed;
  }
  // The watchdog starts before the lab is built, so an interruption while it is being built is
  // cleaned up as well. Everything it needs is prepared here: after fork, the child makes only
  // async-signal-safe calls.
  const std::string script =
      "trap '' INT TERM HUP\n"
      "cat >/dev/null\n" +  // returns at end-of-file: every copy of the write end is closed
      ip + " netns del " + kClientNs + "\n" + ip + " netns del " + kServerNs + "\n" + ip + " link del dev " +
      kClientIf + "\n" + ip + " link del dev " + kServerIf + "\nexit 0\n";
  char sh[] = "/bin/sh";
  char dash_c[] = "-c";
  char name[] = "sockscope-lab-watchdog";
  std::vector<char> script_buf(script.begin(), script.end());
  script_buf.push_back('\0');
  char* argv[] = {sh, dash_c, script_buf.data(), name, nullptr};
  static char env_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {env_path, nullptr};
  const int lock = lock_lab(kGuardLockWaitMs, error);
  if (lock < 0) return UpResult::Failed;
  int p[2];
  // O_CLOEXEC on both ends: programs this process runs later (tools, endpoints) do not keep the
  // write end, or the watchdog would wait for them too.
  if (pipe2(p, O_CLOEXEC) != 0) {
    error = text::format("cannot make a pipe: %s", std::strerror(errno));
    close(lock);
    return UpResult::Failed;
  }
  const int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  const pid_t pid = fork();
  if (pid < 0) {
    error = text::format("cannot start the lab's watchdog: %s", std::strerror(errno));
    close(p[0]);
    close(p[1]);
    close(lock);
    if (devnull >= 0) close(devnull);
    return UpResult::Failed;
  }
  if (pid == 0) {
    // Its own process group: Ctrl-C (sent to the terminal's foreground group) and a kill of the
    // whole group do not reach it. Terminal signals are ignored too (dispositions set to SIG_IGN
    // survive execve(2)), and nothing is blocked.
    setpgid(0, 0);
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) sigaction(sig, &ign, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    move_fd(p[0], 0);
    if (devnull >= 0) {
      move_fd(devnull, 1);
      move_fd(devnull, 2);
    }
    // The lock, as fd 3: the watchdog holds it until the lab is removed, even after this process
    // died. Nothing else of this process stays open in it (sockets, files, the pipe's write end).
    move_fd(lock, 3);
    close_range(4, ~0U, 0);
    execve(sh, argv, envp);
    _exit(127);
  }
  close(p[0]);
  close(lock);  // the lock stays held: the watchdog's copy refers to the same open file
  if (devnull >= 0) close(devnull);
  watchdog_pid_ = pid;
  pipe_fd_ = p[1];
  const UpResult r = up_unlocked(opts, error);
  if (r != UpResult::Ok) {
    std::string ignored;
    down(ignored);  // stops the watchdog; up_unlocked left nothing behind
  }
  return r;
}

bool Guard::down(std::string& error) {
  error.clear();
  if (!active()) return true;
  close(pipe_fd_);
  pipe_fd_ = -1;
  // The watchdog removes the lab now; its commands are bounded, but a wait without end would hang
  // the program if something went wrong, so after 10 s it is stopped and the removal done here.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int st = 0;
  bool reaped = false;
  while (!reaped) {
    const pid_t w = waitpid(watchdog_pid_, &st, WNOHANG);
    if (w == watchdog_pid_ || (w < 0 && errno != EINTR)) {
      reaped = true;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!reaped) {
    kill(watchdog_pid_, SIGKILL);
    while (waitpid(watchdog_pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
  watchdog_pid_ = -1;
  const std::vector<std::string> left = find_leftovers();
  if (left.empty()) return true;
  return lab::down(error);
}

}  // namespace sockscope::lab
