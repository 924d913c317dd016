// Saving a capture: pcap, or pcapng with each packet's annotation as a packet comment (opt_comment),
// so the file opens in Wireshark with sockscope's explanations beside each frame. pcapng blocks are
// written by hand (libpcap cannot write pcapng). The file is written under a temporary name in the
// same folder and renamed when complete, so a reader never sees half a file.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sockscope/pcap/pcap_source.hpp"

namespace sockscope {

class CaptureWriter {
 public:
  enum class Format : std::uint8_t { Pcap, Pcapng };
  // Format from the name: ".pcapng" -> Pcapng, anything else -> Pcap (nanosecond timestamps both).
  // On failure (folder missing, not writable) returns nullptr with a one-line error naming the path.
  static std::unique_ptr<CaptureWriter> create(const std::string& path, std::uint32_t linktype,
                                               std::uint32_t snaplen, std::string& error);
  ~CaptureWriter();  // closes (completes and renames) if close() was not called
  CaptureWriter(const CaptureWriter&) = delete;
  CaptureWriter& operator=(const CaptureWriter&) = delete;

  // Writes one frame; comment (UTF-8) goes into the pcapng packet's opt_comment, ignored for pcap.
  // Returns false on a write error (disk full): error() says so, later writes are refused.
  bool write(const Frame& f, std::string_view comment);
  // Flushes, syncs and renames the temporary file to its final name. Idempotent.
  bool close();
  const std::string& error() const { return error_; }
  std::uint64_t written() const { return written_; }
  Format format() const { return format_; }
  // The temporary name the frames go to until close() renames it ("FOLDER/.NAME.partial-PID"); empty
  // once renamed. For a caller that must hand the file to another user before giving up root.
  std::string temp_path() const;

 private:
  CaptureWriter() = default;
  struct File;
  std::unique_ptr<File> file_;
  std::string error_;
  std::uint64_t written_ = 0;
  Format format_ = Format::Pcap;
};

}  // namespace sockscope
