// Reading capture files: classic pcap and pcapng, read by sockscope's own bounds-checked reader
// (src/file_reader.cpp), with libpcap only compiling the BPF filter. A pcapng file may describe several
// interfaces, in several sections, each with its own link type, snapshot length and clock (as dumpcap
// writes when it captures on more than one interface): every frame says which interface it came from
// and carries that interface's link type. <pcap.h> is included in the .cpp only, so decoding,
// annotation and the views build and test without it.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "sockscope/decode/packet.hpp"

namespace sockscope {

// One captured frame. data points into the reader's buffer and is valid until the next next() call.
struct Frame {
  const std::uint8_t* data = nullptr;
  std::uint32_t caplen = 0;   // bytes captured
  std::uint32_t wirelen = 0;  // bytes on the wire
  Timestamp ts;               // nanosecond precision whatever the file stores
  std::uint64_t number = 0;   // 1-based position in the file (a filter skips frames, not numbers)
  std::uint32_t linktype = 0;   // LINKTYPE_ value of the interface the frame came from
  std::uint32_t interface = 0;  // that interface's index in the file (0 for classic pcap)
};

// An interface a capture file describes (classic pcap: one, from the file header; pcapng: one per
// interface description block, numbered across sections as Wireshark numbers them).
struct CaptureInterface {
  std::uint32_t linktype = 0;
  std::uint32_t snaplen = 0;    // 0: no limit given
  std::string name;             // if_name, as the file gives it (escape before printing)
  std::string description;      // if_description
  std::uint32_t ts_units = 0;   // if_tsresol as stored (0 when absent: microseconds)
  std::int64_t ts_offset = 0;   // if_tsoffset, seconds added to every timestamp
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
  // Link-layer header type of the first interface (a LINKTYPE_ value as stored in the file; the
  // decoder accepts 12, 14 and 101 as raw IP). Frames carry their own interface's link type.
  std::uint32_t linktype() const { return linktype_; }
  // The interfaces described so far (a pcapng file may describe more as it goes on). References stay
  // valid for the life of the source.
  const std::deque<CaptureInterface>& interfaces() const;
  // Frames read from the file so far (including those the filter skipped).
  std::uint64_t frames_read() const { return frames_read_; }
  // The name used in messages ("standard input" for "-").
  const std::string& display_name() const { return name_; }

 struct Handle;  // private to pcap_source.cpp

 private:
  PcapSource() = default;
  std::unique_ptr<Handle> h_;
  std::string name_;
  std::string error_;
  std::uint32_t linktype_ = 0;
  std::uint64_t frames_read_ = 0;
  bool done_ = false;
};

// The version of the libpcap this process runs with (pcap_lib_version()), e.g. "libpcap version
// 1.10.3 (with TPACKET_V3)": it can differ from the headers it was built with.
std::string libpcap_version();

}  // namespace sockscope
