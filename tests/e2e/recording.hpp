// Real loopback traffic for the end-to-end tests: the scripted exchange (demo/) recorded by three
// tcpdumps at once (Ethernet on lo, Linux cooked v1 and v2 on "any"), so every form holds the same
// packets; then rewritten with a BSD loopback (NULL) header and converted to pcapng. Recorded once
// per address family per test run.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "e2e_support.hpp"
#include "sockscope/demo/exchange.hpp"

namespace e2e {

struct Recording {
  bool ok = false;
  std::string why;  // when !ok
  std::string host;
  std::string eth, sll, sll2, null, pcapng;  // capture files of the same traffic
  sockscope::demo::ExchangeResult exchange;
};

// The script gives at least 18 frames: TCP 3 to open, 6 with data, 3 to close; UDP 6.
inline constexpr std::uint64_t kMinExchangeFrames = 18;

inline std::unique_ptr<Recording> record_exchange(const std::string& host, int family) {
  auto r = std::make_unique<Recording>();
  r->host = host;
  if (geteuid() != 0) {
    r->why = "recording loopback traffic needs root (tcpdump)";
    return r;
  }
  if (!have_tool("tcpdump")) {
    r->why = "tcpdump is not installed";
    return r;
  }
  // The process id keeps parallel test processes (ctest -j) out of each other's files.
  const std::string dir = sockscope::testing::temp_dir(
      std::string(family == AF_INET ? "record-v4-" : "record-v6-") + std::to_string(getpid()));
  sockscope::demo::ExchangeOptions opts;
  opts.host = host;
  opts.tcp_port = free_port(SOCK_STREAM, family);
  opts.udp_port = free_port(SOCK_DGRAM, family);
  opts.timeout_ms = 3000;
  const std::string filter =
      "port " + std::to_string(opts.tcp_port) + " or port " + std::to_string(opts.udp_port);
  r->eth = dir + "/eth.pcap";
  r->sll = dir + "/sll.pcap";
  r->sll2 = dir + "/sll2.pcap";
  {
    Tcpdump lo, any1, any2;
    const bool started = lo.start({"-i", "lo"}, filter, r->eth) &&
                         any1.start({"-i", "any", "-y", "LINUX_SLL"}, filter, r->sll) &&
                         any2.start({"-i", "any", "-y", "LINUX_SLL2"}, filter, r->sll2);
    if (!started || !lo.wait_listening() || !any1.wait_listening() || !any2.wait_listening()) {
      r->why = "tcpdump did not start capturing: " + lo.stderr_text() + any1.stderr_text() +
               any2.stderr_text();
      return r;
    }
    r->exchange = sockscope::demo::run_exchange(opts);
    lo.wait_frames(kMinExchangeFrames);
    any1.wait_frames(kMinExchangeFrames);
    any2.wait_frames(kMinExchangeFrames);
  }  // the destructors stop the three tcpdumps cleanly
  if (!r->exchange.ok) {
    r->why = "the scripted exchange failed: " + r->exchange.error;
    return r;
  }

  // NULL (BSD loopback): the Ethernet frames with the 14-byte Ethernet header replaced by the
  // 4-byte address family in host order (little-endian here): 2 for IPv4, 30 for IPv6 (macOS).
  std::vector<sockscope::testing::PcapRecord> records;
  std::uint32_t linktype = 0;
  if (!read_records(r->eth, records, linktype) || linktype != 1) {
    r->why = "cannot read back the Ethernet capture";
    return r;
  }
  std::vector<sockscope::testing::PcapRecord> null_records = records;
  const std::uint8_t af = family == AF_INET ? 2 : 30;
  for (auto& rec : null_records) {
    std::vector<std::uint8_t> data = {af, 0, 0, 0};
    data.insert(data.end(), rec.data.begin() + 14, rec.data.end());
    rec.wirelen -= 10;
    rec.data = std::move(data);
  }
  r->null = dir + "/null.pcap";
  if (!sockscope::testing::write_capture(r->null, sockscope::testing::CaptureFormat::PcapNano, 0, null_records)) {
    r->why = "cannot write the NULL capture";
    return r;
  }

  // pcapng: from Wireshark's own converter when it is there, else from the test writer.
  r->pcapng = dir + "/eth.pcapng";
  if (have_tool("editcap")) {
    const RunResult c = run({"editcap", "-F", "pcapng", r->eth, r->pcapng});
    if (c.status != 0) {
      r->why = "editcap failed: " + c.err;
      return r;
    }
  } else if (!sockscope::testing::write_capture(r->pcapng, sockscope::testing::CaptureFormat::PcapngNano, 1, records)) {
    r->why = "cannot write the pcapng capture";
    return r;
  }
  r->ok = true;
  return r;
}

// One recording per family for the whole test run.
inline const Recording& recording(int family) {
  static std::map<int, std::unique_ptr<Recording>> cache;
  auto& slot = cache[family];
  if (!slot) slot = record_exchange(family == AF_INET ? "127.0.0.1" : "::1", family);
  return *slot;
}

}  // namespace e2e
