// Bad input: a missing file, a file that is not a capture, an empty one, and captures cut short.
// Each gives exit status 2 and one line on stderr naming the file; what came before the damage is
// still annotated. None of these needs root.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "e2e_support.hpp"
#include "fixtures.hpp"

namespace {

int line_count(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

void expect_one_line_error(const e2e::RunResult& r, const std::string& file, const std::string& problem) {
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(line_count(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("sockscope: " + file + ": ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(problem), std::string::npos) << r.err;
}

std::string fixture_capture(const std::string& name, sockscope::testing::CaptureFormat format) {
  const std::string path = sockscope::testing::temp_dir("errors-" + name) + "/" + name;
  EXPECT_TRUE(sockscope::testing::write_capture(path, format, 1, e2e::exchange_fixture(false, 1)));
  return path;
}

TEST(AnnotateErrors, MissingFile) {
  const std::string path = sockscope::testing::temp_dir("errors-missing") + "/nothing-here.pcap";
  const e2e::RunResult r = e2e::sockscope({"annotate", path});
  expect_one_line_error(r, path, "no such file");
  EXPECT_EQ(r.out, "");
}

TEST(AnnotateErrors, TextFileIsNotACapture) {
  const std::string path = sockscope::testing::temp_dir("errors-text") + "/notes.txt";
  e2e::write_file(path, "these are my notes about TCP\nnot a capture\n");
  const e2e::RunResult r = e2e::sockscope({"annotate", "--json", path});
  expect_one_line_error(r, path, "not a pcap or pcapng capture");
  EXPECT_EQ(r.out, "");
}

TEST(AnnotateErrors, EmptyFile) {
  const std::string path = sockscope::testing::temp_dir("errors-empty") + "/empty.pcap";
  e2e::write_file(path, "");
  const e2e::RunResult r = e2e::sockscope({"annotate", path});
  expect_one_line_error(r, path, "empty");
}

TEST(AnnotateErrors, EmptyStandardInput) {
  const std::string path = sockscope::testing::temp_dir("errors-empty-stdin") + "/empty";
  e2e::write_file(path, "");
  const e2e::RunResult r = e2e::sockscope({"annotate", "-"}, path);
  expect_one_line_error(r, "standard input", "empty");
}

TEST(AnnotateErrors, FolderIsNotACapture) {
  const std::string dir = sockscope::testing::temp_dir("errors-folder");
  expect_one_line_error(e2e::sockscope({"annotate", dir}), dir, "folder");
}

TEST(AnnotateErrors, CutInsideTheFileHeader) {
  const std::string full = fixture_capture("header.pcap", sockscope::testing::CaptureFormat::PcapMicro);
  const std::string path = full + ".cut";
  e2e::write_file(path, e2e::read_file(full).substr(0, 10));
  expect_one_line_error(e2e::sockscope({"annotate", path}), path, "cut short");
}

// Every cut of a capture file, at any byte: never a crash, and the frames wholly before the cut
// are annotated. (The pcap framing: 24-byte header, then 16 bytes + data per frame.)
TEST(AnnotateErrors, EveryCutOfAPcapAnnotatesTheCompleteFrames) {
  const std::string full = fixture_capture("every.pcap", sockscope::testing::CaptureFormat::PcapNano);
  const std::string bytes = e2e::read_file(full);
  const std::string path = full + ".cut";
  std::vector<std::size_t> frame_end;  // offset just after each frame
  for (std::size_t off = 24; off + 16 <= bytes.size();) {
    const auto b = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
    off += 16 + (b(off + 8) | (b(off + 9) << 8) | (b(off + 10) << 16) | (b(off + 11) << 24));
    frame_end.push_back(off);
  }
  ASSERT_EQ(frame_end.size(), 20u);
  ASSERT_EQ(frame_end.back(), bytes.size());
  // Cuts at a few places in every frame: in the record header, just after it, in the middle.
  for (std::size_t f = 0; f + 1 < frame_end.size(); ++f) {
    for (std::size_t into : {std::size_t{7}, std::size_t{16}, std::size_t{40}}) {
      const std::size_t cut = frame_end[f] + into;
      if (cut >= frame_end[f + 1]) continue;
      e2e::write_file(path, bytes.substr(0, cut));
      const e2e::RunResult r = e2e::sockscope({"annotate", "--json", path});
      SCOPED_TRACE("cut at byte " + std::to_string(cut));
      expect_one_line_error(r, path, "cut short after frame " + std::to_string(f + 1));
      std::string error;
      const auto lines = e2e::json_lines(r.out, error);
      EXPECT_EQ(error, "");
      EXPECT_EQ(e2e::of_type(lines, "packet").size(), f + 1);
    }
  }
}

TEST(AnnotateErrors, CutPcapngAnnotatesTheFramesBeforeTheCut) {
  const std::string full = fixture_capture("cut.pcapng", sockscope::testing::CaptureFormat::PcapngNano);
  const std::string bytes = e2e::read_file(full);
  const std::string path = full + ".cut";
  e2e::write_file(path, bytes.substr(0, bytes.size() * 2 / 3));
  const e2e::RunResult r = e2e::sockscope({"annotate", "--json", path});
  expect_one_line_error(r, path, "cut short after frame");
  std::string error;
  const auto lines = e2e::json_lines(r.out, error);
  EXPECT_GE(e2e::of_type(lines, "packet").size(), 5u);
  EXPECT_GE(e2e::of_type(lines, "conn").size(), 1u);
}

TEST(AnnotateErrors, BadFilterNamesTheFilter) {
  const std::string full = fixture_capture("filter.pcap", sockscope::testing::CaptureFormat::PcapNano);
  const e2e::RunResult r = e2e::sockscope({"annotate", "--filter", "tcp prot 9000", full});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(line_count(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("'tcp prot 9000'"), std::string::npos) << r.err;
}

TEST(AnnotateFormats, PcapMicroNanoAndPcapngAgree) {
  using sockscope::testing::CaptureFormat;
  const std::string a = fixture_capture("f.pcap", CaptureFormat::PcapMicro);
  const std::string b = fixture_capture("f-nano.pcap", CaptureFormat::PcapNano);
  const std::string c = fixture_capture("f.pcapng", CaptureFormat::PcapngNano);
  const std::string d = fixture_capture("f-micro.pcapng", CaptureFormat::PcapngMicro);
  const e2e::RunResult ra = e2e::sockscope({"annotate", "--json", a});
  ASSERT_EQ(ra.status, 0) << ra.err;
  for (const std::string& p : {b, c, d}) {
    const e2e::RunResult r = e2e::sockscope({"annotate", "--json", p});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, ra.out) << p;
  }
}

}  // namespace
