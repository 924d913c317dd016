// Bounds-checked reading of untrusted bytes (after tcpdump's extract.h and libtins' memory_helpers.h).
// Every read is checked against the end of the captured bytes; a failed read leaves the output
// untouched, returns false and latches `ok() == false`. Values are assembled byte by byte: no casts of
// structs over the buffer, no alignment or byte-order assumptions.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sockscope {

class ByteReader {
 public:
  constexpr ByteReader() = default;
  constexpr ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  constexpr std::size_t size() const { return size_; }
  constexpr std::size_t offset() const { return off_; }
  constexpr std::size_t remaining() const { return size_ - off_; }
  constexpr bool ok() const { return ok_; }
  constexpr bool can_read(std::size_t n) const { return ok_ && n <= size_ - off_; }
  constexpr const std::uint8_t* data() const { return data_; }
  // Pointer to the current position; valid for remaining() bytes.
  constexpr const std::uint8_t* here() const { return data_ + off_; }

  constexpr bool u8(std::uint8_t& out) {
    if (!can_read(1)) return fail();
    out = data_[off_++];
    return true;
  }
  constexpr bool be16(std::uint16_t& out) {
    if (!can_read(2)) return fail();
    out = static_cast<std::uint16_t>((data_[off_] << 8) | data_[off_ + 1]);
    off_ += 2;
    return true;
  }
  constexpr bool le16(std::uint16_t& out) {
    if (!can_read(2)) return fail();
    out = static_cast<std::uint16_t>(data_[off_] | (data_[off_ + 1] << 8));
    off_ += 2;
    return true;
  }
  constexpr bool be32(std::uint32_t& out) {
    if (!can_read(4)) return fail();
    out = (std::uint32_t{data_[off_]} << 24) | (std::uint32_t{data_[off_ + 1]} << 16) |
          (std::uint32_t{data_[off_ + 2]} << 8) | std::uint32_t{data_[off_ + 3]};
    off_ += 4;
    return true;
  }
  constexpr bool le32(std::uint32_t& out) {
    if (!can_read(4)) return fail();
    out = std::uint32_t{data_[off_]} | (std::uint32_t{data_[off_ + 1]} << 8) |
          (std::uint32_t{data_[off_ + 2]} << 16) | (std::uint32_t{data_[off_ + 3]} << 24);
    off_ += 4;
    return true;
  }
  // Copies n bytes into out (which must hold n bytes).
  constexpr bool bytes(std::uint8_t* out, std::size_t n) {
    if (!can_read(n)) return fail();
    for (std::size_t i = 0; i < n; ++i) out[i] = data_[off_ + i];
    off_ += n;
    return true;
  }
  constexpr bool skip(std::size_t n) {
    if (!can_read(n)) return fail();
    off_ += n;
    return true;
  }
  // A reader over the next n bytes; advances this reader past them.
  constexpr bool sub(std::size_t n, ByteReader& out) {
    if (!can_read(n)) return fail();
    out = ByteReader(data_ + off_, n);
    off_ += n;
    return true;
  }
  // Peek without consuming.
  constexpr bool peek_u8(std::size_t at, std::uint8_t& out) const {
    if (!ok_ || at >= size_ - off_) return false;
    out = data_[off_ + at];
    return true;
  }

 private:
  constexpr bool fail() {
    ok_ = false;
    return false;
  }
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t off_ = 0;
  bool ok_ = true;
};

}  // namespace sockscope
