// Google Benchmark micro-benchmarks: decoding and annotating one packet, on frames from the test
// builders. Figures per packet; run with --benchmark_min_time for steadier numbers.
#include <benchmark/benchmark.h>

#include <vector>

#include "frame_builder.hpp"
#include "internal.hpp"  // the checksum loops (capture/src/decode)
#include "sockscope/annotate/annotate.hpp"
#include "sockscope/decode/decode.hpp"

namespace {

using sockscope::testing::Bytes;
namespace tf = sockscope::tcpflag;

std::vector<Bytes> conversation_frames() {
  sockscope::testing::TcpFlow f("10.0.0.1", 40000, "10.0.0.2", 443, 1000, 5000);
  std::vector<Bytes> out;
  for (const auto& s : f.handshake()) out.push_back(sockscope::testing::ethernet_frame(sockscope::testing::tcp_packet(s)));
  const std::string chunk(700, 'x');
  for (int i = 0; i < 32; ++i) {
    out.push_back(sockscope::testing::ethernet_frame(sockscope::testing::tcp_packet(f.c2s(tf::kPsh | tf::kAck, chunk))));
    out.push_back(sockscope::testing::ethernet_frame(sockscope::testing::tcp_packet(f.s2c(tf::kAck))));
  }
  return out;
}

void BM_DecodeTcpFrame(benchmark::State& state) {
  const auto frames = conversation_frames();
  sockscope::Packet p;
  std::size_t i = 0;
  for (auto _ : state) {
    const Bytes& b = frames[i++ % frames.size()];
    sockscope::decode_frame(sockscope::linktype::kEthernet, b.data(), static_cast<std::uint32_t>(b.size()),
                            static_cast<std::uint32_t>(b.size()), p);
    benchmark::DoNotOptimize(p.tcp.seq);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_DecodeTcpFrame);

void BM_AnnotateTcpPacket(benchmark::State& state) {
  const auto frames = conversation_frames();
  std::vector<sockscope::Packet> packets(frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i)
    sockscope::decode_frame(sockscope::linktype::kEthernet, frames[i].data(),
                            static_cast<std::uint32_t>(frames[i].size()),
                            static_cast<std::uint32_t>(frames[i].size()), packets[i]);
  // One annotator per pass over the conversation: the steady state of a long capture.
  for (auto _ : state) {
    state.PauseTiming();
    sockscope::Annotator an;
    state.ResumeTiming();
    for (auto& p : packets) benchmark::DoNotOptimize(an.annotate(p));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * packets.size()));
}
BENCHMARK(BM_AnnotateTcpPacket);

// The transport checksum over a 700-byte segment: the fast loop and the plain RFC 1071 one it
// replaced (SOCKSCOPE_SLOW_PATHS=1 selects the plain one; tests/perf checks they agree).
template <std::uint32_t (*Sum)(const std::uint8_t*, std::uint32_t, std::uint32_t)>
void BM_Checksum700(benchmark::State& state) {
  std::vector<std::uint8_t> b(700);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i * 7 + 3);
  for (auto _ : state) {
    benchmark::DoNotOptimize(b.data());
    benchmark::DoNotOptimize(Sum(b.data(), static_cast<std::uint32_t>(b.size()), 0));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * b.size()));
}
BENCHMARK(BM_Checksum700<sockscope::decode_detail::ones_sum_fast>)->Name("BM_Checksum700/fast");
BENCHMARK(BM_Checksum700<sockscope::decode_detail::ones_sum_plain>)->Name("BM_Checksum700/plain");

}  // namespace

BENCHMARK_MAIN();
