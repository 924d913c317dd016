// Writes capture files in plain C++ (no libpcap), so tests make their own fixtures:
// classic pcap with microsecond or nanosecond timestamps, and pcapng (section header, one
// interface description with if_tsresol, enhanced packet blocks). Little-endian, as most writers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sockscope/decode/packet.hpp"

namespace sockscope::test {

struct PcapRecord {
  Timestamp ts;
  std::vector<std::uint8_t> data;  // the captured bytes
  std::uint32_t wirelen = 0;       // bytes on the wire; 0 means data.size()
};

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

}  // namespace sockscope::test
