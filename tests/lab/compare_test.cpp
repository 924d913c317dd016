// sockscope compare, for real: the same numbered conversation over TCP and UDP with live captures, on
// loopback and between the two lab hosts with 20% loss. The lab test recounts the figures from the
// saved captures (sockscope annotate --json, and tshark for the bytes and the retransmissions), so
// the table is checked against the packets, not against itself. Needs root (skipped elsewhere, a
// failure in CI). Suite names hold "Lab": one lab at a time (ctest RESOURCE_LOCK sockscope_lab).
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "../e2e/e2e_support.hpp"
#include "sockscope/lessons/compare.hpp"

namespace {

#define COMPARE_REQUIRE_ROOT() \
  E2E_REQUIRE(geteuid() == 0, "compare captures packets (and builds the lab): run the tests as root")

const char* const kFigureKeys[] = {"messages_sent", "messages_delivered", "messages_lost", "messages_duplicated",
                                   "messages_merged", "packets", "bytes_by_layer", "overhead_pct",
                                   "first_byte_ms", "retransmissions"};
const char* const kPacketKeys[] = {"handshake", "data", "ack", "teardown", "retransmission", "total"};
const char* const kLayerKeys[] = {"2", "3", "4", "7"};

// The one JSON object `compare --json` prints.
e2e::Json compare_json(const e2e::RunResult& r) {
  std::string error;
  const auto lines = e2e::json_lines(r.out, error);
  EXPECT_TRUE(error.empty()) << error;
  EXPECT_EQ(lines.size(), 1u) << r.out;
  return lines.empty() ? e2e::Json{} : lines.front();
}

void expect_every_key(const e2e::Json& j) {
  for (const char* proto : {"tcp", "udp"}) {
    const e2e::Json& f = j[proto];
    ASSERT_EQ(f.kind, e2e::Json::Kind::Object) << proto;
    for (const char* k : kFigureKeys) EXPECT_TRUE(f.has(k)) << proto << "." << k;
    for (const char* k : kPacketKeys) EXPECT_EQ(f["packets"][k].kind, e2e::Json::Kind::Number) << proto << ".packets." << k;
    for (const char* k : kLayerKeys)
      EXPECT_EQ(f["bytes_by_layer"][k].kind, e2e::Json::Kind::Number) << proto << ".bytes_by_layer." << k;
  }
}

bool has_word(const e2e::Json& packet, const char* prefix) {
  for (const e2e::Json& e : packet["events"].items)
    if (e.str().rfind(prefix, 0) == 0) return true;
  return false;
}

// The figures, recounted from `sockscope annotate FILE --json`: roles from each packet's events and
// flags (the first that fits: retransmission, handshake, teardown, data, pure ACK), bytes from its
// layers (an IP fragment counts its own headers: docs/compare.md).
struct Recount {
  std::int64_t handshake = 0, data = 0, ack = 0, teardown = 0, retransmission = 0, total = 0;
  std::int64_t l2 = 0, l3 = 0, l4 = 0, l7 = 0;
};

Recount recount(const std::string& pcap) {
  Recount c;
  const e2e::RunResult r = e2e::sockscope({"annotate", pcap, "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  std::string error;
  const auto lines = e2e::json_lines(r.out, error);
  EXPECT_TRUE(error.empty()) << error;
  for (const e2e::Json* p : e2e::of_type(lines, "packet")) {
    ++c.total;
    const std::string flags = (*p)["flags"].str();
    if (e2e::has_event(*p, "retransmission"))
      ++c.retransmission;
    else if (has_word(*p, "handshake-"))
      ++c.handshake;
    else if (has_word(*p, "teardown-"))
      ++c.teardown;
    else if (e2e::has_event(*p, "data") || e2e::has_event(*p, "datagram") || e2e::has_event(*p, "ip-fragment"))
      ++c.data;
    else if ((*p)["proto"].str() == "tcp" && (*p)["len"].i64() == 0 && flags.find('.') != std::string::npos &&
             flags.find_first_of("SFR") == std::string::npos)
      ++c.ack;
    bool fragment = false;
    std::int64_t fragment_data = 0, frag_offset = 0;
    for (const e2e::Json& layer : (*p)["layers"].items) {
      const std::int64_t osi = layer["osi"].i64(), len = layer["length"].i64();
      const std::string name = layer["name"].str();
      if (osi == 2) c.l2 += len;
      if (name == "ipv4") {
        c.l3 += len;
        const e2e::Json& f = layer["fields"];
        frag_offset = f["frag_offset"].i64();
        fragment = f["mf"].b || frag_offset != 0;
        fragment_data = f["total_len"].i64() - f["header_len"].i64();
      }
      if (name == "ipv6") c.l3 += len;
      if (!fragment && osi == 4) c.l4 += len;
      if (!fragment && osi == 7) c.l7 += layer["fields"]["length"].i64();
    }
    if (fragment) {
      const std::int64_t l4 = frag_offset == 0 ? 8 : 0;  // compare's fragments are UDP ones
      c.l4 += l4;
      c.l7 += fragment_data - l4;
    }
  }
  return c;
}

// Lines of tshark's output for a display filter (one per matching frame).
std::int64_t tshark_count(const std::string& pcap, const std::string& filter) {
  const e2e::RunResult r = e2e::run({"tshark", "-r", pcap, "-Y", filter});
  EXPECT_EQ(r.status, 0) << r.err;
  std::int64_t n = 0;
  for (char ch : r.out) n += ch == '\n';
  return n;
}

// The sum of every frame's length (tshark's frame.len): all bytes on the wire, headers and payload.
std::int64_t tshark_bytes(const std::string& pcap) {
  const e2e::RunResult r = e2e::run({"tshark", "-r", pcap, "-T", "fields", "-e", "frame.len"});
  EXPECT_EQ(r.status, 0) << r.err;
  std::istringstream in(r.out);
  std::int64_t sum = 0, v = 0;
  while (in >> v) sum += v;
  return sum;
}

void expect_matches_capture(const e2e::Json& f, const std::string& pcap, const char* proto) {
  SCOPED_TRACE(std::string(proto) + " " + pcap);
  ASSERT_TRUE(std::filesystem::exists(pcap));
  const Recount c = recount(pcap);
  const e2e::Json& pk = f["packets"];
  EXPECT_EQ(pk["handshake"].i64(), c.handshake);
  EXPECT_EQ(pk["data"].i64(), c.data);
  EXPECT_EQ(pk["ack"].i64(), c.ack);
  EXPECT_EQ(pk["teardown"].i64(), c.teardown);
  EXPECT_EQ(pk["retransmission"].i64(), c.retransmission);
  EXPECT_EQ(pk["total"].i64(), c.total);
  EXPECT_EQ(f["retransmissions"].i64(), c.retransmission);
  const e2e::Json& b = f["bytes_by_layer"];
  EXPECT_EQ(b["2"].i64(), c.l2);
  EXPECT_EQ(b["3"].i64(), c.l3);
  EXPECT_EQ(b["4"].i64(), c.l4);
  EXPECT_EQ(b["7"].i64(), c.l7);
  // Independent of sockscope's decoder: tshark's frame count and byte total, and its retransmissions.
  EXPECT_EQ(pk["total"].i64(), tshark_count(pcap, "frame"));
  EXPECT_EQ(c.l2 + c.l3 + c.l4 + c.l7, tshark_bytes(pcap));
  if (std::string(proto) == "tcp") {
    EXPECT_EQ(f["retransmissions"].i64(), tshark_count(pcap, "tcp.analysis.retransmission"))
        << "frames tshark calls retransmissions:\n"
        << e2e::run({"tshark", "-r", pcap, "-Y", "tcp.analysis.retransmission", "-T", "fields", "-e", "frame.number",
                     "-e", "tcp.analysis.initial_rtt"})
               .out
        << "frames tshark calls out-of-order:\n"
        << e2e::run({"tshark", "-r", pcap, "-Y", "tcp.analysis.out_of_order", "-T", "fields", "-e", "frame.number"}).out;
  }
  const double headers = static_cast<double>(c.l2 + c.l3 + c.l4);
  EXPECT_NEAR(f["overhead_pct"].num, 100.0 * headers / (headers + static_cast<double>(c.l7)), 0.01);
}

std::string lab_leftovers() {
  const e2e::RunResult ns = e2e::run({"ip", "netns", "list"});
  return ns.out.find("sockscope-") != std::string::npos ? ns.out : std::string();
}

TEST(CompareLoopbackLab, EveryMessageArrivesAndTcpPaysAHandshake) {
  COMPARE_REQUIRE_ROOT();
  // compare::run gives root up to the sudo user once its captures are open: run here, in the test's
  // own process, it would take root from the tests that follow when they are run under sudo.
  unsetenv("SUDO_UID");
  unsetenv("SUDO_GID");
  sockscope::compare::Options opts;
  opts.messages = 10;
  const sockscope::compare::Result r = sockscope::compare::run(opts);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.tcp.messages_sent, 10u);
  EXPECT_EQ(r.tcp.messages_delivered, 10u);
  EXPECT_EQ(r.udp.messages_sent, 10u);
  EXPECT_EQ(r.udp.messages_delivered, 10u);
  EXPECT_EQ(r.udp.messages_lost, 0u);
  EXPECT_EQ(r.tcp.pk_handshake, 3u);
  EXPECT_TRUE(r.tcp.pk_teardown == 3 || r.tcp.pk_teardown == 4) << r.tcp.pk_teardown;
  EXPECT_EQ(r.udp.pk_handshake, 0u);
  EXPECT_EQ(r.udp.pk_teardown, 0u);
  EXPECT_EQ(r.udp.pk_data, 10u);  // one datagram a message
  EXPECT_EQ(r.udp.pk_total, 10u);
  EXPECT_EQ(r.udp.recv_calls, 10u);
  EXPECT_EQ(r.udp.messages_merged, 0u);
  // Loopback has a 14-byte (zero-MAC) Ethernet header, IPv4 20, UDP 8, the message 32.
  EXPECT_EQ(r.udp.bytes_l2, 140u);
  EXPECT_EQ(r.udp.bytes_l3, 200u);
  EXPECT_EQ(r.udp.bytes_l4, 80u);
  EXPECT_EQ(r.udp.bytes_l7, 320u);
  EXPECT_EQ(r.tcp.bytes_l7, 320u);
  EXPECT_GT(r.tcp.overhead_pct, r.udp.overhead_pct);
  EXPECT_GE(r.tcp.first_byte_ms, 0.0);
  EXPECT_GE(r.udp.first_byte_ms, 0.0);
  EXPECT_EQ(r.tcp_ladder.size(), r.tcp.pk_total);
  ASSERT_FALSE(r.tcp_ladder.empty());
  EXPECT_NE(r.tcp_ladder.front().find("→ SYN"), std::string::npos) << r.tcp_ladder.front();
  EXPECT_NE(r.tcp_svg.find("<svg"), std::string::npos);
  EXPECT_NE(r.udp_svg.find("<svg"), std::string::npos);

  // The text: the table's figures and a verdict drawn from them.
  const std::string text = sockscope::compare::render_text(opts, r, 100, false);
  EXPECT_NE(text.find("TCP needed 3 packets before the first byte"), std::string::npos) << text;
  EXPECT_NE(text.find("UDP delivered all 10 messages"), std::string::npos) << text;
  EXPECT_NE(text.find("layer 7 payload (application)"), std::string::npos) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << "colour only when asked";
  EXPECT_NE(sockscope::compare::render_text(opts, r, 100, true).find("\x1b["), std::string::npos);
}

TEST(CompareLoopbackLab, JsonHasEveryKeyAndHtmlBothDiagrams) {
  COMPARE_REQUIRE_ROOT();
  const std::string dir = sockscope::testing::temp_dir("compare-cli");
  const std::string html = dir + "/compare.html";
  const e2e::RunResult r =
      e2e::sockscope({"compare", "--messages", "5", "--json", "--html", html, "--svg", dir + "/ladder"});
  ASSERT_EQ(r.status, 0) << r.err;
  const e2e::Json j = compare_json(r);
  expect_every_key(j);
  EXPECT_EQ(j["tcp"]["messages_sent"].i64(), 5);
  EXPECT_EQ(j["udp"]["messages_delivered"].i64(), 5);
  EXPECT_EQ(j["messages"].i64(), 5);
  EXPECT_FALSE(j["lab"].b);
  const std::string page = e2e::read_file(html);
  std::size_t svgs = 0;
  for (std::size_t at = page.find("<svg"); at != std::string::npos; at = page.find("<svg", at + 1)) ++svgs;
  EXPECT_EQ(svgs, 2u);
  EXPECT_NE(page.find("<table"), std::string::npos);
  EXPECT_NE(page.find("layer 4 headers (transport)"), std::string::npos);
  EXPECT_NE(page.find("TCP needed"), std::string::npos);
  for (const char* proto : {"tcp", "udp"}) {
    const std::string svg = dir + "/ladder-" + proto + ".svg";
    EXPECT_NE(e2e::read_file(svg).find("<svg"), std::string::npos) << svg;
    if (e2e::have_tool("rsvg-convert")) {
      const e2e::RunResult png = e2e::run({"rsvg-convert", svg, "-o", svg + ".png"});
      EXPECT_EQ(png.status, 0) << png.err;
    }
  }
}

// Issue 7 item 6: under sudo, compare gives root up (to the sudo user) once both captures are open,
// before it decodes a packet, and the saved captures belong to that user. SUDO_UID and SUDO_GID stand
// for sudo here (nobody: 65534). The folder is writable by everyone and, like /tmp, sticky: there only
// a file's owner may rename it (unlink(2)), and each capture gets its final name after the drop.
TEST(CompareLoopbackLab, UnderSudoTheRunDropsRootAndTheUserOwnsTheCaptures) {
  COMPARE_REQUIRE_ROOT();
  std::string tmpl = (std::filesystem::temp_directory_path() / "sockscope-compare-priv-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
  const std::string dir = tmpl;
  ASSERT_EQ(chmod(dir.c_str(), 01777), 0) << std::strerror(errno);
  const std::string prefix = dir + "/p";
  const e2e::RunResult r = e2e::run({"env", "SUDO_UID=65534", "SUDO_GID=65534", SOCKSCOPE_BINARY, "compare",
                                     "--messages", "3", "--json", "-w", prefix});
  ASSERT_EQ(r.status, 0) << r.err;
  const e2e::Json j = compare_json(r);
  expect_every_key(j);
  for (const char* proto : {"tcp", "udp"}) {
    SCOPED_TRACE(proto);
    EXPECT_EQ(j[proto]["messages_sent"].i64(), 3);
    EXPECT_EQ(j[proto]["messages_delivered"].i64(), 3);
    EXPECT_EQ(j[proto]["messages_lost"].i64(), 0);
  }
  EXPECT_EQ(j["tcp"]["packets"]["handshake"].i64(), 3);
  // The UDP capture is open while TCP runs: it takes only UDP to its own server, so 3 datagrams.
  EXPECT_EQ(j["udp"]["packets"]["total"].i64(), 3);
  EXPECT_EQ(j["udp"]["packets"]["data"].i64(), 3);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"p-tcp.pcapng", "p-udp.pcapng"})) << "no temporary file is left";
  for (const char* proto : {"tcp", "udp"}) {
    const std::string pcap = prefix + "-" + proto + ".pcapng";
    struct stat sb {};
    ASSERT_EQ(stat(pcap.c_str(), &sb), 0) << pcap;
    EXPECT_EQ(sb.st_uid, 65534u) << pcap;
    EXPECT_EQ(sb.st_gid, 65534u) << pcap;
    EXPECT_GT(sb.st_size, 0) << pcap;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// The same, seen from inside: the effective uid when the run decoded its first packet. In a child
// process, since the run gives root up for the whole process, for good.
TEST(CompareLoopbackLab, UnderSudoTheFirstPacketIsDecodedAsTheUser) {
  COMPARE_REQUIRE_ROOT();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0) << std::strerror(errno);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    close(fds[0]);
    setenv("SUDO_UID", "65534", 1);
    setenv("SUDO_GID", "65534", 1);
    sockscope::compare::Options opts;
    opts.messages = 3;
    const sockscope::compare::Result r = sockscope::compare::run(opts);
    char line[512];
    const int n = std::snprintf(line, sizeof line, "%d %lld %llu %llu %u %s", r.ok ? 1 : 0,
                                static_cast<long long>(r.decode_euid),
                                static_cast<unsigned long long>(r.tcp.messages_delivered),
                                static_cast<unsigned long long>(r.udp.messages_delivered),
                                static_cast<unsigned>(geteuid()), r.error.c_str());
    const bool written = n > 0 && write(fds[1], line, std::min(static_cast<std::size_t>(n), sizeof line - 1)) > 0;
    _exit(written ? 0 : 1);
  }
  close(fds[1]);
  std::string got;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << got;
  std::istringstream in(got);
  int ok = 0;
  long long euid = -2;
  unsigned long long tcp_delivered = 0, udp_delivered = 0;
  unsigned euid_after = 0;
  in >> ok >> euid >> tcp_delivered >> udp_delivered >> euid_after;
  ASSERT_EQ(ok, 1) << got;
  EXPECT_EQ(euid, 65534) << "the first packet was decoded with root given up";
  EXPECT_EQ(euid_after, 65534u);
  EXPECT_EQ(tcp_delivered, 3u);
  EXPECT_EQ(udp_delivered, 3u);
}

TEST(CompareCliLab, LossWithoutTheLabIsAUsageError) {
  const e2e::RunResult r = e2e::sockscope({"compare", "--loss", "20"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--loss"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--lab"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  const e2e::RunResult bad = e2e::sockscope({"compare", "--messages", "0"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--messages"), std::string::npos) << bad.err;
  const e2e::RunResult size = e2e::sockscope({"compare", "--size", "3"});
  EXPECT_EQ(size.status, 2);
  EXPECT_NE(size.err.find("--size"), std::string::npos) << size.err;
}

// Done when (issue 5): `sockscope compare --lab --loss 20` prints figures that match a recount from
// its own captures.
TEST(CompareLab, FiguresWithLossMatchARecountFromTheSavedCaptures) {
  COMPARE_REQUIRE_ROOT();
  E2E_REQUIRE(e2e::have_tool("ip") && e2e::have_tool("nft"), "the lab needs iproute2 and nftables");
  E2E_REQUIRE(e2e::have_tool("tshark"), "the recount checks retransmissions and bytes with tshark");
  const std::string prefix = sockscope::testing::temp_dir("compare-lab") + "/run";
  const e2e::RunResult r =
      e2e::sockscope({"compare", "--lab", "--loss", "20", "--messages", "40", "-w", prefix, "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(lab_leftovers(), "") << "the run removes its lab";
  const e2e::Json j = compare_json(r);
  expect_every_key(j);
  EXPECT_TRUE(j["lab"].b);
  EXPECT_EQ(j["loss_pct"].i64(), 20);
  const e2e::Json& tcp = j["tcp"];
  const e2e::Json& udp = j["udp"];
  EXPECT_EQ(tcp["messages_sent"].i64(), 40);
  EXPECT_EQ(tcp["messages_delivered"].i64(), 40) << "TCP delivers every message";
  EXPECT_EQ(tcp["messages_lost"].i64(), 0);
  EXPECT_EQ(udp["messages_sent"].i64(), 40);
  EXPECT_EQ(udp["messages_lost"].i64() + udp["messages_delivered"].i64(), 40);
  EXPECT_EQ(udp["retransmissions"].i64(), 0) << "UDP re-sends nothing";
  EXPECT_EQ(udp["packets"]["data"].i64(), 40) << "the capture at the client sees every datagram leave";
  expect_matches_capture(tcp, prefix + "-tcp.pcapng", "tcp");
  expect_matches_capture(udp, prefix + "-udp.pcapng", "udp");
}

}  // namespace

// --no-sack: the client host offers no SACK (its SYN carries no SACK-permitted option, read back from
// the saved capture), and TCP still delivers every message.
TEST(CompareLab, WithoutSackTheSynOffersNoSack) {
  COMPARE_REQUIRE_ROOT();
  E2E_REQUIRE(e2e::have_tool("ip") && e2e::have_tool("nft"), "the lab needs iproute2 and nftables");
  auto first_syn_offers_sack = [](const std::string& pcap) {
    const e2e::RunResult a = e2e::sockscope({"annotate", "--json", pcap});
    EXPECT_EQ(a.status, 0) << a.err;
    const std::string first = a.out.substr(0, a.out.find('\n'));
    EXPECT_NE(first.find("\"flags\":\"SYN\""), std::string::npos) << first;
    return first.find("\"sack_permitted\":true") != std::string::npos;
  };
  const std::string dir = sockscope::testing::temp_dir("compare-nosack");
  const e2e::RunResult r = e2e::sockscope(
      {"compare", "--lab", "--loss", "20", "--no-sack", "--messages", "30", "-w", dir + "/off", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(lab_leftovers(), "") << "the run removes its lab";
  const e2e::Json j = compare_json(r);
  EXPECT_EQ(j["tcp"]["messages_delivered"].i64(), 30) << "TCP recovers without SACK too";
  EXPECT_FALSE(first_syn_offers_sack(dir + "/off-tcp.pcapng"));
  const e2e::RunResult on = e2e::sockscope({"compare", "--lab", "--messages", "2", "-w", dir + "/on", "--json"});
  ASSERT_EQ(on.status, 0) << on.err;
  EXPECT_TRUE(first_syn_offers_sack(dir + "/on-tcp.pcapng")) << "by default the client offers SACK";
  const e2e::RunResult bad = e2e::sockscope({"compare", "--no-sack"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--lab"), std::string::npos) << bad.err;
}
