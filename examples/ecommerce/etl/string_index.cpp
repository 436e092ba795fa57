#include "etl/string_index.h"

#include <cstring>

namespace hivehook::etl {

std::uint32_t StringIndex::hash_of(std::string_view key) {
  // FNV-1a over 64 bits, folded: ids are short, this is fast and spreads well.
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

void StringIndex::reserve(std::size_t n) {
  offsets_.reserve(n);
  lengths_.reserve(n);
  std::size_t want = 16;
  while (want < n * 2) want *= 2;
  if (want > slots_.size()) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(want, Slot{});
    for (const Slot& s : old) {
      if (s.index == npos) continue;
      std::size_t mask = slots_.size() - 1;
      for (std::size_t at = s.hash & mask;; at = (at + 1) & mask) {
        if (slots_[at].index == npos) {
          slots_[at] = s;
          break;
        }
      }
    }
  }
}

void StringIndex::grow() { reserve(slots_.empty() ? 8 : slots_.size()); }

std::uint32_t StringIndex::find(std::string_view key) const {
  if (slots_.empty()) return npos;
  std::uint32_t h = hash_of(key);
  std::size_t mask = slots_.size() - 1;
  for (std::size_t at = h & mask;; at = (at + 1) & mask) {
    const Slot& s = slots_[at];
    if (s.index == npos) return npos;
    if (s.hash == h && key_at(s.index) == key) return s.index;
  }
}

std::uint32_t StringIndex::insert(std::string_view key) {
  if ((offsets_.size() + 1) * 2 > slots_.size()) grow();
  std::uint32_t h = hash_of(key);
  std::size_t mask = slots_.size() - 1;
  for (std::size_t at = h & mask;; at = (at + 1) & mask) {
    Slot& s = slots_[at];
    if (s.index == npos) {
      s.hash = h;
      s.index = static_cast<std::uint32_t>(offsets_.size());
      offsets_.push_back(static_cast<std::uint32_t>(arena_.size()));
      lengths_.push_back(static_cast<std::uint32_t>(key.size()));
      arena_.append(key);
      return s.index;
    }
    if (s.hash == h && key_at(s.index) == key) return s.index;
  }
}

}  // namespace hivehook::etl
