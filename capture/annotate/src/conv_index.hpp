// The annotator's conversation index: a flat open-addressing hash table from a flow's hash to the
// slot that holds the conversation. Linear probing over 8-byte entries (one or two cache lines per
// lookup, no node per conversation, no pointer chasing), kept at most half full; deletion shifts the
// following entries back (Knuth, TAOCP vol. 3, 6.4 Algorithm R), so there are no tombstones and
// lookups stay short however many conversations come and go.
//
// The table stores no keys: the caller keeps them in its slots and passes `same(slot)` to compare.
// It stores the low 32 bits of each hash, which pick the home bucket and reject most mismatches
// without touching the slot.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace sockscope::annotate_detail {

class ConvIndex {
 public:
  static constexpr std::uint32_t kNone = 0xffffffffu;

  explicit ConvIndex(std::uint32_t initial_capacity = 1024) {
    std::uint32_t cap = 16;
    while (cap < initial_capacity) cap *= 2;
    entries_.assign(cap, Entry{});
    mask_ = cap - 1;
  }

  std::uint32_t size() const { return size_; }

  // The slot whose key `same(slot)` accepts, among those stored with this hash; kNone if none.
  template <typename Same>
  std::uint32_t find(std::uint64_t hash, Same&& same) const {
    const auto h = static_cast<std::uint32_t>(hash);
    for (std::uint32_t i = h & mask_;; i = (i + 1) & mask_) {
      const Entry& e = entries_[i];
      if (e.slot == kNone) return kNone;
      if (e.hash == h && same(e.slot)) return e.slot;
    }
  }

  // Adds a slot (its key must not be in the table yet).
  void insert(std::uint64_t hash, std::uint32_t slot) {
    if (2 * (size_ + 1) > entries_.size()) grow();
    place(Entry{static_cast<std::uint32_t>(hash), slot});
    ++size_;
  }

  // Removes the entry of `slot`, stored with this hash. Returns false if it is not there.
  bool erase(std::uint64_t hash, std::uint32_t slot) {
    const auto h = static_cast<std::uint32_t>(hash);
    std::uint32_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      const Entry& e = entries_[i];
      if (e.slot == kNone) return false;
      if (e.slot == slot) break;
    }
    // Backward shift: move each following entry of the cluster into the hole when the hole lies on
    // its probe path (between its home bucket and where it sits now, cyclically).
    std::uint32_t hole = i;
    for (std::uint32_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      const Entry& e = entries_[j];
      if (e.slot == kNone) break;
      const std::uint32_t home = e.hash & mask_;
      const std::uint32_t dist_now = (j - home) & mask_;
      const std::uint32_t dist_hole = (hole - home) & mask_;
      if (dist_hole <= dist_now) {
        entries_[hole] = e;
        hole = j;
      }
    }
    entries_[hole] = Entry{};
    --size_;
    return true;
  }

 private:
  struct Entry {
    std::uint32_t hash = 0;
    std::uint32_t slot = kNone;
  };

  void place(Entry e) {
    std::uint32_t i = e.hash & mask_;
    while (entries_[i].slot != kNone) i = (i + 1) & mask_;
    entries_[i] = e;
  }

  void grow() {
    std::vector<Entry> old;
    old.swap(entries_);
    entries_.assign(old.size() * 2, Entry{});
    mask_ = static_cast<std::uint32_t>(entries_.size() - 1);
    for (const Entry& e : old)
      if (e.slot != kNone) place(e);
  }

  std::vector<Entry> entries_;
  std::uint32_t mask_ = 0;
  std::uint32_t size_ = 0;
};

// Fixed-size blocks of T that never move: growing adds a block instead of copying everything
// (a vector's doubling would briefly hold the old and the new array, and a peak of one and a half
// times the state). Index i lives in block i / kBlock.
template <typename T, std::uint32_t kBlock = 64>
class BlockPool {
 public:
  T& operator[](std::uint32_t i) { return blocks_[i / kBlock][i % kBlock]; }
  const T& operator[](std::uint32_t i) const { return blocks_[i / kBlock][i % kBlock]; }
  std::uint32_t size() const { return size_; }

  // A slot for a new element, reset to T{}: a freed one if any, else a new one at the end.
  std::uint32_t acquire() {
    std::uint32_t i;
    if (!free_.empty()) {
      i = free_.back();
      free_.pop_back();
      (*this)[i] = T{};
      return i;
    }
    if (size_ % kBlock == 0) blocks_.push_back(std::make_unique<T[]>(kBlock));
    i = size_++;
    return i;
  }
  void release(std::uint32_t i) { free_.push_back(i); }

 private:
  std::vector<std::unique_ptr<T[]>> blocks_;
  std::vector<std::uint32_t> free_;
  std::uint32_t size_ = 0;
};

}  // namespace sockscope::annotate_detail
