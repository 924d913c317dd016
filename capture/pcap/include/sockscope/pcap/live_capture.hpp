// Live capture through libpcap: an interface, a BPF filter, packets within 10 ms, nanosecond timestamps.
// Frames come out as the same Frame as files give (pcap_source.hpp), so the decoder, annotator and
// views do not know whether a packet is live or from a file.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sockscope/pcap/pcap_source.hpp"

namespace sockscope {

struct LiveOptions {
  std::string interface;          // "lo", "eth0", ...; required (see interface_for)
  std::string filter;             // BPF expression (pcap-filter(7)), or empty for everything
  std::uint32_t snaplen = 262144;
  std::uint32_t buffer_kib = 16384;  // kernel buffer: large, so bursts are not dropped
};

struct LiveStats {
  std::uint64_t received = 0;        // frames handed to us
  std::uint64_t dropped_kernel = 0;  // ps_drop: no room in the buffer
  std::uint64_t dropped_iface = 0;   // ps_ifdrop
};

class LiveCapture {
 public:
  // Opens and activates the capture: when this returns, every later packet matching the filter will
  // be captured (so endpoints started afterwards never miss their SYN). On failure returns nullptr and
  // error is one line naming the interface and what to do (permissions: see privilege_hint()).
  static std::unique_ptr<LiveCapture> open(const LiveOptions& opts, std::string& error);
  ~LiveCapture();
  LiveCapture(const LiveCapture&) = delete;
  LiveCapture& operator=(const LiveCapture&) = delete;

  std::uint32_t linktype() const;
  // Waits up to timeout_ms for packets, then hands each available frame to on_frame (numbered from 1
  // in arrival order). Returns how many frames were handed over, or -1 on error (see error()).
  int poll(int timeout_ms, const std::function<void(const Frame&)>& on_frame);
  LiveStats stats() const;
  const std::string& error() const;
  // A warning from pcap_activate (the capture runs, not quite as asked), or empty.
  const std::string& warning() const;

 private:
  LiveCapture() = default;
  struct Handle;
  std::unique_ptr<Handle> h_;
};

// The interface that reaches host: "lo" for 127.0.0.0/8 and ::1; otherwise the interface that holds
// the local address the kernel would use (asked by connecting a UDP socket, which sends nothing).
std::string interface_for(const std::string& host, std::string& error);

// Whether this process may capture (root, or CAP_NET_RAW in its effective set).
bool have_capture_privileges();
// One line telling how to grant capture rights: sudo, or setcap on the binary.
std::string privilege_hint(const std::string& binary_path);
// After the capture is open: drop root to `user` (a name), or when empty to the invoking sudo user
// (SUDO_UID/SUDO_GID), like tcpdump -Z. Does nothing when not root, or root without sudo and no user.
bool drop_privileges(const std::string& user, std::string& error);

// The invoking user's ids from SUDO_UID and SUDO_GID, which sudo(8) sets: Absent when either is
// missing (not run through sudo), Invalid when they are not numbers.
enum class SudoIds { Absent, Found, Invalid };
SudoIds sudo_ids(unsigned& uid, unsigned& gid);

}  // namespace sockscope
