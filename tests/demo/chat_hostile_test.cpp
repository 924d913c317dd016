// Hostile and careless peers against the chat servers, beyond chat_room_test.cpp (a silent client
// that vanishes, a bare RST, a short junk line, one client too many, an idle one): clients that
// vanish or reset in the middle of a line, a flood of binary junk, one endless line, a client that
// never reads, and the limits set by their flags. The server must go on serving the others, say why
// it drops someone, and keep its memory bounded: the tests that measure memory run
// `sockscope chat tcp-server` as its own process and read its VmRSS / VmHWM (proc(5)).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "chat_server_proc.hpp"
#include "chat_support.hpp"

namespace {

using namespace chat_test;

std::uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

std::string label_of(int fd) { return "[127.0.0.1:" + std::to_string(local_port(fd)) + "]"; }

bool send_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads a socket (or a pipe) in its own thread until end of stream, an error, or stop: what a
// well-behaved client of the room receives.
class Reader {
 public:
  explicit Reader(int fd) : fd_(fd), thread_([this] { loop(); }) {}
  ~Reader() { finish(); }
  void finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::string text() {
    std::lock_guard<std::mutex> lock(m_);
    return got_;
  }
  bool has(const std::string& s) { return text().find(s) != std::string::npos; }
  bool ended() const { return ended_; }
  int error() const { return err_; }

 private:
  void loop() {
    std::vector<char> buf(1 << 16);
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const ssize_t n = ::read(fd_, buf.data(), buf.size());
      if (n > 0) {
        std::lock_guard<std::mutex> lock(m_);
        got_.append(buf.data(), static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      err_ = n < 0 ? errno : 0;
      ended_ = true;
      return;
    }
  }
  int fd_;
  std::atomic<bool> stop_{false}, ended_{false};
  std::atomic<int> err_{0};
  std::mutex m_;
  std::string got_;
  std::thread thread_;
};

// Terminal-safe: valid UTF-8, and no control character (C0, DEL, C1) but the newline.
bool terminal_safe(const std::string& s, std::string& why) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b == '\n' || (b >= 0x20 && b < 0x7f)) {
      ++i;
      continue;
    }
    if (b < 0x20 || b == 0x7f) {
      why = "raw control byte " + std::to_string(b) + " at " + std::to_string(i);
      return false;
    }
    const std::size_t len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 ? 2 : 0;
    if (len == 0 || i + len > s.size()) {
      why = "invalid UTF-8 at " + std::to_string(i);
      return false;
    }
    for (std::size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) {
        why = "invalid UTF-8 at " + std::to_string(i);
        return false;
      }
    if (b == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0) {
      why = "raw C1 control at " + std::to_string(i);
      return false;
    }
    i += len;
  }
  return true;
}

// The count of complete lines the room relayed from one sender, checked in order: "L<n> ..." with n
// from 0 up. Returns the number of lines in order, or -1 at the first one out of place.
long in_order_lines(const std::string& got, const std::string& label) {
  long next = 0;
  const std::string head = label + " L";
  for (std::size_t at = got.find(head); at != std::string::npos; at = got.find(head, at + 1)) {
    if (at != 0 && got[at - 1] != '\n') continue;
    if (std::atol(got.c_str() + at + head.size()) != next) return -1;
    ++next;
  }
  return next;
}

// ---- Clients that go away in the middle of a line ----

TEST(ChatHostile, VanishingMidLineStillDeliversTheFragment) {
  Running server(server_options(ChatKind::TcpServer));
  ASSERT_TRUE(server.start());
  const int listener = raw_connect(server.port());
  const int quitter = raw_connect(server.port());
  ASSERT_GE(listener, 0);
  ASSERT_GE(quitter, 0);
  ASSERT_TRUE(eventually([&] { return server.sink.returned("accept").size() == 2; }));
  Reader heard(listener);
  const std::string who = label_of(quitter);
  // Half a line, then close(): a FIN. What was said before it is the client's last (unterminated)
  // line: the room gets it, as a terminal shows a last line without its newline.
  ASSERT_TRUE(send_all(quitter, "half a li"));
  ::close(quitter);
  EXPECT_TRUE(eventually([&] { return heard.has(who + " half a li\n"); })) << heard.text();
  // The room goes on.
  const int next = raw_connect(server.port());
  ASSERT_GE(next, 0);
  ASSERT_TRUE(send_all(next, "still here\n"));
  EXPECT_TRUE(eventually([&] { return heard.has(label_of(next) + " still here\n"); })) << heard.text();
  heard.finish();
  ::close(next);
  ::close(listener);
  // The server's own words are read once it has ended (its output file has one writer at a time).
  server.finish();
  EXPECT_EQ(server.rc, 0);
  EXPECT_NE(server.out.text().find(who.substr(1, who.size() - 2) + " left"), std::string::npos) << server.out.text();
}

TEST(ChatHostile, ResettingMidLineDropsTheFragment) {
  Running server(server_options(ChatKind::TcpServer));
  ASSERT_TRUE(server.start());
  const int listener = raw_connect(server.port());
  const int resetter = raw_connect(server.port());
  ASSERT_GE(listener, 0);
  ASSERT_GE(resetter, 0);
  ASSERT_TRUE(eventually([&] { return server.sink.returned("accept").size() == 2; }));
  Reader heard(listener);
  ASSERT_TRUE(send_all(resetter, "a whole line\nnever finish"));
  ASSERT_TRUE(eventually([&] { return heard.has("a whole line\n"); })) << heard.text();
  // SO_LINGER {1, 0}: close() sends RST instead of FIN (socket(7)). A reset is no orderly end, so
  // the unfinished fragment is not a line: the room never sees it.
  linger lg{1, 0};
  ASSERT_EQ(::setsockopt(resetter, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  ::close(resetter);
  EXPECT_TRUE(eventually([&] {
    for (const CallRecord& c : server.sink.returned("recv"))
      if (c.result == -1 && sockscope::errno_name(c.err) == "ECONNRESET") return true;
    return false;
  }));
  const int next = raw_connect(server.port());
  ASSERT_GE(next, 0);
  ASSERT_TRUE(send_all(next, "after the reset\n"));
  EXPECT_TRUE(eventually([&] { return heard.has("after the reset\n"); })) << heard.text();
  heard.finish();
  EXPECT_EQ(heard.text().find("never finish"), std::string::npos) << heard.text();
  ::close(next);
  ::close(listener);
  server.finish();
  EXPECT_EQ(server.rc, 0);
  const std::string shown = server.out.text();
  EXPECT_NE(shown.find("reset the connection (RST)"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("never finish"), std::string::npos) << shown;
}

// ---- Binary junk ----

TEST(ChatHostile, AFloodOfBinaryJunkIsEscapedAndTheRoomGoesOn) {
  ChatOptions so = server_options(ChatKind::TcpServer);
  Running server(so);
  ASSERT_TRUE(server.start());
  // A chat client as a learner runs it, listening: what it prints goes through a pipe to a Reader,
  // so it can be read while the client still writes.
  int pfd[2];
  ASSERT_EQ(::pipe2(pfd, O_CLOEXEC), 0);
  std::FILE* client_out = ::fdopen(pfd[1], "w");
  ASSERT_NE(client_out, nullptr);
  Reader printed(pfd[0]);
  ChatOptions lo = client_options(ChatKind::TcpClient, server.port());
  lo.say = {"sleep 20000"};
  std::atomic<bool> client_stop{false};
  int client_rc = -1;
  std::thread client([&] {
    ChatHooks h;
    h.out = client_out;
    h.stop = &client_stop;
    client_rc = run_chat(lo, h);
    std::fclose(client_out);  // the Reader sees the end
  });
  const int junk = raw_connect(server.port());
  const int witness = raw_connect(server.port());  // a second listener, on a raw socket
  const bool joined = junk >= 0 && witness >= 0 &&
                      eventually([&] { return server.sink.returned("accept").size() == 3; });
  Reader heard(witness);

  // 256 KiB of every byte value (NUL, ESC, DEL, C1, lone UTF-8 pieces, newlines now and then), then
  // a terminal title change and a screen clear.
  std::mt19937 rng(7);
  std::string bytes(256 * 1024, '\0');
  for (char& b : bytes) b = static_cast<char>(rng() & 0xff);
  bytes += "\n\x1b]0;owned\x07\x1b[2J\xc2\x9b" "31m\n";
  const bool sent = joined && send_all(junk, bytes) && send_all(junk, "\nplain words\n");
  // The client escapes and prints 256 KiB: the wait lasts while its output grows.
  const bool through = sent && eventually_progressing([&] { return printed.has("] plain words\n"); },
                                                      [&] { return static_cast<long>(printed.text().size()); }, 8000);
  // Nobody was dropped for it: the junk sender is still in the room and still heard.
  const bool sorry = through && send_all(junk, "sorry\n") && eventually([&] { return printed.has("] sorry\n"); }, 15000);
  client_stop = true;
  client.join();
  printed.finish();
  heard.finish();
  ASSERT_TRUE(joined);
  EXPECT_TRUE(through) << printed.text().size() << " bytes printed";
  EXPECT_TRUE(sorry);
  EXPECT_EQ(client_rc, 0);
  // The room relays bytes as they came (the witness got the escape sequence raw); the chat client
  // prints them escaped.
  EXPECT_NE(heard.text().find("\x1b]0;owned\x07\x1b[2J"), std::string::npos);
  std::string why;
  const std::string shown_by_client = printed.text();
  EXPECT_TRUE(terminal_safe(shown_by_client, why)) << "the listening client printed: " << why;
  EXPECT_NE(shown_by_client.find("\\x1b]0;owned\\x07\\x1b[2J\\u{009b}31m"), std::string::npos);
  ::close(junk);
  ::close(witness);
  ::close(pfd[0]);
  server.finish();
  EXPECT_EQ(server.rc, 0);
  const std::string shown = server.out.text();
  EXPECT_TRUE(terminal_safe(shown, why)) << "the server printed: " << why;
  EXPECT_NE(shown.find("\\x1b]0;owned\\x07\\x1b[2J"), std::string::npos);
  EXPECT_NE(shown.find("] sorry\n"), std::string::npos);
}

// ---- One endless line ----

TEST(ChatHostile, AnEndlessLineIsCutAndTheServersMemoryStaysFlat) {
  chat_proc::ServerProc server;
  ASSERT_TRUE(server.start("chat_endless", {"--quiet", "--max-line", "1024"})) << server.err();
  const int listener = raw_connect(server.port());
  const int flooder = raw_connect(server.port());
  const int other = raw_connect(server.port());
  ASSERT_GE(listener, 0);
  ASSERT_GE(flooder, 0);
  ASSERT_GE(other, 0);
  ASSERT_TRUE(server.wait_out("(3 in the room)", 3000)) << server.out();
  const long base_kib = server.status_kib("VmRSS");
  ASSERT_GT(base_kib, 0);
  Reader heard(listener);
  Reader warned(flooder);

  // 32 MiB and no newline. The server keeps the first 1024 bytes as the line, tells the sender,
  // and drops the rest as it arrives: holding it all would grow with the flood.
  constexpr std::size_t kFlood = 32u << 20;
  std::atomic<std::size_t> sent{0};
  std::thread flood([&] {
    const std::string chunk(64 * 1024, 'x');
    while (sent < kFlood && send_all(flooder, chunk)) sent += chunk.size();
  });
  // The room is not stalled meanwhile.
  const bool halfway = eventually([&] { return sent >= kFlood / 2; }, 10000);
  const bool said = send_all(other, "during the flood\n");
  flood.join();
  ASSERT_TRUE(halfway && said);
  ASSERT_EQ(sent.load(), kFlood);
  ASSERT_TRUE(send_all(flooder, "\nafter the flood\n"));
  const std::string who = label_of(flooder);
  ASSERT_TRUE(eventually([&] { return heard.has(who + " after the flood\n"); }, 5000)) << heard.text().substr(0, 300);
  const long hwm_kib = server.status_kib("VmHWM");
  std::printf("chat endless line: sent=%zuMiB server_rss_start=%.1fMiB server_peak=%.1fMiB\n", kFlood >> 20,
              static_cast<double>(base_kib) / 1024, static_cast<double>(hwm_kib) / 1024);
  heard.finish();
  warned.finish();
  const std::string got = heard.text();
  // Exactly the first 1024 bytes, once, then the next line whole.
  EXPECT_NE(got.find(who + " " + std::string(1024, 'x') + "\n"), std::string::npos);
  EXPECT_EQ(got.find(std::string(1025, 'x')), std::string::npos);
  const std::size_t during = got.find("] during the flood\n");
  EXPECT_NE(during, std::string::npos);
  EXPECT_LT(during, got.find(who + " after the flood"));
  EXPECT_NE(warned.text().find("your line was longer than 1024 bytes"), std::string::npos) << warned.text();
  EXPECT_NE(server.out().find("was longer than 1024 bytes: cut"), std::string::npos);
  // 32 MiB went through; the server's peak grew by far less than that.
  EXPECT_LT(hwm_kib - base_kib, 4 * 1024) << "VmRSS at start " << base_kib << " KiB, VmHWM " << hwm_kib << " KiB";
  ::close(other);
  ::close(flooder);
  ::close(listener);
  EXPECT_EQ(server.stop(), 0) << server.err();
}

// ---- A client that never reads ----

TEST(ChatHostile, ASlowReaderIsDisconnectedWithAReasonAndTheRoomGoesOn) {
  constexpr int kQueue = 128 * 1024;
  chat_proc::ServerProc server;
  ASSERT_TRUE(server.start("chat_slow", {"--quiet", "--max-queue", std::to_string(kQueue)})) << server.err();
  // The slow one asks for a small receive buffer before connecting (the window is set by the
  // handshake, tcp(7)), so its kernel holds little and the server's queue for it fills early.
  const int slow = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int small = 4096;
  ::setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(server.port());
  ASSERT_EQ(::connect(slow, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  const int listener = raw_connect(server.port());
  const int writer = raw_connect(server.port());
  ASSERT_GE(listener, 0);
  ASSERT_GE(writer, 0);
  ASSERT_TRUE(server.wait_out("(3 in the room)", 3000)) << server.out();
  const long base_kib = server.status_kib("VmRSS");
  Reader heard(listener);

  // 16 MiB of numbered 1 KiB lines: without a bound the server would hold most of it for the one
  // who never reads.
  constexpr int kLines = 16 * 1024;
  const std::string pad(1000, 'y');
  std::string batch;
  for (int i = 0; i < kLines; ++i) {
    batch += "L" + std::to_string(i) + " " + pad + "\n";
    if (batch.size() >= 64 * 1024 || i == kLines - 1) {
      ASSERT_TRUE(send_all(writer, batch)) << "the writer was cut off at line " << i;
      batch.clear();
    }
  }
  const std::string writer_label = label_of(writer);
  // However slow the machine: the wait ends when the lines stop coming for 10 s, not after a set time.
  // Counted once per poll (16 MiB of text): the progress check counts, the done check reads the count.
  long lines_heard = 0;
  ASSERT_TRUE(eventually_progressing(
      [&] { return lines_heard == kLines; },
      [&] { return lines_heard = static_cast<long>(in_order_lines(heard.text(), writer_label)); }, 10000))
      << "the listener got " << in_order_lines(heard.text(), writer_label) << " of " << kLines << " lines in order";
  const long hwm_kib = server.status_kib("VmHWM");
  std::printf("chat slow reader: lines=%d bytes=%.1fMiB max_queue=%dKiB server_rss_start=%.1fMiB server_peak=%.1fMiB\n",
              kLines, static_cast<double>(kLines) * 1008 / (1 << 20), kQueue / 1024,
              static_cast<double>(base_kib) / 1024, static_cast<double>(hwm_kib) / 1024);
  heard.finish();

  // The server said who and why, while the room went on: the notice comes before the last lines.
  const std::string out = server.out();
  const std::string slow_name = label_of(slow).substr(1, label_of(slow).size() - 2);
  const std::size_t notice = out.find(slow_name + " does not read what it is sent");
  EXPECT_NE(notice, std::string::npos) << out.substr(0, 1000);
  if (notice != std::string::npos) {
    EXPECT_NE(out.find("(--max-queue)", notice), std::string::npos);
    EXPECT_LT(notice, out.find(writer_label + " L" + std::to_string(kLines - 1) + " "));
  }
  // The slow one was reset: what its kernel still held, then ECONNRESET, far short of everything.
  timeval tv{2, 0};
  ::setsockopt(slow, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::size_t slow_got = 0;
  ssize_t n;
  char buf[65536];
  while ((n = ::recv(slow, buf, sizeof buf, 0)) > 0) slow_got += static_cast<std::size_t>(n);
  EXPECT_TRUE(n == 0 || errno == ECONNRESET) << std::strerror(errno);
  EXPECT_LT(slow_got, static_cast<std::size_t>(kLines) * 1000 / 4);
  // Bounded: the queue limit and the kernel's buffers, not the 16 MiB that went past.
  EXPECT_LT(hwm_kib - base_kib, 6 * 1024) << "VmRSS at start " << base_kib << " KiB, VmHWM " << hwm_kib << " KiB";
  ::close(slow);
  ::close(writer);
  ::close(listener);
  EXPECT_EQ(server.stop(), 0) << server.err();
}

// A client that reads, only more slowly than the writers write: the room waits for it (the server
// stops reading lines while its queue is full, and TCP's window holds the writer back) instead of
// cutting it off. It gets every line, in order.
TEST(ChatHostile, AReaderSlowerThanTheWriterHoldsTheRoomBackAndIsNotCutOff) {
  constexpr int kQueue = 16 * 1024;
  chat_proc::ServerProc server;
  ASSERT_TRUE(server.start("chat_slower", {"--quiet", "--max-line", "1024", "--max-queue", std::to_string(kQueue)}))
      << server.err();
  const int reader = raw_connect(server.port());
  const int writer = raw_connect(server.port());
  ASSERT_GE(reader, 0);
  ASSERT_GE(writer, 0);
  ASSERT_TRUE(server.wait_out("(2 in the room)", 3000)) << server.out();
  // 1 MiB of numbered lines from a thread; the reader takes 4 KiB at a time with a pause between.
  constexpr int kLines = 1024;
  std::thread writing([&] {
    const std::string pad(1000, 'z');
    std::string all;
    for (int i = 0; i < kLines; ++i) all += "L" + std::to_string(i) + " " + pad + "\n";
    send_all(writer, all);
  });
  const std::string writer_label = label_of(writer);
  std::string got;
  char buf[4096];
  long lines = 0;
  const bool all_in_order = eventually_progressing(
      [&] { return lines == kLines; },
      [&] {
        pollfd p{reader, POLLIN, 0};
        if (::poll(&p, 1, 0) == 1) {
          const ssize_t n = ::recv(reader, buf, sizeof buf, 0);
          if (n > 0) got.append(buf, static_cast<std::size_t>(n));
        }
        return lines = in_order_lines(got, writer_label);
      },
      10000);
  writing.join();
  EXPECT_TRUE(all_in_order) << lines << " of " << kLines << " lines in order";
  ::close(writer);
  ::close(reader);
  EXPECT_EQ(server.stop(), 0) << server.err();
  EXPECT_EQ(server.out().find("does not read what it is sent"), std::string::npos) << server.out().substr(0, 2000);
}

// ---- Limits set by flags ----

TEST(ChatHostile, IdleTimeoutFlagClosesOnlyTheSilentClient) {
  chat_proc::ServerProc server;
  ASSERT_TRUE(server.start("chat_idle", {"--idle-timeout", "1"})) << server.err();
  const int silent = raw_connect(server.port());
  const int talker = raw_connect(server.port());
  ASSERT_GE(silent, 0);
  ASSERT_GE(talker, 0);
  Reader silent_got(silent);
  // The talker says something every 300 ms: never idle for a whole second.
  for (int i = 0; i < 6 && !silent_got.ended(); ++i) {
    ASSERT_TRUE(send_all(talker, "tick " + std::to_string(i) + "\n"));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  ASSERT_TRUE(eventually([&] { return silent_got.ended(); }, 2000));
  EXPECT_NE(silent_got.text().find("idle for 1 s: closing the connection"), std::string::npos) << silent_got.text();
  const std::string silent_name = label_of(silent).substr(1, label_of(silent).size() - 2);
  EXPECT_TRUE(server.wait_out(silent_name + " said nothing for 1 s", 1000)) << server.out();
  // The talker is still in: its next line is still shown by the server.
  ASSERT_TRUE(send_all(talker, "still talking\n"));
  EXPECT_TRUE(server.wait_out(label_of(talker) + " still talking", 1000)) << server.out();
  EXPECT_EQ(server.out().find(label_of(talker).substr(1, label_of(talker).size() - 2) + " said nothing"), std::string::npos);
  silent_got.finish();
  ::close(silent);
  ::close(talker);
  EXPECT_EQ(server.stop(), 0) << server.err();
}

TEST(ChatHostile, MaxClientsFlagRefusesTheNextWithAReason) {
  chat_proc::ServerProc server;
  ASSERT_TRUE(server.start("chat_full", {"--quiet", "--max-clients", "2"})) << server.err();
  const int a = raw_connect(server.port());
  const int b = raw_connect(server.port());
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  ASSERT_TRUE(server.wait_out("(2 in the room)", 2000)) << server.out();
  const int c = raw_connect(server.port());
  ASSERT_GE(c, 0);
  EXPECT_EQ(read_all(c), "room full (2 clients): try again later\n");
  EXPECT_TRUE(server.wait_out(label_of(c).substr(1, label_of(c).size() - 2) + " turned away: the room is full (2 clients)", 1000))
      << server.out();
  // Those inside were not disturbed.
  Reader b_got(b);
  ASSERT_TRUE(send_all(a, "still two of us\n"));
  EXPECT_TRUE(eventually([&] { return b_got.has(label_of(a) + " still two of us\n"); })) << b_got.text();
  b_got.finish();
  ::close(c);
  ::close(b);
  ::close(a);
  EXPECT_EQ(server.stop(), 0) << server.err();
}

// Soft limit of open files of a running process, from /proc/PID/limits (proc(5)).
long soft_nofile(pid_t pid) {
  const std::string limits = chat_proc::slurp("/proc/" + std::to_string(pid) + "/limits");
  const std::size_t at = limits.find("Max open files");
  return at == std::string::npos ? -1 : std::atol(limits.c_str() + at + std::strlen("Max open files"));
}

TEST(ChatHostile, MaxClientsRaisesTheDescriptorLimitOrSaysHowManyFit) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  // A soft limit of 256 (ulimit -n), as many shells have 1024: the server raises it itself.
  rlimit low = saved;
  low.rlim_cur = 256;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  chat_proc::ServerProc raised;
  const bool started = raised.start("chat_nofile", {"--quiet", "--max-clients", "1000"});
  setrlimit(RLIMIT_NOFILE, &saved);
  ASSERT_TRUE(started) << raised.err();
  if (saved.rlim_max == RLIM_INFINITY || saved.rlim_max >= 1016) {
    EXPECT_GE(soft_nofile(raised.pid()), 1016);
    EXPECT_EQ(raised.out().find("too few descriptors"), std::string::npos) << raised.out();
  }
  EXPECT_EQ(raised.stop(), 0);

  // A hard limit too low for the room: the server says how many clients fit, and takes no more.
  // prlimit(1) sets it for the server alone.
  if (std::system("prlimit --version >/dev/null 2>&1") != 0) {
    if (const char* ci = std::getenv("CI"); ci && std::string(ci) == "true") FAIL() << "prlimit (util-linux) is missing";
    GTEST_SKIP() << "prlimit (util-linux) is missing";
  }
  chat_proc::ServerProc capped;
  ASSERT_TRUE(capped.start("chat_nofile_capped", {"--quiet", "--max-clients", "500"}, {"prlimit", "--nofile=100:100", "--"}))
      << capped.err();
  EXPECT_TRUE(capped.wait_out("too few descriptors for 500 clients (ulimit -n): the room takes at most 84", 1000))
      << capped.out();
  std::vector<int> fds;
  for (int i = 0; i < 84; ++i) {
    const int fd = raw_connect(capped.port());
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
  }
  EXPECT_TRUE(capped.wait_out("(84 in the room)", 3000));
  const int extra = raw_connect(capped.port());
  ASSERT_GE(extra, 0);
  EXPECT_EQ(read_all(extra), "room full (84 clients): try again later\n");
  ::close(extra);
  for (const int fd : fds) ::close(fd);
  EXPECT_EQ(capped.stop(), 0) << capped.err();
}

TEST(ChatHostile, BadLimitFlagsAreUsageErrors) {
  const std::string bin = sockscope::testing::build_dir() + "/sockscope";
  auto status = [&](const std::string& args) {
    const int st = std::system((bin + " chat " + args + " >/dev/null 2>&1").c_str());
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  };
  EXPECT_EQ(status("tcp-server --port 0 --max-queue 100"), 2) << "a queue smaller than one line";
  EXPECT_EQ(status("tcp-server --port 0 --backlog 0"), 2);
  EXPECT_EQ(status("udp-server --port 0 --max-queue 100000"), 2) << "UDP keeps no queue";
  EXPECT_EQ(status("tcp-server --port 0 --max-clients 0"), 2);
  EXPECT_EQ(status("tcp-server --port 0 --idle-timeout 0"), 2);
}

// ---- The UDP server ----

TEST(ChatHostileUdp, JunkHugeDatagramsAndOnePeerTooMany) {
  ChatOptions so = server_options(ChatKind::UdpServer);
  so.max_clients = 2;
  so.max_line = 64;
  Running server(so);
  ASSERT_TRUE(server.start());
  auto udp = [] {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  };
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(server.port());
  auto say = [&](int fd, const std::string& s) {
    return ::sendto(fd, s.data(), s.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == static_cast<ssize_t>(s.size());
  };
  auto hear = [](int fd) {
    std::string s(70000, '\0');
    const ssize_t n = ::recv(fd, s.data(), s.size(), 0);
    s.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return s;
  };
  const int a = udp(), b = udp(), c = udp();
  ASSERT_TRUE(say(a, "hello"));
  ASSERT_TRUE(eventually([&] { return !server.sink.returned("recvfrom").empty(); }));
  // Junk, then the largest datagram there is (65507 bytes of payload over IPv4).
  ASSERT_TRUE(say(b, std::string("\x1b[2J\x00\xff\x9b", 6)));
  EXPECT_EQ(hear(a), label_of(b) + " " + std::string("\x1b[2J\x00\xff\x9b", 6));  // relayed as bytes: each client escapes
  ASSERT_TRUE(say(b, std::string(65507, 'z')));
  const std::string big = hear(a);
  EXPECT_EQ(big, label_of(b) + " " + std::string(64, 'z')) << big.size();
  // A third peer is one too many.
  ASSERT_TRUE(say(c, "let me in"));
  EXPECT_EQ(hear(c), "room full (2 clients): try again later");
  // The two peers still talk.
  ASSERT_TRUE(say(a, "still here"));
  EXPECT_EQ(hear(b), label_of(a) + " still here");
  ::close(a);
  ::close(b);
  ::close(c);
  server.finish();
  EXPECT_EQ(server.rc, 0);
  // The server's terminal shows everything escaped and cut.
  const std::string shown = server.out.text();
  EXPECT_NE(shown.find("turned away: the room is full"), std::string::npos) << shown.substr(0, 2000);
  std::string why;
  EXPECT_TRUE(terminal_safe(shown, why)) << why;
  EXPECT_NE(shown.find("\\x1b[2J\\x00\\xff"), std::string::npos);
  EXPECT_EQ(shown.find(std::string(65, 'z')), std::string::npos);
}

}  // namespace
