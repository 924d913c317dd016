// The command line itself: help, version, usage errors, colour.
#include <gtest/gtest.h>
#include <pcap.h>

#include <algorithm>
#include <sstream>
#include <string>

#include "sockscope/text/escape.hpp"

#include "e2e_support.hpp"
#include "fixtures.hpp"

namespace {

int line_count(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

TEST(Cli, HelpAndVersion) {
  const e2e::RunResult h = e2e::sockscope({"--help"});
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("sockscope annotate FILE"), std::string::npos) << h.out;
  const e2e::RunResult ha = e2e::sockscope({"help", "annotate"});
  EXPECT_EQ(ha.status, 0);
  EXPECT_NE(ha.out.find("--json"), std::string::npos);
  EXPECT_NE(ha.out.find("--filter"), std::string::npos);
  EXPECT_EQ(e2e::sockscope({"annotate", "--help"}).out, ha.out);
  const e2e::RunResult v = e2e::sockscope({"--version"});
  EXPECT_EQ(v.status, 0);
  // The version, then the libpcap this process loads (the same library the test runs with).
  EXPECT_EQ(v.out, std::string("sockscope ") + SOCKSCOPE_VERSION + "\n" + pcap_lib_version() + "\n");
  EXPECT_EQ(v.out.rfind("sockscope ", 0), 0u) << v.out;
  EXPECT_NE(v.out.find("\nlibpcap version "), std::string::npos) << v.out;
}

// Every command's help in Chinese (the real catalogue, found beside the binary): options wrapped by
// terminal columns, a Chinese character never cut in two, each continuation under its explanation.
TEST(Cli, ChineseHelpWrapsByColumnsAndKeepsCharactersWhole) {
  for (const char* cmd : {"annotate", "exchange", "capture", "chat", "compare", "demo", "lab", "lesson", "trace"}) {
    const e2e::RunResult r = e2e::sockscope({"--lang", "zh_CN", "help", cmd});
    ASSERT_EQ(r.status, 0) << cmd;
    ASSERT_NE(r.out.find("选项"), std::string::npos) << cmd << ":\n" << r.out;  // the catalogue was found
    std::string valid;
    sockscope::text::escape_text(valid, reinterpret_cast<const std::uint8_t*>(r.out.data()), r.out.size(),
                                 r.out.size() + 1, false, true);
    EXPECT_EQ(valid.find("\\x"), std::string::npos) << cmd << ": invalid UTF-8 in\n" << r.out;
    std::size_t column = 0;  // where the explanations of the current option group start
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      EXPECT_LE(sockscope::text::display_width(line), 100u) << cmd << ": " << line;
      if (line.rfind("  -", 0) == 0) {
        // "  --port P (=9000)   explanation": the explanation's column.
        const std::size_t gap = line.find("  ", 2);
        if (gap != std::string::npos) column = line.find_first_not_of(' ', gap);
      } else if (column != 0 && line.size() > column && line.find_first_not_of(' ') != 0) {
        EXPECT_EQ(line.find_first_not_of(' '), column) << cmd << ": " << line;
      }
    }
  }
}

// A teacher's lesson file with mistakes: each diagnostic is one sentence in the chosen language, with
// FILE:LINE in front and the hint in the language's own brackets; the words of the lesson language
// (calls, fields) stay as they are written.
TEST(Cli, LessonCheckDiagnosticsAreInTheLanguageOfMessages) {
  const std::string dir = sockscope::testing::temp_dir("cli-lesson-check");
  const std::string file = dir + "/bad.lesson";
  e2e::write_file(file, "title T\nsummary S\ntcp server\ntcp client\nclient conect\n"
                        "expect handshake-2.akc == 1\nserver listen 9999999\n");
  const e2e::RunResult zh = e2e::sockscope({"--lang", "zh_CN", "lesson", "check", file});
  EXPECT_EQ(zh.status, 2);
  EXPECT_NE(zh.err.find(file + ":5: 未知的调用 'conect'（提示：调用行的写法是"), std::string::npos) << zh.err;
  EXPECT_NE(zh.err.find(file + ":6: == 的左边：'akc' 不是数据包的字段（数据包的字段有：frame, seq, ack"),
            std::string::npos)
      << zh.err;
  EXPECT_NE(zh.err.find(file + ":7: '9999999' 应当是 0 到 4096 之间的数字"), std::string::npos) << zh.err;
  const e2e::RunResult en = e2e::sockscope({"--lang", "en", "lesson", "check", file});
  EXPECT_EQ(en.status, 2);
  EXPECT_NE(en.err.find(file + ":5: unknown call 'conect' (hint: a call line is"), std::string::npos) << en.err;
  EXPECT_NE(en.err.find(file + ":7: '9999999' should be a number from 0 to 4096 (hint: "), std::string::npos)
      << en.err;
}

TEST(Cli, UnknownCommandIsOneLineAndExitTwo) {
  const e2e::RunResult r = e2e::sockscope({"anotate", "x.pcap"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(line_count(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("'anotate'"), std::string::npos);
  EXPECT_NE(r.err.find("--help"), std::string::npos);
}

TEST(Cli, UnknownOptionIsOneLineAndExitTwo) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--frobnicate"}, {"annotate", "--jsn", "x.pcap"},
        {"annotate", "--color", "sometimes", "x.pcap"}, {"annotate", "--json", "--ladder", "x.pcap"},
        {"annotate"}, {"exchange", "--tcp-port", "70000"}}) {
    const e2e::RunResult r = e2e::sockscope(args);
    EXPECT_EQ(r.status, 2) << args.back();
    EXPECT_EQ(line_count(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("help"), std::string::npos) << r.err;
  }
  EXPECT_EQ(e2e::sockscope({}).status, 2);
}

TEST(Cli, ColourOnlyWhenAsked) {
  const std::string path = sockscope::testing::temp_dir("cli-colour") + "/x.pcap";
  ASSERT_TRUE(sockscope::testing::write_capture(path, sockscope::testing::CaptureFormat::PcapNano, 1,
                                             e2e::exchange_fixture(false, 1)));
  // stdout is a file here, not a terminal: no escape sequences unless --color=always.
  const e2e::RunResult plain = e2e::sockscope({"annotate", path});
  EXPECT_EQ(plain.status, 0) << plain.err;
  EXPECT_EQ(plain.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(e2e::sockscope({"annotate", "--color", "never", path}).out, plain.out);
  const e2e::RunResult colour = e2e::sockscope({"annotate", "--color=always", path});
  EXPECT_EQ(colour.status, 0);
  EXPECT_NE(colour.out.find("\x1b["), std::string::npos);
  // JSON never carries colour.
  EXPECT_EQ(e2e::sockscope({"annotate", "--json", "--color=always", path}).out.find('\x1b'),
            std::string::npos);
}

TEST(Cli, EveryViewRunsOnTheSameCapture) {
  const std::string path = sockscope::testing::temp_dir("cli-views") + "/x.pcap";
  ASSERT_TRUE(sockscope::testing::write_capture(path, sockscope::testing::CaptureFormat::PcapNano, 1,
                                             e2e::exchange_fixture(false, 1)));
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{}, {"--summary"}, {"--ladder"}, {"--osi"}, {"--no-payload"}}) {
    std::vector<std::string> args = {"annotate", path};
    args.insert(args.end(), extra.begin(), extra.end());
    const e2e::RunResult r = e2e::sockscope(args);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_FALSE(r.out.empty());
    EXPECT_EQ(r.err, "");
  }
  const e2e::RunResult np = e2e::sockscope({"annotate", "--no-payload", path});
  EXPECT_EQ(np.out.find("hello"), std::string::npos);
}

TEST(Cli, ExchangeRunsOnLoopback) {
  const e2e::RunResult r = e2e::sockscope({"exchange"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("send(\"hello\", MSG_NOSIGNAL) = 5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("recv() = 0"), std::string::npos) << r.out;
  const e2e::RunResult v6 = e2e::sockscope({"exchange", "--host", "::1"});
  EXPECT_EQ(v6.status, 0) << v6.err;
  // Only loopback: the exchange never sends anywhere else.
  const e2e::RunResult away = e2e::sockscope({"exchange", "--host", "192.0.2.1"});
  EXPECT_NE(away.status, 0);
  EXPECT_NE(away.err.find("loopback"), std::string::npos) << away.err;
}

}  // namespace
