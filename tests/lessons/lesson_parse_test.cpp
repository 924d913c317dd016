// Lesson scripts: what parses, and what a malformed lesson is told (file:line and a hint), before
// anything runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <dirent.h>

#include "paths.hpp"
#include "sockscope/lessons/lesson.hpp"
#include "sockscope/lessons/lesson_run.hpp"

namespace sockscope::lesson {
namespace {

const char* kHeader =
    "title T\n"
    "summary S\n"
    "tcp server\n"
    "tcp client\n";

std::vector<Diagnostic> errors_of(const std::string& text) {
  Lesson l;
  std::vector<Diagnostic> errors;
  EXPECT_FALSE(parse_lesson(text, "bad.lesson", l, errors)) << text;
  return errors;
}

// The one error of a lesson: its line, and words its message and hint must hold.
void expect_error(const std::string& text, int line, const std::string& in_message, const std::string& in_hint) {
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 1u) << text << "\n" << (errors.empty() ? "" : format_diagnostic(errors[0]));
  const Diagnostic& d = errors[0];
  EXPECT_EQ(d.file, "bad.lesson");
  EXPECT_EQ(d.line, line) << format_diagnostic(d);
  EXPECT_NE(d.message.find(in_message), std::string::npos) << format_diagnostic(d);
  EXPECT_NE(d.hint.find(in_hint), std::string::npos) << format_diagnostic(d);
  // A problem of the whole file (no title) has no line: "bad.lesson: ...".
  const std::string where = line > 0 ? "bad.lesson:" + std::to_string(line) + ": " : "bad.lesson: ";
  EXPECT_EQ(format_diagnostic(d).rfind(where, 0), 0u) << format_diagnostic(d);
}

TEST(LessonParse, AWholeLesson) {
  const std::string text = std::string(kHeader) +
                           "# a comment\n"
                           "> Narration, with a {handshake-1.raw-seq}\n"
                           ">\n"
                           "> second paragraph\n"
                           "server listen\n"
                           "pause\n"
                           "server accept\n"
                           "client connect -> 0\n"
                           "client send \"hello\\n\" nowait\n"
                           "client send 100 bytes\n"
                           "server recv 1024 -> any\n"
                           "server setsockopt SO_LINGER 0\n"
                           "client shutdown wr\n"
                           "sleep 20\n"
                           "wait\n"
                           "server close -> ok\n"
                           "server close listener\n"
                           "expect handshake-1 handshake-2 handshake-3 -- the handshake\n"
                           "expect handshake-2.ack == handshake-1.seq + 1\n"
                           "expect count data@client#1 >= 1\n"
                           "expect client.connect.errno == ECONNREFUSED\n"
                           "quiz What ack? = handshake-2.ack -- why\n"
                           "explain something\n";
  Lesson l;
  std::vector<Diagnostic> errors;
  ASSERT_TRUE(parse_lesson(text, "lessons/03-handshake.lesson", l, errors))
      << (errors.empty() ? "" : format_diagnostic(errors[0]));
  EXPECT_EQ(l.name, "handshake");
  EXPECT_EQ(l.title, "T");
  ASSERT_EQ(l.endpoints.size(), 2u);
  EXPECT_EQ(l.endpoints[1].target, "server");
  ASSERT_GE(l.steps.size(), 2u);
  EXPECT_EQ(l.steps[0].kind, Step::Kind::Narrate);
  EXPECT_EQ(l.steps[0].paragraphs.size(), 2u);
  const auto send = std::find_if(l.steps.begin(), l.steps.end(), [](const Step& s) { return s.call == "send"; });
  ASSERT_NE(send, l.steps.end());
  EXPECT_EQ(send->data, "hello\n");
  EXPECT_TRUE(send->nowait);
  const auto quiz = std::find_if(l.steps.begin(), l.steps.end(), [](const Step& s) { return s.kind == Step::Kind::Quiz; });
  ASSERT_NE(quiz, l.steps.end());
  EXPECT_EQ(quiz->question, "What ack?");
  EXPECT_EQ(quiz->label, "why");
  EXPECT_EQ(l.explain.size(), 1u);
}

TEST(LessonParse, ErrorsNameTheLineAndGiveAHint) {
  expect_error(std::string(kHeader) + "client conect\n", 5, "unknown call 'conect'", "ENDPOINT CALL");
  expect_error(std::string(kHeader) + "client connect -> ECONREFUSED\n", 5, "ECONREFUSED", "ECONNREFUSED");
  expect_error(std::string(kHeader) + "expect handshake-1 handshake-4\n", 5, "handshake-4", "order");
  expect_error(std::string(kHeader) + "expect handshake-2.akc == 1\n", 5, "'akc' is not a field", "docs/lessons.md");
  expect_error(std::string(kHeader) + "expect handshake-2.ack = 1\n", 5, "'='", "==");
  expect_error(std::string(kHeader) + "quiz What ack?\n", 5, "' = '", "handshake-2.ack");
  expect_error(std::string(kHeader) + "client accept\n", 5, "only a TCP server accepts", "tcp server");
  expect_error(std::string(kHeader) + "server sendto \"x\"\n", 5, "sendto is for UDP", "send");
  expect_error(std::string(kHeader) + "client send\n", 5, "of what", "100 bytes");
  expect_error(std::string(kHeader) + "client setsockopt SO_LINGRE 0\n", 5, "SO_LINGRE", "SO_LINGER 0");
  expect_error(std::string(kHeader) + "sleep forever\n", 5, "milliseconds", "sleep 200");
  expect_error(std::string(kHeader) + "> see {handshake-9.ack}\n", 5, "handshake-9", "docs/lessons.md");
  expect_error(std::string(kHeader) + "tcp server\n", 5, "two endpoints are named 'server'", "server2");
  expect_error(std::string(kHeader) + "tcp server server2 10.0.0.1\n", 5, "not a loopback address", "127.0.0.1");
  expect_error(std::string(kHeader) + "frobnicate\n", 5, "'frobnicate' is not a lesson line", "expect");
  expect_error("title T\nsummary S\ntcp client\nclient connect\n", 3, "no tcp server", "tcp server");
  expect_error("title T\ntcp server\ntcp client\nclient connect\n", 0, "no summary", "summary");
  expect_error(std::string(kHeader) + "expect count client.frob == 1\n", 5, "'frob' is not a socket call", "");
}

// A stray byte (here in a quiz question) is refused with its line: nothing invalid reaches a terminal
// or the JSON output. Text in Chinese, in narration and quiz answers alike, is UTF-8 and welcome.
TEST(LessonParse, InvalidUtf8IsRefusedWithItsLine) {
  expect_error(std::string(kHeader) + "quiz What ack\xff? = handshake-2.ack\n", 5, "not valid UTF-8", "UTF-8");
  expect_error(std::string(kHeader) + "> \xe4\xb8 half a character\n", 5, "not valid UTF-8", "UTF-8");
  expect_error(std::string(kHeader) + "> \xed\xa0\x80 a surrogate\n", 5, "not valid UTF-8", "UTF-8");
  Lesson l;
  std::vector<Diagnostic> errors;
  EXPECT_TRUE(parse_lesson(std::string(kHeader) + "client connect\n> 三次握手：客户端发送 SYN。\nquiz 服务器的确认号是多少？ = handshake-2.ack\n",
                           "zh.lesson", l, errors));
  EXPECT_TRUE(errors.empty());
}

TEST(LessonParse, EveryErrorIsReportedNotJustTheFirst) {
  const auto errors = errors_of(std::string(kHeader) + "client conect\nserver lisen\nexpect nonsense-word\n");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].line, 5);
  EXPECT_EQ(errors[1].line, 6);
  EXPECT_EQ(errors[2].line, 7);
}

TEST(LessonParse, NamesComeFromFileNames) {
  EXPECT_EQ(lesson_name_of("lessons/03-handshake.lesson"), "handshake");
  EXPECT_EQ(lesson_name_of("/x/16-resets.lesson"), "resets");
  EXPECT_EQ(lesson_name_of("mine.lesson"), "mine");
  EXPECT_EQ(errno_from_name("ECONNREFUSED"), ECONNREFUSED);
  EXPECT_EQ(errno_from_name("EWHATEVER"), 0);
}

// Every lesson shipped in lessons/ parses (running them is the ctest lesson.* tests).
TEST(LessonParse, EveryShippedLessonParses) {
  const auto files = lesson_files({sockscope::testing::source_dir() + "/lessons"});
  ASSERT_GE(files.size(), 3u);
  for (const auto& f : files) {
    Lesson l;
    std::vector<Diagnostic> errors;
    EXPECT_TRUE(load_lesson(f, l, errors)) << (errors.empty() ? f : format_diagnostic(errors[0]));
    EXPECT_FALSE(l.topic.empty()) << f << ": every lesson names its topic";
    EXPECT_FALSE(l.watch.empty()) << f << ": every lesson says what to watch";
    EXPECT_FALSE(l.explain.empty()) << f << ": every lesson ends with what the learner can explain";
  }
  std::string error;
  EXPECT_NE(find_lesson("handshake", {sockscope::testing::source_dir() + "/lessons"}, error), "");
  EXPECT_NE(find_lesson("3", {sockscope::testing::source_dir() + "/lessons"}, error), "");
  EXPECT_EQ(find_lesson("no-such-lesson", {sockscope::testing::source_dir() + "/lessons"}, error), "");
  EXPECT_NE(error.find("no-such-lesson"), std::string::npos);
}

}  // namespace
}  // namespace sockscope::lesson

namespace sockscope::lesson {
namespace {

// Endpoints that run programs: the command after 'run' (quoted words kept whole), the steps such an
// endpoint takes, and the calls the lesson may name (any the trace shows).
TEST(LessonParse, ProgramEndpoints) {
  const std::string text =
      "title T\nsummary S\n"
      "tcp server 127.0.0.1 port auto run python3 {examples}/tcp_server.py {address} {port}\n"
      "tcp client run sh -c \"exec python3 {dir}/c.py {address} {port}\"\n"
      "server start\n"
      "server await listen\n"
      "client start\n"
      "server await recvfrom 2\n"
      "client type \"hello\"\n"
      "client end -> 0\n"
      "server end -> any\n"
      "expect server.accept4.after-frame >= handshake-3.frame\n"
      "expect count client.sendto ok == 1\n";
  Lesson l;
  std::vector<Diagnostic> errors;
  ASSERT_TRUE(parse_lesson(text, "p.lesson", l, errors)) << (errors.empty() ? "" : format_diagnostic(errors[0]));
  ASSERT_EQ(l.endpoints.size(), 2u);
  EXPECT_EQ(l.endpoints[0].command,
            (std::vector<std::string>{"python3", "{examples}/tcp_server.py", "{address}", "{port}"}));
  EXPECT_EQ(l.endpoints[0].address, "127.0.0.1");
  EXPECT_EQ(l.endpoints[1].command,
            (std::vector<std::string>{"sh", "-c", "exec python3 {dir}/c.py {address} {port}"}));
  EXPECT_EQ(l.endpoints[1].target, "server");
  EXPECT_TRUE(l.endpoints[1].program());
  std::vector<const Step*> calls;
  for (const Step& st : l.steps)
    if (st.kind == Step::Kind::Call) calls.push_back(&st);
  ASSERT_EQ(calls.size(), 7u);
  EXPECT_EQ(calls[1]->awaited, "listen");
  EXPECT_EQ(calls[1]->count, 1);
  EXPECT_EQ(calls[3]->awaited, "recvfrom");
  EXPECT_EQ(calls[3]->count, 2);
  EXPECT_EQ(calls[4]->data, "hello");
  EXPECT_EQ(calls[5]->expect.kind, CallExpect::Kind::Result);
}

TEST(LessonParse, ProgramEndpointMistakes) {
  const std::string head = "title T\nsummary S\n";
  const std::string prog = head + "tcp server run python3 s.py {port}\ntcp client\n";
  expect_error(prog + "server listen\n", 5, "runs a program", "start, type");
  expect_error(prog + "client start\n", 5, "'start' is for an endpoint that runs a program", "run COMMAND");
  expect_error(prog + "server type hello\n", 5, "one quoted line", "type \"TEXT\"");
  expect_error(prog + "server await\n", 5, "the call to wait for", "await CALL");
  expect_error(prog + "server await lisen\n", 5, "'lisen' is not a system call that a trace shows", "await CALL");
  expect_error(prog + "server start -> 0\n", 5, "'start' has no result", "->");
  expect_error(prog + "server end -> EPIPE\n", 5, "'-> EPIPE': a program ends with an exit status", "end -> 3");
  expect_error(prog + "expect server.recv#1.result == 5\n", 5, "Python's accept(), send() and recv() are accept4(), sendto() and recvfrom()",
               "docs/lessons.md");
  expect_error(head + "tcp server run\n", 3, "'run' needs the program", "{examples}");
  expect_error(head + "tcp server run python3 s.py {prot}\ntcp client\nserver start\n", 3,
               "'{prot}' is not a placeholder", "{address} and {port}");
  expect_error(head + "tcp server run sh -c \"exit 0\ntcp client\nserver start\n", 3, "no closing", "{examples}");
}

}  // namespace
}  // namespace sockscope::lesson
