// sockscope trace, end to end: real programs (the Python chat examples, sh, python3 -c) under the
// real binary, with real packets on loopback. Each test waits for what it checks (a line in a file, a
// process's end) with a generous deadline, never for a guessed time.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "paths.hpp"
#include "sockscope/annotate/calls.hpp"
#include "sockscope/trace/tracer.hpp"

namespace {

using sockscope::testing::source_dir;
using sockscope::testing::temp_dir;

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Starts /bin/sh -c cmd in its own process group; returns the pid.
pid_t start(const std::string& cmd) {
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// The exit status as a shell reports it, or -1 if it did not end within 60 s (then it is killed).
int finish(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int st = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(-pid, SIGKILL);
  waitpid(pid, &st, 0);
  return -1;
}

int run(const std::string& cmd) { return finish(start(cmd)); }

// Waits until the file holds a match of re; returns the first group, or "" after 60 s.
std::string wait_for(const std::string& path, const std::string& re) {
  const std::regex rx(re);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    const std::string text = slurp(path);
    if (std::regex_search(text, m, rx)) return m.size() > 1 ? m[1].str() : m[0].str();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "";
}

std::string bin() { return SOCKSCOPE_BINARY; }
std::string py(const std::string& name) { return source_dir() + "/demo/python/" + name; }

// The JSON call lines' "call" values, in order. Calls on AF_UNIX sockets are left out unless `all`:
// the C library makes its own (a name-service lookup to nscd when HOME is unset, as under CI), and a
// wrapper such as a pyenv shim is a bash script that makes more; they are not the program's chat.
std::vector<std::string> calls_of(const std::string& json, bool all = false) {
  std::vector<std::string> out;
  std::set<std::pair<std::string, std::string>> local_sockets;  // (pid, fd) of open AF_UNIX sockets
  const std::regex call_rx("\"type\":\"call\".*?\"call\":\"([a-z0-9_]+)\"");
  const std::regex fd_rx("\"fd\":(-?[0-9]+)");
  const std::regex pid_rx("\"pid\":([0-9]+)");
  std::istringstream in(json);
  for (std::string line; std::getline(in, line);) {
    std::smatch call, fd, pid;
    if (!std::regex_search(line, call, call_rx)) continue;
    std::regex_search(line, fd, fd_rx);
    std::regex_search(line, pid, pid_rx);
    const auto key = std::make_pair(pid.size() > 1 ? pid[1].str() : "", fd.size() > 1 ? fd[1].str() : "");
    const std::string name = call[1].str();
    if (name == "socket" && line.find("\"args\":\"AF_UNIX") != std::string::npos) local_sockets.insert(key);
    const bool local = local_sockets.count(key) > 0;
    if (name == "close") local_sockets.erase(key);
    if (all || !local) out.push_back(name);
  }
  return out;
}

// Runs a Python program (its text, saved as dir/prog.py) under `sockscope trace OPTIONS --json`; the
// JSON lines go to json. Returns the trace's exit status (the program's).
int trace_python(const std::string& dir, const std::string& program, std::string& json,
                 const std::string& options = "") {
  spit(dir + "/prog.py", program);
  const int rc = run(bin() + " trace " + options + (options.empty() ? "" : " ") + "--json -o " + dir +
                     "/t.json -- python3 " + dir + "/prog.py > /dev/null 2>&1");
  json = slurp(dir + "/t.json");
  return rc;
}

// How many times re matches in text.
std::ptrdiff_t count_matches(const std::string& text, const std::regex& re) {
  return std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator());
}

bool root() { return geteuid() == 0; }

// Every system call a trace shows has a row in the one call table, so the views know what it does
// (a write on a socket sends, an accept4 accepts).
TEST(Trace, EveryShownCallIsInTheCallTable) {
  const std::vector<const char*> names = sockscope::trace::shown_call_names();
  EXPECT_GE(names.size(), 20u);
  for (const char* n : names) EXPECT_NE(sockscope::call_kind(n), sockscope::CallKind::Other) << n;
  EXPECT_EQ(sockscope::call_kind("write"), sockscope::CallKind::Send);
  EXPECT_EQ(sockscope::call_kind("accept4"), sockscope::CallKind::Accept);
  EXPECT_EQ(sockscope::call_kind("no-such-call"), sockscope::CallKind::Other);
}

TEST(Trace, NoProgramIsAUsageError) { EXPECT_EQ(run(bin() + " trace 2>/dev/null"), 2); }

TEST(Trace, MissingProgramExits127AndNamesIt) {
  const std::string dir = temp_dir("trace_missing");
  EXPECT_EQ(run(bin() + " trace -- no-such-program-xyz 2>" + dir + "/err"), 127);
  const std::string err = slurp(dir + "/err");
  EXPECT_NE(err.find("no-such-program-xyz"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST(Trace, ExitStatusIsTheProgramsAnd128PlusSignal) {
  EXPECT_EQ(run(bin() + " trace -o /dev/null -- sh -c 'exit 7' 2>/dev/null"), 7);
  EXPECT_EQ(run(bin() + " trace -o /dev/null -- sh -c 'kill -INT $$' 2>/dev/null"), 130);
}

// Ctrl-C reaches the whole foreground group: the program dies of it, sockscope completes its output.
TEST(Trace, SigintToTheGroupEndsTheProgramAndTheTraceCompletes) {
  if (!root()) GTEST_SKIP() << "needs root for the capture";
  const std::string dir = temp_dir("trace_sigint");
  const pid_t pid = start(bin() + " trace --json -o " + dir + "/t.json -- python3 " + py("tcp_server.py") +
                          " 127.0.0.1 0 > " + dir + "/out 2>" + dir + "/err < /dev/null");
  ASSERT_NE(wait_for(dir + "/t.json", "\"call\":\"listen\""), "");
  kill(-pid, SIGINT);
  EXPECT_EQ(finish(pid), 130);
  const std::string json = slurp(dir + "/t.json");
  EXPECT_NE(json.find("\"call\":\"bind\""), std::string::npos);
}

TEST(Trace, FilesAndPipesAreNotShown) {
  const std::string dir = temp_dir("trace_files");
  ASSERT_EQ(run(bin() + " trace --json -o " + dir + "/t.json -- sh -c 'cat /etc/hostname | wc -c > " + dir +
                "/n' 2>/dev/null"),
            0);
  const std::string json = slurp(dir + "/t.json");
  EXPECT_TRUE(calls_of(json, true).empty()) << json;
}

// The Python TCP pair in two processes, each under its own trace, as in two terminals.
TEST(Trace, PythonTcpPairCallsAndPackets) {
  if (!root()) GTEST_SKIP() << "needs root for the capture";
  const std::string dir = temp_dir("trace_tcp");
  spit(dir + "/server_in", "hello from the server\nQ\n");
  spit(dir + "/client_in", "hi there\n");
  const pid_t server = start(bin() + " trace --json -o " + dir + "/server.json -- python3 " + py("tcp_server.py") +
                             " 127.0.0.1 0 < " + dir + "/server_in > " + dir + "/server_out 2>&1");
  const std::string port = wait_for(dir + "/server_out", "listening on 127.0.0.1 port ([0-9]+)");
  ASSERT_NE(port, "");
  const int client_rc = run(bin() + " trace --json -o " + dir + "/client.json -- python3 " + py("tcp_client.py") +
                            " 127.0.0.1 " + port + " < " + dir + "/client_in > " + dir + "/client_out 2>&1");
  EXPECT_EQ(client_rc, 0) << slurp(dir + "/client_out");
  EXPECT_EQ(finish(server), 0) << slurp(dir + "/server_out");

  const std::string sj = slurp(dir + "/server.json"), cj = slurp(dir + "/client.json");
  const std::vector<std::string> sc = calls_of(sj), cc = calls_of(cj);
  const std::vector<std::string> server_want = {"socket", "setsockopt", "bind", "listen", "accept4", "recvfrom",
                                                "sendto", "recvfrom"};
  ASSERT_GE(sc.size(), server_want.size()) << sj;
  EXPECT_TRUE(std::equal(server_want.begin(), server_want.end(), sc.begin())) << sj;
  const std::vector<std::string> client_want = {"socket", "connect", "sendto", "recvfrom", "sendto", "close"};
  EXPECT_EQ(cc, client_want) << cj;
  // Both see the whole conversation: handshake, the data, the close.
  for (const std::string* j : {&sj, &cj}) {
    EXPECT_NE(j->find("\"type\":\"packet\""), std::string::npos);
    EXPECT_NE(j->find("\"handshake\":{\"complete\":true"), std::string::npos) << *j;
    EXPECT_NE(j->find("\"pid\":"), std::string::npos);
    EXPECT_NE(j->find("\"program\":\"python3\""), std::string::npos);
  }
  // connect() returns with its conversation and the client's real port; the data is the typed line.
  EXPECT_TRUE(std::regex_search(cj, std::regex("\"call\":\"connect\",\"result\":0,.*\"conn\":1,")));
  EXPECT_NE(cj.find("\"data\":\"hi there\""), std::string::npos);
  EXPECT_NE(sj.find("\"data\":\"hello from the server\""), std::string::npos);
  // Only this pair's packets: one conversation in each trace.
  EXPECT_EQ(sj.find("\"type\":\"conn\",\"conn\":2"), std::string::npos);
}

TEST(Trace, PythonUdpPair) {
  if (!root()) GTEST_SKIP() << "needs root for the capture";
  const std::string dir = temp_dir("trace_udp");
  spit(dir + "/server_in", "pong\nQ\n");
  spit(dir + "/client_in", "ping\n");
  const pid_t server = start(bin() + " trace --json -o " + dir + "/server.json -- python3 " + py("udp_server.py") +
                             " 127.0.0.1 0 < " + dir + "/server_in > " + dir + "/server_out 2>&1");
  const std::string port = wait_for(dir + "/server_out", "on 127.0.0.1 port ([0-9]+)");
  ASSERT_NE(port, "");
  EXPECT_EQ(run(bin() + " trace --json -o " + dir + "/client.json -- python3 " + py("udp_client.py") +
                " 127.0.0.1 " + port + " < " + dir + "/client_in > " + dir + "/client_out 2>&1"),
            0);
  EXPECT_EQ(finish(server), 0) << slurp(dir + "/server_out");
  const std::string cj = slurp(dir + "/client.json");
  const std::vector<std::string> want = {"socket", "sendto", "recvfrom", "sendto", "close"};
  EXPECT_EQ(calls_of(cj), want) << cj;
  // Three datagrams: ping, pong, Q.
  EXPECT_NE(cj.find("\"datagrams\":{\"c2s\":2,\"s2c\":1}"), std::string::npos) << cj;
  // The reply's recvfrom carries the conversation of its datagram (UDP too).
  EXPECT_TRUE(std::regex_search(cj, std::regex("\"call\":\"recvfrom\",\"result\":4,.*\"conn\":1,"))) << cj;
}

// A process whose forked child connects: the child's calls appear, under its own pid.
TEST(Trace, ForkedChildConnectsOnIpv6) {
  if (!root()) GTEST_SKIP() << "needs root for the capture";
  const std::string dir = temp_dir("trace_fork6");
  std::string j;
  ASSERT_EQ(trace_python(dir,
                         "import os, socket\n"
                         "l = socket.socket(socket.AF_INET6)\n"
                         "l.bind(('::1', 0)); l.listen(1)\n"
                         "port = l.getsockname()[1]\n"
                         "pid = os.fork()\n"
                         "if pid == 0:\n"
                         "    c = socket.create_connection(('::1', port)); c.sendall(b'from the child'); c.close(); os._exit(0)\n"
                         "a, _ = l.accept(); print(a.recv(100)); a.close(); os.waitpid(pid, 0)\n",
                         j),
            0);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(j, m, std::regex("\"call\":\"connect\",\"result\":0,.*\"pid\":([0-9]+)"))) << j;
  const std::string child = m[1].str();
  ASSERT_TRUE(std::regex_search(j, m, std::regex("\"call\":\"listen\".*\"pid\":([0-9]+)"))) << j;
  EXPECT_NE(child, m[1].str());
  EXPECT_NE(j.find("\"local\":\"[::1]:"), std::string::npos) << j;
  EXPECT_NE(j.find("\"handshake\":{\"complete\":true"), std::string::npos) << j;
}

// A non-blocking connect: EINPROGRESS, a poll for writability, then SO_ERROR says how it went.
TEST(Trace, NonBlockingConnect) {
  const std::string dir = temp_dir("trace_nonblock");
  std::string j;
  ASSERT_EQ(trace_python(dir,
                         "import socket, select\n"
                         "l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(1)\n"
                         "c = socket.socket(); c.setblocking(False)\n"
                         "print(c.connect_ex(l.getsockname()))\n"
                         "p = select.poll(); p.register(c, select.POLLOUT); p.poll(5000)\n"
                         "print(c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))\n",
                         j),
            0);
  EXPECT_TRUE(std::regex_search(j, std::regex("\"call\":\"connect\",\"result\":-1,\"errno\":\"EINPROGRESS\"")))
      << j;
  EXPECT_NE(j.find("\"call\":\"poll\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"args\":\"SOL_SOCKET, SO_ERROR, 0\""), std::string::npos) << j;
}

// A connect refused at once: the socket is CLOSED when connect() returns, yet the SYN
// it sent and the RST that refused it are the program's packets, on the timeline with the call. The
// port is one of the test's own, bound and not listening, on loopback.
TEST(Trace, RefusedConnectShowsItsSynAndTheRst) {
  if (!root()) GTEST_SKIP() << "needs root for the capture";
  const std::string dir = temp_dir("trace_refused");
  std::string j;
  ASSERT_EQ(trace_python(dir,
                         "import socket\n"
                         "for family, host in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')):\n"
                         "    closed = socket.socket(family); closed.bind((host, 0))\n"
                         "    c = socket.socket(family)\n"
                         "    print(c.connect_ex(closed.getsockname()[:2]))\n",
                         j),
            0);
  EXPECT_TRUE(std::regex_search(j, std::regex("\"call\":\"connect\",\"result\":-1,\"errno\":\"ECONNREFUSED\"")))
      << j;
  EXPECT_TRUE(std::regex_search(j, std::regex("\"type\":\"packet\".*\"flags\":\"S\".*\"events\":\\[\"handshake-1\"")))
      << j;
  // Both refusals, on IPv4 and on IPv6.
  const std::regex refused("\"type\":\"packet\"[^\n]*\"events\":\\[\"rst\",\"refused\"\\]");
  EXPECT_EQ(count_matches(j, refused), 2) << j;
  EXPECT_NE(j.find("\"src\":\"[::1]:"), std::string::npos) << j;
}

// -i chooses where the packets are captured: "any" (every interface, Linux's cooked link layer)
// still gives the program's packets, once each, and its value is not taken for the program's name.
TEST(Trace, InterfaceAnyCapturesTheSamePacketsOnce) {
  if (!root()) GTEST_SKIP() << "needs root for the capture";
  const std::string dir = temp_dir("trace_any");
  std::string j;
  ASSERT_EQ(trace_python(dir,
                         "import socket\n"
                         "closed = socket.socket(); closed.bind(('127.0.0.1', 0))\n"
                         "print(socket.socket().connect_ex(closed.getsockname()))\n",
                         j, "-i any"),
            0);
  EXPECT_EQ(count_matches(j, std::regex("\"type\":\"packet\"")), 2) << j;
  EXPECT_NE(j.find("\"name\":\"sll"), std::string::npos) << j;
  EXPECT_NE(j.find("\"refused\""), std::string::npos) << j;
  EXPECT_EQ(run(bin() + " trace -i sockscope-none0 -- true > /dev/null 2>&1"), 1);
}

// A statically linked C client: no libc to interpose, the system calls are still seen.
TEST(Trace, StaticallyLinkedCProgram) {
  const std::string dir = temp_dir("trace_static");
  spit(dir + "/c.c",
       "#include <arpa/inet.h>\n#include <sys/socket.h>\n#include <unistd.h>\n"
       "int main(void){int l=socket(AF_INET,SOCK_DGRAM,0);struct sockaddr_in a={0};a.sin_family=AF_INET;"
       "a.sin_addr.s_addr=htonl(INADDR_LOOPBACK);bind(l,(struct sockaddr*)&a,sizeof a);socklen_t n=sizeof a;"
       "getsockname(l,(struct sockaddr*)&a,&n);int c=socket(AF_INET,SOCK_DGRAM,0);"
       "sendto(c,\"static\",6,0,(struct sockaddr*)&a,sizeof a);char b[16];int r=(int)recv(l,b,sizeof b,0);"
       "close(c);close(l);return r==6?0:1;}\n");
  if (run("cc -static -o " + dir + "/c " + dir + "/c.c 2>/dev/null") != 0)
    GTEST_SKIP() << "cc -static does not work here (no static C library)";
  ASSERT_EQ(run(bin() + " trace --json -o " + dir + "/t.json -- " + dir + "/c 2>/dev/null"), 0);
  const std::string j = slurp(dir + "/t.json");
  const std::vector<std::string> want = {"socket", "bind", "socket", "sendto", "recvfrom", "close", "close"};
  EXPECT_EQ(calls_of(j), want) << j;
  EXPECT_NE(j.find("\"data\":\"static\""), std::string::npos) << j;
}

// The same calls as strace sees for the same program (strace -f --seccomp-bpf, the network calls).
TEST(Trace, CallsMatchStrace) {
  if (run("command -v strace >/dev/null") != 0) GTEST_SKIP() << "strace is not installed";
  const std::string dir = temp_dir("trace_strace");
  std::string j;
  ASSERT_EQ(trace_python(dir,
                         "import socket\n"
                         "l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(1)\n"
                         "c = socket.create_connection(l.getsockname()); a, _ = l.accept()\n"
                         "c.sendall(b'one'); print(a.recv(10)); a.sendall(b'two'); print(c.recv(10))\n"
                         "c.close(); a.close(); l.close()\n",
                         j),
            0);
  ASSERT_EQ(run("strace -f --seccomp-bpf -qq -e trace=socket,bind,listen,accept,accept4,connect,sendto,recvfrom -o " +
                dir + "/s.txt python3 " + dir + "/prog.py > /dev/null 2>&1"),
            0);
  std::vector<std::string> theirs;
  const std::string st = slurp(dir + "/s.txt");
  const std::regex rx("(?:^|\\n)(?:\\[pid +[0-9]+\\] |[0-9]+ +)?([a-z0-9_]+)\\(");
  for (auto it = std::sregex_iterator(st.begin(), st.end(), rx); it != std::sregex_iterator(); ++it)
    theirs.push_back((*it)[1].str());
  std::vector<std::string> ours;
  for (const std::string& c : calls_of(j, true))
    if (c != "close" && c != "setsockopt" && c != "getsockopt") ours.push_back(c);
  // strace also lists the sockets Python makes for other families (AF_UNIX/netlink probes are not ours).
  EXPECT_FALSE(ours.empty());
  EXPECT_EQ(ours, theirs) << st;
}

// -w FILE.pcapng: each packet's explanation as its comment, led by the calls made since the packet before.
TEST(Trace, PcapngCarriesTheCallsInItsComments) {
  if (!root()) GTEST_SKIP() << "needs root for the capture";
  if (run("command -v tshark >/dev/null") != 0) GTEST_SKIP() << "tshark is not installed";
  const std::string dir = temp_dir("trace_pcapng");
  spit(dir + "/prog.py",
       "import socket\n"
       "l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(1)\n"
       "c = socket.create_connection(l.getsockname()); a, _ = l.accept(); c.sendall(b'noted'); a.recv(10)\n");
  ASSERT_EQ(run(bin() + " trace -o /dev/null -w " + dir + "/t.pcapng -- python3 " + dir + "/prog.py > /dev/null 2>&1"),
            0);
  ASSERT_EQ(run("tshark -r " + dir + "/t.pcapng -T fields -e frame.comment > " + dir + "/c.txt 2>/dev/null"), 0);
  const std::string c = slurp(dir + "/c.txt");
  EXPECT_NE(c.find("call: python3["), std::string::npos) << c;
  EXPECT_NE(c.find("sendto(\"noted\") = 5"), std::string::npos) << c;
  EXPECT_NE(c.find("handshake 1/3"), std::string::npos) << c;
}

// On a shared terminal every trace line starts with a mark; the program's own lines do not.
TEST(Trace, SharedTerminalMarksTheTraceLines) {
  if (run("command -v script >/dev/null") != 0) GTEST_SKIP() << "script (util-linux) is not installed";
  const std::string dir = temp_dir("trace_mark");
  ASSERT_EQ(run("script -qc \"" + bin() + " trace --color never -- python3 -c 'import socket; "
                "socket.socket(); print(\\\"plain line\\\")'\" /dev/null > " + dir + "/tty"),
            0);
  const std::string tty = slurp(dir + "/tty");
  EXPECT_NE(tty.find("\n\xe2\x94\x82 "), std::string::npos) << tty;
  EXPECT_TRUE(std::regex_search(tty, std::regex("(^|\n)plain line"))) << tty;
  EXPECT_TRUE(std::regex_search(tty, std::regex("\xe2\x94\x82 .*socket\\(AF_INET"))) << tty;
}

// Without capture rights: the program runs in a network namespace of its own, where sockscope may
// capture; the first line says so, and the packets are there.
TEST(Trace, WithoutRootInANetworkOfItsOwn) {
  if (!root() || run("command -v runuser >/dev/null") != 0) GTEST_SKIP() << "needs root to become nobody";
  char tmpl[] = "/tmp/sockscope-trace-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  chmod(dir.c_str(), 0777);
  spit(dir + "/prog.py",
       "import socket\n"
       "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 0))\n"
       "c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.sendto(b'alone', s.getsockname())\n"
       "print(s.recvfrom(100))\n");
  // nobody may not reach the build tree (a clone under /root is mode 700): a copy it can run.
  const std::string binary = sockscope::testing::binary_for_other_users();
  const int rc = run("runuser -u nobody -- " + binary + " trace --json -o " + dir + "/t.json -- python3 " + dir +
                     "/prog.py > /dev/null 2>" + dir + "/err");
  const std::string err = slurp(dir + "/err"), j = slurp(dir + "/t.json");
  if (err.find("unshare") != std::string::npos) GTEST_SKIP() << "user namespaces are disabled here: " << err;
  EXPECT_EQ(rc, 0) << err;
  EXPECT_NE(err.find("network of its own"), std::string::npos) << err;
  EXPECT_NE(j.find("\"type\":\"packet\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"data\":\"alone\""), std::string::npos) << j;
  run("rm -rf " + dir);
}

}  // namespace
