// A scripted TCP and UDP exchange over loopback with the plain socket API, in one process: the server
// runs in a thread, the client in the caller's thread. It makes real traffic to record (tcpdump) and
// annotate: the first-run job and the end-to-end tests use it. Every blocking call has a timeout, so
// a run is bounded in time even when something goes wrong.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sockscope::demo {

// The script. TCP: the client sends each line and waits for the server's reply, then closes; the
// server reads end-of-stream (recv() = 0) and closes too (Linux then usually shows the three-segment
// close: FIN, FIN+ACK, ACK). UDP: the client sends each datagram and the server answers each one.
inline constexpr std::array<std::string_view, 3> kTcpClientLines = {"hello", "how are you?", "bye"};
inline constexpr std::array<std::string_view, 3> kTcpServerLines = {"hi there", "fine, thanks",
                                                                    "see you"};
inline constexpr std::array<std::string_view, 3> kUdpClientDatagrams = {"ping 1", "ping 2",
                                                                        "ping 3"};
inline constexpr std::array<std::string_view, 3> kUdpServerDatagrams = {"pong 1", "pong 2",
                                                                        "pong 3"};

struct ExchangeOptions {
  std::string host = "127.0.0.1";  // a loopback address: 127.0.0.0/8 or ::1 (nothing else)
  std::uint16_t tcp_port = 0;      // server ports; 0 lets the kernel pick a free one
  std::uint16_t udp_port = 0;
  int timeout_ms = 3000;           // for every blocking call (connect, accept, send, recv)
  bool tcp = true;
  bool udp = true;
};

// One socket call, as it happened.
struct ExchangeStep {
  std::int64_t t_ns = 0;     // since the start of the run
  bool server = false;       // which endpoint made the call
  std::string call;          // "socket", "bind", "listen", "accept", "connect", "send", ...
  std::string text;          // the call as a learner reads it: send("hello") = 5
};

struct ExchangeResult {
  bool ok = false;
  std::string error;  // one line when !ok: which endpoint, which call, why
  std::uint16_t tcp_port = 0, udp_port = 0;                 // the server ports used
  std::uint16_t tcp_client_port = 0, udp_client_port = 0;  // the client's ephemeral ports
  std::vector<ExchangeStep> steps;                         // in time order
};

ExchangeResult run_exchange(const ExchangeOptions& opts);

}  // namespace sockscope::demo
