// A live run: capture packets, take socket calls from endpoints running alongside, merge both on one
// clock, annotate, show and (optionally) save. Used by `sockscope capture`, `chat --trace` and `demo`.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sockscope/annotate/calls.hpp"
#include "sockscope/decode/packet.hpp"
#include "sockscope/pcap/live_capture.hpp"
#include "sockscope/views/out_buffer.hpp"
#include "sockscope/views/views.hpp"

namespace sockscope {

struct LiveSessionOptions {
  LiveOptions capture;
  std::string write_path;     // "-w FILE": .pcapng keeps each packet's annotation as a comment
  bool drop_privileges = true;
  std::string user;           // drop to this user after opening (default: the sudo user)
  // Packets and calls are shown in time order: an item is held this long (wall clock) in case an
  // earlier one is still on its way (a packet still in the kernel buffer, a call still reporting).
  int holdback_ms = 40;
  // With `keep`: the time (CLOCK_REALTIME ns) before which keep() can decide every packet (sockscope
  // trace: the start of the oldest call that may still reveal a socket's address). Later packets
  // wait for it, but never longer than max_wait_ms.
  std::function<std::int64_t()> settled_ns;
  int max_wait_ms = 5000;
  // Stop after this many packets were shown (0: no limit), like tcpdump -c: for bounded runs.
  std::uint64_t max_packets = 0;
  // When set, only the packets it keeps are annotated, shown and saved, numbered 1, 2, 3 ... among
  // themselves (`sockscope trace`: the packets of the traced program's sockets). Called from the
  // thread that runs run(), once the packet has been held back (so a socket whose address became
  // known while its first packet was on the way still claims it).
  std::function<bool(const Packet&)> keep;
};

struct LiveSessionResult {
  std::uint64_t packets = 0;        // annotated
  std::uint64_t calls = 0;
  std::uint64_t written = 0;        // frames saved with -w
  LiveStats stats;                  // the kernel's counts (dropped)
  bool ok = true;
  std::string error;                // one line
};

class LiveSession final : public CallSink {
 public:
  // Opens the capture (active on return: nothing later is missed), drops privileges, then creates the
  // output file (as tcpdump -Z does: the file belongs to the invoking user, and its final rename is
  // made with the same rights it was created with). nullptr with a one-line error on failure.
  static std::unique_ptr<LiveSession> open(const LiveSessionOptions& opts, View& view, OutBuffer& out,
                                           std::string& error);
  ~LiveSession() override;

  // Thread-safe: queues the call; it is shown in time order with the packets.
  void on_call(const CallRecord& call) override;

  // Captures and shows until stop becomes true, then drains what is still queued, summarises the open
  // conversations, finishes the view and completes the file.
  LiveSessionResult run(std::atomic<bool>& stop);

  // A warning from libpcap when the capture was opened (it runs, not quite as asked), or empty.
  const std::string& warning() const;

  // With -w: the temporary name the file is written under until run() completes it
  // (CaptureWriter::temp_path), else empty.
  std::string write_temp_path() const;

 private:
  LiveSession() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sockscope
