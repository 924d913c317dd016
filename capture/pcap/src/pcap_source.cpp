// Capture files through libpcap: the one place <pcap.h> is included.
#include "sockscope/pcap/pcap_source.hpp"

#include <pcap.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "sockscope/text/escape.hpp"
#include "sockscope/text/format.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope {

struct PcapSource::Handle {
  std::unique_ptr<char[]> buffer;  // the FILE's buffer: freed after pcap_close closed the FILE
  pcap_t* pcap = nullptr;
  bool have_filter = false;
  bpf_program prog{};
  ~Handle() {
    if (have_filter) pcap_freecode(&prog);
    if (pcap) pcap_close(pcap);  // also closes the FILE* handed to pcap_fopen_offline
  }
};

namespace {

bool contains(const char* haystack, const char* needle) {
  return haystack != nullptr && std::strstr(haystack, needle) != nullptr;
}

std::string open_failure(const std::string& name, int err) {
  const char* what = nullptr;
  switch (err) {
    case ENOENT:
      what = tr("no such file. Check the path; to record a capture: sudo tcpdump -i lo -w FILE");
      break;
    case EACCES:
    case EPERM:
      what = tr("permission denied. Run sockscope as a user who may read the file (or copy it)");
      break;
    case EISDIR:
      what = tr("this is a folder, not a capture file. Give the path of a .pcap or .pcapng file");
      break;
    default:
      return text::format(tr("%1$s: %2$s. Check the path and try again"), name.c_str(), std::strerror(err));
  }
  return name + ": " + what;
}

// Turns libpcap's open error into our one-line form.
std::string classify_open_error(const std::string& name, const char* errbuf) {
  if (contains(errbuf, "unknown file format"))
    return name + ": " +
           tr("this file is not a pcap or pcapng capture. Give sockscope a file written by "
              "tcpdump -w, Wireshark or dumpcap");
  if (contains(errbuf, "only got 0"))
    return name + ": " + tr("the input is empty: it holds no capture. Record one first, e.g. "
                            "sudo tcpdump -i lo -w FILE");
  if (contains(errbuf, "truncated"))
    return name + ": " + tr("the file is cut short inside its file header, before any frame. "
                            "It is damaged or was copied while still being written; record it again");
  return name + ": " + text::format(tr("libpcap cannot read it as a capture (%s). Check that it is a pcap "
                                 "or pcapng file"),
                              errbuf);
}

std::string classify_read_error(const std::string& name, const char* msg, std::uint64_t good) {
  const unsigned long long n = good;
  if (contains(msg, "different from the type of the first interface"))
    return name + ": " +
           text::format(tr("after frame %llu the file describes a second interface with another link "
                     "type, and libpcap cannot mix link types in one file. Split it per interface, "
                     "e.g. tshark -r FILE -Y 'frame.interface_id == 0' -w part.pcapng"),
                  n);
  if (contains(msg, "truncated")) {
    if (n == 0)
      return name + ": " + tr("the file is cut short inside its first frame. It is damaged or was "
                              "copied while still being written; record it again");
    return name + ": " +
           text::format(tr("the file is cut short after frame %llu (the next frame is incomplete). The "
                     "frames before were read; the file is damaged or was copied while still being "
                     "written"),
                  n);
  }
  return name + ": " + text::format(tr("the file is damaged after frame %1$llu (%2$s). The frames before "
                                 "were read"),
                              n, msg ? msg : "");
}

}  // namespace

std::unique_ptr<PcapSource> PcapSource::open(const std::string& path, const std::string& filter,
                                             std::string& error) {
  const bool is_stdin = path == "-";
  std::string name = is_stdin ? std::string(tr("standard input")) : text::printable(path);

  std::FILE* fp = nullptr;
  if (is_stdin) {
    fp = stdin;
  } else {
    fp = std::fopen(path.c_str(), "rb");
    if (fp == nullptr) {
      error = open_failure(name, errno);
      return nullptr;
    }
    struct stat st {};
    if (fstat(fileno(fp), &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        std::fclose(fp);
        error = open_failure(name, EISDIR);
        return nullptr;
      }
      if (S_ISREG(st.st_mode) && st.st_size == 0) {
        std::fclose(fp);
        error = name + ": " + tr("the file is empty: it holds no capture. Record one first, e.g. "
                                 "sudo tcpdump -i lo -w FILE");
        return nullptr;
      }
    }
  }

  // libpcap reads a file with two fread() calls a frame (record header, then the bytes). With
  // stdio's default buffer (st_blksize, 4 KiB) that is a read(2) every five frames or so, and those
  // system calls were a quarter of the time of `annotate --summary`; with 256 KiB they are rare.
  // (glibc honours the size only when it is given the buffer.) Standard input keeps stdio's
  // default: a live stream there (tcpdump -U -w - | sockscope annotate -) gains nothing from it.
  constexpr std::size_t kReadBuffer = 256 * 1024;
  std::unique_ptr<char[]> buffer;
  const char* slow = std::getenv("SOCKSCOPE_SLOW_PATHS");  // tests/perf: stdio's own buffer
  if (!is_stdin && !(slow != nullptr && std::strcmp(slow, "1") == 0)) {
    buffer = std::make_unique_for_overwrite<char[]>(kReadBuffer);
    std::setvbuf(fp, buffer.get(), _IOFBF, kReadBuffer);
  }

  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == nullptr) {
    // libpcap leaves the FILE* to the caller when it fails.
    if (!is_stdin) std::fclose(fp);
    error = classify_open_error(name, errbuf);
    return nullptr;
  }

  std::unique_ptr<PcapSource> src(new PcapSource());
  src->h_ = std::make_unique<Handle>();
  src->h_->pcap = p;
  src->h_->buffer = std::move(buffer);
  src->name_ = std::move(name);
  // pcap_datalink gives the DLT_ value (LINKTYPE_RAW 101 in a file reads as DLT_RAW, 12 on Linux);
  // the decoder knows both numberings for raw IP.
  src->linktype_ = static_cast<std::uint32_t>(pcap_datalink(p));

  if (!filter.empty()) {
    // Filtered in user space with pcap_offline_filter rather than pcap_setfilter, so frames keep
    // their numbers in the file (as in Wireshark and tshark) when others are skipped.
    if (pcap_compile(p, &src->h_->prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      error = text::format(tr("filter '%1$s': %2$s. Check the expression against the pcap-filter manual "
                        "(man 7 pcap-filter), e.g. 'tcp port 9000'"),
                     text::printable(filter).c_str(), pcap_geterr(p));
      return nullptr;
    }
    src->h_->have_filter = true;
  }
  return src;
}

PcapSource::~PcapSource() = default;

ReadResult PcapSource::next(Frame& out) {
  if (!h_) return ReadResult::End;
  for (;;) {
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(h_->pcap, &hdr, &data);
    if (rc == PCAP_ERROR_BREAK) return ReadResult::End;  // -2: end of file
    if (rc != 1) {
      error_ = classify_read_error(name_, pcap_geterr(h_->pcap), frames_read_);
      h_.reset();  // nothing more can be read; later calls return End
      return ReadResult::Error;
    }
    ++frames_read_;
    if (h_->have_filter && pcap_offline_filter(&h_->prog, hdr, data) == 0) continue;
    out.data = data;
    out.caplen = hdr->caplen;
    out.wirelen = hdr->len;
    out.ts.sec = static_cast<std::int64_t>(hdr->ts.tv_sec);
    // With PCAP_TSTAMP_PRECISION_NANO, tv_usec holds nanoseconds.
    out.ts.nsec = static_cast<std::uint32_t>(hdr->ts.tv_usec);
    out.number = frames_read_;
    return ReadResult::Frame;
  }
}

std::string libpcap_version() { return pcap_lib_version(); }

}  // namespace sockscope
