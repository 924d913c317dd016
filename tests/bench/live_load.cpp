// The live benchmark's load: chat-like UDP datagrams ("line 123 from the load driver\n") from
// 127.0.0.1 to 127.0.0.1:PORT at a steady rate, received and discarded by a socket of its own on
// that port (so no ICMP port-unreachable doubles the traffic). Loopback only, bounded in count and
// time. Prints how many datagrams it sent.
//   live_load --port P [--rate PPS (50000..)] [--seconds S]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr unsigned kBatch = 64;  // datagrams per sendmmsg(2)
constexpr std::uint64_t kMaxRate = 1'000'000;
constexpr double kMaxSeconds = 60;

int udp_socket_on_loopback(std::uint16_t port) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned long port = 0, rate = 60000;
  double seconds = 10;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--port" && i + 1 < argc) port = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--rate" && i + 1 < argc) rate = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--seconds" && i + 1 < argc) seconds = std::strtod(argv[++i], nullptr);
    else {
      std::fprintf(stderr, "usage: live_load --port P [--rate PACKETS_PER_SECOND] [--seconds S]\n");
      return 2;
    }
  }
  if (port == 0 || port > 65535 || rate == 0 || rate > kMaxRate || !(seconds > 0 && seconds <= kMaxSeconds)) {
    std::fprintf(stderr, "live_load: give --port 1..65535, --rate 1..%llu and --seconds up to %.0f\n",
                 static_cast<unsigned long long>(kMaxRate), kMaxSeconds);
    return 2;
  }

  // The receiving end, drained by a thread with recvmmsg(2).
  const int sink = udp_socket_on_loopback(static_cast<std::uint16_t>(port));
  if (sink < 0) {
    std::fprintf(stderr, "live_load: cannot bind 127.0.0.1:%lu: %s. Choose another --port\n", port, std::strerror(errno));
    return 1;
  }
  int big = 8 << 20;
  setsockopt(sink, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  timeval tv{0, 200'000};  // wake up to notice the end
  setsockopt(sink, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> received{0};
  std::thread drain([&] {
    std::vector<char> bufs(kBatch * 256);
    std::vector<iovec> iov(kBatch);
    std::vector<mmsghdr> msgs(kBatch);
    for (unsigned i = 0; i < kBatch; ++i) {
      iov[i] = {bufs.data() + i * 256, 256};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    while (!stop.load()) {
      const int n = recvmmsg(sink, msgs.data(), kBatch, 0, nullptr);
      if (n > 0) received += static_cast<std::uint64_t>(n);
    }
  });

  const int out = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  if (out < 0 || connect(out, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    std::fprintf(stderr, "live_load: cannot create the sending socket: %s\n", std::strerror(errno));
    stop = true;
    drain.join();
    return 1;
  }

  // Paced by the clock: at each step, send what is due by now (in batches), then sleep 1 ms.
  const auto total = static_cast<std::uint64_t>(static_cast<double>(rate) * seconds);
  std::vector<std::string> lines(kBatch);
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> msgs(kBatch);
  std::uint64_t sent = 0;
  const auto start = std::chrono::steady_clock::now();
  while (sent < total) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::uint64_t due = static_cast<std::uint64_t>(elapsed * static_cast<double>(rate));
    if (due > total) due = total;
    while (sent < due) {
      const unsigned n = static_cast<unsigned>(std::min<std::uint64_t>(kBatch, due - sent));
      for (unsigned i = 0; i < n; ++i) {
        lines[i] = "line " + std::to_string(sent + i + 1) + " from the load driver\n";
        iov[i] = {lines[i].data(), lines[i].size()};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int k = sendmmsg(out, msgs.data(), n, 0);
      if (k <= 0) {
        if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS) continue;
        std::fprintf(stderr, "live_load: sendmmsg: %s\n", std::strerror(errno));
        stop = true;
        drain.join();
        return 1;
      }
      sent += static_cast<std::uint64_t>(k);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the sink catch up
  stop = true;
  drain.join();
  close(out);
  close(sink);
  std::printf("sent %llu datagrams in %.2f s (%.0f/s), received %llu\n", static_cast<unsigned long long>(sent),
              took, static_cast<double>(sent) / took, static_cast<unsigned long long>(received.load()));
  return 0;
}
