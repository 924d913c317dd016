// The code paths the fuzz targets drive, shared by the libFuzzer targets (tests/fuzz/*_fuzz.cpp) and
// by the regression test that replays every saved crasher through the same paths
// (tests/fuzz/regressions_test.cpp). Header-only so both builds (clang + libFuzzer, g++ + gtest)
// compile it without another library.
//
// Besides "no crash, no leak, no sanitizer report", every run checks one property of its own: the
// text the views produce is safe for a terminal (terminal_safety_problem below). A violation aborts,
// so libFuzzer saves the input like any other crash.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sockscope/annotate/annotate.hpp"
#include "sockscope/decode/decode.hpp"
#include "sockscope/decode/layers.hpp"
#include "sockscope/views/out_buffer.hpp"
#include "sockscope/pcap/pcap_source.hpp"
#include "sockscope/pcap/pipeline.hpp"
#include "sockscope/views/svg.hpp"
#include "sockscope/views/views.hpp"

namespace sockscope::fuzz {

// ---- the input format of the frame target ---------------------------------------------------------
// byte 0 picks the link type (modulo the table); the rest is one frame, or several frames separated
// by kSeparator, fed in order to one Decoder and one Annotator (so IP reassembly and the TCP state
// machine see sequences, not only single packets). Frame i gets the timestamp i milliseconds.
inline constexpr std::uint32_t kLinkTypes[] = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 9999};
inline constexpr std::size_t kLinkTypeCount = sizeof kLinkTypes / sizeof kLinkTypes[0];
inline constexpr std::uint8_t kSeparator[4] = {0xf0, 0x0d, 0xfa, 0xce};

// Splits data[0..n) at every kSeparator.
inline std::vector<std::pair<const std::uint8_t*, std::size_t>> split_frames(const std::uint8_t* data,
                                                                              std::size_t n) {
  std::vector<std::pair<const std::uint8_t*, std::size_t>> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i + sizeof kSeparator <= n;) {
    if (std::memcmp(data + i, kSeparator, sizeof kSeparator) == 0) {
      out.emplace_back(data + start, i - start);
      i += sizeof kSeparator;
      start = i;
    } else {
      ++i;
    }
  }
  out.emplace_back(data + start, n - start);
  return out;
}

// Builds a frame-target input (the seed generator and tests use it).
inline std::vector<std::uint8_t> frame_input(std::uint32_t linktype,
                                             const std::vector<std::vector<std::uint8_t>>& frames) {
  std::vector<std::uint8_t> out;
  std::uint8_t sel = 0;
  for (std::size_t i = 0; i < kLinkTypeCount; ++i)
    if (kLinkTypes[i] == linktype) sel = static_cast<std::uint8_t>(i);
  out.push_back(sel);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (i) out.insert(out.end(), kSeparator, kSeparator + sizeof kSeparator);
    out.insert(out.end(), frames[i].begin(), frames[i].end());
  }
  return out;
}

// ---- the terminal-safety property ----------------------------------------------------------------
// Text the views write must not act on a terminal: no C0 control but newline (so no ESC, BEL, NUL,
// CR, TAB), no DEL, only valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF), no C1 control (U+0080..U+009F; U+009B is a CSI), no bidirectional override or isolate,
// no line or paragraph separator, no byte-order mark. Returns "" when safe, else what and where.
// (Colour is off in the fuzz runs: with --color=always the views write SGR sequences on purpose.)
inline std::string terminal_safety_problem(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  char msg[96];
  for (std::size_t i = 0; i < n;) {
    const unsigned c = p[i];
    if (c < 0x80) {
      if ((c < 0x20 && c != '\n') || c == 0x7f) {
        std::snprintf(msg, sizeof msg, "control byte 0x%02x at offset %zu", c, i);
        return msg;
      }
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0, min = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4, cp = c & 0x07, min = 0x10000;
    }
    bool ok = len != 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) ok = false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
    if (!ok) {
      std::snprintf(msg, sizeof msg, "invalid UTF-8 (byte 0x%02x) at offset %zu", c, i);
      return msg;
    }
    const bool forbidden = (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
                           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
                           cp == 0x2028 || cp == 0x2029 || cp == 0xfeff;
    if (forbidden) {
      std::snprintf(msg, sizeof msg, "U+%04X (control or bidi) at offset %zu", static_cast<unsigned>(cp), i);
      return msg;
    }
    i += len;
  }
  return "";
}

// A FILE* into memory (open_memstream): the views write through the real OutBuffer and stdio path.
class MemoryOut {
 public:
  MemoryOut() : f_(open_memstream(&buf_, &len_)) {
    if (!f_) std::abort();
  }
  ~MemoryOut() {
    if (f_) std::fclose(f_);
    std::free(buf_);
  }
  MemoryOut(const MemoryOut&) = delete;
  MemoryOut& operator=(const MemoryOut&) = delete;
  std::FILE* file() { return f_; }
  // The bytes written so far (flush the OutBuffer first).
  std::string_view text() {
    std::fflush(f_);
    return {buf_ ? buf_ : "", len_};
  }

 private:
  char* buf_ = nullptr;
  std::size_t len_ = 0;
  std::FILE* f_;
};

// Aborts (a crash libFuzzer saves) when a view wrote something unsafe.
inline void require_terminal_safe(std::string_view text, const char* view) {
  const std::string problem = terminal_safety_problem(text);
  if (problem.empty()) return;
  const std::size_t at = std::strtoull(problem.c_str() + problem.rfind(' ') + 1, nullptr, 10);
  const std::size_t from = at > 60 ? at - 60 : 0;
  std::fprintf(stderr, "sockscope fuzz: the %s view wrote %s; around it:\n", view, problem.c_str());
  for (std::size_t i = from; i < text.size() && i < at + 20; ++i) std::fprintf(stderr, "%02x ", static_cast<unsigned char>(text[i]));
  std::fprintf(stderr, "\n");
  std::abort();
}

// Reads every field of the layer map, so the sanitizers see any bad pointer or length in it.
class TouchVisitor : public LayerVisitor {
 public:
  void begin_layer(Osi, const char* name, std::uint32_t, std::uint32_t) override { sum += static_cast<unsigned char>(name[0]); }
  void field(const Field& f) override {
    sum += static_cast<unsigned char>(f.key[0]);
    for (char c : f.text) sum += static_cast<unsigned char>(c);
  }
  void end_layer() override {}
  unsigned sum = 0;
};

// Every view kind, each into its own memory FILE*; the human view with the OSI breakdown and the
// payload preview (the paths that print wire bytes), the ladder at a narrow and odd width.
struct AllViews {
  struct One {
    const char* name;
    MemoryOut mem;
    OutBuffer out;
    std::unique_ptr<View> view;
    One(const char* n, ViewKind kind, const ViewOptions& o) : name(n), out(mem.file()), view(make_view(kind, out, o)) {}
  };
  AllViews() {
    ViewOptions human;
    human.osi = true;
    ViewOptions ladder;
    ladder.width = 61;
    ViewOptions plain;
    views.push_back(std::make_unique<One>("human --osi", ViewKind::Human, human));
    views.push_back(std::make_unique<One>("ladder", ViewKind::Ladder, ladder));
    views.push_back(std::make_unique<One>("summary", ViewKind::Summary, plain));
    views.push_back(std::make_unique<One>("json", ViewKind::Json, plain));
    std::vector<View*> all;
    for (auto& v : views) all.push_back(v->view.get());
    all.push_back(&svg);  // the picture: every wire byte must be escaped for XML as well
    tee = std::make_unique<TeeView>(std::move(all));
  }
  // Flushes every view and checks what it wrote.
  void check() {
    for (auto& v : views) {
      v->view.reset();
      v->out.flush();
      require_terminal_safe(v->mem.text(), v->name);
    }
    // The SVG document: terminal-safe like the others, and no markup from the wire (every '<' in it
    // opens one of the view's own elements, so none can start a script).
    const std::string doc = svg.svg(true);
    require_terminal_safe(doc, "svg");
    if (doc.find("<script") != std::string::npos || doc.find("<!ENTITY") != std::string::npos) {
      std::fprintf(stderr, "sockscope fuzz: the svg view let markup through\n");
      std::abort();
    }
  }
  std::vector<std::unique_ptr<One>> views;
  SvgLadder svg;
  std::unique_ptr<TeeView> tee;
};

// ---- target (a): frames through decode, reassembly, annotation, describe() and the views --------
inline void run_frames(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return;
  const std::uint32_t linktype = kLinkTypes[data[0] % kLinkTypeCount];
  const auto frames = split_frames(data + 1, size - 1);

  // Small limits, so eviction paths run on short inputs too.
  DecoderLimits dl;
  dl.max_pending_datagrams = 4;
  dl.max_reassembly_bytes = 16 * 1024;
  AnnotatorLimits al;
  al.max_conversations = 4;
  Decoder decoder(dl);
  Annotator annotator(al);
  AllViews views;
  std::vector<ConnSummary> finished;
  std::string line;
  std::uint64_t number = 0;
  for (const auto& [bytes, len] : frames) {
    // A copy of exactly the frame's bytes (no slack after it), so ASan sees any read past the end.
    const std::vector<std::uint8_t> frame(bytes, bytes + len);
    const auto caplen = static_cast<std::uint32_t>(frame.size());
    // The stateless decoder, with a wire length that claims more than was captured.
    Packet single;
    decode_frame(linktype, frame.data(), caplen, caplen + 7, single);
    TouchVisitor touch;
    visit_layers(single, touch);

    ++number;
    const Timestamp ts{static_cast<std::int64_t>(number / 1000), static_cast<std::uint32_t>((number % 1000) * 1'000'000)};
    Packet p;
    decoder.decode(linktype, frame.data(), caplen, caplen, ts, number, p);
    visit_layers(p, touch);
    const Annotation a = annotator.annotate(p);
    line.clear();
    describe(p, a, line);
    require_terminal_safe(line, "describe()");
    views.tee->packet(p, a);
    annotator.take_finished(finished);
    for (const ConnSummary& s : finished) views.tee->conversation(s);
    finished.clear();
  }
  annotator.finish(finished);
  for (const ConnSummary& s : finished) views.tee->conversation(s);
  views.tee->finish();
  views.check();
}

// ---- target (b): a whole capture file through PcapSource and run_annotate -------------------------
// The bytes go into an anonymous memory file (memfd) that libpcap opens by its /proc/self/fd path,
// exactly as `sockscope annotate FILE` opens a file on disk.
class MemFile {
 public:
  MemFile() : fd_(memfd_create("sockscope-fuzz-capture", 0)) {
    if (fd_ < 0) std::abort();
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  const std::string& set(const std::uint8_t* data, std::size_t size) {
    if (ftruncate(fd_, 0) != 0) std::abort();
    std::size_t done = 0;
    while (done < size) {
      const ssize_t w = pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      if (w <= 0) std::abort();
      done += static_cast<std::size_t>(w);
    }
    return path_;
  }

 private:
  int fd_;
  std::string path_;
};

// What a capture run gave: for the regression test's checks.
struct CaptureOutcome {
  bool opened = false;
  std::string error;  // the open error, or the read error after the frames
  std::uint64_t frames = 0;
};

inline CaptureOutcome run_capture(const std::uint8_t* data, std::size_t size) {
  static MemFile file;  // one memfd for the whole run: no descriptor per input
  CaptureOutcome outcome;
  const std::string& path = file.set(data, size);
  auto source = PcapSource::open(path, "", outcome.error);
  if (!source) {
    require_terminal_safe(outcome.error, "open error message");
    return outcome;
  }
  outcome.opened = true;
  AllViews views;
  PipelineOptions opts;
  opts.decoder.max_pending_datagrams = 4;
  opts.decoder.max_reassembly_bytes = 16 * 1024;
  opts.annotator.max_conversations = 8;
  opts.summary_interval = 4;
  const PipelineResult r = run_annotate(*source, *views.tee, opts);
  views.check();
  outcome.frames = r.frames;
  if (!r.ok) {
    outcome.error = r.error;
    // The error is one line that names the file.
    if (r.error.find('\n') != std::string::npos) std::abort();
    require_terminal_safe(r.error, "read error message");
  }
  return outcome;
}

}  // namespace sockscope::fuzz
