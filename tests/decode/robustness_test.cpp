// Every shorter prefix of every sample frame is a truncation (never Ok for a cut header, never
// Malformed merely for being short), and random damage never crashes the decoder.
#include <gtest/gtest.h>

#include <random>

#include "frame_builder.hpp"
#include "sockscope/decode/decode.hpp"
#include "sockscope/decode/layers.hpp"
#include "../../capture/decode/src/internal.hpp"  // ones_sum, fold: the checksum arithmetic

using namespace sockscope;
using namespace sockscope::testing;

namespace {

// Consumes every field, so sanitizers see any bad pointer the layer map hands out.
class SinkVisitor : public LayerVisitor {
 public:
  void begin_layer(Osi, const char* name, std::uint32_t, std::uint32_t) override { sum += name[0]; }
  void field(const Field& f) override {
    sum += f.key[0];
    for (char c : f.text) sum += static_cast<unsigned char>(c);
  }
  void end_layer() override {}
  unsigned sum = 0;
};

// Where the headers of a well-formed sample end: cutting before this is a truncation.
std::uint32_t header_end(const Packet& p) {
  switch (p.transport) {
    case Transport::Tcp:
    case Transport::Udp:
      return p.payload_offset;
    case Transport::Icmp:
      if (p.icmp.has_quote)
        return p.transport_offset + 8 + (p.icmp.quoted_src.family == 6 ? 40 : 20) + (p.icmp.quoted_ports ? 4 : 0);
      return p.transport_offset + 8;
    default:
      return p.caplen;
  }
}

}  // namespace

TEST(DecodeRobustness, SamplesDecodeOk) {
  for (const SampleFrame& s : sample_frames()) {
    Packet p;
    decode_frame(s.linktype, s.bytes.data(), static_cast<std::uint32_t>(s.bytes.size()),
                 static_cast<std::uint32_t>(s.bytes.size()), p);
    EXPECT_TRUE(p.ok()) << s.name << ": " << (p.error.layer ? p.error.layer : "") << " "
                        << (p.error.what ? p.error.what : "");
    EXPECT_NE(p.transport, Transport::None) << s.name;
    if (p.transport_checksum_checked) {
      EXPECT_TRUE(p.transport_checksum_ok) << s.name;
    }
    EXPECT_TRUE(p.ip.v4.checksum_ok) << s.name;
  }
}

TEST(DecodeRobustness, EveryPrefixIsTruncatedNeverMalformed) {
  for (const SampleFrame& s : sample_frames()) {
    const auto n = static_cast<std::uint32_t>(s.bytes.size());
    Packet full;
    decode_frame(s.linktype, s.bytes.data(), n, n, full);
    ASSERT_TRUE(full.ok()) << s.name;
    const std::uint32_t hend = header_end(full);
    for (std::uint32_t k = 0; k < n; ++k) {
      // A copy of exactly k bytes, so the sanitizer catches any read past the capture.
      const Bytes cut(s.bytes.begin(), s.bytes.begin() + k);
      Packet p;
      decode_frame(s.linktype, cut.data(), k, n, p);
      SinkVisitor v;
      visit_layers(p, v);
      if (k < hend) {
        EXPECT_EQ(p.error.status, DecodeStatus::Truncated)
            << s.name << " caplen " << k << ": " << (p.error.layer ? p.error.layer : "-") << " "
            << (p.error.what ? p.error.what : "-");
        EXPECT_LE(p.error.offset, n) << s.name << " caplen " << k;
      } else {
        EXPECT_TRUE(p.ok()) << s.name << " caplen " << k << ": " << (p.error.what ? p.error.what : "");
        EXPECT_EQ(p.payload_len, full.payload_len) << s.name << " caplen " << k;
        if (p.transport == Transport::Tcp || p.transport == Transport::Udp) {
          EXPECT_EQ(p.payload_captured, k - full.payload_offset) << s.name << " caplen " << k;
          EXPECT_FALSE(p.transport_checksum_checked) << s.name << " caplen " << k;
        }
      }
    }
  }
}

TEST(DecodeRobustness, RandomBitFlipsNeverCrash) {
  std::mt19937 rng(20240611);
  const auto samples = sample_frames();
  Decoder dec;
  std::uint64_t frame = 0;
  int ok = 0, bad = 0;
  for (int iter = 0; iter < 300; ++iter) {
    for (const SampleFrame& s : samples) {
      Bytes b = s.bytes;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < flips; ++i) b[rng() % b.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
      const auto n = static_cast<std::uint32_t>(b.size());
      const std::uint32_t caplen = (rng() % 4 == 0) ? static_cast<std::uint32_t>(rng() % (n + 1)) : n;
      const Bytes cut(b.begin(), b.begin() + caplen);
      Packet p;
      dec.decode(s.linktype, cut.data(), caplen, n, Timestamp{iter, 0}, ++frame, p);
      SinkVisitor v;
      visit_layers(p, v);
      (p.ok() ? ok : bad)++;
      if (!p.ok()) {
        EXPECT_NE(p.error.layer, nullptr);
        EXPECT_NE(p.error.what, nullptr);
      }
    }
  }
  EXPECT_GT(ok + bad, 0);
}

TEST(DecodeRobustness, RandomBytesNeverCrash) {
  std::mt19937 rng(7);
  const std::uint32_t types[] = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 9999};
  Decoder dec;
  for (int iter = 0; iter < 20000; ++iter) {
    Bytes b(rng() % 120);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    // Bias towards plausible starts so the decoder gets past the first header often.
    if (b.size() > 20 && rng() % 2) b[14] = static_cast<std::uint8_t>(rng() % 2 ? 0x45 : 0x60);
    if (b.size() > 14 && rng() % 2) {
      b[12] = 0x08;
      b[13] = 0x00;
    }
    const std::uint32_t lt = types[rng() % std::size(types)];
    Packet p;
    dec.decode(lt, b.data(), static_cast<std::uint32_t>(b.size()), static_cast<std::uint32_t>(b.size() + rng() % 3),
               Timestamp{iter, 0}, static_cast<std::uint64_t>(iter + 1), p);
    SinkVisitor v;
    visit_layers(p, v);
  }
  Packet p;
  decode_frame(linktype::kEthernet, nullptr, 0, 0, p);
  EXPECT_EQ(p.error.status, DecodeStatus::Malformed);
}

TEST(DecodeRobustness, RandomFragmentsNeverCrashAndStayBounded) {
  std::mt19937 rng(99);
  DecoderLimits lim;
  lim.max_pending_datagrams = 8;
  lim.max_reassembly_bytes = 64 * 1024;
  Decoder dec(lim);
  const char* v4[] = {"10.0.0.1", "10.0.0.2"};
  const char* v6[] = {"2001:db8::1", "2001:db8::2"};
  int reassembled = 0;
  for (int i = 0; i < 20000; ++i) {
    const bool six = rng() % 2;
    UdpSpec u;
    u.ip.src = six ? v6[rng() % 2] : v4[rng() % 2];
    u.ip.dst = six ? v6[rng() % 2] : v4[rng() % 2];
    const std::uint32_t id = rng() % 4;
    const std::uint16_t off = static_cast<std::uint16_t>((rng() % 8) * 8 + (rng() % 16 == 0 ? 65000 : 0));
    const bool more = rng() % 3 != 0;
    Bytes data(rng() % 4 == 0 ? rng() % 40 : 8 * (1 + rng() % 4));
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    if (off == 0 && data.size() >= 8 && rng() % 2) {
      data = udp_datagram(u);  // sometimes a real header first
      data.resize(16, 0);
    }
    Bytes ip;
    if (six) {
      u.ip.v6_ext = {fragment_ext(off, more, id)};
      ip = ip_packet(u.ip, 17, data);
    } else {
      u.ip.id = static_cast<std::uint16_t>(id);
      u.ip.df = false;
      u.ip.mf = more;
      u.ip.frag_offset = off;
      ip = ip_packet(u.ip, 17, data);
    }
    Packet p;
    dec.decode(linktype::kRaw, ip.data(), static_cast<std::uint32_t>(ip.size()),
               static_cast<std::uint32_t>(ip.size()), Timestamp{i / 100, 0}, static_cast<std::uint64_t>(i + 1), p);
    SinkVisitor v;
    visit_layers(p, v);
    if (p.ip.reassembled) {
      ++reassembled;
      EXPECT_LE(p.payload_captured, 65535u);
      if (p.payload_captured) {
        volatile std::uint8_t sink = p.payload[p.payload_captured - 1];  // the buffer is readable
        (void)sink;
      }
    }
  }
  EXPECT_GT(reassembled, 0);
}

// The checksum is summed four bytes at a time; it must equal RFC 1071's plain 16-bit sum for every
// length and alignment.
TEST(Checksum, WideSumEqualsThePlainSixteenBitSum) {
  std::mt19937 rng(7);
  std::vector<std::uint8_t> buf(2000);
  for (int round = 0; round < 500; ++round) {
    for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
    const std::uint32_t off = static_cast<std::uint32_t>(rng() % 8);
    const std::uint32_t n = static_cast<std::uint32_t>(rng() % 1900);
    std::uint32_t plain = 0x1234;
    for (std::uint32_t i = 0; i + 1 < n; i += 2) plain += (std::uint32_t{buf[off + i]} << 8) | buf[off + i + 1];
    if (n % 2) plain += std::uint32_t{buf[off + n - 1]} << 8;
    EXPECT_EQ(sockscope::decode_detail::fold(sockscope::decode_detail::ones_sum_fast(buf.data() + off, n, 0x1234)),
              sockscope::decode_detail::fold(plain))
        << "length " << n << " offset " << off;
  }
}
