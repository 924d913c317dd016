// Capture files: read by FileReader (file_reader.cpp); libpcap compiles and runs the BPF filter, the
// one place <pcap.h> is needed here.
#include "sockscope/pcap/pcap_source.hpp"

#include <fcntl.h>
#include <pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

#include "sockscope/text/escape.hpp"
#include "sockscope/text/format.hpp"
#include "file_reader.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope {

namespace {

using text::format;
using text::printable;

// A BPF program compiled for one link type (a pcapng file may have several).
struct Filter {
  pcap_t* dead = nullptr;
  bpf_program prog{};
  bool compiled = false;
  ~Filter() {
    if (compiled) pcap_freecode(&prog);
    if (dead) pcap_close(dead);
  }
};

// libpcap compiles for a DLT_ value; files store LINKTYPE_ values, which differ for a few.
int dlt_of(std::uint32_t linktype) {
  switch (linktype) {
    case 100: return DLT_ATM_RFC1483;
    case 101: return DLT_RAW;
    default: return static_cast<int>(linktype);
  }
}

}  // namespace

struct PcapSource::Handle {
  int fd = -1;
  bool close_fd = false;
  std::unique_ptr<file_detail::FileReader> reader;
  std::string filter;
  std::map<std::uint32_t, std::unique_ptr<Filter>> filters;  // by link type
  ~Handle() {
    if (close_fd && fd >= 0) ::close(fd);
  }
};

namespace {

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

// Compiles the filter for one link type; on failure sets error (one line) and returns nullptr.
Filter* filter_for(PcapSource::Handle& h, std::uint32_t linktype, std::string& error) {
  auto it = h.filters.find(linktype);
  if (it != h.filters.end()) return it->second.get();
  auto f = std::make_unique<Filter>();
  f->dead = pcap_open_dead(dlt_of(linktype), 262144);
  if (f->dead == nullptr || pcap_compile(f->dead, &f->prog, h.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    error = text::format(tr("filter '%1$s': %2$s (link type %3$u). Check the expression against the pcap-filter "
                      "manual (man 7 pcap-filter), e.g. 'tcp port 9000'"),
                   text::printable(h.filter).c_str(), f->dead ? pcap_geterr(f->dead) : "?", linktype);
    return nullptr;
  }
  f->compiled = true;
  return h.filters.emplace(linktype, std::move(f)).first->second.get();
}

}  // namespace

std::unique_ptr<PcapSource> PcapSource::open(const std::string& path, const std::string& filter,
                                             std::string& error) {
  const bool is_stdin = path == "-";
  std::string name = is_stdin ? std::string(tr("standard input")) : text::printable(path);

  int fd = 0;
  if (!is_stdin) {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      error = open_failure(name, errno);
      return nullptr;
    }
    struct stat st {};
    if (fstat(fd, &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        error = open_failure(name, EISDIR);
        return nullptr;
      }
      if (S_ISREG(st.st_mode) && st.st_size == 0) {
        ::close(fd);
        error = name + ": " + tr("the file is empty: it holds no capture. Record one first, e.g. "
                                 "sudo tcpdump -i lo -w FILE");
        return nullptr;
      }
    }
  }
  std::unique_ptr<PcapSource> src(new PcapSource());
  src->h_ = std::make_unique<Handle>();
  src->h_->fd = fd;
  src->h_->close_fd = !is_stdin;
  src->name_ = std::move(name);

  // Frames are read through a 256 KiB buffer: a read(2) every few hundred frames, and frames handed
  // out where they lie, never copied. Standard input reads what the pipe has (a live stream,
  // tcpdump -U -w - | sockscope annotate -, shows each frame as it comes). SOCKSCOPE_SLOW_PATHS=1
  // (tests/perf only) reads 4 KiB at a time: both must print the same.
  const char* slow = std::getenv("SOCKSCOPE_SLOW_PATHS");
  const std::size_t buffer = (slow != nullptr && std::strcmp(slow, "1") == 0) ? 4096 : 256 * 1024;
  src->h_->reader = std::make_unique<file_detail::FileReader>(fd, buffer);
  file_detail::FileReader& reader = *src->h_->reader;
  const std::string& shown = src->name_;
  switch (reader.open()) {
    case file_detail::FileReader::Open::Ok: break;
    case file_detail::FileReader::Open::Empty:
      error = shown + ": " +
              (is_stdin ? tr("the input is empty: it holds no capture. Record one first, e.g. "
                             "sudo tcpdump -i lo -w FILE")
                        : tr("the file is empty: it holds no capture. Record one first, e.g. "
                             "sudo tcpdump -i lo -w FILE"));
      return nullptr;
    case file_detail::FileReader::Open::CutHeader:
      error = shown + ": " + tr("the file is cut short inside its file header, before any frame. "
                                "It is damaged or was copied while still being written; record it again");
      return nullptr;
    case file_detail::FileReader::Open::NotCapture:
      error = shown + ": " +
              tr("this file is not a pcap or pcapng capture. Give sockscope a file written by "
                 "tcpdump -w, Wireshark or dumpcap");
      return nullptr;
    case file_detail::FileReader::Open::Damaged:
      error = shown + ": " + text::format(tr("the file is damaged in its headers, before any frame: %s. It cannot be read"),
                                    reader.reason().c_str());
      return nullptr;
  }
  src->linktype_ = reader.interfaces().empty() ? 0 : reader.interfaces().front().linktype;

  if (!filter.empty()) {
    // Filtered here with pcap_offline_filter rather than by the reader, so frames keep their numbers
    // in the file (as in Wireshark and tshark) when others are skipped. Compiled now for the first
    // interface, so a wrong expression is reported before any output.
    src->h_->filter = filter;
    if (!reader.interfaces().empty() && filter_for(*src->h_, src->linktype_, error) == nullptr) return nullptr;
  }
  return src;
}

PcapSource::~PcapSource() = default;

const std::deque<CaptureInterface>& PcapSource::interfaces() const {
  static const std::deque<CaptureInterface> none;
  return h_ ? h_->reader->interfaces() : none;
}

ReadResult PcapSource::next(Frame& out) {
  if (!h_ || done_) return ReadResult::End;
  file_detail::FileReader& reader = *h_->reader;
  for (;;) {
    const ReadResult rr = reader.next(out);
    if (rr == ReadResult::End) return ReadResult::End;
    if (rr == ReadResult::Error) {
      const unsigned long long n = frames_read_;
      if (reader.stop() == file_detail::Stop::CutShort) {
        if (n == 0)
          error_ = name_ + ": " + tr("the file is cut short inside its first frame. It is damaged or was "
                                     "copied while still being written; record it again");
        else
          error_ = name_ + ": " +
                   text::format(tr("the file is cut short after frame %llu (the next frame is incomplete). The "
                             "frames before were read; the file is damaged or was copied while still being "
                             "written"),
                          n);
      } else {
        error_ = name_ + ": " + text::format(tr("the file is damaged after frame %1$llu: %2$s. The frames before "
                                          "were read"),
                                       n, reader.reason().c_str());
      }
      done_ = true;  // nothing more can be read; later calls return End
      return ReadResult::Error;
    }
    ++frames_read_;
    out.number = frames_read_;
    if (!h_->filter.empty()) {
      Filter* f = filter_for(*h_, out.linktype, error_);
      if (f == nullptr) {
        error_ = name_ + ": " + error_;
        done_ = true;
        return ReadResult::Error;
      }
      pcap_pkthdr hdr{};
      hdr.caplen = out.caplen;
      hdr.len = out.wirelen;
      if (pcap_offline_filter(&f->prog, &hdr, out.data) == 0) continue;
    }
    return ReadResult::Frame;
  }
}

std::string libpcap_version() { return pcap_lib_version(); }

}  // namespace sockscope
