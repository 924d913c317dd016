// Live capture through libpcap (pcap_create / pcap_activate, pcap(3PCAP)), and the privilege helpers
// around it: who may capture, how to grant it, and how to give root up once the device is open.
#include "sockscope/pcap/live_capture.hpp"

#include <arpa/inet.h>
#include <grp.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pcap.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "sockscope/text/i18n.hpp"
#include "sockscope/text/escape.hpp"
#include "sockscope/text/format.hpp"

namespace sockscope {

struct LiveCapture::Handle {
  pcap_t* pcap = nullptr;
  int fd = -1;
  bool nano = true;  // false: libpcap gave microseconds (precision not supported), scaled on read
  std::string iface;
  std::string error;
  std::string warning;
  std::uint64_t delivered = 0;
  std::uint32_t linktype = 0;
  const std::function<void(const Frame&)>* sink = nullptr;
  Frame frame;  // reused for every packet
  ~Handle() {
    if (pcap) pcap_close(pcap);
  }
};

namespace {

// This program's path, for the setcap line of the privilege message.
std::string self_path() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "sockscope";
  buf[n] = '\0';
  return buf;
}

// pcap_activate's result as one line (pcap_activate(3PCAP) lists the codes).
std::string activate_error(const std::string& iface, int rc, pcap_t* p) {
  const std::string name = text::printable(iface);
  const char* detail = pcap_geterr(p);
  switch (rc) {
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return text::format(tr("interface %1$s: no permission to capture. %2$s"), name.c_str(),
                          privilege_hint(self_path()).c_str());
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return text::format(tr("interface %s: no such interface. List them with ip link (loopback is lo)"),
                          name.c_str());
    case PCAP_ERROR_IFACE_NOT_UP:
      return text::format(tr("interface %1$s is down. Bring it up (sudo ip link set %2$s up) or choose "
                             "another with -i"),
                          name.c_str(), name.c_str());
    default:
      return text::format(tr("interface %1$s: libpcap cannot capture on it (%2$s). Check the name with "
                             "ip link"),
                          name.c_str(), detail ? detail : "");
  }
}

}  // namespace

std::unique_ptr<LiveCapture> LiveCapture::open(const LiveOptions& opts, std::string& error) {
  if (opts.interface.empty()) {
    error = tr("which interface? Give one with -i (loopback is lo)");
    return nullptr;
  }
  const std::string name = text::printable(opts.interface);
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_create(opts.interface.c_str(), errbuf);
  if (p == nullptr) {
    error = text::format(tr("interface %1$s: %2$s. Check the name with ip link"), name.c_str(), errbuf);
    return nullptr;
  }
  std::unique_ptr<LiveCapture> cap(new LiveCapture());
  cap->h_ = std::make_unique<Handle>();
  Handle& h = *cap->h_;
  h.pcap = p;
  h.iface = opts.interface;

  const std::uint32_t snap = opts.snaplen == 0 ? 262144u : opts.snaplen;
  pcap_set_snaplen(p, static_cast<int>(snap > 262144u ? 262144u : snap));
  // Packets are handed over at the latest 10 ms after they arrive: well inside the timeline's
  // hold-back, so they still show as they happen. Not immediate mode: on Linux it makes libpcap use a
  // ring of fixed frames of snaplen bytes each (TPACKET_V2), a few hundred packets for the whole
  // buffer, which overflowed at 60,000 packets/s on loopback (0.5-1% dropped); with a timeout the ring
  // holds variable-size blocks (TPACKET_V3) and the same load drops nothing (tests/bench/run.sh --live).
  pcap_set_timeout(p, 10);
  const std::uint64_t buf_bytes = static_cast<std::uint64_t>(opts.buffer_kib) * 1024u;
  if (buf_bytes > 0) pcap_set_buffer_size(p, static_cast<int>(buf_bytes > (1u << 30) ? (1u << 30) : buf_bytes));
  // Nanoseconds: loopback exchanges last microseconds, and calls are stamped in nanoseconds too.
  if (pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) != 0) h.nano = false;

  const int rc = pcap_activate(p);
  if (rc < 0) {
    error = activate_error(opts.interface, rc, p);
    return nullptr;
  }
  if (rc > 0) {
    // Warnings: the capture runs, but not quite as asked (pcap_activate(3PCAP)).
    const char* w = rc == PCAP_WARNING_TSTAMP_TYPE_NOTSUP ? "timestamp type not supported"
                    : rc == PCAP_WARNING_PROMISC_NOTSUP   ? "promiscuous mode not supported"
                                                          : pcap_geterr(p);
    h.warning = text::format(tr("interface %1$s: capturing, with a warning from libpcap: %2$s"),
                             name.c_str(), w ? w : "");
  }
  if (h.nano && pcap_get_tstamp_precision(p) != PCAP_TSTAMP_PRECISION_NANO) h.nano = false;
  h.linktype = static_cast<std::uint32_t>(pcap_datalink(p));

  if (!opts.filter.empty()) {
    // The netmask matters only for "ip broadcast"; without an IPv4 address on the interface,
    // PCAP_NETMASK_UNKNOWN makes exactly that expression fail and everything else work.
    bpf_u_int32 net = 0, mask = 0;
    if (pcap_lookupnet(opts.interface.c_str(), &net, &mask, errbuf) != 0) mask = PCAP_NETMASK_UNKNOWN;
    bpf_program prog{};
    if (pcap_compile(p, &prog, opts.filter.c_str(), 1, mask) != 0) {
      error = text::format(tr("filter '%1$s': %2$s. Check the expression against the pcap-filter manual "
                              "(man 7 pcap-filter), e.g. 'tcp port 9000'"),
                           text::printable(opts.filter).c_str(), pcap_geterr(p));
      return nullptr;
    }
    // On Linux the filter runs in the kernel; libpcap also filters, in user space, whatever was
    // queued before the filter was attached, so no unfiltered packet slips through.
    const int src = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (src != 0) {
      error = text::format(tr("interface %1$s: cannot apply the filter (%2$s)"), name.c_str(),
                           pcap_geterr(p));
      return nullptr;
    }
  }
  if (pcap_setnonblock(p, 1, errbuf) != 0) {
    error = text::format(tr("interface %1$s: %2$s"), name.c_str(), errbuf);
    return nullptr;
  }
  h.fd = pcap_get_selectable_fd(p);
  if (h.fd < 0) {
    error = text::format(tr("interface %s: libpcap gives no descriptor to wait on"), name.c_str());
    return nullptr;
  }
  return cap;
}

LiveCapture::~LiveCapture() = default;

std::uint32_t LiveCapture::linktype() const { return h_->linktype; }

const std::string& LiveCapture::error() const { return h_->error; }

const std::string& LiveCapture::warning() const { return h_->warning; }

int LiveCapture::poll(int timeout_ms, const std::function<void(const Frame&)>& on_frame) {
  Handle& h = *h_;
  pollfd pfd{h.fd, POLLIN, 0};
  const int pr = ::poll(&pfd, 1, timeout_ms < 0 ? 0 : timeout_ms);
  if (pr < 0 && errno != EINTR) {
    h.error = text::format(tr("interface %1$s: waiting for packets failed (%2$s)"),
                           text::printable(h.iface).c_str(), std::strerror(errno));
    return -1;
  }
  // libpcap's callback: bytes are valid only during the call, so the sink copies what it keeps.
  constexpr pcap_handler on_packet = [](u_char* user, const pcap_pkthdr* hdr, const u_char* bytes) {
    auto* hp = reinterpret_cast<Handle*>(user);
    Frame& f = hp->frame;
    f.data = bytes;
    f.caplen = hdr->caplen;
    f.wirelen = hdr->len;
    f.ts.sec = static_cast<std::int64_t>(hdr->ts.tv_sec);
    // With PCAP_TSTAMP_PRECISION_NANO, tv_usec holds nanoseconds (pcap_set_tstamp_precision(3PCAP)).
    const auto sub = static_cast<std::uint32_t>(hdr->ts.tv_usec);
    f.ts.nsec = hp->nano ? sub : sub * 1000u;
    f.number = ++hp->delivered;
    (*hp->sink)(f);
  };
  // Dispatch even when poll saw nothing: a signal may have cut the wait short with packets queued.
  h.sink = &on_frame;
  int total = 0;
  for (;;) {
    const int n = pcap_dispatch(h.pcap, -1, on_packet, reinterpret_cast<u_char*>(&h));
    if (n < 0) {
      const char* e = pcap_geterr(h.pcap);
      h.error = text::format(tr("interface %1$s: the capture stopped (%2$s). Was the interface removed "
                                "or taken down?"),
                             text::printable(h.iface).c_str(), e ? e : "");
      h.sink = nullptr;
      return -1;
    }
    if (n == 0) break;
    total += n;
  }
  h.sink = nullptr;
  return total;
}

LiveStats LiveCapture::stats() const {
  LiveStats s;
  s.received = h_->delivered;
  pcap_stat ps{};
  if (pcap_stats(h_->pcap, &ps) == 0) {
    s.dropped_kernel = ps.ps_drop;
    s.dropped_iface = ps.ps_ifdrop;
  }
  return s;
}

namespace {

bool is_loopback(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(sa);
    return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(sa);
    if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr)) return true;
    // ::ffff:127.x.y.z reaches the IPv4 loopback
    return IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

bool same_address(const sockaddr* a, const sockaddr* b) {
  if (a == nullptr || b == nullptr || a->sa_family != b->sa_family) return false;
  if (a->sa_family == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(a)->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(b)->sin_addr.s_addr;
  if (a->sa_family == AF_INET6)
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(b)->sin6_addr, sizeof(in6_addr)) == 0;
  return false;
}

// The interface holding addr, or "".
std::string interface_holding(const sockaddr* addr) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  std::string found;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next)
    if (same_address(i->ifa_addr, addr)) {
      found = i->ifa_name;
      break;
    }
  freeifaddrs(list);
  return found;
}

}  // namespace

std::string interface_for(const std::string& host, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  const int gai = getaddrinfo(host.c_str(), "9", &hints, &res);
  if (gai != 0 || res == nullptr) {
    error = text::format(tr("host %1$s: %2$s. Give an address such as 127.0.0.1 or ::1, or choose the "
                            "interface with -i"),
                         text::printable(host).c_str(), gai_strerror(gai));
    return {};
  }
  std::string iface;
  if (is_loopback(res->ai_addr)) {
    iface = "lo";
  } else if (!interface_holding(res->ai_addr).empty()) {
    // An address of this host: the kernel delivers such traffic over loopback, whatever interface
    // carries the address (ip route get shows "dev lo" for it).
    iface = "lo";
  } else {
    // connect() on a UDP socket only picks the route and the local address; nothing is sent (udp(7)).
    const int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
      iface = interface_holding(reinterpret_cast<const sockaddr*>(&local));
      if (iface.empty())
        error = text::format(tr("host %s: no interface holds the local address the kernel would "
                                "use. Choose the interface with -i"),
                             text::printable(host).c_str());
    } else {
      error = text::format(tr("host %1$s: no route to it (%2$s). Choose the interface with -i"),
                           text::printable(host).c_str(), std::strerror(errno));
    }
    if (fd >= 0) close(fd);
  }
  freeaddrinfo(res);
  return iface;
}

bool have_capture_privileges() {
  // The capability decides, not the user id: root in a container started without CAP_NET_RAW cannot
  // capture, and a binary given the capability with setcap can (capabilities(7)). CapEff is the
  // effective set in hex; CAP_NET_RAW is bit 13 (linux/capability.h).
  if (std::FILE* f = std::fopen("/proc/self/status", "re")) {
    char line[256];
    bool found = false;
    unsigned long long eff = 0;
    while (std::fgets(line, sizeof line, f) != nullptr)
      if (std::strncmp(line, "CapEff:", 7) == 0) {
        eff = std::strtoull(line + 7, nullptr, 16);
        found = true;
        break;
      }
    std::fclose(f);
    if (found) return (eff >> 13) & 1u;
  }
  return geteuid() == 0;
}

std::string privilege_hint(const std::string& binary_path) {
  const std::string path = binary_path.empty() ? std::string("sockscope") : text::printable(binary_path);
  return text::format(tr("Capturing needs root or the CAP_NET_RAW capability: run it with sudo, or "
                         "grant it once with: sudo setcap cap_net_raw,cap_net_admin=eip %s"),
                      path.c_str());
}

SudoIds sudo_ids(unsigned& uid, unsigned& gid) {
  const char* su = std::getenv("SUDO_UID");
  const char* sg = std::getenv("SUDO_GID");
  if (su == nullptr || sg == nullptr) return SudoIds::Absent;
  char* end = nullptr;
  const unsigned long u = std::strtoul(su, &end, 10);
  const bool u_ok = end != su && *end == '\0';
  const unsigned long g = std::strtoul(sg, &end, 10);
  if (!u_ok || end == sg || *end != '\0') return SudoIds::Invalid;
  uid = static_cast<unsigned>(u);
  gid = static_cast<unsigned>(g);
  return SudoIds::Found;
}

bool drop_privileges(const std::string& user, std::string& error) {
  if (geteuid() != 0 && getuid() != 0) return true;  // nothing to give up
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
  std::vector<char> buf(16384);
  if (!user.empty()) {
    passwd pw{};
    passwd* found = nullptr;
    if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
      error = text::format(tr("--user %s: no such user. Give a user name from /etc/passwd"),
                           text::printable(user).c_str());
      return false;
    }
    uid = pw.pw_uid;
    gid = pw.pw_gid;
    name = pw.pw_name;
  } else {
    unsigned u = 0, g = 0;
    switch (sudo_ids(u, g)) {
      case SudoIds::Absent: return true;  // root, not through sudo: stays as started
      case SudoIds::Invalid:
        error = tr("SUDO_UID or SUDO_GID is not a number; give the user to run as with --user");
        return false;
      case SudoIds::Found: break;
    }
    uid = static_cast<uid_t>(u);
    gid = static_cast<gid_t>(g);
    passwd pw{};
    passwd* found = nullptr;
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) name = pw.pw_name;
  }
  if (uid == 0) return true;  // asked to stay root

  // Order matters (tcpdump's droproot, setuid(2)): supplementary groups and the group first, while
  // still root; the user id last, since after it nothing else may be changed.
  const int grc = name.empty() ? setgroups(1, &gid) : initgroups(name.c_str(), gid);
  if (grc != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
    error = text::format(tr("cannot switch to user %1$s (uid %2$u): %3$s"),
                         text::printable(name.empty() ? std::to_string(uid) : name).c_str(),
                         static_cast<unsigned>(uid), std::strerror(errno));
    return false;
  }
  // setuid as root sets the real, effective and saved ids: check that root cannot come back.
  if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid || setuid(0) == 0) {
    error = text::format(tr("switched to uid %u, but root could be regained; stopping for safety"),
                         static_cast<unsigned>(uid));
    return false;
  }
  return true;
}

}  // namespace sockscope
