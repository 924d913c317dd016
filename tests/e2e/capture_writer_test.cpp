// The capture writer: pcap and pcapng files that libpcap and tshark read back, annotations as pcapng
// packet comments, a temporary name until the file is complete, and one clear line on every error.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "e2e_support.hpp"
#include "sockscope/pcap/capture_writer.hpp"
#include "sockscope/pcap/pcap_source.hpp"

namespace {

using sockscope::CaptureWriter;
using sockscope::Frame;

struct TestFrame {
  std::vector<std::uint8_t> bytes;
  sockscope::Timestamp ts;
  std::uint32_t wirelen = 0;
  std::string comment;
};

// Frames of odd lengths (so block padding is exercised) with nanosecond timestamps.
std::vector<TestFrame> sample_frames() {
  std::vector<TestFrame> v;
  const std::size_t lens[] = {60, 61, 62, 63, 1514, 14};
  const char* comments[] = {"handshake 1/3: the client asks to open a connection",
                            "", "données reçues: \"中文\" ✓", "a", "ab", "abc"};
  for (std::size_t i = 0; i < 6; ++i) {
    TestFrame f;
    for (std::size_t b = 0; b < lens[i]; ++b) f.bytes.push_back(static_cast<std::uint8_t>(b * 7 + i));
    f.ts = {1700000000 + static_cast<std::int64_t>(i), static_cast<std::uint32_t>(123456789 + i)};
    f.wirelen = static_cast<std::uint32_t>(lens[i] + (i == 4 ? 100 : 0));  // one frame cut by the snaplen
    f.comment = comments[i];
    v.push_back(std::move(f));
  }
  return v;
}

bool write_all(CaptureWriter& w, const std::vector<TestFrame>& frames) {
  std::uint64_t n = 0;
  for (const TestFrame& t : frames) {
    Frame f;
    f.data = t.bytes.data();
    f.caplen = static_cast<std::uint32_t>(t.bytes.size());
    f.wirelen = t.wirelen;
    f.ts = t.ts;
    f.number = ++n;
    if (!w.write(f, t.comment)) return false;
  }
  return true;
}

void expect_reads_back(const std::string& path, const std::vector<TestFrame>& frames) {
  std::string err;
  auto src = sockscope::PcapSource::open(path, "", err);
  ASSERT_NE(src, nullptr) << err;
  EXPECT_EQ(src->linktype(), 1u);
  Frame f;
  std::size_t i = 0;
  sockscope::ReadResult r;
  while ((r = src->next(f)) == sockscope::ReadResult::Frame) {
    ASSERT_LT(i, frames.size());
    EXPECT_EQ(std::vector<std::uint8_t>(f.data, f.data + f.caplen), frames[i].bytes) << "frame " << i + 1;
    EXPECT_EQ(f.wirelen, frames[i].wirelen);
    EXPECT_EQ(f.ts, frames[i].ts) << "nanoseconds survive";
    ++i;
  }
  EXPECT_EQ(r, sockscope::ReadResult::End) << src->error();
  EXPECT_EQ(i, frames.size());
}

bool exists(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0;
}

std::vector<std::string> folder_entries(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : std::filesystem::directory_iterator(dir)) v.push_back(e.path().filename().string());
  return v;
}

std::uint32_t u32_at(const std::string& s, std::size_t off) {
  std::uint32_t v = 0;
  std::memcpy(&v, s.data() + off, 4);
  return v;
}

TEST(CaptureWriter, PcapWithNanosecondsReadsBack) {
  const std::string dir = sockscope::testing::temp_dir("writer-pcap-" + std::to_string(getpid()));
  const std::string path = dir + "/out.pcap";
  const auto frames = sample_frames();
  std::string err;
  auto w = CaptureWriter::create(path, 1, 262144, err);
  ASSERT_NE(w, nullptr) << err;
  EXPECT_EQ(w->format(), CaptureWriter::Format::Pcap);
  ASSERT_TRUE(write_all(*w, frames)) << w->error();
  ASSERT_TRUE(w->close()) << w->error();
  EXPECT_TRUE(w->close()) << "close is idempotent";
  EXPECT_EQ(w->written(), frames.size());
  const std::string bytes = e2e::read_file(path);
  ASSERT_GE(bytes.size(), 24u);
  EXPECT_EQ(u32_at(bytes, 0), 0xa1b23c4du) << "the nanosecond pcap magic";
  EXPECT_EQ(u32_at(bytes, 20), 1u) << "link type";
  expect_reads_back(path, frames);
}

TEST(CaptureWriter, RawIpIsWrittenAsLinktypeRaw) {
  const std::string dir = sockscope::testing::temp_dir("writer-raw-" + std::to_string(getpid()));
  std::string err;
  auto w = CaptureWriter::create(dir + "/raw.pcap", 12, 65535, err);  // DLT_RAW on Linux
  ASSERT_NE(w, nullptr) << err;
  ASSERT_TRUE(w->close());
  EXPECT_EQ(u32_at(e2e::read_file(dir + "/raw.pcap"), 20), 101u) << "LINKTYPE_RAW in a file";
}

// Walks the pcapng blocks: each starts and ends with the same total length, a multiple of 4, and
// the Enhanced Packet Blocks carry the comments as option 1.
TEST(CaptureWriter, PcapngBlocksAreWellFormed) {
  const std::string dir = sockscope::testing::temp_dir("writer-pcapng-blocks-" + std::to_string(getpid()));
  const std::string path = dir + "/out.pcapng";
  const auto frames = sample_frames();
  std::string err;
  {
    auto w = CaptureWriter::create(path, 1, 262144, err);
    ASSERT_NE(w, nullptr) << err;
    EXPECT_EQ(w->format(), CaptureWriter::Format::Pcapng);
    ASSERT_TRUE(write_all(*w, frames));
  }  // the destructor completes the file
  const std::string s = e2e::read_file(path);
  std::size_t off = 0;
  std::vector<std::uint32_t> types;
  std::vector<std::string> comments;
  while (off + 12 <= s.size()) {
    const std::uint32_t type = u32_at(s, off), len = u32_at(s, off + 4);
    ASSERT_EQ(len % 4, 0u);
    ASSERT_LE(off + len, s.size());
    EXPECT_EQ(u32_at(s, off + len - 4), len) << "block total length repeated at the end";
    types.push_back(type);
    if (type == 6) {
      const std::uint32_t caplen = u32_at(s, off + 20);
      std::size_t o = off + 28 + caplen + (4 - caplen % 4) % 4;
      std::string comment;
      while (o + 4 <= off + len - 4) {
        std::uint16_t code = 0, olen = 0;
        std::memcpy(&code, s.data() + o, 2);
        std::memcpy(&olen, s.data() + o + 2, 2);
        if (code == 0) break;
        if (code == 1) comment.assign(s, o + 4, olen);
        o += 4 + olen + (4 - olen % 4) % 4;
      }
      comments.push_back(comment);
    }
    off += len;
  }
  EXPECT_EQ(off, s.size());
  ASSERT_GE(types.size(), 2u);
  EXPECT_EQ(types[0], 0x0A0D0D0Au);
  EXPECT_EQ(types[1], 1u);
  ASSERT_EQ(comments.size(), frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(comments[i], frames[i].comment);
  expect_reads_back(path, frames);
}

TEST(CaptureWriter, TsharkReadsTheComments) {
  E2E_REQUIRE(e2e::have_tool("tshark"), "tshark is not installed (apt-get install tshark)");
  const std::string dir = sockscope::testing::temp_dir("writer-tshark-" + std::to_string(getpid()));
  const std::string path = dir + "/out.pcapng";
  const auto frames = sample_frames();
  std::string err;
  auto w = CaptureWriter::create(path, 1, 262144, err);
  ASSERT_NE(w, nullptr) << err;
  ASSERT_TRUE(write_all(*w, frames));
  ASSERT_TRUE(w->close()) << w->error();
  // frame.comment (tshark -G fields), one line per frame; empty when the frame has none.
  const e2e::RunResult r =
      e2e::run({"tshark", "-r", path, "-T", "fields", "-e", "frame.number", "-e", "frame.comment",
                "-e", "frame.time_epoch", "-E", "separator=|"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream in(r.out);
  std::string line;
  std::size_t i = 0;
  while (std::getline(in, line)) {
    ASSERT_LT(i, frames.size()) << line;
    const auto a = line.find('|'), b = line.rfind('|');
    EXPECT_EQ(line.substr(0, a), std::to_string(i + 1));
    EXPECT_EQ(line.substr(a + 1, b - a - 1), frames[i].comment);
    EXPECT_EQ(line.substr(b + 1, 10), std::to_string(frames[i].ts.sec));
    EXPECT_NE(line.find(std::to_string(frames[i].ts.nsec)), std::string::npos) << "nanoseconds: " << line;
    ++i;
  }
  EXPECT_EQ(i, frames.size());
}

TEST(CaptureWriter, LongCommentIsCutAtACharacterBoundary) {
  const std::string dir = sockscope::testing::temp_dir("writer-long-comment-" + std::to_string(getpid()));
  const std::string path = dir + "/out.pcapng";
  std::string comment;
  while (comment.size() < 70001) comment += "é";  // 2 bytes each: 65535 is odd, so a cut must back off
  std::string err;
  auto w = CaptureWriter::create(path, 1, 262144, err);
  ASSERT_NE(w, nullptr) << err;
  const std::uint8_t bytes[60] = {};
  Frame f;
  f.data = bytes;
  f.caplen = f.wirelen = 60;
  ASSERT_TRUE(w->write(f, comment));
  ASSERT_TRUE(w->close());
  const std::string s = e2e::read_file(path);
  // SHB (24 + shb_userappl "sockscope" 16 + end 4 + 4) + IDB (32), then the EPB: header 28 + 60
  // bytes, then the comment option.
  const std::size_t epb = 48 + 32;
  ASSERT_EQ(u32_at(s, epb), 6u);
  std::uint16_t olen = 0;
  std::memcpy(&olen, s.data() + epb + 28 + 60 + 2, 2);
  EXPECT_EQ(olen, 65534u) << "the longest whole-character prefix that fits in 16 bits";
  if (e2e::have_tool("tshark")) {
    const e2e::RunResult r = e2e::run({"tshark", "-r", path, "-T", "fields", "-e", "frame.comment"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out.size(), 65534u + 1) << "tshark reads the whole comment";
  }
}

TEST(CaptureWriter, HiddenTemporaryNameUntilComplete) {
  const std::string dir = sockscope::testing::temp_dir("writer-temp-name-" + std::to_string(getpid()));
  const std::string path = dir + "/chat.pcapng";
  const std::string partial = dir + "/.chat.pcapng.partial-" + std::to_string(getpid());
  std::string err;
  auto w = CaptureWriter::create(path, 1, 262144, err);
  ASSERT_NE(w, nullptr) << err;
  ASSERT_TRUE(write_all(*w, sample_frames()));
  EXPECT_FALSE(exists(path)) << "no reader sees half a file";
  EXPECT_TRUE(exists(partial));
  ASSERT_TRUE(w->close());
  EXPECT_TRUE(exists(path));
  EXPECT_FALSE(exists(partial));
  EXPECT_EQ(folder_entries(dir), std::vector<std::string>{"chat.pcapng"});
}

TEST(CaptureWriter, MissingFolderIsOneClearLine) {
  const std::string dir = sockscope::testing::temp_dir("writer-missing-" + std::to_string(getpid()));
  std::string err;
  EXPECT_EQ(CaptureWriter::create(dir + "/no/such/folder/x.pcapng", 1, 262144, err), nullptr);
  EXPECT_NE(err.find(dir + "/no/such/folder/x.pcapng"), std::string::npos) << err;
  EXPECT_NE(err.find("does not exist"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos);
  EXPECT_TRUE(folder_entries(dir).empty());
}

TEST(CaptureWriter, UnwritablePlacesAreOneClearLine) {
  std::string err;
  // /proc accepts no new files, even from root.
  EXPECT_EQ(CaptureWriter::create("/proc/sockscope-test.pcap", 1, 262144, err), nullptr);
  EXPECT_NE(err.find("/proc/sockscope-test.pcap"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos);
  err.clear();
  const std::string dir = sockscope::testing::temp_dir("writer-folder-" + std::to_string(getpid()));
  EXPECT_EQ(CaptureWriter::create(dir, 1, 262144, err), nullptr);
  EXPECT_NE(err.find("folder"), std::string::npos) << err;
  EXPECT_TRUE(folder_entries(dir).empty());
  err.clear();
  EXPECT_EQ(CaptureWriter::create("", 1, 262144, err), nullptr);
  EXPECT_FALSE(err.empty());
}

// A full disk, made real with RLIMIT_FSIZE in a child: write(2) fails with EFBIG (SIGXFSZ ignored).
TEST(CaptureWriter, WriteErrorIsReportedAndLeavesNoFile) {
  const std::string dir = sockscope::testing::temp_dir("writer-full-" + std::to_string(getpid()));
  const std::string path = dir + "/big.pcapng";
  const pid_t pid = fork();
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{1 << 20, 1 << 20};
    setrlimit(RLIMIT_FSIZE, &lim);
    std::string err;
    auto w = CaptureWriter::create(path, 1, 262144, err);
    if (!w) _exit(1);
    std::vector<std::uint8_t> bytes(1500, 0x55);
    Frame f;
    f.data = bytes.data();
    f.caplen = f.wirelen = 1500;
    bool failed = false;
    for (int i = 0; i < 2000 && !failed; ++i) failed = !w->write(f, "data: bytes 1..1448");
    if (!failed) failed = !w->close();
    if (!failed) _exit(2);
    if (w->close()) _exit(3);  // stays failed
    if (w->error().find(path) == std::string::npos || w->error().find("not saved") == std::string::npos)
      _exit(4);
    if (w->error().find('\n') != std::string::npos) _exit(5);
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0) << "check " << WEXITSTATUS(st) << " failed in the child";
  EXPECT_TRUE(folder_entries(dir).empty()) << "neither the file nor its partial remains";
}

}  // namespace
