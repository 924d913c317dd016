// The four views on hand-filled packets: JSON lines that parse and carry the glossary keys, nothing
// from the wire reaching the terminal raw, colour only when asked, ladder arrows pointing the right way.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "sockscope/text/escape.hpp"
#include "fixtures.hpp"
#include "sockscope/views/views.hpp"

namespace sockscope {
namespace {

using testing::Captured;
using testing::tcp_annotation;
using testing::tcp_packet;
using testing::udp_packet;

constexpr std::uint16_t kSyn = tcpflag::kSyn, kAck = tcpflag::kAck, kFin = tcpflag::kFin, kPsh = tcpflag::kPsh;

// ---- a tiny strict JSON parser (RFC 8259), enough to check the lines and read their keys ----------

struct Json {
  enum class T { Null, Bool, Num, Str, Arr, Obj } t = T::Null;
  bool b = false;
  double n = 0;
  std::string s;
  std::vector<Json> a;
  std::map<std::string, Json> o;
  bool has(const std::string& k) const { return o.count(k) != 0; }
  const Json& operator[](const std::string& k) const { return o.at(k); }
};

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}
  bool parse(Json& out) {
    ws();
    if (!value(out)) return false;
    ws();
    return i_ == in_.size();
  }

 private:
  void ws() {
    while (i_ < in_.size() && (in_[i_] == ' ' || in_[i_] == '\t' || in_[i_] == '\n' || in_[i_] == '\r')) ++i_;
  }
  bool lit(std::string_view w) {
    if (in_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  bool value(Json& v) {
    if (i_ >= in_.size()) return false;
    const char c = in_[i_];
    if (c == '{') return object(v);
    if (c == '[') return array(v);
    if (c == '"') {
      v.t = Json::T::Str;
      return string(v.s);
    }
    if (lit("null")) return true;
    if (lit("true")) {
      v.t = Json::T::Bool;
      v.b = true;
      return true;
    }
    if (lit("false")) {
      v.t = Json::T::Bool;
      return true;
    }
    return number(v);
  }
  bool number(Json& v) {
    const std::size_t start = i_;
    if (i_ < in_.size() && in_[i_] == '-') ++i_;
    if (i_ >= in_.size() || !std::isdigit(static_cast<unsigned char>(in_[i_]))) return false;
    if (in_[i_] == '0' && i_ + 1 < in_.size() && std::isdigit(static_cast<unsigned char>(in_[i_ + 1])))
      return false;  // no leading zeros
    while (i_ < in_.size() && std::isdigit(static_cast<unsigned char>(in_[i_]))) ++i_;
    if (i_ < in_.size() && in_[i_] == '.') {
      ++i_;
      if (i_ >= in_.size() || !std::isdigit(static_cast<unsigned char>(in_[i_]))) return false;
      while (i_ < in_.size() && std::isdigit(static_cast<unsigned char>(in_[i_]))) ++i_;
    }
    v.t = Json::T::Num;
    v.n = std::strtod(std::string(in_.substr(start, i_ - start)).c_str(), nullptr);
    return true;
  }
  bool string(std::string& s) {
    ++i_;  // opening quote
    while (i_ < in_.size()) {
      const auto c = static_cast<unsigned char>(in_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return false;  // raw control characters are not allowed
      if (c == '\\') {
        if (++i_ >= in_.size()) return false;
        const char e = in_[i_++];
        switch (e) {
          case '"': s += '"'; break;
          case '\\': s += '\\'; break;
          case '/': s += '/'; break;
          case 'b': s += '\b'; break;
          case 'f': s += '\f'; break;
          case 'n': s += '\n'; break;
          case 'r': s += '\r'; break;
          case 't': s += '\t'; break;
          case 'u': {
            if (i_ + 4 > in_.size()) return false;
            const unsigned cp = static_cast<unsigned>(std::stoul(std::string(in_.substr(i_, 4)), nullptr, 16));
            i_ += 4;
            // Encode as UTF-8 (no surrogate pairs are produced by the views).
            if (cp < 0x80) {
              s += static_cast<char>(cp);
            } else if (cp < 0x800) {
              s += static_cast<char>(0xc0 | (cp >> 6));
              s += static_cast<char>(0x80 | (cp & 0x3f));
            } else {
              s += static_cast<char>(0xe0 | (cp >> 12));
              s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
              s += static_cast<char>(0x80 | (cp & 0x3f));
            }
            break;
          }
          default: return false;
        }
        continue;
      }
      if (c >= 0x80) {  // raw UTF-8 must be valid
        std::uint32_t cp = 0;
        const int len = text::utf8_decode(reinterpret_cast<const std::uint8_t*>(in_.data()) + i_, in_.size() - i_, cp);
        if (len <= 0) return false;
        s.append(in_.substr(i_, static_cast<std::size_t>(len)));
        i_ += static_cast<std::size_t>(len);
        continue;
      }
      s += static_cast<char>(c);
      ++i_;
    }
    return false;
  }
  bool array(Json& v) {
    v.t = Json::T::Arr;
    ++i_;
    ws();
    if (i_ < in_.size() && in_[i_] == ']') {
      ++i_;
      return true;
    }
    for (;;) {
      v.a.emplace_back();
      ws();
      if (!value(v.a.back())) return false;
      ws();
      if (i_ >= in_.size()) return false;
      if (in_[i_] == ']') {
        ++i_;
        return true;
      }
      if (in_[i_++] != ',') return false;
    }
  }
  bool object(Json& v) {
    v.t = Json::T::Obj;
    ++i_;
    ws();
    if (i_ < in_.size() && in_[i_] == '}') {
      ++i_;
      return true;
    }
    for (;;) {
      ws();
      std::string key;
      if (i_ >= in_.size() || in_[i_] != '"' || !string(key)) return false;
      if (v.o.count(key)) return false;  // duplicate keys would make the line ambiguous
      ws();
      if (i_ >= in_.size() || in_[i_++] != ':') return false;
      ws();
      if (!value(v.o[key])) return false;
      ws();
      if (i_ >= in_.size()) return false;
      if (in_[i_] == '}') {
        ++i_;
        return true;
      }
      if (in_[i_++] != ',') return false;
    }
  }

  std::string_view in_;
  std::size_t i_ = 0;
};

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

// ---- a small TCP conversation, a UDP exchange and some odd packets ---------------------------------

// A payload that tries to attack the terminal: colour, clear screen, C1 CSI, bidi override, invalid
// UTF-8, NUL, DEL, and some Chinese that must survive.
const std::string kEvil = std::string("\x1b[31mred\x1b[2J\x1b]0;title\x07 \xc2\x9b" "6n \xe2\x80\xae \xff\xfe\x80 ") +
                          std::string("\0\x7f", 2) + "中文\n";

struct Fixture {
  std::vector<Packet> packets;
  std::vector<Annotation> annotations;
  std::vector<ConnSummary> summaries;
};

Fixture conversation() {
  static const std::string hello = "hello";
  Fixture f;
  auto add = [&](const Packet& p, const Annotation& a) {
    f.packets.push_back(p);
    f.annotations.push_back(a);
  };
  {
    Annotation a = tcp_annotation(true, {Event::Handshake1});
    a.client_state = TcpState::SynSent;
    a.server_state = TcpState::Listen;
    a.seg_len = 1;
    Packet p = tcp_packet(1, 0, true, kSyn);
    p.tcp.has_mss = true;
    p.tcp.mss = 65495;
    add(p, a);
  }
  {
    Annotation a = tcp_annotation(false, {Event::Handshake2});
    a.rel_ack = 1;
    a.client_state = TcpState::SynSent;
    a.server_state = TcpState::SynReceived;
    add(tcp_packet(2, 31'000, false, kSyn | kAck), a);
  }
  {
    Annotation a = tcp_annotation(true, {Event::Handshake3});
    a.rel_seq = a.rel_ack = 1;
    add(tcp_packet(3, 42'000, true, kAck), a);
  }
  {
    Annotation a = tcp_annotation(true, {Event::Data});
    a.rel_seq = a.rel_ack = 1;
    a.data_first = 1;
    a.data_last = 5;
    add(tcp_packet(4, 130'000, true, kPsh | kAck, hello), a);
  }
  {
    Annotation a = tcp_annotation(true, {Event::Data});
    a.rel_seq = 6;
    a.rel_ack = 1;
    a.data_first = 6;
    a.data_last = 5 + static_cast<std::uint32_t>(kEvil.size());
    add(tcp_packet(5, 140'000, true, kPsh | kAck, kEvil), a);
  }
  {
    Annotation a = tcp_annotation(false, {Event::Ack});
    a.rel_seq = 1;
    a.rel_ack = 6 + static_cast<std::uint32_t>(kEvil.size());
    a.acked_first = 1;
    a.acked_last = 5 + static_cast<std::uint32_t>(kEvil.size());
    a.acked_frame_count = 2;
    a.acked_frames = {4, 5};
    add(tcp_packet(6, 150'000, false, kAck), a);
  }
  {
    Annotation a = tcp_annotation(true, {Event::Retransmission, Event::Data});
    a.rel_seq = 6;
    a.data_first = 6;
    a.data_last = 5 + static_cast<std::uint32_t>(kEvil.size());
    a.original_frame = 5;
    a.since_original_ns = 201'000'000;
    add(tcp_packet(7, 201'140'000, true, kPsh | kAck, kEvil), a);
  }
  {
    Annotation a = tcp_annotation(false, {Event::DupAck});
    a.dup_ack_of = 6;
    a.dup_ack_count = 1;
    add(tcp_packet(8, 201'200'000, false, kAck), a);
  }
  {
    Annotation a = tcp_annotation(true, {Event::Teardown1});
    a.client_state = TcpState::FinWait1;
    add(tcp_packet(9, 300'000'000, true, kFin | kAck), a);
  }
  {
    Annotation a = tcp_annotation(false, {Event::Teardown2, Event::Teardown3});
    a.fin_carries_ack = true;
    a.client_state = TcpState::FinWait2;
    a.server_state = TcpState::LastAck;
    add(tcp_packet(10, 300'100'000, false, kFin | kAck), a);
  }
  {
    Annotation a = tcp_annotation(true, {Event::Teardown4});
    a.client_state = TcpState::TimeWait;
    a.server_state = TcpState::Closed;
    add(tcp_packet(11, 300'200'000, true, kAck), a);
  }
  {  // UDP with the same evil payload
    Annotation a;
    a.conn = 2;
    a.proto = Proto::Udp;
    a.dir = Direction::C2S;
    a.events.add(Event::Datagram);
    a.datagram_index = 1;
    add(udp_packet(12, 400'000'000, true, kEvil), a);
    a.dir = Direction::S2C;
    static const std::string ok = "ok 中文";
    add(udp_packet(13, 400'100'000, false, ok), a);
  }
  {  // ICMP port unreachable answering frame 12, over IPv6 addresses to test [addr] formatting elsewhere
    Packet p = tcp_packet(14, 400'200'000, false, 0);
    p.transport = Transport::Icmp;
    p.payload = nullptr;
    p.payload_captured = p.payload_len = 0;
    p.icmp.type = 3;
    p.icmp.code = 3;
    p.icmp.unreachable = p.icmp.port_unreachable = true;
    Annotation a;
    a.proto = Proto::Icmp;
    a.events.add(Event::IcmpUnreachable);
    a.quotes_frame = 12;
    add(p, a);
  }
  {  // a malformed frame whose error strings carry an escape (as if a decoder passed wire text)
    Packet p = tcp_packet(15, 500'000'000, true, kAck);
    p.error = {DecodeStatus::Malformed, "tcp", "data offset is below 5 \x1b[5m", 46};
    Annotation a;
    a.events.add(Event::Malformed);
    add(p, a);
  }
  {  // IPv6
    Packet p = tcp_packet(16, 600'000'000, true, kSyn);
    p.ip.version = 6;
    p.ip.src = p.ip.dst = testing::v6_loopback();
    Annotation a = tcp_annotation(true, {Event::Handshake1});
    a.conn = 3;
    add(p, a);
  }
  f.summaries.push_back(testing::tcp_summary());
  f.summaries.push_back(testing::udp_summary());
  return f;
}

std::string run(ViewKind kind, ViewOptions opts = {}) {
  const Fixture f = conversation();
  Captured cap;
  {
    auto view = make_view(kind, cap.out(), opts);
    for (std::size_t i = 0; i < f.packets.size(); ++i) view->packet(f.packets[i], f.annotations[i]);
    for (const ConnSummary& s : f.summaries) view->conversation(s);
    view->finish();
  }
  return cap.text();
}

constexpr ViewKind kAllKinds[] = {ViewKind::Human, ViewKind::Ladder, ViewKind::Summary, ViewKind::Json};

// True when s is valid UTF-8 with no C0 control but '\n' (and ESC only when allowed), no DEL, no C1.
::testing::AssertionResult terminal_safe(const std::string& s, bool allow_esc) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  std::size_t i = 0;
  while (i < s.size()) {
    std::uint32_t cp = 0;
    const int len = text::utf8_decode(p + i, s.size() - i, cp);
    if (len <= 0) return ::testing::AssertionFailure() << "invalid UTF-8 at byte " << i;
    const bool control = (cp < 0x20 && cp != '\n' && !(allow_esc && cp == 0x1b)) || cp == 0x7f ||
                         (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e);
    if (control) return ::testing::AssertionFailure() << "control U+" << std::hex << cp << " at byte " << std::dec << i;
    i += static_cast<std::size_t>(len);
  }
  return ::testing::AssertionSuccess();
}

// ---- JSON --------------------------------------------------------------------------------------

TEST(JsonView, EveryLineParsesAndHasTheGlossaryKeys) {
  const std::string out = run(ViewKind::Json);
  const auto ls = lines(out);
  ASSERT_EQ(ls.size(), 18u);  // 16 packets + 2 conversations
  int packets = 0, conns = 0;
  for (const std::string& l : ls) {
    Json j;
    ASSERT_TRUE(Parser(l).parse(j)) << l;
    ASSERT_EQ(j.t, Json::T::Obj);
    if (j["type"].s == "packet") {
      ++packets;
      for (const char* k : {"frame", "ts", "conn", "proto", "src", "dst", "dir", "len", "events", "layers", "text"})
        EXPECT_TRUE(j.has(k)) << k << " missing in " << l;
      EXPECT_EQ(j["events"].t, Json::T::Arr);
      EXPECT_EQ(j["layers"].t, Json::T::Arr);
      EXPECT_FALSE(j["text"].s.empty());
      if (j["proto"].s == "tcp") {
        for (const char* k : {"flags", "seq", "ack", "win", "state"}) EXPECT_TRUE(j.has(k)) << k << " in " << l;
      }
    } else {
      ASSERT_EQ(j["type"].s, "conn");
      ++conns;
      for (const char* k : {"conn", "proto", "client", "server", "first_frame", "last_frame", "packets", "bytes",
                            "retransmissions", "dup_acks", "history", "conn_state"})
        EXPECT_TRUE(j.has(k)) << k << " missing in " << l;
    }
  }
  EXPECT_EQ(packets, 16);
  EXPECT_EQ(conns, 2);
}

TEST(JsonView, PacketLineCarriesTheAnnotation) {
  const auto ls = lines(run(ViewKind::Json));
  Json syn, synack, ack6, dup, icmp, bad, v6;
  ASSERT_TRUE(Parser(ls[0]).parse(syn));
  ASSERT_TRUE(Parser(ls[1]).parse(synack));
  ASSERT_TRUE(Parser(ls[5]).parse(ack6));
  ASSERT_TRUE(Parser(ls[7]).parse(dup));
  ASSERT_TRUE(Parser(ls[13]).parse(icmp));
  ASSERT_TRUE(Parser(ls[14]).parse(bad));
  ASSERT_TRUE(Parser(ls[15]).parse(v6));

  EXPECT_EQ(syn["frame"].n, 1);
  EXPECT_NE(ls[0].find("\"ts\":1700000000.000000000,"), std::string::npos) << ls[0];
  EXPECT_EQ(syn["src"].s, "127.0.0.1:51514");
  EXPECT_EQ(syn["dst"].s, "127.0.0.1:9000");
  EXPECT_EQ(syn["dir"].s, "c2s");
  EXPECT_EQ(syn["flags"].s, "S");
  EXPECT_EQ(syn["seq"].n, 0);
  EXPECT_EQ(syn["ack"].t, Json::T::Null);
  EXPECT_EQ(syn["state"]["client"].s, "SYN-SENT");
  EXPECT_EQ(syn["state"]["server"].s, "LISTEN");
  ASSERT_EQ(syn["events"].a.size(), 1u);
  EXPECT_EQ(syn["events"].a[0].s, "handshake-1");
  EXPECT_EQ(syn["text"].s, "handshake 1/3: the client asks to open a connection; its ISN is 1721634020");

  EXPECT_EQ(synack["flags"].s, "S.");
  EXPECT_EQ(synack["dir"].s, "s2c");
  EXPECT_EQ(synack["ack"].n, 1);

  ASSERT_TRUE(ack6.has("acks"));
  EXPECT_EQ(ack6["acks"]["first"].n, 1);
  ASSERT_EQ(ack6["acks"]["frames"].a.size(), 2u);
  EXPECT_EQ(ack6["acks"]["frames"].a[1].n, 5);

  EXPECT_EQ(dup["dup_ack_of"].n, 6);
  EXPECT_EQ(dup["dup_ack_count"].n, 1);

  EXPECT_EQ(icmp["proto"].s, "icmp");
  EXPECT_EQ(icmp["src"].s, "127.0.0.1");  // no port for ICMP
  EXPECT_EQ(icmp["quotes"].n, 12);
  EXPECT_EQ(icmp["dir"].t, Json::T::Null);
  EXPECT_EQ(icmp["events"].a[0].s, "icmp-unreachable");

  ASSERT_TRUE(bad.has("error"));
  EXPECT_EQ(bad["error"]["layer"].s, "tcp");
  EXPECT_EQ(bad["error"]["offset"].n, 46);
  EXPECT_EQ(bad["error"]["kind"].s, "malformed");
  EXPECT_EQ(bad["events"].a[0].s, "malformed");

  EXPECT_EQ(v6["src"].s, "[::1]:51514");
}

TEST(JsonView, ConnLinesHaveTcpAndUdpShapes) {
  const auto ls = lines(run(ViewKind::Json));
  Json tcp, udp;
  ASSERT_TRUE(Parser(ls[16]).parse(tcp));
  ASSERT_TRUE(Parser(ls[17]).parse(udp));
  EXPECT_EQ(tcp["client"].s, "127.0.0.1:51514");
  EXPECT_EQ(tcp["handshake"]["complete"].t, Json::T::Bool);
  EXPECT_TRUE(tcp["handshake"]["complete"].b);
  EXPECT_EQ(tcp["handshake"]["frames"].a.size(), 3u);
  EXPECT_EQ(tcp["close"].s, "fin-3");
  EXPECT_EQ(tcp["close_frames"].a.size(), 3u);
  EXPECT_EQ(tcp["history"].s, "ShADadFf");
  EXPECT_EQ(tcp["conn_state"].s, "SF");
  EXPECT_EQ(tcp["bytes"]["c2s"].n, 10);
  EXPECT_FALSE(tcp.has("datagrams"));
  EXPECT_EQ(udp["datagrams"]["c2s"].n, 3);
  EXPECT_EQ(udp["datagrams"]["s2c"].n, 2);
  EXPECT_FALSE(udp.has("handshake"));
  EXPECT_FALSE(udp.has("close"));
}

TEST(JsonView, EvilPayloadStaysInsideValidJson) {
  const std::string out = run(ViewKind::Json);
  EXPECT_TRUE(terminal_safe(out, false));
  EXPECT_NE(out.find("data offset is below 5 \\u001b[5m"), std::string::npos) << out;
}

// Python's json module as an independent second opinion, when python3 is there.
TEST(JsonView, PythonJsonModuleAcceptsEveryLine) {
  if (std::system("python3 -c 'import json' >/dev/null 2>&1") != 0) GTEST_SKIP() << "no python3";
  char path[] = "/tmp/sockscope_views_json_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string out = run(ViewKind::Json);
  ASSERT_EQ(write(fd, out.data(), out.size()), static_cast<ssize_t>(out.size()));
  close(fd);
  const std::string cmd = std::string("python3 -c 'import json,sys\n"
                                      "n=0\n"
                                      "for l in open(sys.argv[1], encoding=\"utf-8\", errors=\"strict\"):\n"
                                      "  o=json.loads(l); assert o[\"type\"] in (\"packet\",\"conn\"); n+=1\n"
                                      "assert n==18, n' ") +
                          path;
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  unlink(path);
}

// ---- escaping and colour in every view ----------------------------------------------------------

TEST(Views, NothingFromTheWireReachesTheOutputRaw) {
  for (ViewKind k : kAllKinds) {
    for (bool osi : {false, true}) {
      ViewOptions o;
      o.osi = osi;
      const std::string out = run(k, o);
      SCOPED_TRACE(static_cast<int>(k));
      EXPECT_TRUE(terminal_safe(out, false));
      EXPECT_EQ(out.find('\x1b'), std::string::npos);
    }
  }
}

TEST(Views, PayloadPreviewKeepsChineseAndEscapesTheRest) {
  for (ViewKind k : {ViewKind::Human, ViewKind::Ladder}) {
    const std::string out = run(k);
    EXPECT_NE(out.find("\\x1b[31mred"), std::string::npos) << out;
    EXPECT_NE(out.find("\"hello\""), std::string::npos) << out;
  }
  const std::string human = run(ViewKind::Human);
  EXPECT_NE(human.find("\\xff\\xfe\\x80"), std::string::npos) << human;
  EXPECT_NE(human.find("\\x00\\x7f\xe2\x80\xa6\""), std::string::npos) << human;  // cut at 40 bytes
  EXPECT_NE(human.find("\"ok 中文\""), std::string::npos) << human;
  EXPECT_NE(human.find("\\u{009b}"), std::string::npos) << human;
}

TEST(Views, ColourOnlyWhenAsked) {
  ViewOptions colour;
  colour.color = true;
  for (ViewKind k : {ViewKind::Human, ViewKind::Ladder}) {
    const std::string plain = run(k);
    const std::string coloured = run(k, colour);
    EXPECT_EQ(plain.find('\x1b'), std::string::npos);
    EXPECT_NE(coloured.find("\x1b[32mhandshake 1/3"), std::string::npos) << coloured;
    EXPECT_NE(coloured.find("\x1b[34mteardown 1/4"), std::string::npos);
    EXPECT_NE(coloured.find("\x1b[31mretransmission of frame 5 after 201 ms; data: bytes 6..50"), std::string::npos);
    EXPECT_NE(coloured.find("\x1b[35mmalformed"), std::string::npos);
    EXPECT_NE(coloured.find("data: bytes 1..5"), std::string::npos);
    EXPECT_EQ(coloured.find("m data: bytes 1..5"), std::string::npos);  // data stays plain
    // The only escapes are our colours: the wire's \x1b[2J and the decoder's \x1b[5m stay escaped.
    EXPECT_EQ(coloured.find("\x1b[2J"), std::string::npos);
    EXPECT_EQ(coloured.find("\x1b[5m"), std::string::npos);
    EXPECT_TRUE(terminal_safe(coloured, true));
  }
  // Summary and JSON never colour.
  EXPECT_EQ(run(ViewKind::Json, colour).find('\x1b'), std::string::npos);
  EXPECT_EQ(run(ViewKind::Summary, colour).find('\x1b'), std::string::npos);
}

// ---- human ----------------------------------------------------------------------------------------

TEST(HumanView, PacketLineHasTimeConnDirectionFlagsAndNumbers) {
  const auto ls = lines(run(ViewKind::Human));
  // Line 0 is the column header; each packet then takes two lines.
  EXPECT_EQ(ls[1], "     1     0.000  #1   c\xe2\x86\x92s  127.0.0.1:51514 \xe2\x86\x92 127.0.0.1:9000  TCP [S] seq 0 win 65495 len 0");
  EXPECT_EQ(ls[2], "                  handshake 1/3: the client asks to open a connection; its ISN is 1721634020");
  EXPECT_NE(ls[3].find("c\xe2\x86\x90s  127.0.0.1:9000 \xe2\x86\x92 127.0.0.1:51514  TCP [S.] seq 0 ack 1"),
            std::string::npos)
      << ls[3];
  EXPECT_NE(ls[7].find("     0.130  #1   c\xe2\x86\x92s"), std::string::npos) << ls[7];  // 130 us, in ms
  EXPECT_NE(ls[7].find("TCP [P.] seq 1 ack 1 win 65495 len 5  \"hello\""), std::string::npos) << ls[7];
  EXPECT_NE(ls[13].find("   201.140  #1"), std::string::npos) << ls[13];
}

TEST(HumanView, ConversationLineIsCompact) {
  const std::string out = run(ViewKind::Human);
  EXPECT_NE(out.find("conn 1 tcp 127.0.0.1:51514 -> 127.0.0.1:9000  closed fin-3  history ShADadFf  SF  12 packets\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("conn 2 udp 127.0.0.1:40000 -> 127.0.0.1:9001  datagrams 3 c\xe2\x86\x92s, 2 s\xe2\x86\x92" "c  SF  5 packets\n"),
            std::string::npos)
      << out;
}

TEST(HumanView, OsiBlockGoesFromL7DownToL1) {
  ViewOptions o;
  o.osi = true;
  const std::string out = run(ViewKind::Human, o);
  const std::size_t frame4 = out.find("frame 4  59 bytes on the wire, 59 captured");
  ASSERT_NE(frame4, std::string::npos) << out;
  const char* order[] = {"L7 application  \"hello\"", "L5-6", "L4 transport    tcp", "L3 network      ipv4",
                         "L2 data link    ethernet", "L1 physical     (not in a capture"};
  std::size_t at = frame4;
  for (const char* s : order) {
    const std::size_t next = out.find(s, at);
    ASSERT_NE(next, std::string::npos) << s << "\n" << out.substr(frame4, 1200);
    at = next;
  }
}

// ---- ladder ---------------------------------------------------------------------------------------

TEST(LadderView, ArrowsPointFromSenderToReceiver) {
  const auto ls = lines(run(ViewKind::Ladder));
  const std::string dash = "\xe2\x94\x80", right = "\xe2\x96\xb6", left = "\xe2\x97\x80";
  auto line_of = [&](const char* frame) -> std::string {
    for (const std::string& l : ls)
      if (l.rfind(frame, 0) == 0) return l;
    return {};
  };
  const std::string syn = line_of("     1 ");
  const std::string synack = line_of("     2 ");
  const std::string data = line_of("     4 ");
  ASSERT_FALSE(syn.empty());
  ASSERT_FALSE(synack.empty());
  // c2s: starts with ──, the label, then ▶ at the server's side.
  EXPECT_NE(syn.find("  " + dash + dash + "SYN seq=0 win=65495 mss=65495" + dash), std::string::npos) << syn;
  EXPECT_NE(syn.find(right + "  handshake 1/3"), std::string::npos) << syn;
  EXPECT_EQ(syn.find(left), std::string::npos);
  // s2c: ◀ at the client's side, the label next to the server.
  EXPECT_NE(synack.find("  " + left + dash), std::string::npos) << synack;
  EXPECT_NE(synack.find("SYN,ACK seq=0 ack=1 win=65495" + dash + dash + "  handshake 2/3"), std::string::npos) << synack;
  EXPECT_EQ(synack.find(right), std::string::npos);
  EXPECT_NE(data.find("PSH,ACK seq=1:6 len=5 \"hello\""), std::string::npos) << data;
  // Arrows of both directions end in the same column.
  EXPECT_EQ(text::display_width(syn.substr(0, syn.find("  handshake"))),
            text::display_width(synack.substr(0, synack.find("  handshake"))));
}

TEST(LadderView, HeaderNamesBothEndpointsOncePerConversation) {
  const std::string out = run(ViewKind::Ladder);
  EXPECT_NE(out.find("conn 1 tcp:"), std::string::npos) << out;
  EXPECT_NE(out.find("client 127.0.0.1:51514"), std::string::npos);
  EXPECT_NE(out.find("server 127.0.0.1:9000"), std::string::npos);
  EXPECT_NE(out.find("client 127.0.0.1:40000"), std::string::npos);
  EXPECT_EQ(out.find("conn 1 tcp:"), out.rfind("conn 1 tcp:"));
  // ICMP is one plain line, no arrow.
  const std::size_t icmp = out.find("ICMP port unreachable: answers frame 12");
  ASSERT_NE(icmp, std::string::npos);
  const std::size_t bol = out.rfind('\n', icmp) + 1;
  EXPECT_EQ(out.substr(bol, icmp - bol).find("\xe2\x94\x80"), std::string::npos);
}

TEST(LadderView, NarrowWidthStillFitsTheArrow) {
  ViewOptions o;
  o.width = 40;
  for (const std::string& l : lines(run(ViewKind::Ladder, o))) EXPECT_TRUE(terminal_safe(l, false));
}

// ---- summary --------------------------------------------------------------------------------------

TEST(SummaryView, OneBlockPerConversationAndTotals) {
  const std::string out = run(ViewKind::Summary);
  EXPECT_EQ(out.find("handshake 1/3"), std::string::npos);  // nothing per packet
  EXPECT_NE(out.find("conn 1  tcp  client 127.0.0.1:51514  server 127.0.0.1:9000"), std::string::npos) << out;
  EXPECT_NE(out.find("handshake: complete (frames 1, 2, 3)"), std::string::npos) << out;
  EXPECT_NE(out.find("close: fin-3 (frames 9, 10, 11)"), std::string::npos) << out;
  EXPECT_NE(out.find("history ShADadFf  conn_state SF: opened and closed normally"), std::string::npos) << out;
  EXPECT_NE(out.find("datagrams: client\xe2\x86\x92server 3, server\xe2\x86\x92" "client 2"), std::string::npos) << out;
  EXPECT_NE(out.find("conn_state SF: both sides sent datagrams"), std::string::npos) << out;
  EXPECT_NE(out.find("totals: 16 packets"), std::string::npos) << out;
  EXPECT_NE(out.find("2 conversations (1 tcp, 1 udp)"), std::string::npos) << out;
}

}  // namespace
}  // namespace sockscope

namespace sockscope {
namespace {

TEST(LadderView, SaysWhichConversationWhenTheyInterleave) {
  Captured cap;
  auto view = make_view(ViewKind::Ladder, cap.out(), ViewOptions{});
  Annotation a1 = tcp_annotation(true, {Event::Handshake1});
  Annotation a2 = a1;
  a2.conn = 2;
  view->packet(tcp_packet(1, 0, true, kSyn), a1);
  view->packet(tcp_packet(2, 1000, true, kSyn), a2);
  view->packet(tcp_packet(3, 2000, true, kSyn), a1);
  view->finish();
  const std::string out = cap.text();
  EXPECT_NE(out.find("conn 1 tcp:"), std::string::npos) << out;
  EXPECT_NE(out.find("conn 2 tcp:"), std::string::npos) << out;
  EXPECT_NE(out.find("(conn 1)\n     3 "), std::string::npos) << out;
}

// Random bytes as payloads, through every view: the output stays terminal-safe and the JSON parses.
TEST(Views, RandomPayloadsNeverEscapeRaw) {
  std::uint32_t state = 12345;
  auto next = [&] {
    state = state * 1103515245u + 12345u;
    return static_cast<std::uint8_t>(state >> 16);
  };
  std::vector<std::string> payloads(200);
  for (std::string& s : payloads) {
    const std::size_t n = next() % 64;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<char>(next());
  }
  for (ViewKind k : kAllKinds) {
    ViewOptions o;
    o.osi = true;
    Captured cap;
    {
      auto view = make_view(k, cap.out(), o);
      std::uint64_t frame = 1;
      for (const std::string& s : payloads) {
        Annotation a = tcp_annotation(frame % 2 == 0, {Event::Data});
        view->packet(tcp_packet(frame, static_cast<std::int64_t>(frame) * 1000, frame % 2 == 0, kAck | kPsh, s), a);
        ++frame;
      }
      view->finish();
    }
    const std::string out = cap.text();
    EXPECT_TRUE(terminal_safe(out, false)) << static_cast<int>(k);
    if (k == ViewKind::Json) {
      for (const std::string& l : lines(out)) {
        Json j;
        EXPECT_TRUE(Parser(l).parse(j)) << l;
      }
    }
  }
}

}  // namespace
}  // namespace sockscope
