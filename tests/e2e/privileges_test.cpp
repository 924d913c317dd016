// Privileges during decoding: a LiveSession opens the capture as root, then gives root up (to --user,
// or to the sudo user) before it parses a single packet, as tcpdump -Z does. The view records the
// process's ids at its first packet, so the test sees the ids the decoder and annotator really ran
// with, not only what drop_privileges() returned.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "e2e_support.hpp"
#include "sockscope/pcap/live_capture.hpp"
#include "sockscope/pcap/live_session.hpp"
#include "sockscope/views/views.hpp"

namespace {

// The ids seen by the first packet() call, and how many packets arrived.
struct Ids {
  long packets = 0;
  long uid = -1, euid = -1, gid = -1, egid = -1;
  int capture_rights = -1;  // have_capture_privileges() at that moment
};

struct IdView final : sockscope::View {
  std::atomic<bool>* seen = nullptr;
  Ids ids;
  void packet(const sockscope::Packet&, const sockscope::Annotation&) override {
    if (ids.packets++ == 0) {
      ids.uid = static_cast<long>(getuid());
      ids.euid = static_cast<long>(geteuid());
      ids.gid = static_cast<long>(getgid());
      ids.egid = static_cast<long>(getegid());
      ids.capture_rights = sockscope::have_capture_privileges() ? 1 : 0;
      seen->store(true);
    }
  }
  void conversation(const sockscope::ConnSummary&) override {}
  void finish() override {}
};

// A UDP socket bound on 127.0.0.1 at a port the kernel picks: the datagram sent to it is the packet
// the session decodes (a bound port, so no ICMP port unreachable follows it).
struct UdpPort {
  int fd = -1;
  std::uint16_t port = 0;
  UdpPort() {
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
  }
  ~UdpPort() {
    if (fd >= 0) close(fd);
  }
  bool send_one() const {
    const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(port);
    const ssize_t n = sendto(s, "who am i", 8, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    close(s);
    return n == 8;
  }
};

// In a forked child (the ids cannot come back once dropped, and the test process keeps root):
// opens a session on lo for one UDP port with the given user ("" = the sudo user), sends one
// datagram, and writes what the view recorded to the pipe as "packets uid euid gid egid rights", or
// "error: ..." when the session could not be opened.
std::string session_ids_in_child(const std::string& user, bool use_sudo_env) {
  int p[2];
  if (pipe(p) != 0) return "error: pipe";
  const pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    auto reply = [&](const std::string& s) {
      const ssize_t n = write(p[1], s.data(), s.size());
      _exit(n == static_cast<ssize_t>(s.size()) ? 0 : 1);
    };
    if (use_sudo_env) {
      setenv("SUDO_UID", "65534", 1);
      setenv("SUDO_GID", "65534", 1);
    } else {
      unsetenv("SUDO_UID");
      unsetenv("SUDO_GID");
    }
    UdpPort target;
    if (target.port == 0) reply("error: no UDP port");
    sockscope::LiveSessionOptions o;
    o.capture.interface = "lo";
    o.capture.filter = "udp port " + std::to_string(target.port);
    o.drop_privileges = true;
    o.user = user;
    o.holdback_ms = 0;
    IdView view;
    std::atomic<bool> seen{false};
    view.seen = &seen;
    sockscope::OutBuffer out(nullptr);
    std::string err;
    auto session = sockscope::LiveSession::open(o, view, out, err);
    if (!session) reply("error: " + err);
    // open() has returned: the capture is active and root is already gone.
    const long after_open_euid = static_cast<long>(geteuid());
    std::atomic<bool> stop{false};
    sockscope::LiveSessionResult result;
    std::thread t([&] { result = session->run(stop); });
    target.send_one();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (!seen.load() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop = true;
    t.join();
    const Ids& i = view.ids;
    char line[200];
    std::snprintf(line, sizeof line, "%ld %ld %ld %ld %ld %d %ld", i.packets, i.uid, i.euid, i.gid, i.egid,
                  i.capture_rights, after_open_euid);
    reply(line);
  }
  close(p[1]);
  std::string got;
  char buf[256];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st)) return "error: the child died with signal " + std::to_string(WTERMSIG(st));
  return got;
}

struct Parsed {
  bool ok = false;
  long packets = 0, uid = -1, euid = -1, gid = -1, egid = -1, after_open_euid = -1;
  int rights = -1;
};

Parsed parse(const std::string& s) {
  Parsed r;
  r.ok = std::sscanf(s.c_str(), "%ld %ld %ld %ld %ld %d %ld", &r.packets, &r.uid, &r.euid, &r.gid, &r.egid,
                     &r.rights, &r.after_open_euid) == 7;
  return r;
}

long uid_of(const char* name, long& gid) {
  const passwd* pw = getpwnam(name);
  if (pw == nullptr) return -1;
  gid = static_cast<long>(pw->pw_gid);
  return static_cast<long>(pw->pw_uid);
}

TEST(Privileges, DecodingRunsAsTheNamedUser) {
  E2E_REQUIRE(geteuid() == 0, "dropping privileges after opening the capture is tested as root");
  long nobody_gid = -1;
  const long nobody = uid_of("nobody", nobody_gid);
  E2E_REQUIRE(nobody > 0, "this machine has no user 'nobody' in /etc/passwd");
  const std::string got = session_ids_in_child("nobody", false);
  const Parsed p = parse(got);
  ASSERT_TRUE(p.ok) << got;
  ASSERT_GE(p.packets, 1) << "the datagram was not captured: " << got;
  EXPECT_EQ(p.after_open_euid, nobody) << "root must be gone when open() returns";
  // The decoder and annotator ran with nobody's ids, real and effective, and without capture rights.
  EXPECT_NE(p.euid, 0);
  EXPECT_EQ(p.euid, nobody);
  EXPECT_EQ(p.uid, nobody);
  EXPECT_EQ(p.egid, nobody_gid);
  EXPECT_EQ(p.gid, nobody_gid);
  EXPECT_EQ(p.rights, 0) << "CAP_NET_RAW must not survive the switch";
}

TEST(Privileges, DecodingRunsAsTheSudoUser) {
  E2E_REQUIRE(geteuid() == 0, "dropping privileges after opening the capture is tested as root");
  // sudo(8) leaves the invoking user's ids in SUDO_UID and SUDO_GID: 65534 stands for that user.
  const std::string got = session_ids_in_child("", true);
  const Parsed p = parse(got);
  ASSERT_TRUE(p.ok) << got;
  ASSERT_GE(p.packets, 1) << "the datagram was not captured: " << got;
  EXPECT_EQ(p.euid, 65534);
  EXPECT_EQ(p.uid, 65534);
  EXPECT_EQ(p.egid, 65534);
  EXPECT_EQ(p.rights, 0);
}

TEST(Privileges, AnUnknownUserStopsBeforeAnyPacket) {
  E2E_REQUIRE(geteuid() == 0, "dropping privileges after opening the capture is tested as root");
  // Better no capture than a capture that quietly keeps root.
  const std::string got = session_ids_in_child("no-such-user-sockscope", false);
  EXPECT_EQ(got.rfind("error: ", 0), 0u) << got;
  EXPECT_NE(got.find("no-such-user-sockscope"), std::string::npos) << got;
}

}  // namespace
