// Classic pcap (pcap-savefile(5)) and pcapng (draft-ietf-opsawg-pcapng) read from a file descriptor.
// See file_reader.hpp for why sockscope reads them itself.
#include "file_reader.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sockscope/decode/byte_reader.hpp"
#include "sockscope/text/i18n.hpp"
#include "sockscope/text/escape.hpp"
#include "sockscope/text/format.hpp"

namespace sockscope::file_detail {
namespace {

constexpr std::uint32_t kShb = 0x0A0D0D0A;  // a palindrome: the same in both byte orders
constexpr std::uint32_t kIdb = 1;
constexpr std::uint32_t kPb = 2;             // obsolete packet block
constexpr std::uint32_t kSpb = 3;
constexpr std::uint32_t kEpb = 6;
// No capture block is larger than this (libpcap's limit too); a larger length is a lie, refused
// before anything is allocated for it.
constexpr std::uint32_t kMaxBlock = 16u << 20;
// libpcap's largest snapshot length for ordinary link types: a classic record claiming more is damage.
constexpr std::uint32_t kMaxSnaplen = 262144;
// Bounds what a hostile file can make us keep.
constexpr std::size_t kMaxInterfaces = 65536;
constexpr std::size_t kMaxNameBytes = 256;

constexpr std::uint64_t pow10(unsigned e) {
  std::uint64_t v = 1;
  for (unsigned i = 0; i < e; ++i) v *= 10;
  return v;
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

}  // namespace

FileReader::FileReader(int fd, std::size_t buffer_size) : fd_(fd), buf_(std::max<std::size_t>(buffer_size, 64)) {}

std::size_t FileReader::fill(std::size_t n) {
  if (end_ - pos_ >= n) return n;
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (n > buf_.size()) buf_.resize(n);
  while (end_ < n && !eof_) {
    const ssize_t r = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      eof_ = true;  // a read error ends the file like a cut: the frames before it were good
      break;
    }
    end_ += static_cast<std::size_t>(r);
  }
  return std::min(end_ - pos_, n);
}

bool FileReader::u32(const std::uint8_t* p, std::uint32_t& v) const {
  ByteReader r(p, 4);
  return swapped_ ? r.be32(v) : r.le32(v);
}

ReadResult FileReader::damaged(std::string reason) {
  stop_ = Stop::Damaged;
  reason_ = std::move(reason);
  return ReadResult::Error;
}

ReadResult FileReader::cut_short() {
  stop_ = Stop::CutShort;
  return ReadResult::Error;
}

FileReader::Open FileReader::open() {
  const std::size_t got = fill(4);
  if (got == 0) return Open::Empty;
  if (got < 4) return Open::CutHeader;
  const std::uint8_t* m = buf_.data() + pos_;
  std::uint32_t le = 0;
  ByteReader(m, 4).le32(le);
  if (le == kShb) {
    pcapng_ = true;
    Frame unused;
    // The section header, then the interface blocks that follow it: a file's interfaces are known
    // before its first frame is shown (dumpcap writes them all first).
    ReadResult r = next_pcapng(unused, true);
    if (r == ReadResult::Error) return stop_ == Stop::CutShort ? Open::CutHeader : Open::Damaged;
    while ((r = next_pcapng(unused, false, true)) == ReadResult::Frame) {
    }
    if (r == ReadResult::Error) return stop_ == Stop::CutShort ? Open::CutHeader : Open::Damaged;
    // A section header alone, with no interface and nothing after it, is a file cut in its headers.
    if (interfaces_.empty() && fill(1) == 0) return Open::CutHeader;
    stop_ = Stop::None;
    return Open::Ok;
  }
  std::uint32_t magic = le;
  switch (magic) {
    case 0xa1b2c3d4: break;
    case 0xa1b23c4d: nano_ = true; break;
    case 0xa1b2cd34: record_header_ = 24; break;  // "modified" pcap (Alexey Kuznetzov's patches)
    case 0xd4c3b2a1: swapped_ = true; break;
    case 0x4d3cb2a1: swapped_ = nano_ = true; break;
    case 0x34cdb2a1: swapped_ = true; record_header_ = 24; break;
    default: return Open::NotCapture;
  }
  if (fill(24) < 24) return Open::CutHeader;
  ByteReader r(buf_.data() + pos_ + 4, 20);
  std::uint16_t major = 0, minor = 0;
  std::uint32_t zone = 0, sigfigs = 0, snaplen = 0, linktype = 0;
  if (swapped_) {
    r.be16(major); r.be16(minor); r.be32(zone); r.be32(sigfigs); r.be32(snaplen); r.be32(linktype);
  } else {
    r.le16(major); r.le16(minor); r.le32(zone); r.le32(sigfigs); r.le32(snaplen); r.le32(linktype);
  }
  pos_ += 24;
  if (major != 2) {
    reason_ = text::format(tr("its version is %1$u.%2$u; pcap files are version 2"), unsigned{major}, unsigned{minor});
    return Open::Damaged;
  }
  CaptureInterface ci;
  ci.linktype = linktype & 0x03FFFFFF;  // the upper bits say whether frames end with a checksum (FCS)
  ci.snaplen = snaplen;
  ci.ts_units = nano_ ? 9 : 6;
  interfaces_.push_back(std::move(ci));
  // As libpcap does: a record longer than the snapshot length keeps snaplen bytes, the rest is skipped;
  // a record longer than any snapshot length is damage.
  snaplen_ = (snaplen == 0 || snaplen > kMaxSnaplen) ? kMaxSnaplen : snaplen;
  return Open::Ok;
}

ReadResult FileReader::next(Frame& out) {
  if (stop_ != Stop::None) return ReadResult::End;
  return pcapng_ ? next_pcapng(out, false) : next_pcap(out);
}

ReadResult FileReader::next_pcap(Frame& out) {
  const std::size_t got = fill(record_header_);
  if (got == 0) return ReadResult::End;
  if (got < record_header_) return cut_short();
  ByteReader r(buf_.data() + pos_, 16);
  std::uint32_t sec = 0, frac = 0, caplen = 0, len = 0;
  if (swapped_) {
    r.be32(sec); r.be32(frac); r.be32(caplen); r.be32(len);
  } else {
    r.le32(sec); r.le32(frac); r.le32(caplen); r.le32(len);
  }
  if (caplen > std::max(kMaxSnaplen, snaplen_))
    return damaged(text::format(tr("a record claims %1$u captured bytes, more than a capture can hold (%2$u)"),
                                caplen, std::max(kMaxSnaplen, snaplen_)));
  if (fill(record_header_ + std::size_t{caplen}) < record_header_ + std::size_t{caplen}) return cut_short();
  out.data = buf_.data() + pos_ + record_header_;
  out.caplen = std::min(caplen, snaplen_);
  out.wirelen = len;
  out.ts.sec = sec;
  out.ts.nsec = nano_ ? frac % 1000000000u : (frac % 1000000u) * 1000u;
  out.linktype = interfaces_.front().linktype;
  out.interface = 0;
  pos_ += record_header_ + caplen;
  return ReadResult::Frame;
}

// One pcapng block. first: it must be a section header (the start of the file). only_interfaces:
// consume the block only if it is an interface description (End otherwise, and at the end of file).
ReadResult FileReader::next_pcapng(Frame& out, bool first, bool only_interfaces) {
  for (;;) {
    std::size_t got = fill(8);
    if (got == 0) return first ? cut_short() : ReadResult::End;
    if (got < 8) return only_interfaces ? ReadResult::End : cut_short();
    const std::uint8_t* h = buf_.data() + pos_;
    std::uint32_t raw_type = 0;
    ByteReader(h, 4).le32(raw_type);
    if (first && raw_type != kShb) return damaged(tr("it does not start with a section header block"));
    if (raw_type == kShb) {
      if (only_interfaces) return ReadResult::End;
      // The byte-order magic decides how this block's length (and the whole section) is read.
      if (fill(12) < 12) return cut_short();
      h = buf_.data() + pos_;
      const std::uint8_t* bom = h + 8;
      if (bom[0] == 0x4D && bom[1] == 0x3C && bom[2] == 0x2B && bom[3] == 0x1A)
        swapped_ = false;
      else if (bom[0] == 0x1A && bom[1] == 0x2B && bom[2] == 0x3C && bom[3] == 0x4D)
        swapped_ = true;
      else
        return damaged(tr("a section header block has no valid byte-order magic"));
    }
    std::uint32_t type = 0, len = 0;
    u32(h, type);
    u32(h + 4, len);
    if (only_interfaces && type != kIdb) return ReadResult::End;
    if (len < 12 || len % 4 != 0)
      return damaged(text::format(tr("a block gives its length as %u bytes, which is not a multiple of 4 of "
                                     "at least 12"),
                                  len));
    if (len > kMaxBlock)
      return damaged(text::format(tr("a block claims %u bytes, more than any capture block holds"), len));
    if (fill(len) < len) return cut_short();
    h = buf_.data() + pos_;
    std::uint32_t trailer = 0;
    u32(h + len - 4, trailer);
    if (trailer != len)
      return damaged(text::format(tr("a block gives its length as %1$u bytes at its start and %2$u at its end"),
                                  len, trailer));
    const std::uint8_t* body = h + 8;
    const std::uint32_t n = len - 12;
    pos_ += len;  // the body stays in the buffer until the next fill()
    ReadResult r = ReadResult::End;
    switch (type) {
      case kShb: r = section_header(body, n); break;
      case kIdb: r = interface_block(body, n); break;
      case kEpb:
      case kSpb:
      case kPb: r = packet_block(type, body, n, out); break;
      default: break;  // name resolution, statistics, decryption secrets, custom blocks: not needed
    }
    if (r != ReadResult::End) return r;
    if (first) return ReadResult::End;
    if (only_interfaces) return ReadResult::Frame;  // one interface read; the caller asks again
  }
}

ReadResult FileReader::section_header(const std::uint8_t* body, std::uint32_t n) {
  if (n < 16) return damaged(tr("a section header block is shorter than its fixed fields"));
  ByteReader r(body + 4, 4);
  std::uint16_t major = 0, minor = 0;
  if (swapped_) {
    r.be16(major); r.be16(minor);
  } else {
    r.le16(major); r.le16(minor);
  }
  if (major != 1)
    return damaged(text::format(tr("a section has version %1$u.%2$u; pcapng sections are version 1"),
                                unsigned{major}, unsigned{minor}));
  section_ifaces_.clear();  // interface numbers start again in each section
  return ReadResult::End;
}

ReadResult FileReader::interface_block(const std::uint8_t* body, std::uint32_t n) {
  if (n < 8) return damaged(tr("an interface description block is shorter than its fixed fields"));
  if (interfaces_.size() >= kMaxInterfaces)
    return damaged(text::format(tr("it describes more than %u interfaces"), static_cast<unsigned>(kMaxInterfaces)));
  ByteReader r(body, n);
  std::uint16_t linktype = 0, reserved = 0;
  CaptureInterface ci;
  TsUnits units;
  if (swapped_) {
    r.be16(linktype); r.be16(reserved); r.be32(ci.snaplen);
  } else {
    r.le16(linktype); r.le16(reserved); r.le32(ci.snaplen);
  }
  ci.linktype = linktype;
  // Options: code, length, value padded to 4 bytes. A broken option list ends the options, as in
  // Wireshark; the interface itself is still usable.
  while (r.remaining() >= 4) {
    std::uint16_t code = 0, olen = 0;
    if (swapped_) {
      r.be16(code); r.be16(olen);
    } else {
      r.le16(code); r.le16(olen);
    }
    if (code == 0) break;  // opt_endofopt
    const std::size_t padded = (std::size_t{olen} + 3) & ~std::size_t{3};
    ByteReader value;
    if (!r.sub(padded, value)) break;
    const auto* v = value.here();
    switch (code) {
      case 2:  // if_name
        ci.name.assign(reinterpret_cast<const char*>(v), std::min<std::size_t>(olen, kMaxNameBytes));
        break;
      case 3:  // if_description
        ci.description.assign(reinterpret_cast<const char*>(v), std::min<std::size_t>(olen, kMaxNameBytes));
        break;
      case 9:  // if_tsresol: 10^-v seconds, or 2^-(v & 0x7f) when the top bit is set
        if (olen >= 1) {
          ci.ts_units = v[0];
          units.pow2 = (v[0] & 0x80) != 0;
          units.exp = static_cast<std::uint8_t>(v[0] & 0x7f);
          if ((units.pow2 && units.exp > 63) || (!units.pow2 && units.exp > 19))
            return damaged(text::format(tr("an interface gives a timestamp resolution (if_tsresol %u) that "
                                           "cannot be read"),
                                        unsigned{v[0]}));
        }
        break;
      case 14:  // if_tsoffset: seconds, signed 64 bits
        if (olen >= 8) {
          std::uint32_t a = 0, b = 0;
          u32(v, a);
          u32(v + 4, b);
          const std::uint64_t u = swapped_ ? (std::uint64_t{a} << 32) | b : (std::uint64_t{b} << 32) | a;
          units.offset = static_cast<std::int64_t>(u);
          ci.ts_offset = units.offset;
        }
        break;
      default:
        break;
    }
  }
  section_ifaces_.push_back(static_cast<std::uint32_t>(interfaces_.size()));
  interfaces_.push_back(std::move(ci));
  units_.push_back(units);
  return ReadResult::End;
}

Timestamp FileReader::timestamp(const TsUnits& u, std::uint64_t units) const {
  std::uint64_t sec = 0, nsec = 0;
  if (u.pow2) {
    sec = u.exp == 0 ? units : units >> u.exp;
    const std::uint64_t frac = u.exp == 0 ? 0 : units & ((std::uint64_t{1} << u.exp) - 1);
    nsec = static_cast<std::uint64_t>((static_cast<unsigned __int128>(frac) * 1000000000u) >> u.exp);
  } else {
    const std::uint64_t div = pow10(u.exp);
    sec = units / div;
    const std::uint64_t rem = units % div;
    nsec = u.exp <= 9 ? rem * pow10(9 - u.exp) : rem / pow10(u.exp - 9u);
  }
  Timestamp t;
  const std::int64_t s = sec > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(sec);
  t.sec = saturating_add(s, u.offset);
  t.nsec = static_cast<std::uint32_t>(nsec);
  return t;
}

ReadResult FileReader::packet_block(std::uint32_t type, const std::uint8_t* body, std::uint32_t n, Frame& out) {
  ByteReader r(body, n);
  std::uint32_t iface = 0, hi = 0, lo = 0, caplen = 0, len = 0;
  const auto rd32 = [&](std::uint32_t& v) { return swapped_ ? r.be32(v) : r.le32(v); };
  if (type == kSpb) {
    // Simple packet block: interface 0, no timestamp, the captured length implied by the block.
    if (!rd32(len)) return damaged(tr("a simple packet block is shorter than its fixed fields"));
    caplen = std::min<std::uint32_t>(len, n - 4);
    if (!section_ifaces_.empty()) {
      const std::uint32_t snap = interfaces_[section_ifaces_[0]].snaplen;
      if (snap != 0) caplen = std::min(caplen, snap);
    }
  } else {
    bool ok = true;
    if (type == kPb) {  // obsolete packet block: 16-bit interface id and drop count
      std::uint16_t id = 0, drops = 0;
      ok = swapped_ ? (r.be16(id) && r.be16(drops)) : (r.le16(id) && r.le16(drops));
      iface = id;
    } else {
      ok = rd32(iface);
    }
    ok = ok && rd32(hi) && rd32(lo) && rd32(caplen) && rd32(len);
    if (!ok) return damaged(tr("a packet block is shorter than its fixed fields"));
    if (caplen > r.remaining())
      return damaged(text::format(tr("a packet block claims %1$u captured bytes but holds only %2$u"), caplen,
                                  static_cast<std::uint32_t>(r.remaining())));
  }
  if (iface >= section_ifaces_.size())
    return damaged(text::format(tr("a packet names interface %u, which its section does not describe"), iface));
  const std::uint32_t global = section_ifaces_[iface];
  out.data = r.here();
  out.caplen = caplen;
  out.wirelen = len;
  out.linktype = interfaces_[global].linktype;
  out.interface = global;
  if (type == kSpb)
    out.ts = last_ts_;  // no timestamp of its own: the previous packet's, so capture time never jumps back
  else
    out.ts = timestamp(units_[global], (std::uint64_t{hi} << 32) | lo);
  last_ts_ = out.ts;
  return ReadResult::Frame;
}

}  // namespace sockscope::file_detail
