// Writes capture files in plain C++ (no libpcap), so tests make their own fixtures:
// classic pcap with microsecond or nanosecond timestamps, and pcapng (section header, one
// interface description with if_tsresol, enhanced packet blocks). Little-endian, as most writers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sockscope/decode/packet.hpp"

namespace sockscope::testing {

enum class PcapngBlock : std::uint8_t { Enhanced, Simple, Obsolete };  // EPB, SPB, PB (pcapng_bytes)

struct PcapRecord {
  Timestamp ts;
  std::vector<std::uint8_t> data;  // the captured bytes
  std::uint32_t wirelen = 0;       // bytes on the wire; 0 means data.size()
  // pcapng_bytes only: the interface (index in its section) and the kind of block.
  std::uint32_t interface = 0;
  PcapngBlock block = PcapngBlock::Enhanced;
};

// One interface description block of pcapng_bytes.
struct PcapngInterface {
  std::uint32_t linktype = 1;
  std::uint32_t snaplen = 262144;
  std::string name, description;  // if_name, if_description (left out when empty)
  // if_tsresol as stored: 6 (the default, then left out), 9 (ns), 0x80 | n for 2^-n seconds.
  std::uint8_t tsresol = 6;
  std::int64_t tsoffset = 0;      // if_tsoffset in seconds (left out when 0)
};

// One pcapng section: its byte order, its interfaces, then its packets (with a name resolution and an
// interface statistics block and an unknown block between them when extra_blocks is set, which a
// reader must skip).
struct PcapngSection {
  bool big_endian = false;
  std::vector<PcapngInterface> interfaces;
  std::vector<PcapRecord> records;
  bool extra_blocks = false;
};

// A pcapng file of any number of sections, each with several interfaces (different link types,
// snapshot lengths, timestamp resolutions and offsets), in either byte order.
std::vector<std::uint8_t> pcapng_bytes(const std::vector<PcapngSection>& sections);

enum class CaptureFormat : std::uint8_t {
  PcapMicro,    // magic 0xa1b2c3d4
  PcapNano,     // magic 0xa1b23c4d
  PcapngMicro,  // pcapng, default resolution (no if_tsresol)
  PcapngNano,   // pcapng, if_tsresol = 9
};

std::vector<std::uint8_t> capture_bytes(CaptureFormat format, std::uint32_t linktype,
                                        const std::vector<PcapRecord>& records,
                                        std::uint32_t snaplen = 262144);

// Returns false if the file could not be written.
bool write_capture(const std::string& path, CaptureFormat format, std::uint32_t linktype,
                   const std::vector<PcapRecord>& records, std::uint32_t snaplen = 262144);

}  // namespace sockscope::testing
