// The floor for the benchmark: a bare libpcap read loop that touches every packet and does nothing
// else (what any pcap reader pays before decoding anything).
//   pcap_loop FILE                     libpcap as it comes: stdio's default 4 KiB reads
//   pcap_loop --read-buffer KIB FILE   the FILE read through a larger stdio buffer, as sockscope
//                                      does (capture/src/pcap/pcap_source.cpp): the floor for that
#include <pcap/pcap.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  std::size_t buffer_kib = 0;
  int arg = 1;
  if (argc == 4 && std::strcmp(argv[1], "--read-buffer") == 0) {
    buffer_kib = std::strtoul(argv[2], nullptr, 10);
    arg = 3;
  }
  if (argc != arg + 1 || (arg == 3 && (buffer_kib == 0 || buffer_kib > 65536))) {
    std::fprintf(stderr, "usage: pcap_loop [--read-buffer KIB] FILE.pcap\n");
    return 2;
  }
  char err[PCAP_ERRBUF_SIZE];
  std::FILE* f = std::fopen(argv[arg], "rb");
  if (!f) {
    std::perror(argv[arg]);
    return 1;
  }
  // malloc, not std::vector: the floor links no C++ runtime, so its peak memory stays the bare minimum.
  char* buffer = buffer_kib > 0 ? static_cast<char*>(std::malloc(buffer_kib * 1024)) : nullptr;
  if (buffer != nullptr) std::setvbuf(f, buffer, _IOFBF, buffer_kib * 1024);
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, err);
  if (!p) {
    std::fprintf(stderr, "pcap_loop: %s\n", err);
    std::fclose(f);
    std::free(buffer);
    return 1;
  }
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  std::uint64_t packets = 0, bytes = 0, sum = 0;
  while (pcap_next_ex(p, &h, &data) == 1) {
    ++packets;
    bytes += h->caplen;
    sum += h->caplen ? data[h->caplen - 1] : 0;  // touch the bytes
  }
  pcap_close(p);  // closes f; then its buffer can go
  std::free(buffer);
  std::printf("%llu packets, %llu bytes (%llu)\n", static_cast<unsigned long long>(packets),
              static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(sum));
  return 0;
}
