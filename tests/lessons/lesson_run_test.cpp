// Running lessons for real (loopback, live capture): a lesson whose phenomenon is absent fails, and
// says which expectation, what was expected and what the capture showed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "sockscope/lessons/lesson.hpp"
#include "sockscope/lessons/lesson_run.hpp"
#include "sockscope/pcap/live_capture.hpp"

namespace sockscope::lesson {
namespace {

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

#define REQUIRE_CAPTURE()                                                            \
  do {                                                                               \
    if (!have_capture_privileges()) {                                                \
      if (in_ci()) FAIL() << "lessons need a live capture: run as root in CI";       \
      GTEST_SKIP() << "lessons need a live capture (root or CAP_NET_RAW)";           \
    }                                                                                \
  } while (0)

struct Ran {
  RunResult result;
  std::string output;
};

Ran run_text(const std::string& text, ViewKind view = ViewKind::Human) {
  Ran r;
  Lesson l;
  std::vector<Diagnostic> errors;
  EXPECT_TRUE(parse_lesson(text, "test.lesson", l, errors)) << (errors.empty() ? "" : format_diagnostic(errors[0]));
  std::FILE* out = std::tmpfile();
  RunOptions opts;
  opts.out = out;
  opts.view = view;
  opts.drop_privileges = false;
  r.result = run_lesson(l, opts);
  std::rewind(out);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, out)) > 0) r.output.append(buf, n);
  std::fclose(out);
  return r;
}

const char* kHandshake =
    "title Handshake\nsummary s\n"
    "tcp server\ntcp client\n"
    "server listen\nserver accept\nclient connect\n"
    "quiz SYN-ACK ack? = handshake-2.ack\n"
    "client close\nserver close\n";

TEST(LessonRun, AHandshakeIsSeenAndTheQuizIsAnsweredFromTheCapture) {
  REQUIRE_CAPTURE();
  const Ran r = run_text(std::string(kHandshake) +
                         "expect handshake-1 handshake-2 handshake-3\n"
                         "expect handshake-2.raw-ack == handshake-1.raw-seq + 1\n");
  EXPECT_TRUE(r.result.ok()) << r.output;
  EXPECT_EQ(r.result.checks.size(), 2u);
  EXPECT_NE(r.output.find("handshake 1/3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("connect(127.0.0.1:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("answer: 1 (frame 2)"), std::string::npos) << r.output;
}

TEST(LessonRun, AWrongExpectationFailsAndSaysWhatTheCaptureShowed) {
  REQUIRE_CAPTURE();
  const Ran r = run_text(std::string(kHandshake) +
                         "expect handshake-2.ack == handshake-1.seq + 2 -- deliberately wrong\n"
                         "expect count rst == 1\n"
                         "expect handshake-1 rst\n");
  EXPECT_FALSE(r.result.ok());
  ASSERT_EQ(r.result.checks.size(), 3u) << r.output;
  const Check& rel = r.result.checks[0];
  EXPECT_FALSE(rel.ok);
  EXPECT_EQ(rel.line, 11);
  EXPECT_NE(rel.message.find("expected handshake-2.ack == handshake-1.seq + 2; the capture showed handshake-2.ack = 1 "
                             "(frame 2) and handshake-1.seq + 2 = 2 (frame 1)"),
            std::string::npos)
      << rel.message;
  EXPECT_NE(r.result.checks[1].message.find("count rst = 0"), std::string::npos) << r.result.checks[1].message;
  EXPECT_NE(r.result.checks[2].message.find("never rst"), std::string::npos) << r.result.checks[2].message;
  EXPECT_NE(r.output.find("✗ line 11"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("3 of 3 checks failed"), std::string::npos) << r.output;
}

TEST(LessonRun, AnUnexpectedCallResultFails) {
  REQUIRE_CAPTURE();
  // Nobody listens: connect() is refused, though the lesson says it succeeds.
  const Ran r = run_text("title t\nsummary s\ntcp server\ntcp client\nclient connect -> 0\nclient send \"x\"\n");
  EXPECT_FALSE(r.result.ok());
  ASSERT_FALSE(r.result.checks.empty());
  EXPECT_EQ(r.result.checks[0].line, 5);
  EXPECT_NE(r.result.checks[0].message.find("expected connect() to return 0; it returned -1 ECONNREFUSED"),
            std::string::npos)
      << r.result.checks[0].message;
}

TEST(LessonRun, JsonEndsWithTheChecks) {
  REQUIRE_CAPTURE();
  const Ran r = run_text(std::string(kHandshake) + "expect count handshake-1 == 1\n", ViewKind::Json);
  EXPECT_TRUE(r.result.ok()) << r.output;
  EXPECT_NE(r.output.find("{\"type\":\"check\",\"line\":11,\"ok\":true"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("{\"type\":\"quiz\",\"line\":8,\"question\":\"SYN-ACK ack?\",\"answer\":\"1\"}"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("{\"type\":\"lesson\",\"name\":\"test\",\"ok\":true"), std::string::npos) << r.output;
}

TEST(LessonRun, TwoRunsAtOnceDoNotCollide) {
  REQUIRE_CAPTURE();
  Ran a, b;
  std::thread t([&] { a = run_text(std::string(kHandshake) + "expect handshake-1 handshake-2 handshake-3\n"); });
  b = run_text(std::string(kHandshake) + "expect handshake-1 handshake-2 handshake-3\n");
  t.join();
  EXPECT_TRUE(a.result.ok()) << a.output;
  EXPECT_TRUE(b.result.ok()) << b.output;
  EXPECT_EQ(a.result.checks.size(), 1u);
}

}  // namespace
}  // namespace sockscope::lesson
