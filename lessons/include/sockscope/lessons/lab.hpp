// The lab: two hosts on one machine. Two network namespaces (the kernel's own isolation, as Mininet and
// containerlab use) joined by a veth pair, like two computers on one cable: a client host and a server
// host, each with a real MAC address, IPv4 and IPv6 addresses and an MTU (1500 by default). Loss comes
// from an nftables rule on the server host's side of the cable: it drops a share of what the client
// sends (or its first N SYNs) after the packet has left the client, so a capture at the client sees
// the packet go and the server never gets it. Delay needs the kernel's sch_netem (some kernels lack
// it: up() then says so and builds nothing).
//
// Built with iproute2 (`ip netns`, `ip link`) and nftables (`nft`); needs root (CAP_SYS_ADMIN and
// CAP_NET_ADMIN). Names are fixed, so `sockscope lab down` always finds what any earlier run left.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sockscope::lab {

inline constexpr const char* kClientNs = "sockscope-client";
inline constexpr const char* kServerNs = "sockscope-server";
inline constexpr const char* kClientIf = "veth-client";   // in kClientNs
inline constexpr const char* kServerIf = "veth-server";   // in kServerNs
inline constexpr const char* kClientIPv4 = "10.77.0.1";
inline constexpr const char* kServerIPv4 = "10.77.0.2";
inline constexpr const char* kClientIPv6 = "fd77::1";
inline constexpr const char* kServerIPv6 = "fd77::2";
inline constexpr const char* kNftTable = "sockscope";     // table inet sockscope, in kServerNs

// IPv6 needs links of at least 1280 bytes (RFC 8200 section 5). Linux removes IPv6 from an interface
// whose MTU is set below that (and refuses IPv6 addresses there), so a lab with a smaller MTU has
// IPv4 only.
inline constexpr int kIPv6MinMtu = 1280;
inline constexpr bool has_ipv6(int mtu) { return mtu >= kIPv6MinMtu; }

struct LabOptions {
  int mtu = 1500;        // both ends of the link (68..65535)
  int loss_pct = 0;      // 0..100: share of the client's TCP and UDP packets dropped at random
  int drop_syn = 0;      // drop the client's first N SYNs (0: none)
  int delay_ms = 0;      // one-way delay on both ends (sch_netem); 0: none
  // false: the client host does not offer selective acknowledgements (net.ipv4.tcp_sack = 0, RFC
  // 2018), so TCP recovers the textbook way: three duplicate ACKs, then a fast retransmission. With
  // SACK, Linux re-sends after the first duplicate ACK, within microseconds on this link.
  bool sack = true;
};

enum class UpResult : std::uint8_t { Ok, Failed, NoNetem };

// Builds the lab (after removing any earlier one). On failure everything built so far is removed and
// `error` is one line naming the command that failed and what to do. NoNetem: delay was asked for and
// this kernel has no sch_netem; nothing is left behind.
UpResult up(const LabOptions& opts, std::string& error);

// Removes both namespaces (which removes the veth pair and the nftables table with them). Idempotent:
// true when nothing of the lab is left, also when there was nothing to remove.
bool down(std::string& error);

struct HostInfo {
  std::string ns, interface, ipv4, ipv6, mac;
  int mtu = 0;
  bool up = false;
};

struct LabStatus {
  bool exists = false;           // both namespaces are there
  bool partial = false;          // some of the lab is there, not all of it (lab down clears it)
  HostInfo client, server;
  LabOptions options;            // what the rules and link say now (delay only where netem runs)
  std::uint64_t dropped_packets = 0;  // by the loss and drop-syn rules so far (their counters)
  std::vector<std::string> leftovers;  // what exists of the lab: "namespace sockscope-client", ...
};
LabStatus status();

// Whether the kernel offers sch_netem (tried, not guessed: a netem qdisc on a scratch namespace).
bool have_netem();

// Moves the calling thread into a lab host's network namespace (setns: one thread, not the whole
// process). Sockets the thread creates afterwards, and a capture it opens, live in that namespace.
bool enter(const char* ns, std::string& error);

// Builds the lab for the lifetime of the guard. up() also starts a small watchdog process that keeps
// root and removes the lab when the pipe to this process closes: at the guard's destructor (which
// waits for the removal to finish), or when the process ends in any other way (SIGINT, SIGTERM, a
// crash, even SIGKILL). So the lab is removed on every exit path, also after this process dropped
// root (a capture drops privileges once it is open). The watchdog ignores the terminal's signals
// (Ctrl-C reaches the whole process group) and only waits for the pipe. One guard at a time.
class Guard {
 public:
  Guard() = default;
  ~Guard();
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
  UpResult up(const LabOptions& opts, std::string& error);
  // Removes the lab now (waits for the watchdog); true when nothing is left. The destructor calls it.
  bool down(std::string& error);
  bool active() const { return watchdog_pid_ > 0; }
 private:
  int watchdog_pid_ = -1;
  int pipe_fd_ = -1;   // write end; the watchdog removes the lab when it reads end-of-file
};

}  // namespace sockscope::lab
