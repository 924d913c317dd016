// The libpcap side on its own: PcapSource (frames, numbers, timestamps, link types, filters) and
// run_annotate (the order of the calls a view receives).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "e2e_support.hpp"
#include "fixtures.hpp"
#include "sockscope/pcap/pipeline.hpp"

namespace {

using sockscope::testing::CaptureFormat;

std::string write_fixture(const std::string& name, CaptureFormat format, std::uint32_t linktype,
                          const std::vector<sockscope::testing::PcapRecord>& records) {
  const std::string path = sockscope::testing::temp_dir("source-" + name) + "/" + name;
  EXPECT_TRUE(sockscope::testing::write_capture(path, format, linktype, records));
  return path;
}

TEST(PcapSource, ReadsFramesWithNumbersLengthsAndNanoseconds) {
  auto records = e2e::exchange_fixture(false, 1);
  records[1].ts.nsec = 123456789;
  records[2].wirelen = static_cast<std::uint32_t>(records[2].data.size()) + 100;  // snapped frame
  const std::string path = write_fixture("frames.pcap", CaptureFormat::PcapNano, 1, records);
  std::string error;
  auto src = sockscope::PcapSource::open(path, "", error);
  ASSERT_TRUE(src) << error;
  EXPECT_EQ(src->linktype(), 1u);
  sockscope::Frame f;
  std::vector<sockscope::Frame> frames;
  while (src->next(f) == sockscope::ReadResult::Frame) frames.push_back(f);
  EXPECT_EQ(src->error(), "");
  ASSERT_EQ(frames.size(), records.size());
  EXPECT_EQ(frames[0].number, 1u);
  EXPECT_EQ(frames[19].number, 20u);
  EXPECT_EQ(frames[1].ts.nsec, 123456789u);
  EXPECT_EQ(frames[1].ts.sec, records[1].ts.sec);
  EXPECT_EQ(frames[2].caplen, records[2].data.size());
  EXPECT_EQ(frames[2].wirelen, records[2].data.size() + 100);
  EXPECT_EQ(src->next(f), sockscope::ReadResult::End);
}

TEST(PcapSource, MicrosecondFilesGiveNanosecondTimestamps) {
  auto records = e2e::exchange_fixture(false, 1);
  records[0].ts.nsec = 123456000;
  for (CaptureFormat format : {CaptureFormat::PcapMicro, CaptureFormat::PcapngMicro}) {
    const std::string path = write_fixture("micro", format, 1, records);
    std::string error;
    auto src = sockscope::PcapSource::open(path, "", error);
    ASSERT_TRUE(src) << error;
    sockscope::Frame f;
    ASSERT_EQ(src->next(f), sockscope::ReadResult::Frame);
    EXPECT_EQ(f.ts.nsec, 123456000u);
  }
}

TEST(PcapSource, FilterSkipsFramesButKeepsTheirNumbers) {
  const std::string path =
      write_fixture("filter.pcap", CaptureFormat::PcapNano, 1, e2e::exchange_fixture(false, 1));
  std::string error;
  auto src = sockscope::PcapSource::open(path, "udp and src port 9001", error);
  ASSERT_TRUE(src) << error;
  sockscope::Frame f;
  std::vector<std::uint64_t> numbers;
  while (src->next(f) == sockscope::ReadResult::Frame) numbers.push_back(f.number);
  EXPECT_EQ(numbers, (std::vector<std::uint64_t>{16, 18, 20}));
  EXPECT_EQ(src->frames_read(), 20u);
}

TEST(PcapSource, BadFilterIsOneLineNamingIt) {
  const std::string path =
      write_fixture("badfilter.pcap", CaptureFormat::PcapNano, 1, e2e::exchange_fixture(false, 1));
  std::string error;
  EXPECT_FALSE(sockscope::PcapSource::open(path, "port ninety", error));
  EXPECT_NE(error.find("'port ninety'"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos);
}

TEST(PcapSource, ErrorAfterTheLastGoodFrameNamesIt) {
  const std::string path =
      write_fixture("cut.pcap", CaptureFormat::PcapNano, 1, e2e::exchange_fixture(false, 1));
  const std::string bytes = e2e::read_file(path);
  e2e::write_file(path, bytes.substr(0, bytes.size() - 3));
  std::string error;
  auto src = sockscope::PcapSource::open(path, "", error);
  ASSERT_TRUE(src) << error;
  sockscope::Frame f;
  int n = 0;
  sockscope::ReadResult r;
  while ((r = src->next(f)) == sockscope::ReadResult::Frame) ++n;
  EXPECT_EQ(r, sockscope::ReadResult::Error);
  EXPECT_EQ(n, 19);
  EXPECT_NE(src->error().find("cut short after frame 19"), std::string::npos) << src->error();
  EXPECT_EQ(src->next(f), sockscope::ReadResult::End);  // nothing more after an error
}

// Every link type libpcap hands us, as written in files: the same IP packets give the same events.
// (libpcap reports LINKTYPE_RAW (101) as DLT_RAW, 12 on Linux; the decoder takes both.)
TEST(PcapSource, SameEventsForEveryLinkTypeInAFile) {
  const std::string eth =
      write_fixture("lt-1.pcap", CaptureFormat::PcapNano, 1, e2e::exchange_fixture(false, 1));
  const e2e::RunResult base = e2e::sockscope({"annotate", "--json", eth});
  ASSERT_EQ(base.status, 0) << base.err;
  std::string error;
  const auto want = e2e::json_lines(base.out, error);
  for (std::uint32_t lt : {0u, 101u, 108u, 113u, 276u}) {
    for (bool v6 : {false, true}) {
      SCOPED_TRACE("linktype " + std::to_string(lt) + (v6 ? " IPv6" : " IPv4"));
      const std::string path = write_fixture("lt-" + std::to_string(lt) + (v6 ? "-v6" : "-v4") + ".pcap",
                                             CaptureFormat::PcapNano, lt, e2e::exchange_fixture(v6, lt));
      const e2e::RunResult r = e2e::sockscope({"annotate", "--json", path});
      ASSERT_EQ(r.status, 0) << r.err;
      const auto got = e2e::json_lines(r.out, error);
      ASSERT_EQ(got.size(), want.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i]["events"].dump(), want[i]["events"].dump()) << "line " << i + 1;
        EXPECT_EQ(got[i]["state"].dump(), want[i]["state"].dump()) << "line " << i + 1;
        EXPECT_EQ(got[i]["history"].dump(), want[i]["history"].dump()) << "line " << i + 1;
        EXPECT_EQ(got[i]["conn_state"].dump(), want[i]["conn_state"].dump()) << "line " << i + 1;
        EXPECT_FALSE(e2e::has_event(got[i], "malformed")) << "line " << i + 1;
      }
    }
  }
}

// A view that records the order of the calls it receives.
class RecordingView : public sockscope::View {
 public:
  void packet(const sockscope::Packet& p, const sockscope::Annotation& a) override {
    calls.push_back("p" + std::to_string(p.frame) + "c" + std::to_string(a.conn));
  }
  void conversation(const sockscope::ConnSummary& s) override {
    calls.push_back("conn" + std::to_string(s.conn) + "last" + std::to_string(s.last_frame));
  }
  void finish() override { calls.push_back("finish"); }
  std::vector<std::string> calls;
};

TEST(RunAnnotate, ViewGetsPacketsThenConversationsThenFinish) {
  const std::string path =
      write_fixture("pipeline.pcap", CaptureFormat::PcapNano, 1, e2e::exchange_fixture(false, 1));
  std::string error;
  auto src = sockscope::PcapSource::open(path, "", error);
  ASSERT_TRUE(src) << error;
  RecordingView view;
  const sockscope::PipelineResult r = sockscope::run_annotate(*src, view);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.frames, 20u);
  EXPECT_EQ(r.conversations, 2u);
  ASSERT_EQ(view.calls.size(), 23u);
  EXPECT_EQ(view.calls.front(), "p1c1");
  EXPECT_EQ(view.calls[19], "p20c2");
  EXPECT_EQ(view.calls[20], "conn1last14");
  EXPECT_EQ(view.calls[21], "conn2last20");
  EXPECT_EQ(view.calls.back(), "finish");
}

// A conversation released while the capture goes on (closed, then quiet for longer than the
// linger time) is reported before the packets that follow, not only at the end.
TEST(RunAnnotate, FinishedConversationsAreReportedAsTheCaptureGoesOn) {
  auto records = e2e::exchange_fixture(false, 1);
  for (std::size_t i = 14; i < records.size(); ++i) records[i].ts.sec += 60;  // UDP a minute later
  const std::string path = write_fixture("linger.pcap", CaptureFormat::PcapNano, 1, records);
  std::string error;
  auto src = sockscope::PcapSource::open(path, "", error);
  ASSERT_TRUE(src) << error;
  RecordingView view;
  sockscope::PipelineOptions opts;
  opts.summary_interval = 1;
  const sockscope::PipelineResult r = sockscope::run_annotate(*src, view, opts);
  EXPECT_TRUE(r.ok);
  const auto pos = std::find(view.calls.begin(), view.calls.end(), "conn1last14");
  ASSERT_NE(pos, view.calls.end());
  EXPECT_LT(pos - view.calls.begin(), 20) << "the TCP summary came only at the end";
  EXPECT_EQ(view.calls.back(), "finish");
}

TEST(RunAnnotate, ReadErrorStillFinishesTheView) {
  const std::string path =
      write_fixture("pipecut.pcap", CaptureFormat::PcapNano, 1, e2e::exchange_fixture(false, 1));
  const std::string bytes = e2e::read_file(path);
  e2e::write_file(path, bytes.substr(0, bytes.size() / 2));
  std::string error;
  auto src = sockscope::PcapSource::open(path, "", error);
  ASSERT_TRUE(src) << error;
  RecordingView view;
  const sockscope::PipelineResult r = sockscope::run_annotate(*src, view);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("cut short"), std::string::npos) << r.error;
  EXPECT_GT(r.frames, 0u);
  EXPECT_GE(r.conversations, 1u);
  EXPECT_EQ(view.calls.back(), "finish");
}

}  // namespace
