// Reading capture files (pcap and pcapng) through libpcap. This header and src/pcap/ are the only
// parts of sockscope that know about libpcap: <pcap.h> is included in the .cpp only, so decoding,
// annotation and the views build and test without it.
//
// Limit: libpcap (1.10) reads a pcapng file only when every interface in it has the link type of the
// first one, and it does not report a link type per packet. A pcapng file that mixes link types
// (for example one written by `dumpcap -i eth0 -i lo` on some systems) stops with a clear error at
// the first packet of the other interface; split it per interface first (see the message).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "sockscope/decode/packet.hpp"

namespace sockscope {

// One captured frame. data points into libpcap's buffer and is valid until the next next() call.
struct Frame {
  const std::uint8_t* data = nullptr;
  std::uint32_t caplen = 0;   // bytes captured
  std::uint32_t wirelen = 0;  // bytes on the wire
  Timestamp ts;               // nanosecond precision whatever the file stores
  std::uint64_t number = 0;   // 1-based position in the file (a filter skips frames, not numbers)
};

enum class ReadResult : std::uint8_t { Frame, End, Error };

class PcapSource {
 public:
  // Opens a pcap or pcapng file, or standard input for "-". filter is a BPF expression (pcap-filter(7))
  // or empty. On failure returns nullptr and sets error to one line: "FILE: problem. What to do."
  static std::unique_ptr<PcapSource> open(const std::string& path, const std::string& filter,
                                          std::string& error);
  ~PcapSource();
  PcapSource(const PcapSource&) = delete;
  PcapSource& operator=(const PcapSource&) = delete;

  // The next frame that passes the filter. On Error, error() says what went wrong (one line, as for
  // open); frames returned before it are good.
  ReadResult next(Frame& out);

  const std::string& error() const { return error_; }
  // Link-layer header type as libpcap reports it (a DLT_ value: on Linux a file's LINKTYPE_RAW (101)
  // is reported as 12; the decoder accepts 12, 14 and 101 as raw IP).
  std::uint32_t linktype() const { return linktype_; }
  // Frames read from the file so far (including those the filter skipped).
  std::uint64_t frames_read() const { return frames_read_; }
  // The name used in messages ("standard input" for "-").
  const std::string& display_name() const { return name_; }

 private:
  PcapSource() = default;
  struct Handle;
  std::unique_ptr<Handle> h_;
  std::string name_;
  std::string error_;
  std::uint32_t linktype_ = 0;
  std::uint64_t frames_read_ = 0;
};

// The version of the libpcap this process runs with (pcap_lib_version()), e.g. "libpcap version
// 1.10.3 (with TPACKET_V3)": it can differ from the headers it was built with.
std::string libpcap_version();

}  // namespace sockscope
