// The test-side capture writer: the bytes follow the pcap and pcapng formats.
#include <gtest/gtest.h>

#include "frame_builder.hpp"
#include "pcap_writer.hpp"

using namespace sockscope;
using namespace sockscope::testing;

namespace {
std::uint32_t le32_at(const std::vector<std::uint8_t>& b, std::size_t at) {
  return std::uint32_t{b[at]} | (std::uint32_t{b[at + 1]} << 8) | (std::uint32_t{b[at + 2]} << 16) |
         (std::uint32_t{b[at + 3]} << 24);
}
std::vector<PcapRecord> records() {
  return {PcapRecord{Timestamp{1700000000, 123456789}, Bytes{1, 2, 3, 4, 5}, 0},
          PcapRecord{Timestamp{1700000001, 5000}, Bytes{9, 9, 9}, 60}};
}
}  // namespace

TEST(PcapWriter, ClassicMicroseconds) {
  const auto b = capture_bytes(CaptureFormat::PcapMicro, linktype::kEthernet, records());
  ASSERT_EQ(b.size(), 24u + 16 + 5 + 16 + 3);
  EXPECT_EQ(le32_at(b, 0), 0xa1b2c3d4u);
  EXPECT_EQ(le32_at(b, 20), 1u);
  EXPECT_EQ(le32_at(b, 24), 1700000000u);
  EXPECT_EQ(le32_at(b, 28), 123456u);
  EXPECT_EQ(le32_at(b, 32), 5u);
  EXPECT_EQ(le32_at(b, 36), 5u);
  EXPECT_EQ(le32_at(b, 24 + 16 + 5 + 12), 60u);  // second record's wire length
}

TEST(PcapWriter, ClassicNanoseconds) {
  const auto b = capture_bytes(CaptureFormat::PcapNano, linktype::kLinuxSll2, records());
  EXPECT_EQ(le32_at(b, 0), 0xa1b23c4du);
  EXPECT_EQ(le32_at(b, 20), 276u);
  EXPECT_EQ(le32_at(b, 28), 123456789u);
}

TEST(PcapWriter, PcapngBlocks) {
  const auto b = capture_bytes(CaptureFormat::PcapngNano, linktype::kNull, records());
  EXPECT_EQ(le32_at(b, 0), 0x0A0D0D0Au);
  const std::uint32_t shb = le32_at(b, 4);
  EXPECT_EQ(le32_at(b, 8), 0x1A2B3C4Du);
  EXPECT_EQ(le32_at(b, shb - 4), shb);
  EXPECT_EQ(le32_at(b, shb), 1u);  // IDB
  const std::uint32_t idb = le32_at(b, shb + 4);
  EXPECT_EQ(b[shb + 8], 0);        // link type 0
  EXPECT_EQ(b[shb + 16], 9);       // if_tsresol option code
  EXPECT_EQ(b[shb + 20], 9);       // 10^-9
  const std::size_t epb = shb + idb;
  EXPECT_EQ(le32_at(b, epb), 6u);
  const std::uint64_t ts = (std::uint64_t{le32_at(b, epb + 12)} << 32) | le32_at(b, epb + 16);
  EXPECT_EQ(ts, 1700000000ull * 1000000000ull + 123456789ull);
  EXPECT_EQ(le32_at(b, epb + 20), 5u);
  EXPECT_EQ(le32_at(b, epb + 4) % 4, 0u);
  EXPECT_EQ(b.size() % 4, 0u);
}

TEST(PcapWriter, WritesFile) {
  const std::string path = ::testing::TempDir() + "sockscope_writer_test.pcapng";
  EXPECT_TRUE(write_capture(path, CaptureFormat::PcapngMicro, linktype::kEthernet, records()));
  EXPECT_FALSE(write_capture("/nonexistent-dir/x.pcap", CaptureFormat::PcapMicro, 1, records()));
}
