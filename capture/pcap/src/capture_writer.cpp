// Saving a capture as pcap or pcapng, byte by byte: libpcap writes only pcap, and we want each
// packet's annotation inside the file as a pcapng packet comment.
//
// pcap: the classic format with the nanosecond magic 0xa1b23c4d (pcap-savefile(5);
// draft-ietf-opsawg-pcap). pcapng: draft-ietf-opsawg-pcapng, section 4: a Section Header Block, one
// Interface Description Block with if_tsresol = 9 (nanoseconds), then one Enhanced Packet Block per
// frame with opt_comment. Both are written in host byte order; readers detect it from the magic.
#include "sockscope/pcap/capture_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "sockscope/text/i18n.hpp"
#include "sockscope/text/escape.hpp"
#include "sockscope/text/format.hpp"

namespace sockscope {

struct CaptureWriter::File {
  std::FILE* f = nullptr;
  std::string final_path, temp_path, dir;
  std::vector<char> stdio_buf;  // owned here: setvbuf keeps a pointer to it until fclose
  bool closed = false;
  bool ok = true;
};

namespace {

constexpr std::uint32_t kPcapMagicNano = 0xa1b23c4d;
constexpr std::uint32_t kBlockSHB = 0x0A0D0D0A;
constexpr std::uint32_t kBlockIDB = 0x00000001;
constexpr std::uint32_t kBlockEPB = 0x00000006;
constexpr std::uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr std::uint16_t kOptEndOfOpt = 0;
constexpr std::uint16_t kOptComment = 1;       // opt_comment, any block
constexpr std::uint16_t kOptShbUserAppl = 4;   // shb_userappl
constexpr std::uint16_t kOptIfTsresol = 9;     // if_tsresol
constexpr std::size_t kMaxOptionLen = 0xffff;  // an option's length is 16 bits

std::uint32_t pad4(std::size_t n) { return static_cast<std::uint32_t>((4 - n % 4) % 4); }

// DLT_ values from pcap_datalink are LINKTYPE_ values in files, except DLT_RAW, which differs by
// platform (12 on Linux, 14 on OpenBSD) and is LINKTYPE_RAW (101) in a file (pcap-linktype(7)).
std::uint32_t file_linktype(std::uint32_t dlt) {
  if (dlt == linktype::kRawOld12 || dlt == linktype::kRawOld14) return linktype::kRaw;
  return dlt;
}

// The longest prefix of s, at most max bytes, that does not cut a UTF-8 sequence in two (a pcapng
// comment must be UTF-8).
std::size_t utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s.size();
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

std::string folder_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string create_error(const std::string& path, const std::string& dir, int err) {
  const std::string p = text::printable(path), d = text::printable(dir);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return text::format(tr("%1$s: the folder %2$s does not exist. Create it first or write elsewhere"),
                          p.c_str(), d.c_str());
    case EACCES:
    case EPERM:
      return text::format(tr("%1$s: no permission to write in %2$s. Choose a folder you may write in "
                             "(after sudo, sockscope runs as your own user when it saves)"),
                          p.c_str(), d.c_str());
    case EROFS:
      return text::format(tr("%1$s: %2$s is on a read-only file system. Write elsewhere"), p.c_str(),
                          d.c_str());
    default:
      return text::format(tr("%1$s: cannot create the file (%2$s). Write elsewhere"), p.c_str(),
                          std::strerror(err));
  }
}

}  // namespace

std::unique_ptr<CaptureWriter> CaptureWriter::create(const std::string& path, std::uint32_t linktype,
                                                     std::uint32_t snaplen, std::string& error) {
  const std::string shown = text::printable(path);
  if (path.empty() || path.back() == '/') {
    error = text::format(tr("%s: give a file name, e.g. chat.pcapng"), shown.c_str());
    return nullptr;
  }
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    error = text::format(tr("%1$s is a folder. Give a file name, e.g. %2$s/chat.pcapng"), shown.c_str(),
                         shown.c_str());
    return nullptr;
  }
  std::unique_ptr<CaptureWriter> w(new CaptureWriter());
  const std::string base = base_of(path);
  w->format_ = (base.size() > 7 && base.compare(base.size() - 7, 7, ".pcapng") == 0) ? Format::Pcapng
                                                                                      : Format::Pcap;
  w->file_ = std::make_unique<File>();
  File& f = *w->file_;
  f.final_path = path;
  f.dir = folder_of(path);
  // A hidden name in the same folder, so rename(2) is atomic (same file system) and a reader of the
  // final name only ever sees a complete file.
  f.temp_path = (f.dir == "." && path.find('/') == std::string::npos ? std::string() : f.dir + "/") +
                "." + base + ".partial-" + std::to_string(getpid());
  const int fd = ::open(f.temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = create_error(path, f.dir, errno);
    return nullptr;
  }
  f.f = fdopen(fd, "wb");
  if (f.f == nullptr) {
    error = create_error(path, f.dir, errno);
    ::close(fd);
    unlink(f.temp_path.c_str());
    return nullptr;
  }
  f.stdio_buf.resize(1 << 18);
  setvbuf(f.f, f.stdio_buf.data(), _IOFBF, f.stdio_buf.size());

  const std::uint32_t lt = file_linktype(linktype);
  const std::uint32_t snap = snaplen == 0 ? 262144u : snaplen;
  if (w->format_ == Format::Pcap) {
    // pcap-savefile(5): magic, version 2.4, thiszone 0, sigfigs 0, snaplen, link type.
    const std::uint32_t magic = kPcapMagicNano;
    const std::uint16_t major = 2, minor = 4;
    const std::int32_t zone = 0;
    const std::uint32_t sigfigs = 0;
    std::fwrite(&magic, 4, 1, f.f);
    std::fwrite(&major, 2, 1, f.f);
    std::fwrite(&minor, 2, 1, f.f);
    std::fwrite(&zone, 4, 1, f.f);
    std::fwrite(&sigfigs, 4, 1, f.f);
    std::fwrite(&snap, 4, 1, f.f);
    std::fwrite(&lt, 4, 1, f.f);
  } else {
    // Section Header Block with shb_userappl, then one Interface Description Block.
    static const char kApp[] = "sockscope";
    const std::uint16_t app_len = sizeof kApp - 1;
    const std::uint32_t shb_opts = 4 + app_len + pad4(app_len) + 4;
    const std::uint32_t shb_len = 28 + shb_opts;
    const std::uint16_t major = 1, minor = 0;
    const std::int64_t section_len = -1;  // not known in advance
    const std::uint32_t zero = 0;
    std::fwrite(&kBlockSHB, 4, 1, f.f);
    std::fwrite(&shb_len, 4, 1, f.f);
    std::fwrite(&kByteOrderMagic, 4, 1, f.f);
    std::fwrite(&major, 2, 1, f.f);
    std::fwrite(&minor, 2, 1, f.f);
    std::fwrite(&section_len, 8, 1, f.f);
    std::fwrite(&kOptShbUserAppl, 2, 1, f.f);
    std::fwrite(&app_len, 2, 1, f.f);
    std::fwrite(kApp, 1, app_len, f.f);
    std::fwrite(&zero, 1, pad4(app_len), f.f);
    std::fwrite(&kOptEndOfOpt, 2, 1, f.f);
    std::fwrite(&kOptEndOfOpt, 2, 1, f.f);
    std::fwrite(&shb_len, 4, 1, f.f);

    // IDB: link type, reserved, snaplen, if_tsresol = 9 (10^-9 s), end of options.
    const std::uint32_t idb_len = 20 + 8 + 4;
    const auto lt16 = static_cast<std::uint16_t>(lt);
    const std::uint16_t reserved = 0, one = 1;
    const std::uint8_t tsresol[4] = {9, 0, 0, 0};
    std::fwrite(&kBlockIDB, 4, 1, f.f);
    std::fwrite(&idb_len, 4, 1, f.f);
    std::fwrite(&lt16, 2, 1, f.f);
    std::fwrite(&reserved, 2, 1, f.f);
    std::fwrite(&snap, 4, 1, f.f);
    std::fwrite(&kOptIfTsresol, 2, 1, f.f);
    std::fwrite(&one, 2, 1, f.f);
    std::fwrite(tsresol, 1, 4, f.f);
    std::fwrite(&kOptEndOfOpt, 2, 1, f.f);
    std::fwrite(&kOptEndOfOpt, 2, 1, f.f);
    std::fwrite(&idb_len, 4, 1, f.f);
  }
  if (std::ferror(f.f)) {
    error = create_error(path, f.dir, errno);
    std::fclose(f.f);
    f.f = nullptr;
    unlink(f.temp_path.c_str());
    f.closed = true;
    return nullptr;
  }
  return w;
}

CaptureWriter::~CaptureWriter() { close(); }

bool CaptureWriter::write(const Frame& fr, std::string_view comment) {
  if (!file_ || file_->closed || !file_->ok) return false;
  std::FILE* f = file_->f;
  const std::uint32_t caplen = fr.data == nullptr ? 0 : fr.caplen;
  if (format_ == Format::Pcap) {
    // Record header: seconds (32 bits, as the format has it), nanoseconds, captured and wire length.
    const auto sec = static_cast<std::uint32_t>(fr.ts.sec);
    const std::uint32_t hdr[4] = {sec, fr.ts.nsec, caplen, fr.wirelen};
    std::fwrite(hdr, 4, 4, f);
    if (caplen > 0) std::fwrite(fr.data, 1, caplen, f);
  } else {
    const std::size_t clen = utf8_prefix(comment, kMaxOptionLen);
    const std::uint32_t opts_len =
        clen == 0 ? 0u : static_cast<std::uint32_t>(4 + clen + pad4(clen) + 4);
    const std::uint32_t total = 32 + caplen + pad4(caplen) + opts_len;
    // Timestamp in units of if_tsresol (ns), split in two 32-bit halves, high first.
    const auto ts = static_cast<std::uint64_t>(fr.ts.ns());
    const std::uint32_t head[7] = {kBlockEPB, total, 0u /* interface 0 */,
                                   static_cast<std::uint32_t>(ts >> 32),
                                   static_cast<std::uint32_t>(ts & 0xffffffffu), caplen, fr.wirelen};
    static const std::uint8_t kZero[4] = {};
    std::fwrite(head, 4, 7, f);
    if (caplen > 0) std::fwrite(fr.data, 1, caplen, f);
    std::fwrite(kZero, 1, pad4(caplen), f);
    if (clen > 0) {
      const auto len16 = static_cast<std::uint16_t>(clen);
      std::fwrite(&kOptComment, 2, 1, f);
      std::fwrite(&len16, 2, 1, f);
      std::fwrite(comment.data(), 1, clen, f);
      std::fwrite(kZero, 1, pad4(clen), f);
      std::fwrite(&kOptEndOfOpt, 2, 1, f);
      std::fwrite(&kOptEndOfOpt, 2, 1, f);
    }
    std::fwrite(&total, 4, 1, f);
  }
  if (std::ferror(f)) {
    const int err = errno;
    file_->ok = false;
    error_ = text::format(tr("%1$s: writing failed after %2$llu frames (%3$s). The file was not saved; "
                             "free some space or write elsewhere"),
                          text::printable(file_->final_path).c_str(),
                          static_cast<unsigned long long>(written_), std::strerror(err));
    std::fclose(f);
    file_->f = nullptr;
    unlink(file_->temp_path.c_str());
    file_->closed = true;
    return false;
  }
  ++written_;
  return true;
}

std::string CaptureWriter::temp_path() const {
  return file_ && !file_->closed ? file_->temp_path : std::string();
}

bool CaptureWriter::close() {
  if (!file_) return false;
  File& f = *file_;
  if (f.closed) return f.ok;
  f.closed = true;
  if (f.f == nullptr) {  // create() failed before the file was open
    f.ok = false;
    return false;
  }
  const std::string shown = text::printable(f.final_path);
  // fflush, then fsync (the data is on disk before the name points at it), then rename (rename(2):
  // atomic within one file system), then fsync the folder so the new name survives a crash too.
  int err = 0;
  if (std::fflush(f.f) != 0) err = errno;
  if (err == 0 && fsync(fileno(f.f)) != 0 && errno != EINVAL) err = errno;
  if (std::fclose(f.f) != 0 && err == 0) err = errno;
  f.f = nullptr;
  if (err != 0) {
    f.ok = false;
    error_ = text::format(tr("%1$s: writing failed (%2$s). The file was not saved; free some space or "
                             "write elsewhere"),
                          shown.c_str(), std::strerror(err));
    unlink(f.temp_path.c_str());
    return false;
  }
  if (std::rename(f.temp_path.c_str(), f.final_path.c_str()) != 0) {
    err = errno;
    f.ok = false;
    error_ = text::format(tr("%1$s: cannot give the file its name (%2$s); it was not saved"), shown.c_str(),
                          std::strerror(err));
    unlink(f.temp_path.c_str());
    return false;
  }
  const int dfd = ::open(f.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace sockscope
