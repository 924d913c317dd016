// Reading capture files without libpcap: classic pcap (micro- and nanosecond, both byte orders, and
// the "modified" variant with 24-byte record headers) and pcapng (several sections and interfaces,
// each with its own link type, snapshot length, timestamp resolution and offset, name and
// description). Every field read from the file goes through ByteReader; a block or record whose
// lengths lie stops the read with a reason, after the frames before it.
//
// Why our own reader for both formats (libpcap still compiles the BPF filters): libpcap 1.10 refuses
// a pcapng file whose interfaces have different link types and reports no interface per packet, and
// one reader for both formats lets standard input be either (the magic is read once, never pushed back).
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "sockscope/pcap/pcap_source.hpp"

namespace sockscope::file_detail {

// Why a read stopped; the caller turns it into a sentence naming the file.
enum class Stop : std::uint8_t {
  None,
  CutShort,        // the file ends inside a record or block
  Damaged,         // a length or field contradicts the format: `reason` says which
};

class FileReader {
 public:
  // fd is read with read(2) through a buffer of buffer_size bytes (never closed here).
  FileReader(int fd, std::size_t buffer_size);

  enum class Open : std::uint8_t { Ok, Empty, CutHeader, NotCapture, Damaged };
  // Reads the file header (pcap) or the section header and the interface blocks that follow it.
  Open open();

  // The next packet record; Frame::number is left to the caller.
  ReadResult next(Frame& out);

  Stop stop() const { return stop_; }
  // A sentence (translated) saying what is wrong, for Stop::Damaged and Open::Damaged.
  const std::string& reason() const { return reason_; }
  // Every interface described so far, in file order across sections (Wireshark's interface ids).
  const std::deque<CaptureInterface>& interfaces() const { return interfaces_; }
  bool is_pcapng() const { return pcapng_; }

 private:
  struct TsUnits {
    bool pow2 = false;       // units of 2^-exp seconds, else 10^-exp
    std::uint8_t exp = 6;
    std::int64_t offset = 0;  // if_tsoffset, seconds
  };

  // Makes n bytes available at pos_. Returns the number available (< n only at the end of file).
  std::size_t fill(std::size_t n);
  ReadResult damaged(std::string reason);
  ReadResult cut_short();

  ReadResult next_pcap(Frame& out);
  ReadResult next_pcapng(Frame& out, bool first, bool only_interfaces = false);
  // Parses a block body (block header and trailer excluded). Returns Frame when out holds a packet,
  // End when the block was consumed without one, Error when it is damaged.
  ReadResult section_header(const std::uint8_t* body, std::uint32_t n);
  ReadResult interface_block(const std::uint8_t* body, std::uint32_t n);
  ReadResult packet_block(std::uint32_t type, const std::uint8_t* body, std::uint32_t n, Frame& out);
  Timestamp timestamp(const TsUnits& u, std::uint64_t units) const;
  bool u32(const std::uint8_t* p, std::uint32_t& v) const;

  int fd_;
  std::vector<std::uint8_t> buf_;
  std::size_t pos_ = 0, end_ = 0;
  bool eof_ = false;

  bool pcapng_ = false;
  bool swapped_ = false;       // the file's byte order is big-endian
  // classic pcap
  bool nano_ = false;
  std::uint32_t record_header_ = 16;
  std::uint32_t snaplen_ = 0;  // clipping limit for classic records
  // pcapng: the current section's interfaces, as indices into interfaces_, and their clocks
  std::vector<std::uint32_t> section_ifaces_;
  std::vector<TsUnits> units_;  // per global interface
  std::deque<CaptureInterface> interfaces_;
  Timestamp last_ts_;           // a simple packet block has no timestamp: it takes the last one

  Stop stop_ = Stop::None;
  std::string reason_;
};

}  // namespace sockscope::file_detail
