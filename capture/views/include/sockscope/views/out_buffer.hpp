// Buffered output without iostreams: append into a fixed buffer, flush with fwrite when it fills.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace sockscope {

class OutBuffer {
 public:
  explicit OutBuffer(std::FILE* f) : f_(f) {}
  ~OutBuffer() { flush(); }
  OutBuffer(const OutBuffer&) = delete;
  OutBuffer& operator=(const OutBuffer&) = delete;

  void put(char c) {
    if (len_ == sizeof buf_) flush();
    buf_[len_++] = c;
  }
  void put(std::string_view s) {
    if (s.size() > sizeof buf_ - len_) {
      flush();
      if (s.size() > sizeof buf_) {
        write_all(s.data(), s.size());
        return;
      }
    }
    std::memcpy(buf_ + len_, s.data(), s.size());
    len_ += s.size();
  }
  void put_u64(std::uint64_t v) {
    char tmp[24];
    int n = 0;
    do {
      tmp[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    if (sizeof buf_ - len_ < static_cast<std::size_t>(n)) flush();
    while (n > 0) buf_[len_++] = tmp[--n];
  }
  void put_i64(std::int64_t v) {
    if (v < 0) {
      put('-');
      put_u64(static_cast<std::uint64_t>(-(v + 1)) + 1);
    } else {
      put_u64(static_cast<std::uint64_t>(v));
    }
  }
  // Returns false if a write failed (disk full, closed pipe); latched.
  bool flush() {
    if (len_ > 0) write_all(buf_, len_);
    len_ = 0;
    if (f_ && std::fflush(f_) != 0) failed_ = true;
    return !failed_;
  }
  bool failed() const { return failed_; }

 private:
  void write_all(const char* p, std::size_t n) {
    if (!f_ || failed_) return;
    if (std::fwrite(p, 1, n, f_) != n) failed_ = true;
  }
  std::FILE* f_;
  char buf_[1 << 16];
  std::size_t len_ = 0;
  bool failed_ = false;
};

}  // namespace sockscope
