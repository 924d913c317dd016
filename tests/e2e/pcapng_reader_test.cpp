// sockscope's own pcapng reader (capture/pcap/src/file_reader.cpp) on files the tests write
// (tests/support/pcap_writer.hpp): several interfaces with different link types, snapshot lengths,
// timestamp resolutions and offsets, several sections in both byte orders, simple and obsolete packet
// blocks, blocks a reader must skip, and the JSON `interface` key the views add when a file has more
// than one interface. Damaged files are in hostile_files_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "e2e_support.hpp"
#include "fixtures.hpp"
#include "sockscope/pcap/pipeline.hpp"

namespace {

using sockscope::testing::PcapngBlock;
using sockscope::testing::PcapngInterface;
using sockscope::testing::PcapngSection;
using sockscope::testing::PcapRecord;
namespace lt = sockscope::linktype;

std::string write_bytes(const std::string& name, const std::vector<std::uint8_t>& bytes) {
  const std::string path = sockscope::testing::temp_dir("pcapng-" + name) + "/" + name;
  e2e::write_file(path, std::string(bytes.begin(), bytes.end()));
  return path;
}

std::vector<sockscope::Frame> read_all(const std::string& path, std::string& error,
                                       std::vector<std::vector<std::uint8_t>>* data = nullptr) {
  std::vector<sockscope::Frame> frames;
  auto src = sockscope::PcapSource::open(path, "", error);
  if (!src) return frames;
  sockscope::Frame f;
  while (src->next(f) == sockscope::ReadResult::Frame) {
    frames.push_back(f);
    if (data) data->emplace_back(f.data, f.data + f.caplen);
  }
  error = src->error();
  return frames;
}

// The exchange fixture's frames spread over three interfaces of three link types: frame i goes to
// interface i % 3, built for that interface's link type.
PcapngSection three_interfaces() {
  PcapngSection s;
  s.interfaces = {PcapngInterface{lt::kEthernet, 262144, "eth0", "the wired card", 9, 0},
                  PcapngInterface{lt::kLinuxSll2, 262144, "any", "", 6, 0},
                  PcapngInterface{lt::kRaw, 65535, "tun0", "", 0x80 | 30, 0}};
  const std::uint32_t types[] = {lt::kEthernet, lt::kLinuxSll2, lt::kRaw};
  std::vector<std::vector<PcapRecord>> per;
  for (std::uint32_t t : types) per.push_back(e2e::exchange_fixture(false, t));
  for (std::size_t i = 0; i < per[0].size(); ++i) {
    PcapRecord r = per[i % 3][i];
    r.interface = static_cast<std::uint32_t>(i % 3);
    r.ts = sockscope::Timestamp{1700000000 + static_cast<std::int64_t>(i), static_cast<std::uint32_t>(1000 * i)};
    s.records.push_back(r);
  }
  return s;
}

TEST(PcapngReader, EachFrameCarriesItsInterfacesLinkTypeAndClock) {
  const PcapngSection s = three_interfaces();
  const std::string path = write_bytes("three.pcapng", sockscope::testing::pcapng_bytes({s}));
  std::string error;
  std::vector<std::vector<std::uint8_t>> data;
  const auto frames = read_all(path, error, &data);
  EXPECT_EQ(error, "");
  ASSERT_EQ(frames.size(), s.records.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i + 1));
    EXPECT_EQ(frames[i].number, i + 1);
    EXPECT_EQ(frames[i].interface, i % 3);
    EXPECT_EQ(frames[i].linktype, s.interfaces[i % 3].linktype);
    EXPECT_EQ(data[i], s.records[i].data);
    EXPECT_EQ(frames[i].ts.sec, s.records[i].ts.sec);
    // Nanoseconds, microseconds and 2^-30 s: exact, to the microsecond, to one unit of 2^-30 s.
    const std::int64_t want = s.records[i].ts.nsec;
    const std::int64_t got = frames[i].ts.nsec;
    if (i % 3 == 0) {
      EXPECT_EQ(got, want);
    } else if (i % 3 == 1) {
      EXPECT_EQ(got, want / 1000 * 1000);
    } else {
      EXPECT_LE(want - got, 1);
    }
  }
  std::string err2;
  auto src = sockscope::PcapSource::open(path, "", err2);
  ASSERT_TRUE(src) << err2;
  ASSERT_EQ(src->interfaces().size(), 3u);  // known before the first frame
  EXPECT_EQ(src->interfaces()[0].name, "eth0");
  EXPECT_EQ(src->interfaces()[0].description, "the wired card");
  EXPECT_EQ(src->interfaces()[2].snaplen, 65535u);
  EXPECT_EQ(src->interfaces()[2].ts_units, 0x80u | 30u);
  EXPECT_EQ(src->linktype(), lt::kEthernet);
}

// The same conversation, spread over three link types, is analysed as one: the events are those of
// the Ethernet-only file, and every packet line names its interface.
TEST(PcapngReader, MixedLinkTypesAnalyseLikeOneInterface) {
  const std::string eth = write_bytes(
      "eth.pcapng", sockscope::testing::capture_bytes(sockscope::testing::CaptureFormat::PcapngNano, lt::kEthernet,
                                                   e2e::exchange_fixture(false, lt::kEthernet)));
  const std::string mixed = write_bytes("mixed.pcapng", sockscope::testing::pcapng_bytes({three_interfaces()}));
  const e2e::RunResult base = e2e::sockscope({"annotate", "--json", eth});
  const e2e::RunResult r = e2e::sockscope({"annotate", "--json", mixed});
  ASSERT_EQ(base.status, 0) << base.err;
  ASSERT_EQ(r.status, 0) << r.err;
  std::string error;
  const auto want = e2e::json_lines(base.out, error);
  const auto got = e2e::json_lines(r.out, error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(got.size(), want.size());
  const char* names[] = {"eth0", "any", "tun0"};
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("line " + std::to_string(i + 1));
    EXPECT_EQ(got[i]["events"].dump(), want[i]["events"].dump());
    EXPECT_EQ(got[i]["history"].dump(), want[i]["history"].dump());
    if (got[i]["type"].str() != "packet") continue;
    EXPECT_FALSE(want[i].has("interface")) << "a one-interface file names no interface";
    ASSERT_TRUE(got[i].has("interface"));
    const auto frame = static_cast<std::size_t>(got[i]["frame"].i64());
    EXPECT_EQ(got[i]["interface"].i64(), static_cast<std::int64_t>((frame - 1) % 3));
    EXPECT_EQ(got[i]["interface_name"].str(), names[(frame - 1) % 3]);
  }
  // The human view and the OSI block say it too.
  const e2e::RunResult h = e2e::sockscope({"annotate", "--osi", mixed});
  ASSERT_EQ(h.status, 0) << h.err;
  EXPECT_NE(h.out.find("interface 1 (any)"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("interface 2 (tun0)"), std::string::npos) << h.out;
}

// Two sections: little-endian with one interface, then big-endian with two (BSD loopback and
// Ethernet, one with a timestamp offset). Interface numbers run on across sections, as in Wireshark.
TEST(PcapngReader, SectionsInBothByteOrders) {
  auto eth = e2e::exchange_fixture(false, lt::kEthernet);
  auto null = e2e::exchange_fixture(false, lt::kNull);
  PcapngSection a;
  a.interfaces = {PcapngInterface{lt::kEthernet, 262144, "first", "", 9, 0}};
  PcapngSection b;
  b.big_endian = true;
  b.extra_blocks = true;
  b.interfaces = {PcapngInterface{lt::kNull, 262144, "lo0", "", 6, 0},
                  PcapngInterface{lt::kEthernet, 262144, "en0", "", 9, 3600}};
  for (int i = 0; i < 4; ++i) {
    PcapRecord r = eth[static_cast<std::size_t>(i)];
    r.ts = {1700000000 + i, 5};
    a.records.push_back(r);
  }
  for (std::size_t i = 4; i < eth.size(); ++i) {
    PcapRecord r = i % 2 ? null[i] : eth[i];
    r.interface = i % 2 ? 0 : 1;
    r.ts = {1700000100 + static_cast<std::int64_t>(i), 7000};
    b.records.push_back(r);
  }
  const std::string path = write_bytes("sections.pcapng", sockscope::testing::pcapng_bytes({a, b}));
  std::string error;
  const auto frames = read_all(path, error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(frames.size(), eth.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i + 1));
    const std::uint32_t want_if = i < 4 ? 0 : (i % 2 ? 1 : 2);
    EXPECT_EQ(frames[i].interface, want_if);
    EXPECT_EQ(frames[i].linktype, want_if == 1 ? lt::kNull : lt::kEthernet);
    const std::int64_t want_sec = i < 4 ? 1700000000 + static_cast<std::int64_t>(i)
                                        : 1700000100 + static_cast<std::int64_t>(i);
    EXPECT_EQ(frames[i].ts.sec, want_sec);  // if_tsoffset given back
    EXPECT_EQ(frames[i].ts.nsec, i < 4 ? 5u : 7000u);
  }
  const e2e::RunResult r = e2e::sockscope({"annotate", "--json", path});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("malformed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"interface\":2,\"interface_name\":\"en0\""), std::string::npos) << r.out;
}

// Simple packet blocks (no interface id, no timestamp: the previous packet's) and the obsolete packet
// block are packets too; an interface's snapshot length bounds a simple block's captured bytes.
TEST(PcapngReader, SimpleAndObsoletePacketBlocks) {
  auto recs = e2e::exchange_fixture(false, lt::kEthernet);
  PcapngSection s;
  s.interfaces = {PcapngInterface{lt::kEthernet, 60, "", "", 9, 0}};
  for (std::size_t i = 0; i < 6; ++i) {
    PcapRecord r = recs[i];
    r.ts = {1700000000, static_cast<std::uint32_t>(i)};
    r.block = i % 3 == 1 ? PcapngBlock::Simple : i % 3 == 2 ? PcapngBlock::Obsolete : PcapngBlock::Enhanced;
    if (r.block != PcapngBlock::Simple && r.data.size() > 60) {
      r.wirelen = static_cast<std::uint32_t>(r.data.size());
      r.data.resize(60);
    }
    s.records.push_back(r);
  }
  const std::string path = write_bytes("spb.pcapng", sockscope::testing::pcapng_bytes({s}));
  std::string error;
  std::vector<std::vector<std::uint8_t>> data;
  const auto frames = read_all(path, error, &data);
  EXPECT_EQ(error, "");
  ASSERT_EQ(frames.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) {
    SCOPED_TRACE("frame " + std::to_string(i + 1));
    const std::size_t whole = recs[i].data.size();
    EXPECT_EQ(frames[i].wirelen, whole);
    EXPECT_EQ(frames[i].caplen, std::min<std::size_t>(whole, 60));
    EXPECT_TRUE(std::equal(data[i].begin(), data[i].end(), recs[i].data.begin()));
    EXPECT_EQ(frames[i].ts.nsec, i % 3 == 1 ? i - 1 : i);
  }
}

// A filter is compiled for each link type the file uses.
TEST(PcapngReader, FilterWorksOnEveryInterface) {
  const std::string path = write_bytes("filter.pcapng", sockscope::testing::pcapng_bytes({three_interfaces()}));
  std::string error;
  auto src = sockscope::PcapSource::open(path, "tcp and src port 40000", error);
  ASSERT_TRUE(src) << error;
  sockscope::Frame f;
  std::vector<std::uint32_t> interfaces;
  std::size_t n = 0;
  while (src->next(f) == sockscope::ReadResult::Frame) {
    ++n;
    interfaces.push_back(f.interface);
  }
  EXPECT_EQ(src->error(), "");
  EXPECT_GE(n, 5u);
  EXPECT_LT(n, 14u);
  for (std::uint32_t i : {0u, 1u, 2u})
    EXPECT_NE(std::find(interfaces.begin(), interfaces.end(), i), interfaces.end()) << "interface " << i;
}

// Classic pcap in both byte orders and the "modified" variant with 24-byte record headers.
TEST(PcapngReader, ClassicPcapVariants) {
  const auto recs = e2e::exchange_fixture(false, lt::kEthernet);
  const auto le = sockscope::testing::capture_bytes(sockscope::testing::CaptureFormat::PcapNano, lt::kEthernet, recs);
  // Big-endian: swap every 32-bit header field, and the 16-bit version fields.
  std::vector<std::uint8_t> be = le;
  auto swap32 = [&](std::size_t at) { std::swap(be[at], be[at + 3]), std::swap(be[at + 1], be[at + 2]); };
  swap32(0);
  std::swap(be[4], be[5]);
  std::swap(be[6], be[7]);
  for (std::size_t at : {8u, 12u, 16u, 20u}) swap32(at);
  for (std::size_t off = 24; off + 16 <= be.size();) {
    const std::uint32_t caplen = le[off + 8] | (le[off + 9] << 8) | (le[off + 10] << 16) | (le[off + 11] << 24);
    for (std::size_t k = 0; k < 16; k += 4) swap32(off + k);
    off += 16 + caplen;
  }
  std::string error;
  std::vector<std::vector<std::uint8_t>> a, b;
  const auto fa = read_all(write_bytes("le.pcap", le), error, &a);
  EXPECT_EQ(error, "");
  const auto fb = read_all(write_bytes("be.pcap", be), error, &b);
  EXPECT_EQ(error, "");
  ASSERT_EQ(fa.size(), recs.size());
  ASSERT_EQ(fb.size(), recs.size());
  EXPECT_EQ(a, b);
  for (std::size_t i = 0; i < fa.size(); ++i) EXPECT_EQ(fa[i].ts, fb[i].ts);
}

}  // namespace
