// Names for socket call records (calls.hpp): the endpoint roles and errno's symbolic names, which is
// how man pages (connect(2), recv(2), ...) and docs/glossary.md's `call` lines spell errors.
#include <cerrno>
#include <string>

#include "sockscope/annotate/calls.hpp"

namespace sockscope {

const char* call_role_name(CallRole r) {
  switch (r) {
    case CallRole::Client: return "client";
    case CallRole::Server: return "server";
  }
  return "client";
}

namespace {

constexpr CallName kCallNames[] = {
    // name          kind                sender  lessons
    {"socket",       CallKind::Socket,   false,  true},
    {"bind",         CallKind::Bind,     false,  true},
    {"listen",       CallKind::Listen,   false,  true},
    {"accept",       CallKind::Accept,   false,  true},
    {"accept4",      CallKind::Accept,   false,  false},
    {"connect",      CallKind::Connect,  false,  true},
    {"send",         CallKind::Send,     false,  true},
    {"sendto",       CallKind::Send,     false,  true},
    {"sendmsg",      CallKind::Send,     false,  false},
    {"sendmmsg",     CallKind::Send,     false,  false},
    {"write",        CallKind::Send,     false,  false},  // on a socket, write(2) is send(2) without flags
    {"writev",       CallKind::Send,     false,  false},
    {"recv",         CallKind::Receive,  false,  true},
    {"recvfrom",     CallKind::Receive,  true,   true},
    {"recvmsg",      CallKind::Receive,  true,   false},
    {"recvmmsg",     CallKind::Receive,  false,  false},
    {"read",         CallKind::Receive,  false,  false},
    {"readv",        CallKind::Receive,  false,  false},
    {"shutdown",     CallKind::Shutdown, false,  true},
    {"close",        CallKind::Close,    false,  true},
    {"setsockopt",   CallKind::Option,   false,  true},
    {"getsockopt",   CallKind::Option,   false,  false},
    {"poll",         CallKind::Wait,     false,  false},
    {"ppoll",        CallKind::Wait,     false,  false},
    {"select",       CallKind::Wait,     false,  false},
    {"pselect6",     CallKind::Wait,     false,  false},
    {"epoll_wait",   CallKind::Wait,     false,  false},
    {"epoll_pwait",  CallKind::Wait,     false,  false},
};

}  // namespace

std::span<const CallName> call_names() { return kCallNames; }

const CallName* find_call_name(std::string_view name) {
  for (const CallName& c : kCallNames)
    if (name == c.name) return &c;
  return nullptr;
}

CallKind call_kind(std::string_view name) {
  const CallName* c = find_call_name(name);
  return c ? c->kind : CallKind::Other;
}

std::string errno_name(int err) {
  // The errors socket calls return (socket(7), tcp(7), udp(7), ip(7) and the calls' own pages),
  // plus the common file errors. EWOULDBLOCK and ENOTSUP are the same numbers as EAGAIN and
  // EOPNOTSUPP on Linux, so they are spelled the way the man pages list them first.
#define SOCKSCOPE_ERRNO(e) \
  case e: return #e;
  switch (err) {
    case 0: return "0";
    SOCKSCOPE_ERRNO(EPERM)
    SOCKSCOPE_ERRNO(ENOENT)
    SOCKSCOPE_ERRNO(EINTR)
    SOCKSCOPE_ERRNO(EIO)
    SOCKSCOPE_ERRNO(EBADF)
    SOCKSCOPE_ERRNO(EAGAIN)
    SOCKSCOPE_ERRNO(ENOMEM)
    SOCKSCOPE_ERRNO(EACCES)
    SOCKSCOPE_ERRNO(EFAULT)
    SOCKSCOPE_ERRNO(EBUSY)
    SOCKSCOPE_ERRNO(EEXIST)
    SOCKSCOPE_ERRNO(EINVAL)
    SOCKSCOPE_ERRNO(ENFILE)
    SOCKSCOPE_ERRNO(EMFILE)
    SOCKSCOPE_ERRNO(ENOSPC)
    SOCKSCOPE_ERRNO(EPIPE)
    SOCKSCOPE_ERRNO(ENOTSOCK)
    SOCKSCOPE_ERRNO(EDESTADDRREQ)
    SOCKSCOPE_ERRNO(EMSGSIZE)
    SOCKSCOPE_ERRNO(EPROTOTYPE)
    SOCKSCOPE_ERRNO(ENOPROTOOPT)
    SOCKSCOPE_ERRNO(EPROTONOSUPPORT)
    SOCKSCOPE_ERRNO(ESOCKTNOSUPPORT)
    SOCKSCOPE_ERRNO(EOPNOTSUPP)
    SOCKSCOPE_ERRNO(EPFNOSUPPORT)
    SOCKSCOPE_ERRNO(EAFNOSUPPORT)
    SOCKSCOPE_ERRNO(EADDRINUSE)
    SOCKSCOPE_ERRNO(EADDRNOTAVAIL)
    SOCKSCOPE_ERRNO(ENETDOWN)
    SOCKSCOPE_ERRNO(ENETUNREACH)
    SOCKSCOPE_ERRNO(ENETRESET)
    SOCKSCOPE_ERRNO(ECONNABORTED)
    SOCKSCOPE_ERRNO(ECONNRESET)
    SOCKSCOPE_ERRNO(ENOBUFS)
    SOCKSCOPE_ERRNO(EISCONN)
    SOCKSCOPE_ERRNO(ENOTCONN)
    SOCKSCOPE_ERRNO(ESHUTDOWN)
    SOCKSCOPE_ERRNO(ETIMEDOUT)
    SOCKSCOPE_ERRNO(ECONNREFUSED)
    SOCKSCOPE_ERRNO(EHOSTDOWN)
    SOCKSCOPE_ERRNO(EHOSTUNREACH)
    SOCKSCOPE_ERRNO(EALREADY)
    SOCKSCOPE_ERRNO(EINPROGRESS)
    default: break;
  }
#undef SOCKSCOPE_ERRNO
  return "E?" + std::to_string(err);
}

}  // namespace sockscope
