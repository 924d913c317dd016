// The tracer (tracer.hpp): ptrace(2) and a seccomp-bpf filter, as `strace --seccomp-bpf` works.
//
//   child:  PTRACE_TRACEME, stop itself, install the filter, exec the program
//   filter: SECCOMP_RET_TRACE for the socket-related system calls, SECCOMP_RET_ALLOW for the rest
//   parent: at each PTRACE_EVENT_SECCOMP stop (the call's entry) note the time and the arguments;
//           when the call matters, restart with PTRACE_SYSCALL to get its syscall-exit-stop (the
//           result), then PTRACE_CONT until the next filtered call.
//
// The filter is written by hand with <linux/filter.h> (about thirty instructions, a list of system
// call numbers), so building needs no extra library. Only the native ABI is filtered: a 32-bit program
// on a 64-bit kernel runs untraced.
//
// read, write, readv, writev and close stop the program for every descriptor; only sockets are shown:
// /proc/PID/fd/N names "socket:[inode]", cached per process and descriptor until it is closed or the
// process runs exec. Addresses come from the program's own socket: pidfd_getfd(2) gives sockscope a
// duplicate of it, on which getsockname, getpeername and TCP_INFO answer exactly as they would for the
// program, for IPv6 and every kind of socket alike (parsing /proc/net/tcp by inode would need a
// scan of the whole table per call). Bytes sent or received are copied with process_vm_readv(2).
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "sockscope/demo/chat.hpp"
#include "sockscope/demo/socket_calls.hpp"
#include "sockscope/text/i18n.hpp"
#include "sockscope/trace/tracer.hpp"

namespace sockscope::trace {
namespace {

#if defined(__x86_64__)
constexpr std::uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr std::uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
#else
#error "sockscope trace: the seccomp filter knows x86-64 and arm64"
#endif

// The kernel's struct ptrace_syscall_info (PTRACE_GET_SYSCALL_INFO, Linux 5.3): <linux/ptrace.h>
// has it, but cannot be included together with <sys/ptrace.h>.
struct SyscallInfo {
  std::uint8_t op;
  std::uint8_t pad[3];
  std::uint32_t arch;
  std::uint64_t instruction_pointer;
  std::uint64_t stack_pointer;
  union {
    struct {
      std::uint64_t nr;
      std::uint64_t args[6];
    } entry;
    struct {
      std::int64_t rval;
      std::uint8_t is_error;
    } exit;
    struct {
      std::uint64_t nr;
      std::uint64_t args[6];
      std::uint32_t ret_data;
    } seccomp;
  };
};
constexpr std::uint8_t kOpExit = 2, kOpSeccomp = 3;

enum class Kind : std::uint8_t {
  Socket, Bind, Listen, Accept, Connect, Send, SendMsg, SendMmsg, Recv, RecvMsg, RecvMmsg, Writev, Readv,
  Shutdown, Close, SetSockOpt, GetSockOpt, Poll, Select, EpollWait, Dup
};

struct Sys {
  long nr;
  const char* name;
  Kind kind;
};

// The system calls the filter stops at. Every other call runs without stopping.
constexpr Sys kSyscalls[] = {
    {__NR_socket, "socket", Kind::Socket},
    {__NR_bind, "bind", Kind::Bind},
    {__NR_listen, "listen", Kind::Listen},
    {__NR_accept, "accept", Kind::Accept},
    {__NR_accept4, "accept4", Kind::Accept},
    {__NR_connect, "connect", Kind::Connect},
    {__NR_sendto, "sendto", Kind::Send},
    {__NR_sendmsg, "sendmsg", Kind::SendMsg},
    {__NR_sendmmsg, "sendmmsg", Kind::SendMmsg},
    {__NR_recvfrom, "recvfrom", Kind::Recv},
    {__NR_recvmsg, "recvmsg", Kind::RecvMsg},
    {__NR_recvmmsg, "recvmmsg", Kind::RecvMmsg},
    {__NR_shutdown, "shutdown", Kind::Shutdown},
    {__NR_close, "close", Kind::Close},
    {__NR_setsockopt, "setsockopt", Kind::SetSockOpt},
    {__NR_getsockopt, "getsockopt", Kind::GetSockOpt},
    {__NR_read, "read", Kind::Recv},
    {__NR_write, "write", Kind::Send},
    {__NR_readv, "readv", Kind::Readv},
    {__NR_writev, "writev", Kind::Writev},
#ifdef __NR_poll
    {__NR_poll, "poll", Kind::Poll},
#endif
    {__NR_ppoll, "ppoll", Kind::Poll},
#ifdef __NR_select
    {__NR_select, "select", Kind::Select},
#endif
    {__NR_pselect6, "pselect6", Kind::Select},
#ifdef __NR_epoll_wait
    {__NR_epoll_wait, "epoll_wait", Kind::EpollWait},
#endif
    {__NR_epoll_pwait, "epoll_pwait", Kind::EpollWait},
    // Not shown: they make a descriptor number mean something else, so its cached kind is forgotten.
#ifdef __NR_dup2
    {__NR_dup2, "dup2", Kind::Dup},
#endif
    {__NR_dup3, "dup3", Kind::Dup},
};

const Sys* find_sys(std::uint64_t nr) {
  for (const Sys& s : kSyscalls)
    if (static_cast<std::uint64_t>(s.nr) == nr) return &s;
  return nullptr;
}

bool blocking_kind(Kind k) {
  switch (k) {
    case Kind::Accept: case Kind::Connect: case Kind::Recv: case Kind::RecvMsg: case Kind::RecvMmsg:
    case Kind::Readv: case Kind::Poll: case Kind::Select: case Kind::EpollWait:
      return true;
    default:
      return false;
  }
}

// The filter: load the architecture; another ABI is allowed; load the call number; a match jumps to
// RET_TRACE, the end of the list falls through to RET_ALLOW.
bool install_filter() {
  std::vector<sock_filter> f;
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
  const std::size_t n = std::size(kSyscalls);
  for (std::size_t i = 0; i < n; ++i) {
    // Jump over the rest of the list and the ALLOW to the TRACE.
    const auto skip = static_cast<std::uint8_t>(n - i);
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<std::uint32_t>(kSyscalls[i].nr), skip, 0));
  }
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE));
  sock_fprog prog{static_cast<unsigned short>(f.size()), f.data()};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0;
}

Timestamp now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  Timestamp t;
  t.sec = static_cast<std::int64_t>(ts.tv_sec);
  t.nsec = static_cast<std::uint32_t>(ts.tv_nsec);
  return t;
}

// One socket of a traced process, as far as known.
struct Sock {
  bool is_socket = false;
  bool shown = false;  // AF_INET, AF_INET6 or AF_UNIX (netlink and the like are not the learner's)
  int family = 0;
  int type = 0;
  Proto proto = Proto::Other;
  bool has_local = false, has_peer = false;
  Endpoint local, peer;
  bool registered = false;
  Endpoint reg_local, reg_peer;
  bool reg_has_peer = false;
};

struct Proc {
  int pidfd = -1;
  std::string comm;
  CallRole role = CallRole::Client;
  std::unordered_map<int, Sock> fds;
  bool any_socket = false;
};

struct Thread {
  pid_t tgid = 0;
  bool started = false;
  bool in_call = false;  // between a seccomp stop and its syscall-exit-stop
  const Sys* sys = nullptr;
  std::array<std::uint64_t, 6> args{};
  CallRecord rec;
  bool show = false;
  Endpoint target;  // connect/bind/sendto: the address in the arguments
  bool has_target = false;
  Endpoint close_local, close_peer;  // close: the socket's addresses while it still existed
  bool close_has = false;
  std::uint64_t pending = 0;  // SocketSet::begin_pending() of this call, until its exit stop
};

std::string read_small_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[512];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

const char* family_text(int f) {
  switch (f) {
    case AF_INET: return "AF_INET";
    case AF_INET6: return "AF_INET6";
    case AF_UNIX: return "AF_UNIX";
    default: return "AF_?";
  }
}

std::string type_text(int t) {
  std::string s;
  switch (t & 0xf) {
    case SOCK_STREAM: s = "SOCK_STREAM"; break;
    case SOCK_DGRAM: s = "SOCK_DGRAM"; break;
    case SOCK_SEQPACKET: s = "SOCK_SEQPACKET"; break;
    case SOCK_RAW: s = "SOCK_RAW"; break;
    default: s = "SOCK_?"; break;
  }
  if (t & SOCK_NONBLOCK) s += "|SOCK_NONBLOCK";
  if (t & SOCK_CLOEXEC) s += "|SOCK_CLOEXEC";
  return s;
}

std::string sockopt_text(std::uint64_t level, std::uint64_t name) {
  const int l = static_cast<int>(level), n = static_cast<int>(name);
  if (l == SOL_SOCKET) {
    switch (n) {
      case SO_REUSEADDR: return "SOL_SOCKET, SO_REUSEADDR";
      case SO_REUSEPORT: return "SOL_SOCKET, SO_REUSEPORT";
      case SO_ERROR: return "SOL_SOCKET, SO_ERROR";
      case SO_KEEPALIVE: return "SOL_SOCKET, SO_KEEPALIVE";
      case SO_LINGER: return "SOL_SOCKET, SO_LINGER";
      case SO_RCVBUF: return "SOL_SOCKET, SO_RCVBUF";
      case SO_SNDBUF: return "SOL_SOCKET, SO_SNDBUF";
      case SO_RCVTIMEO: return "SOL_SOCKET, SO_RCVTIMEO";
      case SO_SNDTIMEO: return "SOL_SOCKET, SO_SNDTIMEO";
      case SO_BROADCAST: return "SOL_SOCKET, SO_BROADCAST";
      case SO_TYPE: return "SOL_SOCKET, SO_TYPE";
      default: return "SOL_SOCKET, " + std::to_string(n);
    }
  }
  if (l == IPPROTO_TCP) {
    switch (n) {
      case TCP_NODELAY: return "IPPROTO_TCP, TCP_NODELAY";
      case TCP_INFO: return "IPPROTO_TCP, TCP_INFO";
      default: return "IPPROTO_TCP, " + std::to_string(n);
    }
  }
  if (l == IPPROTO_IPV6 && n == IPV6_V6ONLY) return "IPPROTO_IPV6, IPV6_V6ONLY";
  return std::to_string(l) + ", " + std::to_string(n);
}

class Tracer {
 public:
  Tracer(const TraceOptions& opts, CallSink& sink) : opts_(opts), sink_(sink) {}
  ~Tracer() {
    for (auto& [pid, p] : procs_)
      if (p.pidfd >= 0) ::close(p.pidfd);
  }

  TraceResult run(const std::string& path);

 private:
  Proc& proc(pid_t tgid) {
    auto it = procs_.find(tgid);
    if (it != procs_.end()) return it->second;
    Proc& p = procs_[tgid];
    p.role = procs_.size() == 1 ? CallRole::Client : CallRole::Server;
    p.comm = comm_of(tgid);
    return p;
  }
  static std::string comm_of(pid_t pid) {
    std::string c = read_small_file("/proc/" + std::to_string(pid) + "/comm");
    while (!c.empty() && (c.back() == '\n' || c.back() == '\0')) c.pop_back();
    return c;
  }
  Thread& thread(pid_t tid) {
    Thread& t = threads_[tid];
    if (t.tgid == 0) {
      t.tgid = tid;
      const std::string st = read_small_file("/proc/" + std::to_string(tid) + "/status");
      const auto pos = st.find("\nTgid:");
      if (pos != std::string::npos) t.tgid = static_cast<pid_t>(std::atoi(st.c_str() + pos + 6));
      if (t.tgid <= 0) t.tgid = tid;
    }
    return t;
  }

  // A duplicate of the program's descriptor in sockscope (pidfd_getfd(2)), or -1.
  int grab(pid_t tgid, int fd) {
    Proc& p = proc(tgid);
    if (p.pidfd < 0) p.pidfd = static_cast<int>(syscall(SYS_pidfd_open, tgid, 0));
    if (p.pidfd < 0) return -1;
    return static_cast<int>(syscall(SYS_pidfd_getfd, p.pidfd, fd, 0));
  }

  Sock* sock_of(pid_t tgid, std::uint64_t fd_arg) {
    const int fd = static_cast<int>(fd_arg);
    if (fd < 0) return nullptr;
    Proc& p = proc(tgid);
    auto it = p.fds.find(fd);
    if (it != p.fds.end()) return it->second.is_socket ? &it->second : nullptr;
    Sock s;
    char link[64] = {};
    const std::string path = "/proc/" + std::to_string(tgid) + "/fd/" + std::to_string(fd);
    const ssize_t n = ::readlink(path.c_str(), link, sizeof link - 1);
    if (n > 0 && std::strncmp(link, "socket:[", 8) == 0) {
      s.is_socket = true;
      const int dup = grab(tgid, fd);
      if (dup >= 0) {
        int v = 0;
        socklen_t len = sizeof v;
        if (::getsockopt(dup, SOL_SOCKET, SO_DOMAIN, &v, &len) == 0) s.family = v;
        len = sizeof v;
        if (::getsockopt(dup, SOL_SOCKET, SO_TYPE, &v, &len) == 0) s.type = v;
        ::close(dup);
      }
      set_kind(s);
    }
    // A descriptor that could not be read (already closed) is not cached: it may be opened again.
    if (n <= 0) return nullptr;
    Sock& slot = p.fds[fd] = s;
    if (slot.shown) p.any_socket = true;
    return slot.is_socket ? &slot : nullptr;
  }
  static void set_kind(Sock& s) {
    s.shown = s.family == AF_INET || s.family == AF_INET6 || s.family == AF_UNIX;
    const bool inet = s.family == AF_INET || s.family == AF_INET6;
    s.proto = !inet ? Proto::Other : (s.type & 0xf) == SOCK_STREAM ? Proto::Tcp
              : (s.type & 0xf) == SOCK_DGRAM ? Proto::Udp : Proto::Other;
  }

  // The socket's addresses now, and its TCP state: from a duplicate of the program's descriptor.
  void refresh(pid_t tgid, int fd, Sock& s, CallRecord* rec) {
    const int dup = grab(tgid, fd);
    if (dup < 0) return;
    if (s.family == AF_INET || s.family == AF_INET6) {
      demo::SockAddr a;
      a.len = sizeof a.ss;
      if (::getsockname(dup, a.sa(), &a.len) == 0) {
        s.local = unmap_v4(demo::to_endpoint(a));
        s.has_local = s.local.ip.family != 0;
      }
      a = demo::SockAddr{};
      a.len = sizeof a.ss;
      if (::getpeername(dup, a.sa(), &a.len) == 0) {
        s.peer = unmap_v4(demo::to_endpoint(a));
        s.has_peer = s.peer.ip.family != 0;
      }
      if (rec && s.proto == Proto::Tcp) rec->kernel_state = demo::tcp_kernel_state(dup);
    }
    ::close(dup);
    register_sock(s);
  }

  void register_sock(Sock& s) {
    if (!opts_.sockets || !s.has_local || s.local.port == 0 || s.proto == Proto::Other) return;
    if (s.registered && s.reg_local == s.local && s.reg_has_peer == s.has_peer && (!s.has_peer || s.reg_peer == s.peer))
      return;
    opts_.sockets->add(s.proto, s.local, s.has_peer ? &s.peer : nullptr);
    s.registered = true;
    s.reg_local = s.local;
    s.reg_peer = s.peer;
    s.reg_has_peer = s.has_peer;
  }

  // Our address towards a peer per the routing table (a connected UDP socket learns it without
  // sending anything, udp(7)), for a socket bound to the wildcard address.
  IpAddr source_for(const Endpoint& peer) {
    for (const auto& [dst, src] : sources_)
      if (dst == peer.ip) return src;
    IpAddr src;
    demo::SockAddr to;
    if (peer.ip.family == 4) {
      auto* v4 = reinterpret_cast<sockaddr_in*>(&to.ss);
      v4->sin_family = AF_INET;
      v4->sin_port = htons(9);
      std::memcpy(&v4->sin_addr, peer.ip.b.data(), 4);
      to.len = sizeof *v4;
    } else {
      auto* v6 = reinterpret_cast<sockaddr_in6*>(&to.ss);
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons(9);
      std::memcpy(&v6->sin6_addr, peer.ip.b.data(), 16);
      to.len = sizeof *v6;
    }
    const int fd = ::socket(to.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      demo::SockAddr me;
      me.len = sizeof me.ss;
      if (::connect(fd, to.sa(), to.len) == 0 && ::getsockname(fd, me.sa(), &me.len) == 0) src = demo::to_endpoint(me).ip;
      ::close(fd);
    }
    if (sources_.size() < 64) sources_.emplace_back(peer.ip, src);
    return src;
  }

  static bool unspecified(const IpAddr& ip) {
    const std::size_t n = ip.family == 4 ? 4 : 16;
    for (std::size_t i = 0; i < n; ++i)
      if (ip.b[i] != 0) return false;
    return true;
  }

  // ---- the program's memory ----
  bool read_mem(pid_t pid, std::uint64_t addr, void* buf, std::size_t n) {
    if (addr == 0 || n == 0) return false;
    iovec local{buf, n};
    iovec remote{reinterpret_cast<void*>(addr), n};
    return process_vm_readv(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(n);
  }
  std::string read_bytes(pid_t pid, std::uint64_t addr, std::size_t n) {
    n = std::min(n, opts_.data_bytes);
    std::string s(n, '\0');
    if (n == 0) return s;
    iovec local{s.data(), n};
    iovec remote{reinterpret_cast<void*>(addr), n};
    const ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    s.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    return s;
  }
  // The bytes of an iovec array, the first total bytes of it (bounded).
  std::string read_iov(pid_t pid, std::uint64_t iov_addr, std::uint64_t count, std::size_t total) {
    std::string out;
    total = std::min(total, opts_.data_bytes);
    count = std::min<std::uint64_t>(count, 64);
    for (std::uint64_t i = 0; i < count && out.size() < total; ++i) {
      iovec v{};
      if (!read_mem(pid, iov_addr + i * sizeof(iovec), &v, sizeof v)) break;
      const std::size_t want = std::min(v.iov_len, total - out.size());
      out += read_bytes(pid, reinterpret_cast<std::uint64_t>(v.iov_base), want);
    }
    return out;
  }
  // A socket address in the program's memory: the endpoint, and its text ("127.0.0.1:9000",
  // "[::1]:9000", a path for AF_UNIX).
  bool read_sockaddr(pid_t pid, std::uint64_t addr, std::uint64_t len, Endpoint& e, std::string& text) {
    demo::SockAddr a;
    len = std::min<std::uint64_t>(len, sizeof a.ss);
    if (len < sizeof(sa_family_t) || !read_mem(pid, addr, &a.ss, len)) return false;
    a.len = static_cast<socklen_t>(len);
    if (a.family() == AF_UNIX) {
      const auto* un = reinterpret_cast<const sockaddr_un*>(&a.ss);
      const std::size_t plen = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
      std::string path(un->sun_path, strnlen(un->sun_path, plen));
      if (plen > 0 && un->sun_path[0] == '\0') path = "@" + std::string(un->sun_path + 1, plen - 1);
      text = "\"" + path + "\"";
      return false;
    }
    if (a.family() != AF_INET && a.family() != AF_INET6) return false;
    e = unmap_v4(demo::to_endpoint(a));
    text = demo::endpoint_text(e);
    return true;
  }

  void emit(const CallRecord& r) {
    sink_.on_call(r);
    ++calls_;
  }

  // At the seccomp stop: whether the call is shown (then the exit stop is wanted).
  bool on_entry(pid_t tid, Thread& t, const SyscallInfo& info);
  // Ends the thread's pending call (after on_exit has registered what it revealed).
  void settle(Thread& t);
  void on_exit(pid_t tid, Thread& t, const SyscallInfo& info);

  const TraceOptions& opts_;
  CallSink& sink_;
  std::unordered_map<pid_t, Proc> procs_;
  std::unordered_map<pid_t, Thread> threads_;
  std::vector<std::pair<IpAddr, IpAddr>> sources_;
  std::uint64_t calls_ = 0;
};

bool Tracer::on_entry(pid_t tid, Thread& t, const SyscallInfo& info) {
  const Sys* sys = find_sys(info.seccomp.nr);
  if (!sys) return false;
  t.sys = sys;
  std::copy(std::begin(info.seccomp.args), std::end(info.seccomp.args), t.args.begin());
  const auto& a = t.args;
  const pid_t tgid = t.tgid;
  t.has_target = false;
  t.close_has = false;
  t.show = false;
  Sock* s = nullptr;
  switch (sys->kind) {
    case Kind::Dup: return true;  // the exit stop forgets what the new descriptor was
    case Kind::Socket: {
      const int fam = static_cast<int>(a[0]);
      if (fam != AF_INET && fam != AF_INET6 && fam != AF_UNIX) return true;  // still forget the new fd
      t.show = true;
      break;
    }
    case Kind::Poll: case Kind::Select: case Kind::EpollWait:
      break;
    default: {
      s = sock_of(tgid, a[0]);
      if (!s) {
        // close() of something else: the number will soon mean another file.
        if (sys->kind == Kind::Close) proc(tgid).fds.erase(static_cast<int>(a[0]));
        return false;
      }
      if (!s->shown) {
        if (sys->kind == Kind::Close) return true;  // forgotten at the exit stop
        return false;
      }
      t.show = true;
      break;
    }
  }

  Proc& p = proc(tgid);
  std::string argtext;
  switch (sys->kind) {
    case Kind::Poll: {
      // Shown when it waits for at least one socket.
      const std::uint64_t n = std::min<std::uint64_t>(a[1], 64);
      bool any = false;
      for (std::uint64_t i = 0; i < n; ++i) {
        pollfd pf{};
        if (!read_mem(tid, a[0] + i * sizeof pf, &pf, sizeof pf)) break;
        if (pf.fd < 0) continue;
        Sock* ps = sock_of(tgid, static_cast<std::uint64_t>(pf.fd));
        if (!ps || !ps->shown) continue;
        any = true;
        if (!argtext.empty()) argtext += ", ";
        argtext += "fd " + std::to_string(pf.fd);
        if (pf.events & POLLIN) argtext += " POLLIN";
        if (pf.events & POLLOUT) argtext += " POLLOUT";
      }
      if (!any) return false;
      t.show = true;
      break;
    }
    case Kind::Select: {
      const std::uint64_t nfds = std::min<std::uint64_t>(a[0], 1024);
      bool any = false;
      for (int set = 1; set <= 2; ++set) {
        if (a[static_cast<std::size_t>(set)] == 0) continue;
        std::array<std::uint64_t, 16> bits{};
        if (!read_mem(tid, a[static_cast<std::size_t>(set)], bits.data(), (nfds + 63) / 64 * 8)) continue;
        for (std::uint64_t fd = 0; fd < nfds; ++fd) {
          if (!(bits[fd / 64] >> (fd % 64) & 1)) continue;
          Sock* ps = sock_of(tgid, fd);
          if (!ps || !ps->shown) continue;
          any = true;
          if (!argtext.empty()) argtext += ", ";
          argtext += "fd " + std::to_string(fd) + (set == 1 ? " read" : " write");
        }
      }
      if (!any) return false;
      t.show = true;
      break;
    }
    case Kind::EpollWait:
      if (!p.any_socket) return false;
      t.show = true;
      break;
    case Kind::Socket:
      argtext = std::string(family_text(static_cast<int>(a[0]))) + ", " + type_text(static_cast<int>(a[1]));
      break;
    case Kind::Bind: case Kind::Connect: {
      std::string text;
      t.has_target = read_sockaddr(tid, a[1], a[2], t.target, text);
      argtext = text;
      break;
    }
    case Kind::Send:
      if (sys->nr == __NR_sendto && a[4] != 0) {
        std::string text;
        t.has_target = read_sockaddr(tid, a[4], a[5], t.target, text);
        argtext = text;
      }
      break;
    case Kind::Listen:
      argtext = std::to_string(static_cast<int>(a[1]));
      break;
    case Kind::Shutdown: {
      const int how = static_cast<int>(a[1]);
      argtext = how == SHUT_RD ? "SHUT_RD" : how == SHUT_WR ? "SHUT_WR" : how == SHUT_RDWR ? "SHUT_RDWR" : std::to_string(how);
      break;
    }
    case Kind::SetSockOpt: {
      argtext = sockopt_text(a[1], a[2]);
      int v = 0;
      if (a[4] == sizeof v && read_mem(tid, a[3], &v, sizeof v)) argtext += ", " + std::to_string(v);
      break;
    }
    case Kind::GetSockOpt:
      argtext = sockopt_text(a[1], a[2]);
      break;
    case Kind::Close:
      // The socket's addresses while it still exists: the kernel's state after close() is looked up by them.
      refresh(tgid, static_cast<int>(a[0]), *s, nullptr);
      t.close_has = s->has_local && s->has_peer;
      t.close_local = s->local;
      t.close_peer = s->peer;
      break;
    default:
      break;
  }

  CallRecord& r = t.rec;
  r = CallRecord{};
  r.ts = now();
  r.endpoint = p.role;
  r.call = sys->name;
  r.args = std::move(argtext);
  r.pid = tgid;
  r.program = p.comm;
  r.blocking = blocking_kind(sys->kind);
  r.returned = false;
  r.fd = sys->kind == Kind::Socket || sys->kind == Kind::Poll || sys->kind == Kind::Select ||
                 sys->kind == Kind::EpollWait
             ? -1
             : static_cast<int>(a[0]);
  if (s) {
    r.proto = s->proto;
    r.has_local = s->has_local;
    r.local = s->local;
    r.has_peer = s->has_peer;
    r.peer = s->peer;
  }
  if (sys->kind == Kind::Connect && t.has_target) {
    r.has_peer = true;
    r.peer = t.target;
  }
  // A connect, or a send on a socket with no port yet (UDP binds at its first send), gives the
  // socket an address that the exit stop reads: its packets wait for that (SocketSet::settled_ns).
  const bool may_bind = sys->kind == Kind::Connect || sys->kind == Kind::Send || sys->kind == Kind::SendMsg ||
                        sys->kind == Kind::SendMmsg || sys->kind == Kind::Writev;
  if (opts_.sockets && s && may_bind && !(s->has_local && s->local.port != 0) && s->proto != Proto::Other)
    t.pending = opts_.sockets->begin_pending(r.ts.ns());
  if (r.blocking) emit(r);
  return true;
}

void Tracer::settle(Thread& t) {
  if (t.pending == 0) return;
  if (opts_.sockets) opts_.sockets->end_pending(t.pending);
  t.pending = 0;
}

void Tracer::on_exit(pid_t tid, Thread& t, const SyscallInfo& info) {
  const Sys* sys = t.sys;
  const pid_t tgid = t.tgid;
  const auto& a = t.args;
  const bool failed = info.exit.is_error != 0;
  const std::int64_t rval = info.exit.rval;
  const int err = failed ? static_cast<int>(-rval) : 0;
  Proc& p = proc(tgid);

  if (sys->kind == Kind::Dup) {
    if (!failed) p.fds.erase(static_cast<int>(rval));
    return;
  }
  if (sys->kind == Kind::Socket && !failed) p.fds.erase(static_cast<int>(rval));
  if (sys->kind == Kind::Close && !t.show) {
    p.fds.erase(static_cast<int>(a[0]));
    return;
  }
  if (!t.show) return;
  // Interrupted by a signal and restarted by the kernel (ERESTARTSYS and its kin, 512 to 516): the
  // program never sees this result; the call starts again (a new entry).
  if (failed && err >= 512 && err <= 516) return;

  CallRecord& r = t.rec;
  r.ts_return = now();
  r.returned = true;
  r.result = failed ? -1 : rval;
  r.err = err;
  const int fd = static_cast<int>(a[0]);
  Sock* s = nullptr;

  switch (sys->kind) {
    case Kind::Socket:
      if (!failed) {
        Sock ns;
        ns.is_socket = true;
        ns.family = static_cast<int>(a[0]);
        ns.type = static_cast<int>(a[1]) & 0xf;
        set_kind(ns);
        p.fds[static_cast<int>(rval)] = ns;
        p.any_socket = true;
        r.proto = ns.proto;
        r.fd = static_cast<int>(rval);
      }
      break;
    case Kind::Accept:
      if (!failed) {
        if (Sock* ns = sock_of(tgid, static_cast<std::uint64_t>(rval))) {
          refresh(tgid, static_cast<int>(rval), *ns, &r);
          r.proto = ns->proto;
          r.has_local = ns->has_local;
          r.local = ns->local;
          r.has_peer = ns->has_peer;
          r.peer = ns->peer;
        }
      }
      break;
    case Kind::Close:
      r.kernel_state = "";
      if (!failed && r.proto == Proto::Tcp && t.close_has) r.kernel_state = demo::tcp_state_by_tuple(t.close_local, t.close_peer);
      p.fds.erase(fd);
      break;
    case Kind::Poll: case Kind::Select: case Kind::EpollWait:
      break;
    default:
      s = sock_of(tgid, a[0]);
      if (s) {
        refresh(tgid, fd, *s, &r);
        r.has_local = s->has_local;
        r.local = s->local;
        r.has_peer = s->has_peer;
        r.peer = s->peer;
      }
      break;
  }

  const std::size_t got = failed || rval <= 0 ? 0 : static_cast<std::size_t>(rval);
  switch (sys->kind) {
    case Kind::Send:
      if (got) r.data = read_bytes(tid, a[1], got);
      if (failed) r.args = r.args.empty() ? std::to_string(a[2]) + " bytes" : r.args + ", " + std::to_string(a[2]) + " bytes";
      break;
    case Kind::Writev:
      if (got) r.data = read_iov(tid, a[1], a[2], got);
      break;
    case Kind::Recv:
      if (got) r.data = read_bytes(tid, a[1], got);
      if (sys->nr == __NR_recvfrom && !failed && a[4] != 0 && a[5] != 0) {
        socklen_t len = 0;
        std::string text;
        Endpoint from;
        if (read_mem(tid, a[5], &len, sizeof len) && read_sockaddr(tid, a[4], len, from, text)) {
          t.target = from;
          t.has_target = true;
        }
      }
      break;
    case Kind::Readv:
      if (got) r.data = read_iov(tid, a[1], a[2], got);
      break;
    case Kind::SendMsg: case Kind::RecvMsg: case Kind::SendMmsg: case Kind::RecvMmsg: {
      msghdr m{};
      if (read_mem(tid, a[1], &m, sizeof m)) {
        std::size_t n = got;
        if (sys->kind == Kind::SendMmsg || sys->kind == Kind::RecvMmsg) {
          // The first message of the batch; the result counts messages.
          unsigned len = 0;
          if (read_mem(tid, a[1] + offsetof(mmsghdr, msg_len), &len, sizeof len)) n = got ? len : 0;
          r.args = std::to_string(a[2]) + (a[2] == 1 ? " message" : " messages");
        }
        if (n) r.data = read_iov(tid, reinterpret_cast<std::uint64_t>(m.msg_iov), m.msg_iovlen, n);
        if (m.msg_name && m.msg_namelen > 0 && !failed) {
          std::string text;
          Endpoint e;
          if (read_sockaddr(tid, reinterpret_cast<std::uint64_t>(m.msg_name), m.msg_namelen, e, text)) {
            t.target = e;
            t.has_target = true;
            if (sys->kind == Kind::SendMsg || sys->kind == Kind::SendMmsg)
              r.args = r.args.empty() ? text : r.args + ", " + text;
          }
        }
      }
      break;
    }
    case Kind::GetSockOpt:
      if (!failed && static_cast<int>(a[1]) == SOL_SOCKET && static_cast<int>(a[2]) == SO_ERROR) {
        int v = 0;
        if (read_mem(tid, a[3], &v, sizeof v)) r.args += ", " + errno_name(v);
      }
      break;
    default:
      break;
  }

  // A datagram's peer is the address it went to or came from; a socket bound to the wildcard address
  // is, for this datagram, the address the routing table picks towards that peer.
  if (t.has_target && (sys->kind == Kind::Send || sys->kind == Kind::Recv || sys->kind == Kind::SendMsg ||
                       sys->kind == Kind::RecvMsg || sys->kind == Kind::SendMmsg || sys->kind == Kind::RecvMmsg)) {
    r.has_peer = true;
    r.peer = t.target;
  }
  if (r.has_local && r.has_peer && unspecified(r.local.ip)) {
    const IpAddr src = source_for(r.peer);
    if (src.family != 0) r.local.ip = src;
  }
  if (r.has_local && r.local.port == 0) r.has_local = false;
  emit(r);
}

TraceResult Tracer::run(const std::string& path) {
  TraceResult res;
  // The child reports a failed exec through this pipe (closed on a successful exec).
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    res.error = std::string("pipe: ") + std::strerror(errno);
    return res;
  }
  std::vector<char*> argv;
  for (const std::string& s : opts_.argv) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);

  const pid_t child = fork();
  if (child < 0) {
    res.error = std::string("fork: ") + std::strerror(errno);
    return res;
  }
  if (child == 0) {
    ::close(pipefd[0]);
    // The program gets the default signal handling sockscope changed for itself.
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGQUIT, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    if (opts_.own_process_group) ::setpgid(0, 0);
    if (opts_.stdin_fd >= 0) ::dup2(opts_.stdin_fd, STDIN_FILENO);
    if (opts_.stdout_fd >= 0) {
      ::dup2(opts_.stdout_fd, STDOUT_FILENO);
      ::dup2(opts_.stdout_fd, STDERR_FILENO);
    }
    int code = 0;
    if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) {
      code = errno;
    } else {
      ::raise(SIGSTOP);  // the tracer sets its options now
      if (!install_filter()) code = errno;
    }
    if (code == 0) {
      ::execv(path.c_str(), argv.data());
      code = errno;
    }
    const int c = code;
    [[maybe_unused]] const ssize_t w = ::write(pipefd[1], &c, sizeof c);
    _exit(127);
  }
  ::close(pipefd[1]);

  int st = 0;
  if (waitpid(child, &st, 0) != child || !WIFSTOPPED(st)) {
    // PTRACE_TRACEME failed (ptrace forbidden: Yama ptrace_scope 3, a seccomp policy, a container).
    int code = 0;
    const bool told = ::read(pipefd[0], &code, sizeof code) == sizeof code;
    ::close(pipefd[0]);
    if (WIFSTOPPED(st)) ::kill(child, SIGKILL);
    waitpid(child, &st, 0);
    res.error = told ? std::string("ptrace: ") + std::strerror(code) : "ptrace";
    return res;
  }
  const long options = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                       PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
  if (ptrace(PTRACE_SETOPTIONS, child, nullptr, reinterpret_cast<void*>(options)) != 0) {
    res.error = std::string("ptrace PTRACE_SETOPTIONS: ") + std::strerror(errno);
    ::kill(child, SIGKILL);
    waitpid(child, &st, 0);
    ::close(pipefd[0]);
    return res;
  }
  if (opts_.pid) opts_.pid->store(child);
  Thread& root = thread(child);
  root.tgid = child;
  root.started = true;
  ptrace(PTRACE_CONT, child, nullptr, nullptr);

  // Until the exec: a failed filter or exec comes back through the pipe; a successful exec closes it.
  bool exec_checked = false;
  int root_status = 0;
  bool root_done = false;
  for (;;) {
    // __WNOTHREAD: only this thread's tracees. A lesson traces two programs from two threads of one
    // process, and other threads run tools (ip, nft) whose exit is theirs to collect.
    const pid_t tid = waitpid(-1, &st, __WALL | __WNOTHREAD);
    if (tid < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: every traced process has ended
    }
    if (WIFEXITED(st) || WIFSIGNALED(st)) {
      if (tid == child) {
        root_done = true;
        root_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      auto it = threads_.find(tid);
      if (it != threads_.end()) {
        if (it->second.tgid == tid) {
          auto pit = procs_.find(tid);
          if (pit != procs_.end()) {
            if (pit->second.pidfd >= 0) ::close(pit->second.pidfd);
            procs_.erase(pit);
          }
        }
        settle(it->second);
        threads_.erase(it);
      }
      continue;
    }
    if (!WIFSTOPPED(st)) continue;
    const int sig = WSTOPSIG(st);
    const int event = st >> 16;
    Thread& t = thread(tid);
    if (sig == (SIGTRAP | 0x80)) {
      // The syscall-exit-stop of a call we asked to see.
      SyscallInfo info{};
      if (t.in_call && ptrace(PTRACE_GET_SYSCALL_INFO, tid, reinterpret_cast<void*>(sizeof info), &info) > 0 &&
          info.op == kOpExit)
        on_exit(tid, t, info);
      settle(t);
      t.in_call = false;
      ptrace(PTRACE_CONT, tid, nullptr, nullptr);
      continue;
    }
    if (sig == SIGTRAP && event == PTRACE_EVENT_SECCOMP) {
      if (!exec_checked) {
        // The first filtered call comes after the exec (the filter is installed just before it).
        exec_checked = true;
      }
      SyscallInfo info{};
      bool want_exit = false;
      if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, reinterpret_cast<void*>(sizeof info), &info) > 0 &&
          info.op == kOpSeccomp)
        want_exit = on_entry(tid, t, info);
      t.in_call = want_exit;
      ptrace(want_exit ? PTRACE_SYSCALL : PTRACE_CONT, tid, nullptr, nullptr);
      continue;
    }
    if (sig == SIGTRAP && (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE)) {
      unsigned long newpid = 0;
      ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &newpid);
      ptrace(PTRACE_CONT, tid, nullptr, nullptr);
      continue;
    }
    if (sig == SIGTRAP && event == PTRACE_EVENT_EXEC) {
      unsigned long former = 0;
      ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &former);
      if (static_cast<pid_t>(former) != tid) {
        if (auto it = threads_.find(static_cast<pid_t>(former)); it != threads_.end()) settle(it->second);
        threads_.erase(static_cast<pid_t>(former));
      }
      // A new program: descriptors closed on exec are gone, and it has a new name.
      Proc& p = proc(t.tgid);
      p.fds.clear();
      p.any_socket = false;
      p.comm = comm_of(t.tgid);
      t.in_call = false;
      ptrace(PTRACE_CONT, tid, nullptr, nullptr);
      continue;
    }
    if (!t.started && sig == SIGSTOP) {
      // A new process or thread starts with a SIGSTOP of its own (the tracer attached it).
      t.started = true;
      ptrace(PTRACE_CONT, tid, nullptr, nullptr);
      continue;
    }
    t.started = true;
    // A signal for the program: deliver it.
    const int deliver = (sig == SIGTRAP && event != 0) ? 0 : sig;
    ptrace(t.in_call ? PTRACE_SYSCALL : PTRACE_CONT, tid, nullptr, reinterpret_cast<void*>(static_cast<long>(deliver)));
  }

  int code = 0;
  if (::read(pipefd[0], &code, sizeof code) == sizeof code && code != 0) {
    res.error = std::string(tr("could not start the program")) + ": " + std::strerror(code);
    res.status = code == ENOENT ? 127 : 126;
    ::close(pipefd[0]);
    return res;
  }
  ::close(pipefd[0]);
  res.started = true;
  res.status = root_done ? root_status : 1;
  res.calls = calls_;
  return res;
}

}  // namespace

std::vector<const char*> shown_call_names() {
  std::vector<const char*> names;
  for (const Sys& s : kSyscalls)
    if (s.kind != Kind::Dup) names.push_back(s.name);
  return names;
}

int find_program(const std::string& name, std::string& path) {
  auto check = [&](const std::string& p) {
    struct stat sb {};
    if (::stat(p.c_str(), &sb) != 0 || S_ISDIR(sb.st_mode)) return 127;
    if (::access(p.c_str(), X_OK) != 0) return 126;
    path = p;
    return 0;
  };
  if (name.empty()) return 127;
  if (name.find('/') != std::string::npos) return check(name);
  const char* env = std::getenv("PATH");
  const std::string dirs = env ? env : "/usr/local/bin:/usr/bin:/bin";
  int best = 127;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = dirs.find(':', start);
    std::string dir = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (dir.empty()) dir = ".";
    const int rc = check(dir + "/" + name);
    if (rc == 0) return 0;
    if (rc == 126) best = 126;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return best;
}

TraceResult run_traced(const TraceOptions& opts, CallSink& sink) {
  TraceResult res;
  if (opts.argv.empty()) {
    res.error = "no program";
    res.status = 2;
    return res;
  }
  std::string path;
  const int rc = find_program(opts.argv[0], path);
  if (rc != 0) {
    res.status = rc;
    res.error = rc == 127 ? tr("no such program") : tr("not an executable program");
    return res;
  }
  Tracer tracer(opts, sink);
  TraceResult r = tracer.run(path);
  if (opts.sockets) opts.sockets->end_all_pending();  // nothing is under way any more
  return r;
}

}  // namespace sockscope::trace
