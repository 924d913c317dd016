// The SVG ladder and the HTML page (svg.hpp): a TCP conversation with a handshake, data, a lost and
// re-sent segment, an ACK and a three-segment close, plus a UDP exchange, built with the frame builders
// and annotated by the real annotator; the drawing is checked for content, rendered to PNG by
// rsvg-convert (librsvg2-bin) to prove it is valid SVG, and fed hostile bytes that must not survive.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "frame_builder.hpp"
#include "paths.hpp"
#include "pcap_writer.hpp"
#include "sockscope/annotate/annotate.hpp"
#include "sockscope/annotate/calls.hpp"
#include "sockscope/views/out_buffer.hpp"
#include "sockscope/views/svg.hpp"
#include "sockscope/views/views.hpp"

extern char** environ;

namespace sockscope {
namespace {

using testing::TcpFlow;

constexpr std::uint16_t kSyn = tcpflag::kSyn, kAck = tcpflag::kAck, kFin = tcpflag::kFin, kPsh = tcpflag::kPsh;

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// A tool or file the test needs: skipped on a developer's machine, a failure in CI.
#define SVG_REQUIRE(cond, why)  \
  do {                          \
    if (!(cond)) {              \
      if (in_ci()) FAIL() << (why); \
      GTEST_SKIP() << (why);    \
    }                           \
  } while (0)

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

// The full path of a program in PATH, empty when there is none.
std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = dirs.find(':', start);
    const std::string dir = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty()) {
      const std::string candidate = dir + "/" + name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return {};
}

struct Ran {
  int status = -1;  // exit status, 128 + signal, -1 when it could not start
  std::string out, err;
};

// Runs argv (argv[0] a full path) with stdout and stderr into files of dir.
Ran run(const std::vector<std::string>& argv, const std::string& dir) {
  const std::string out_path = dir + "/stdout", err_path = dir + "/stderr";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  Ran r;
  const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return r;
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  return r;
}

std::size_t count(std::string_view hay, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t at = hay.find(needle); at != std::string_view::npos; at = hay.find(needle, at + needle.size())) ++n;
  return n;
}

// ---- the scenario ------------------------------------------------------------------------------------

struct Frame {
  testing::Bytes bytes;
  std::int64_t t_ms;
};

// Frames 1-9: TCP 10.0.0.1:40000 -> 10.0.0.2:9000: SYN, SYN-ACK, ACK, data "hello!" (4), the same bytes
// again 200 ms later (5: frame 4 was never acknowledged), ACK 7, FIN, FIN-ACK, ACK.
// Frames 10-12: UDP 10.0.0.1:41000 -> 10.0.0.2:9001: "ping", "pong", then "anyone?" that gets no reply.
std::vector<Frame> scenario_frames(const std::string& data = "hello!") {
  std::vector<Frame> f;
  TcpFlow flow("10.0.0.1", 40000, "10.0.0.2", 9000);
  std::int64_t t = 0;
  for (const testing::TcpSpec& s : flow.handshake()) {
    f.push_back({testing::ethernet_frame(testing::tcp_packet(s)), t});
    t += 1;
  }
  const testing::TcpSpec first = flow.c2s(kPsh | kAck, data);
  f.push_back({testing::ethernet_frame(testing::tcp_packet(first)), 5});
  f.push_back({testing::ethernet_frame(testing::tcp_packet(first)), 205});  // RTO: the same segment again
  f.push_back({testing::ethernet_frame(testing::tcp_packet(flow.s2c(kAck))), 206});
  f.push_back({testing::ethernet_frame(testing::tcp_packet(flow.c2s(kFin | kAck))), 210});
  f.push_back({testing::ethernet_frame(testing::tcp_packet(flow.s2c(kFin | kAck))), 211});
  f.push_back({testing::ethernet_frame(testing::tcp_packet(flow.c2s(kAck))), 212});
  testing::UdpSpec u;
  u.ip.src = "10.0.0.1";
  u.ip.dst = "10.0.0.2";
  u.sport = 41000;
  u.dport = 9001;
  u.payload = testing::bytes_of("ping");
  f.push_back({testing::ethernet_frame(testing::udp_packet(u)), 300});
  testing::UdpSpec back = u;
  back.ip.src = u.ip.dst;
  back.ip.dst = u.ip.src;
  back.sport = u.dport;
  back.dport = u.sport;
  back.payload = testing::bytes_of("pong");
  f.push_back({testing::ethernet_frame(testing::udp_packet(back)), 301});
  u.payload = testing::bytes_of("anyone?");
  f.push_back({testing::ethernet_frame(testing::udp_packet(u)), 400});
  return f;
}

// A moment `ms` milliseconds after (or before) 2023-11-14 22:13:20 UTC.
Timestamp at_ms(std::int64_t ms) {
  const std::int64_t total = 1700000000000LL + ms;
  Timestamp ts;
  ts.sec = total / 1000;
  ts.nsec = static_cast<std::uint32_t>((total % 1000) * 1000000);
  return ts;
}

CallRecord make_call(CallRole who, std::string name, std::int64_t t_ms, std::int64_t result, std::string args = {},
                     std::string data = {}) {
  CallRecord c;
  c.endpoint = who;
  c.call = std::move(name);
  c.ts = at_ms(t_ms);
  c.ts_return = c.ts;
  c.result = result;
  c.args = std::move(args);
  c.data = std::move(data);
  c.proto = Proto::Tcp;
  return c;
}

struct Fed {
  std::vector<Annotation> annotations;  // by frame - 1
};

// Decodes, annotates and shows every frame to the view, with a few socket calls between them (as a
// live run reports them), then the conversations and the end.
Fed feed(View& v, const std::vector<Frame>& frames, const std::string& call_data = "hello!",
         const std::string& call_args = "10.0.0.2:9000") {
  Fed fed;
  Annotator ann;
  v.call(make_call(CallRole::Client, "connect", -1, 0, call_args), 0);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    Packet p = testing::decode_kept(linktype::kEthernet, frames[i].bytes);
    p.frame = i + 1;
    p.ts = at_ms(frames[i].t_ms);
    const Annotation a = ann.annotate(p);
    fed.annotations.push_back(a);
    v.packet(p, a);
    if (p.frame == 3) {
      CallRecord acc = make_call(CallRole::Server, "accept", 3, 4);
      acc.has_peer = true;
      acc.peer.ip = testing::ip_addr("10.0.0.1");
      acc.peer.port = 40000;
      v.call(acc, a.conn);
      v.call(make_call(CallRole::Client, "send", 4, static_cast<std::int64_t>(call_data.size()), {}, call_data),
             a.conn);
    }
    if (p.frame == 6) v.call(make_call(CallRole::Server, "recv", 206, 6, {}, call_data), a.conn);
  }
  std::vector<ConnSummary> sums;
  ann.finish(sums);
  for (const ConnSummary& s : sums) v.conversation(s);
  v.finish();
  return fed;
}

// Renders an SVG with rsvg-convert; returns the PNG's bytes (empty after a failure, with ADD_FAILURE).
std::string render_png(const std::string& svg, const std::string& name) {
  const std::string tool = find_program("rsvg-convert");
  if (tool.empty()) return {};
  const std::string dir = sockscope::testing::temp_dir("svg-" + name);
  write_file(dir + "/in.svg", svg);
  const Ran r = run({tool, "-o", dir + "/out.png", dir + "/in.svg"}, dir);
  EXPECT_EQ(r.status, 0) << "rsvg-convert: " << r.err;
  if (r.status != 0) return {};
  return read_file(dir + "/out.png");
}

bool png_signature(const std::string& png) {
  return png.size() > 8 && std::memcmp(png.data(), "\x89PNG\r\n\x1a\n", 8) == 0;
}

// The <g class="ss-pkt ..."> group that draws frame n (its tooltip starts "frame n:").
std::string packet_group(const std::string& svg, std::uint64_t frame) {
  const std::string key = "<title>frame " + std::to_string(frame) + ":";
  const std::size_t t = svg.find(key);
  if (t == std::string::npos) return {};
  const std::size_t g = svg.rfind("<g class=\"ss-pkt", t);
  const std::size_t end = svg.find("</g>", t);
  if (g == std::string::npos || end == std::string::npos) return {};
  return svg.substr(g, end - g);
}

// Every '&' starts an entity: nothing of the text can open markup or a broken reference.
bool ampersands_are_entities(const std::string& s) {
  static const std::regex entity("^&(amp|lt|gt|quot|#39|#[0-9]+|#x[0-9a-fA-F]+);");
  for (std::size_t i = s.find('&'); i != std::string::npos; i = s.find('&', i + 1)) {
    const std::string rest = s.substr(i, 12);
    if (!std::regex_search(rest, entity)) return false;
  }
  return true;
}

// ---- tests ---------------------------------------------------------------------------------------------

TEST(SvgLadder, DrawsOneLabelledArrowPerPacketWithPhasesLossAndCalls) {
  SvgLadder v(SvgOptions{"TCP and UDP", 760, 2000});
  const Fed fed = feed(v, scenario_frames());
  // The scenario is what the test says it is (the annotator's own tests check the details).
  ASSERT_EQ(fed.annotations.size(), 12u);
  ASSERT_TRUE(fed.annotations[4].events.has(Event::Retransmission));
  ASSERT_FALSE(fed.annotations[4].events.has(Event::SpuriousRetransmission));
  ASSERT_EQ(fed.annotations[4].original_frame, 4u);

  const std::string svg = v.svg();
  EXPECT_EQ(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\"", 0), 0u);
  EXPECT_EQ(count(svg, "<g class=\"ss-pkt"), 12u) << "one arrow per packet";
  for (const char* label : {"1 SYN  handshake 1/3", "2 SYN,ACK  handshake 2/3", "3 ACK  handshake 3/3",
                            "4 data 1-6 (6 bytes) &quot;hello!&quot;", "retransmission of 4", "6 ACK 7",
                            "7 FIN,ACK  teardown 1/4", "8 FIN,ACK  teardown 2/4 + 3/4", "9 ACK  teardown 4/4",
                            "10 datagram 1 (4 bytes) &quot;ping&quot;", "11 datagram 1 (4 bytes)",
                            "12 datagram 2 (7 bytes)"})
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  // Headings with the addresses of each conversation's first packet.
  EXPECT_NE(svg.find("conversation 1 (TCP)"), std::string::npos);
  EXPECT_NE(svg.find("conversation 2 (UDP)"), std::string::npos);
  EXPECT_NE(svg.find(">10.0.0.1:40000<"), std::string::npos);
  EXPECT_NE(svg.find(">10.0.0.2:9000<"), std::string::npos);
  EXPECT_NE(svg.find(">10.0.0.1:41000<"), std::string::npos);
  // Shaded phases: a band each behind the TCP handshake, data and teardown, and the UDP data (the
  // legend draws one swatch of each too), with their names.
  EXPECT_EQ(count(svg, "<rect class=\"ss-band-handshake\""), 2u);
  EXPECT_EQ(count(svg, "<rect class=\"ss-band-teardown\""), 2u);
  EXPECT_EQ(count(svg, "<rect class=\"ss-band-data\""), 3u);
  EXPECT_NE(svg.find("class=\"ss-band-name\" x=\"60.0\" y=\"", 0), std::string::npos);
  EXPECT_NE(svg.find(">teardown</text>"), std::string::npos);
  // The original of the retransmission is lost: half an arrow, a cross, "lost"; nothing else is.
  const std::string four = packet_group(svg, 4);
  ASSERT_FALSE(four.empty());
  EXPECT_NE(four.find("ss-lost"), std::string::npos);
  EXPECT_EQ(count(four, "class=\"ss-cross\""), 2u);
  EXPECT_NE(four.find(">lost<tspan"), std::string::npos);
  EXPECT_NE(four.find("frame 5 re-sent it"), std::string::npos);
  EXPECT_EQ(four.find("<polygon"), std::string::npos) << "a lost packet never arrives: no arrow head";
  EXPECT_EQ(count(svg, "ss-lost\""), 1u);
  const std::string five = packet_group(svg, 5);
  EXPECT_NE(five.find("ss-retx"), std::string::npos) << "retransmissions in their own colour";
  EXPECT_NE(five.find("<polygon"), std::string::npos);
  // A UDP datagram without a reply is drawn like any other.
  const std::string twelve = packet_group(svg, 12);
  EXPECT_NE(twelve.find("ss-udp"), std::string::npos);
  EXPECT_EQ(twelve.find("ss-lost"), std::string::npos);
  // Arrows go right for the client's packets and left for the server's, sloping down.
  EXPECT_NE(packet_group(svg, 1).find("<line x1=\"250.9\""), std::string::npos) << packet_group(svg, 1);
  // Socket calls beside their endpoint's line.
  EXPECT_NE(svg.find(">connect(10.0.0.2:9000) = 0</text>"), std::string::npos);
  EXPECT_NE(svg.find("text-anchor=\"start\">accept() = 4 from 10.0.0.1:40000</text>"), std::string::npos);
  EXPECT_NE(svg.find("text-anchor=\"end\">send(&quot;hello!&quot;) = 6</text>"), std::string::npos);
  EXPECT_EQ(count(svg, "<circle class=\"ss-dot\""), 4u);
  EXPECT_EQ(svg.find("more packets not drawn"), std::string::npos);
  EXPECT_EQ(svg.find("drawn before the end"), std::string::npos);

  SVG_REQUIRE(!find_program("rsvg-convert").empty(), "rsvg-convert is not installed (Debian: librsvg2-bin)");
  const std::string png = render_png(svg, "scenario");
  EXPECT_TRUE(png_signature(png));
  EXPECT_GT(png.size(), 20000u) << "a picture of 12 arrows with text is not a few bytes";
}

TEST(SvgLadder, WithoutCallsTheLinesMoveOutwardAndTheEmbeddedFormHasNoXmlDeclaration) {
  SvgLadder v;
  Annotator ann;
  const auto frames = scenario_frames();
  for (std::size_t i = 0; i < frames.size(); ++i) {
    Packet p = testing::decode_kept(linktype::kEthernet, frames[i].bytes);
    p.frame = i + 1;
    p.ts = at_ms(frames[i].t_ms);
    v.packet(p, ann.annotate(p));
  }
  v.finish();
  const std::string embedded = v.svg(false);
  EXPECT_EQ(embedded.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(embedded.find("<?xml"), std::string::npos);
  EXPECT_EQ(embedded.find("class=\"ss-call"), std::string::npos);
  EXPECT_EQ(count(embedded, "<g class=\"ss-pkt"), 12u);
  // No calls column: the client's line is nearer the left edge (56 + 0.14 * 696).
  EXPECT_NE(embedded.find("<line class=\"ss-lifeline\" x1=\"153.4\""), std::string::npos);
}

TEST(SvgLadder, MarkLostDrawsTheCrossWithTheGivenReason) {
  SvgLadder v;
  feed(v, scenario_frames());
  v.mark_lost(12, "never received: message 3 missing");
  const std::string svg = v.svg();
  const std::string twelve = packet_group(svg, 12);
  ASSERT_FALSE(twelve.empty());
  EXPECT_NE(twelve.find("ss-lost"), std::string::npos);
  EXPECT_EQ(count(twelve, "class=\"ss-cross\""), 2u);
  EXPECT_NE(twelve.find("never received: message 3 missing"), std::string::npos);
  EXPECT_EQ(count(svg, "ss-lost\""), 2u) << "frame 4 (proved by the capture) and frame 12 (marked)";
  // A frame the picture does not hold is ignored, not invented.
  v.mark_lost(99, "not in this capture");
  EXPECT_EQ(v.svg().find("not in this capture"), std::string::npos);
}

TEST(SvgLadder, CutsLongCapturesWithANote) {
  SvgLadder v(SvgOptions{"", 760, 3});
  feed(v, scenario_frames());
  const std::string svg = v.svg();
  EXPECT_EQ(count(svg, "<g class=\"ss-pkt"), 3u);
  EXPECT_NE(svg.find("9 more packets not drawn: the picture stops at 3 packets (socket calls left out: 1)"), std::string::npos)
      << svg.substr(svg.size() > 600 ? svg.size() - 600 : 0);
}

TEST(SvgLadder, NotesAPictureDrawnBeforeTheEnd) {
  SvgLadder v;
  EXPECT_NE(v.svg().find("no packets"), std::string::npos);
  EXPECT_NE(v.svg().find("drawn before the end of the capture"), std::string::npos);
  v.finish();
  EXPECT_EQ(v.svg().find("drawn before the end of the capture"), std::string::npos);
}

// Markup, terminal escapes (ESC, C1 CSI), a bidi override and invalid UTF-8, in payloads, call texts,
// the lost reason and the title: none of it may reach the SVG or the HTML raw.
const std::string kHostile = "<script>alert(1)</script> & \"q\" 'a' \x1b[31mred \xc2\x9b" "2J \xe2\x80\xae" "evil \xff\xfe end";

void expect_nothing_raw(const std::string& doc) {
  EXPECT_EQ(doc.find('\x1b'), std::string::npos) << "ESC";
  EXPECT_EQ(doc.find("\xc2\x9b"), std::string::npos) << "C1 CSI";
  EXPECT_EQ(doc.find("\xe2\x80\xae"), std::string::npos) << "RIGHT-TO-LEFT OVERRIDE";
  EXPECT_EQ(doc.find('\xff'), std::string::npos) << "invalid UTF-8";
  EXPECT_EQ(doc.find("<script"), std::string::npos);
  EXPECT_EQ(doc.find("alert(1)</"), std::string::npos);
  EXPECT_TRUE(ampersands_are_entities(doc));
}

TEST(SvgLadder, NothingFromTheWireOrACallSurvivesRaw) {
  SvgOptions o;
  o.title = kHostile;
  SvgLadder v(o);
  // The payload preview shows 12 bytes: the hostile text goes out 12 bytes at a time, one segment each.
  std::vector<Frame> frames;
  TcpFlow flow("10.0.0.1", 40000, "10.0.0.2", 9000);
  std::int64_t t = 0;
  for (const testing::TcpSpec& s : flow.handshake()) frames.push_back({testing::ethernet_frame(testing::tcp_packet(s)), t++});
  for (std::size_t off = 0; off < kHostile.size(); off += 6)
    frames.push_back({testing::ethernet_frame(testing::tcp_packet(flow.c2s(kPsh | kAck, kHostile.substr(off, 12)))), t++});
  feed(v, frames, kHostile, kHostile);
  v.mark_lost(4, kHostile);
  const std::string svg = v.svg();
  expect_nothing_raw(svg);
  EXPECT_NE(svg.find("&lt;script&gt;"), std::string::npos) << "escaped, not dropped";
  EXPECT_NE(svg.find("\\x1b[31m"), std::string::npos);
  EXPECT_NE(svg.find("\\u{009b}"), std::string::npos);
  EXPECT_NE(svg.find("\\u{202e}"), std::string::npos);
  EXPECT_NE(svg.find("\\xff"), std::string::npos);

  const std::string page = html_page(kHostile, {{kHostile, v.svg(false)}, {"table", "<p>ok</p>"}});
  expect_nothing_raw(page);

  SVG_REQUIRE(!find_program("rsvg-convert").empty(), "rsvg-convert is not installed (Debian: librsvg2-bin)");
  EXPECT_TRUE(png_signature(render_png(svg, "hostile"))) << "the escaped document is still valid SVG";
}

TEST(XmlEscape, EscapesMarkupAndEverythingPrintableEscapes) {
  EXPECT_EQ(xml_escape("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(xml_escape("\x1b[2J"), "\\x1b[2J");
  EXPECT_EQ(xml_escape("a\x7f\x01z"), "a\\x7f\\x01z");
  EXPECT_EQ(xml_escape("\xc2\x9b"), "\\u{009b}");
  EXPECT_EQ(xml_escape("x\xe2\x80\xaey"), "x\\u{202e}y");
  EXPECT_EQ(xml_escape("\xff\xc3"), "\\xff\\xc3");
  EXPECT_EQ(xml_escape("\xef\xbf\xbe"), "\\u{fffe}") << "not an XML character (XML 1.0 section 2.2)";
  EXPECT_EQ(xml_escape("tab\tnl\n"), "tab\\tnl\\n");
  EXPECT_EQ(xml_escape("\xe4\xb8\xad\xe6\x96\x87 caf\xc3\xa9"), "\xe4\xb8\xad\xe6\x96\x87 caf\xc3\xa9") << "text stays text";
  EXPECT_EQ(xml_escape(std::string_view("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(xml_escape(""), "");
}

// html.parser (Python's standard library) walks the page; the script checks that every element that
// is opened is closed in order, and prints the section titles.
const char kTagCheck[] = R"PY(
import sys
from html.parser import HTMLParser
VOID = {"area","base","br","col","embed","hr","img","input","link","meta","source","track","wbr"}
class P(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.h2, self.cur = [], [], [], None
    def handle_starttag(self, tag, attrs):
        if tag in VOID: return
        self.stack.append(tag)
        if tag == "h2": self.cur = ""
    def handle_startendtag(self, tag, attrs):
        pass
    def handle_endtag(self, tag):
        if tag in VOID: return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("unexpected </%s> with open %s" % (tag, self.stack))
            return
        self.stack.pop()
        if tag == "h2": self.h2.append(self.cur); self.cur = None
    def handle_data(self, data):
        if self.cur is not None: self.cur += data
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
p.close()
if p.stack: p.errors.append("left open: %s" % p.stack)
print("\n".join(p.errors) if p.errors else "OK " + "|".join(p.h2))
)PY";

TEST(HtmlPage, IsOneSelfContainedWellFormedPageWithEverySectionInOrder) {
  SvgLadder v(SvgOptions{"TCP", 700, 2000});
  feed(v, scenario_frames());
  const std::string page = html_page("TCP & UDP <compared>", {{"Ladder", v.svg(false)},
                                                               {"Figures", "<table><tr><th>a</th><td class=\"num\">1</td></tr></table>"}});
  EXPECT_EQ(page.rfind("<!DOCTYPE html>\n<html lang=\"en\">", 0), 0u);
  EXPECT_NE(page.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(page.find("<title>TCP &amp; UDP &lt;compared&gt;</title>"), std::string::npos);
  EXPECT_NE(page.find("<style>"), std::string::npos);
  EXPECT_NE(page.find("@media print"), std::string::npos);
  // Self-contained: nothing to fetch, nothing to run.
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("<link"), std::string::npos);
  EXPECT_EQ(page.find("src="), std::string::npos);
  EXPECT_EQ(page.find("http://", page.find("</head>")), page.find("http://www.w3.org/2000/svg"))
      << "the only URL after the head is the SVG namespace";
  EXPECT_LT(page.find("<h2>Ladder</h2>"), page.find("<h2>Figures</h2>"));
  EXPECT_EQ(count(page, "<g class=\"ss-pkt"), 12u);

  const std::string python = find_program("python3");
  SVG_REQUIRE(!python.empty(), "python3 is not installed");
  const std::string dir = sockscope::testing::temp_dir("svg-html");
  write_file(dir + "/page.html", page);
  write_file(dir + "/check.py", kTagCheck);
  const Ran r = run({python, dir + "/check.py", dir + "/page.html"}, dir);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "OK Ladder|Figures\n");
}

TEST(SvgLadder, WriteReplacesTheFileWholeAndNamesAPathItCannotWrite) {
  SvgLadder v;
  feed(v, scenario_frames());
  const std::string dir = sockscope::testing::temp_dir("svg-write");
  const std::string path = dir + "/ladder.svg";
  write_file(path, "old");
  std::string error;
  ASSERT_TRUE(v.write(path, error)) << error;
  EXPECT_EQ(read_file(path), v.svg());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_NE(st.st_mode & S_IRGRP, 0u) << "readable by others, like any file the user writes";
  // No temporary file is left next to it.
  const Ran ls = run({"/bin/ls", "-A", dir}, sockscope::testing::temp_dir("svg-write-ls"));
  EXPECT_EQ(ls.out, "ladder.svg\n");

  const std::string bad = dir + "/no such folder/ladder.svg";
  EXPECT_FALSE(v.write(bad, error));
  EXPECT_NE(error.find(bad), std::string::npos) << error;
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
}

// The command line: sockscope annotate FILE --svg OUT prints the usual view and writes the picture.
TEST(SvgLadder, AnnotateWritesThePictureBesideTheUsualOutput) {
  const std::string bin = sockscope::testing::build_dir() + "/sockscope";
  SVG_REQUIRE(access(bin.c_str(), X_OK) == 0, "the sockscope binary is not built: " + bin);
  const std::string dir = sockscope::testing::temp_dir("svg-annotate");
  std::vector<testing::PcapRecord> records;
  for (const Frame& f : scenario_frames()) records.push_back({at_ms(f.t_ms), f.bytes, 0});
  ASSERT_TRUE(testing::write_capture(dir + "/chat.pcap", testing::CaptureFormat::PcapMicro, linktype::kEthernet, records));

  const Ran r = run({bin, "annotate", dir + "/chat.pcap", "--svg", dir + "/chat.svg"}, dir);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("handshake 1/3"), std::string::npos) << "the normal view still prints";
  const std::string svg = read_file(dir + "/chat.svg");
  EXPECT_EQ(count(svg, "<g class=\"ss-pkt"), 12u);
  EXPECT_NE(svg.find("retransmission of 4"), std::string::npos);

  const Ran ladder = run({bin, "annotate", dir + "/chat.pcap", "--ladder", "--svg", dir + "/l.svg"}, dir);
  EXPECT_EQ(ladder.status, 0) << ladder.err;
  EXPECT_NE(ladder.out.find("SYN"), std::string::npos);
  EXPECT_EQ(count(read_file(dir + "/l.svg"), "<g class=\"ss-pkt"), 12u);

  const Ran dash = run({bin, "annotate", dir + "/chat.pcap", "--svg", "-"}, dir);
  EXPECT_EQ(dash.status, 2);
  EXPECT_NE(dash.err.find("--svg"), std::string::npos) << dash.err;
  EXPECT_EQ(dash.out, "") << "usage errors come before any output";

  const std::string bad = dir + "/missing/chat.svg";
  const Ran unwritable = run({bin, "annotate", dir + "/chat.pcap", "--svg", bad}, dir);
  EXPECT_EQ(unwritable.status, 2) << "found before reading the capture";
  EXPECT_NE(unwritable.err.find(bad), std::string::npos) << unwritable.err;
}

}  // namespace
}  // namespace sockscope
