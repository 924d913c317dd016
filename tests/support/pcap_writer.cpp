#include "pcap_writer.hpp"

#include <cstdio>

namespace sockscope::test {
namespace {

using Bytes = std::vector<std::uint8_t>;

void le16(Bytes& b, std::uint32_t v) {
  b.push_back(static_cast<std::uint8_t>(v));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
}
void le32(Bytes& b, std::uint32_t v) {
  le16(b, v & 0xffff);
  le16(b, v >> 16);
}
void pad4(Bytes& b) {
  while (b.size() % 4) b.push_back(0);
}

// pcapng block: type, total length, body, total length again (pcapng spec section 3.1).
void block(Bytes& out, std::uint32_t type, const Bytes& body) {
  const std::uint32_t len = static_cast<std::uint32_t>(12 + body.size());
  le32(out, type);
  le32(out, len);
  out.insert(out.end(), body.begin(), body.end());
  le32(out, len);
}

}  // namespace

std::vector<std::uint8_t> capture_bytes(CaptureFormat format, std::uint32_t linktype,
                                        const std::vector<PcapRecord>& records,
                                        std::uint32_t snaplen) {
  Bytes out;
  const bool nano = format == CaptureFormat::PcapNano || format == CaptureFormat::PcapngNano;
  if (format == CaptureFormat::PcapMicro || format == CaptureFormat::PcapNano) {
    le32(out, nano ? 0xa1b23c4d : 0xa1b2c3d4);
    le16(out, 2);
    le16(out, 4);
    le32(out, 0);  // thiszone
    le32(out, 0);  // sigfigs
    le32(out, snaplen);
    le32(out, linktype);
    for (const PcapRecord& r : records) {
      le32(out, static_cast<std::uint32_t>(r.ts.sec));
      le32(out, nano ? r.ts.nsec : r.ts.nsec / 1000);
      le32(out, static_cast<std::uint32_t>(r.data.size()));
      le32(out, r.wirelen ? r.wirelen : static_cast<std::uint32_t>(r.data.size()));
      out.insert(out.end(), r.data.begin(), r.data.end());
    }
    return out;
  }
  // Section header block.
  Bytes shb;
  le32(shb, 0x1A2B3C4D);  // byte-order magic
  le16(shb, 1);
  le16(shb, 0);
  le32(shb, 0xffffffff);  // section length unknown (-1)
  le32(shb, 0xffffffff);
  block(out, 0x0A0D0D0A, shb);
  // Interface description block.
  Bytes idb;
  le16(idb, linktype);
  le16(idb, 0);
  le32(idb, snaplen);
  if (nano) {
    le16(idb, 9);  // if_tsresol
    le16(idb, 1);
    idb.push_back(9);  // 10^-9
    pad4(idb);
    le16(idb, 0);  // opt_endofopt
    le16(idb, 0);
  }
  block(out, 1, idb);
  for (const PcapRecord& r : records) {
    const std::uint64_t units = static_cast<std::uint64_t>(r.ts.sec) * (nano ? 1000000000ull : 1000000ull) +
                                (nano ? r.ts.nsec : r.ts.nsec / 1000);
    Bytes epb;
    le32(epb, 0);  // interface id
    le32(epb, static_cast<std::uint32_t>(units >> 32));
    le32(epb, static_cast<std::uint32_t>(units));
    le32(epb, static_cast<std::uint32_t>(r.data.size()));
    le32(epb, r.wirelen ? r.wirelen : static_cast<std::uint32_t>(r.data.size()));
    epb.insert(epb.end(), r.data.begin(), r.data.end());
    pad4(epb);
    block(out, 6, epb);
  }
  return out;
}

bool write_capture(const std::string& path, CaptureFormat format, std::uint32_t linktype,
                   const std::vector<PcapRecord>& records, std::uint32_t snaplen) {
  const Bytes b = capture_bytes(format, linktype, records, snaplen);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = std::fwrite(b.data(), 1, b.size(), f) == b.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace sockscope::test
