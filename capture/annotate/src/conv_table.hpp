// The conversation table: each conversation (UDP or TCP) under its normalised 4-tuple, in slots that
// never move, found through the flat index (conv_index.hpp). A conversation is released, and its
// summary kept for the caller, when it ends and stays quiet, when it idles out, or beyond
// max_conversations (the least recently active first).
#pragma once
#include <algorithm>
#include <bit>
#include <cstring>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "conv_index.hpp"
#include "tcp_state.hpp"

namespace sockscope::annotate_detail {

struct FlowKey {
  IpAddr a, b;  // a <= b (normalised so both directions find the same conversation)
  std::uint16_t pa = 0, pb = 0;
  std::uint8_t proto = 0;
  std::uint8_t zero = 0;  // fills what would be padding, so the bytes compare as one block
  friend bool operator==(const FlowKey& x, const FlowKey& y) { return std::memcmp(&x, &y, sizeof x) == 0; }
};
static_assert(std::has_unique_object_representations_v<FlowKey>, "FlowKey must have no padding");

struct FlowKeyHash {
  // Eight bytes at a time with a multiply-xorshift mix (the murmur3 finaliser): fast, and good
  // enough to spread 4-tuples that differ only in a port or the last address byte.
  static std::uint64_t load64(const std::uint8_t* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  static std::uint64_t mix(std::uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
  }
  std::size_t operator()(const FlowKey& k) const noexcept {
    std::uint64_t h = (std::uint64_t{k.pa} << 32) | (std::uint64_t{k.pb} << 16) | k.proto;
    h = mix(h ^ load64(k.a.b.data()));
    h = mix(h ^ load64(k.b.b.data()));
    if (k.a.family == 6) {
      h = mix(h ^ load64(k.a.b.data() + 8));
      h = mix(h ^ load64(k.b.b.data() + 8));
    }
    return static_cast<std::size_t>(h);
  }
};

// The address bytes [at, at + 8) as a big-endian number: comparing two of them orders the bytes as
// memcmp would (lexicographically), without a library call per packet.
inline std::uint64_t be64_at(const IpAddr& ip, std::size_t at) {
  std::uint64_t v;
  std::memcpy(&v, ip.b.data() + at, 8);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

inline bool endpoint_less(const IpAddr& ia, std::uint16_t pa, const IpAddr& ib, std::uint16_t pb) {
  if (ia.family != ib.family) return ia.family < ib.family;
  const std::uint64_t a0 = be64_at(ia, 0), b0 = be64_at(ib, 0);
  if (a0 != b0) return a0 < b0;
  const std::uint64_t a1 = be64_at(ia, 8), b1 = be64_at(ib, 8);
  if (a1 != b1) return a1 < b1;
  return pa < pb;
}

inline FlowKey make_key(const IpAddr& src, std::uint16_t sport, const IpAddr& dst, std::uint16_t dport,
                 std::uint8_t proto) {
  FlowKey k;
  k.proto = proto;
  if (endpoint_less(src, sport, dst, dport)) {
    k.a = src, k.pa = sport, k.b = dst, k.pb = dport;
  } else {
    k.a = dst, k.pa = dport, k.b = src, k.pb = sport;
  }
  return k;
}

struct IpIdFrame {
  std::uint16_t ip_id = 0;
  std::uint64_t frame = 0;
};
constexpr std::size_t kIpIdRing = 4;

// What both UDP and TCP keep per direction.
struct ConvDirection {
  std::uint64_t last_frame = 0;
  // The last IPv4 ids sent, to find the datagram an ICMP error quotes.
  std::array<IpIdFrame, kIpIdRing> ipids{};
  std::uint8_t ipid_head = 0;
  // History bookkeeping (Zeek): letters seen once, and the counted letters c g t w.
  std::uint32_t once_mask = 0;
  std::array<std::uint32_t, 4> letter_count{};
};

constexpr std::uint32_t kNoTcp = 0xffffffffu;

// One conversation. TCP's state (two TcpEndpoints and the connection's progress, about 1 KiB) lives apart in
// a TcpConnection, so a UDP conversation, which has no end on the wire and is held until it idles out,
// costs only this (about 0.5 KiB).
struct Conv {
  std::uint32_t id = 0;
  std::uint32_t tcp = kNoTcp;  // index of its TcpConnection
  FlowKey key;
  ConnSummary sum;
  std::array<ConvDirection, 2> dir;
  bool in_use = false;
  bool closed = false;  // both FINs acknowledged, or a RST
  std::uint8_t history_len = 0;
  std::int64_t last_ts = 0;
};

// Fills in the summary's derived parts (close kind, conn_state, final states) when a conversation is
// released: history.cpp.
void summarise(Conv& c, const TcpConnection* tcp);

class ConvTable {
 public:
  AnnotatorLimits limits;
  // key -> slot. The flat table (conv_index.hpp); std::unordered_map instead with
  // AnnotatorLimits::reference_paths, so tests/perf can show that both give the same output.
  const bool slow_paths;
  ConvIndex index;
  std::unordered_map<FlowKey, std::uint32_t, FlowKeyHash> slow_index;
  BlockPool<Conv> slots;
  BlockPool<TcpConnection> tcps;
  std::uint32_t open = 0;
  std::vector<ConnSummary> finished;
  std::vector<std::uint32_t> victims;  // sweep's scratch, reused
  // finish_some(): the slots still to release, in order of id
  bool finishing = false;
  std::vector<std::uint32_t> closing;
  std::size_t closing_next = 0;
  std::uint32_t next_id = 1;
  std::int64_t last_sweep_ts = 0;
  std::uint64_t packets_since_sweep = 0;

  explicit ConvTable(AnnotatorLimits l) : limits(l), slow_paths(l.reference_paths) {
    if (slow_paths) slow_index.reserve(1024);
  }

  // The slot of the conversation with this key, ConvIndex::kNone if none.
  std::uint32_t find(const FlowKey& key, std::uint64_t hash) const {
    if (slow_paths) {
      auto it = slow_index.find(key);
      return it == slow_index.end() ? ConvIndex::kNone : it->second;
    }
    return index.find(hash, [&](std::uint32_t slot) { return slots[slot].key == key; });
  }

  TcpConnection& tcp_of(Conv& c) { return tcps[c.tcp]; }
  const TcpConnection& tcp_of(const Conv& c) const { return tcps[c.tcp]; }

  Conv& open_conv(const FlowKey& key, std::uint64_t hash, Proto proto, const Endpoint& client,
                 const Endpoint& server, const Packet& p) {
    if (open >= limits.max_conversations) evict_oldest();
    const std::uint32_t slot = slots.acquire();
    Conv& c = slots[slot];
    if (proto == Proto::Tcp) c.tcp = tcps.acquire();
    c.in_use = true;
    c.id = next_id++;
    c.key = key;
    c.sum.conn = c.id;
    c.sum.proto = proto;
    c.sum.client = client;
    c.sum.server = server;
    c.sum.first_frame = p.frame;
    c.sum.first_ts = p.ts;
    if (slow_paths) slow_index.emplace(key, slot);
    else index.insert(hash, slot);
    ++open;
    return c;
  }

  void release(std::uint32_t slot) {
    Conv& c = slots[slot];
    summarise(c, c.tcp != kNoTcp ? &tcps[c.tcp] : nullptr);
    finished.push_back(c.sum);
    if (slow_paths) slow_index.erase(c.key);
    else index.erase(FlowKeyHash{}(c.key), slot);
    if (c.tcp != kNoTcp) tcps.release(c.tcp);
    c.tcp = kNoTcp;
    c.in_use = false;
    slots.release(slot);
    --open;
  }

  // Beyond max_conversations: the least recently active goes first (the oldest of those that tie).
  void evict_oldest() {
    std::uint32_t best = 0;
    bool found = false;
    for (std::uint32_t i = 0; i < slots.size(); ++i) {
      const Conv& c = slots[i];
      if (!c.in_use) continue;
      if (!found || c.last_ts < slots[best].last_ts ||
          (c.last_ts == slots[best].last_ts && c.id < slots[best].id))
        best = i, found = true;
    }
    if (found) release(best);
  }

  // A TCP conversation that never got past opening: only SYNs and SYN-ACKs (re-sent or not) so far,
  // by its history letters. connect() gives up on such a one within minutes.
  static bool only_an_attempt(const Conv& c) {
    for (std::uint8_t i = 0; i < c.history_len && i < c.sum.history.size(); ++i) {
      const char h = c.sum.history[i];
      if (h != 'S' && h != 's' && h != 'H' && h != 'h' && h != 'T' && h != 't' && h != '^') return false;
    }
    return true;
  }

  // Releases conversations that ended (closed and quiet), UDP ones that went quiet, and TCP attempts
  // that went unanswered, judged by capture time. An open TCP connection stays however quiet it is
  // (RFC 9293 has no idle timeout): only max_conversations bounds those.
  // Rare path (once per capture second or 65536 packets): a scan of the slots.
  void sweep(std::int64_t now) {
    victims.clear();
    for (std::uint32_t i = 0; i < slots.size(); ++i) {
      const Conv& c = slots[i];
      if (!c.in_use) continue;
      const std::int64_t quiet = now - c.last_ts;
      bool release_it = c.closed && quiet > limits.closed_linger_ns;
      if (c.sum.proto == Proto::Tcp)
        release_it = release_it || (quiet > limits.attempt_timeout_ns && only_an_attempt(c));
      else
        release_it = release_it || quiet > limits.udp_idle_timeout_ns;
      if (release_it) victims.push_back(i);
    }
    std::sort(victims.begin(), victims.end(),
              [this](std::uint32_t a, std::uint32_t b) { return slots[a].id < slots[b].id; });
    for (auto s : victims) release(s);
  }

  void maybe_sweep(std::int64_t now) {
    ++packets_since_sweep;
    if (now - last_sweep_ts >= 1'000'000'000LL || packets_since_sweep >= 65536) {
      if (last_sweep_ts != 0) sweep(now);
      last_sweep_ts = now;
      packets_since_sweep = 0;
    }
  }

  // Releases the open conversations in order of id, at most `max` per call (the order is fixed on
  // the first call). Returns false when none remain.
  bool finish_some(std::size_t max) {
    if (!finishing) {
      finishing = true;
      closing.clear();
      closing_next = 0;
      for (std::uint32_t i = 0; i < slots.size(); ++i)
        if (slots[i].in_use) closing.push_back(i);
      std::sort(closing.begin(), closing.end(),
                [this](std::uint32_t a, std::uint32_t b) { return slots[a].id < slots[b].id; });
    }
    for (std::size_t n = 0; n < max && closing_next < closing.size(); ++n) release(closing[closing_next++]);
    if (closing_next < closing.size()) return true;
    finishing = false;
    closing.clear();
    return false;
  }
};

}  // namespace sockscope::annotate_detail
