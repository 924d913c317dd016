#include "pcap_writer.hpp"

#include <cstdio>
#include <initializer_list>

namespace sockscope::testing {
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

namespace {

// Writes integers in the section's byte order.
struct Out {
  Bytes& b;
  bool be;
  void u16(std::uint32_t v) {
    if (be) {
      b.push_back(static_cast<std::uint8_t>(v >> 8));
      b.push_back(static_cast<std::uint8_t>(v));
    } else {
      le16(b, v);
    }
  }
  void u32(std::uint32_t v) {
    if (be) {
      u16(v >> 16);
      u16(v & 0xffff);
    } else {
      le32(b, v);
    }
  }
  void option(std::uint16_t code, const Bytes& value) {
    u16(code);
    u16(static_cast<std::uint32_t>(value.size()));
    b.insert(b.end(), value.begin(), value.end());
    pad4(b);
  }
};

void block_in(Bytes& out, bool be, std::uint32_t type, const Bytes& body) {
  const std::uint32_t len = static_cast<std::uint32_t>(12 + body.size());
  Out o{out, be};
  o.u32(type);
  o.u32(len);
  out.insert(out.end(), body.begin(), body.end());
  o.u32(len);
}

std::uint64_t ts_units(const PcapngInterface& i, Timestamp ts) {
  const std::uint64_t sec = static_cast<std::uint64_t>(ts.sec - i.tsoffset);
  if (i.tsresol & 0x80) {
    const unsigned e = i.tsresol & 0x7f;
    return (sec << e) + ((static_cast<std::uint64_t>(ts.nsec) << e) / 1000000000u);
  }
  std::uint64_t per = 1;
  for (unsigned k = 0; k < i.tsresol; ++k) per *= 10;
  std::uint64_t frac = ts.nsec;
  for (unsigned k = i.tsresol; k < 9; ++k) frac /= 10;
  for (unsigned k = 9; k < i.tsresol; ++k) frac *= 10;
  return sec * per + frac;
}

}  // namespace

std::vector<std::uint8_t> pcapng_bytes(const std::vector<PcapngSection>& sections) {
  Bytes out;
  for (const PcapngSection& sec : sections) {
    const bool be = sec.big_endian;
    Bytes shb;
    Out s{shb, be};
    s.u32(0x1A2B3C4D);
    s.u16(1);
    s.u16(0);
    s.u32(0xffffffff);
    s.u32(0xffffffff);
    block_in(out, be, 0x0A0D0D0A, shb);
    for (const PcapngInterface& i : sec.interfaces) {
      Bytes idb;
      Out o{idb, be};
      o.u16(i.linktype);
      o.u16(0);
      o.u32(i.snaplen);
      if (!i.name.empty()) o.option(2, Bytes(i.name.begin(), i.name.end()));
      if (!i.description.empty()) o.option(3, Bytes(i.description.begin(), i.description.end()));
      if (i.tsresol != 6) o.option(9, Bytes{i.tsresol});
      if (i.tsoffset != 0) {
        Bytes v;
        Out ov{v, be};
        const auto u = static_cast<std::uint64_t>(i.tsoffset);
        if (be) {
          ov.u32(static_cast<std::uint32_t>(u >> 32));
          ov.u32(static_cast<std::uint32_t>(u));
        } else {
          ov.u32(static_cast<std::uint32_t>(u));
          ov.u32(static_cast<std::uint32_t>(u >> 32));
        }
        o.option(14, v);
      }
      o.u16(0);
      o.u16(0);
      block_in(out, be, 1, idb);
    }
    if (sec.extra_blocks) {
      Bytes nrb;  // name resolution: one IPv4 record, then the end of records
      Out o{nrb, be};
      o.u16(1);
      o.u16(10);
      for (std::uint8_t c : std::initializer_list<std::uint8_t>{192, 0, 2, 1, 'h', 'o', 's', 't', '1', 0}) nrb.push_back(c);
      pad4(nrb);
      o.u32(0);
      block_in(out, be, 4, nrb);
      Bytes isb;  // interface statistics for interface 0, no options
      Out oi{isb, be};
      oi.u32(0);
      oi.u32(0);
      oi.u32(0);
      block_in(out, be, 5, isb);
      block_in(out, be, 0x0BADF00D, Bytes(8, 0x5a));  // a block type no reader knows
    }
    for (const PcapRecord& r : sec.records) {
      const std::uint32_t caplen = static_cast<std::uint32_t>(r.data.size());
      const std::uint32_t wire = r.wirelen ? r.wirelen : caplen;
      Bytes pb;
      Out o{pb, be};
      if (r.block == PcapngBlock::Simple) {
        o.u32(wire);
        pb.insert(pb.end(), r.data.begin(), r.data.end());
        pad4(pb);
        block_in(out, be, 3, pb);
        continue;
      }
      const PcapngInterface& i = sec.interfaces.at(r.interface);
      const std::uint64_t units = ts_units(i, r.ts);
      if (r.block == PcapngBlock::Obsolete) {
        o.u16(r.interface);
        o.u16(0);  // drops
      } else {
        o.u32(r.interface);
      }
      o.u32(static_cast<std::uint32_t>(units >> 32));
      o.u32(static_cast<std::uint32_t>(units));
      o.u32(caplen);
      o.u32(wire);
      pb.insert(pb.end(), r.data.begin(), r.data.end());
      pad4(pb);
      block_in(out, be, r.block == PcapngBlock::Obsolete ? 2 : 6, pb);
    }
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

}  // namespace sockscope::testing
