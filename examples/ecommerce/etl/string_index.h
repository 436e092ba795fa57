// An insert-only open-addressing map from string keys to dense indexes 0..n-1.
// Keys live in one arena: 100k dimension ids cost a few allocations, not 100k nodes,
// lookups touch one slot array, and freeing it at exit is instant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hivehook::etl {

class StringIndex {
 public:
  static constexpr std::uint32_t npos = UINT32_MAX;

  void reserve(std::size_t n);
  // The key's index, adding it when new.
  std::uint32_t insert(std::string_view key);
  std::uint32_t find(std::string_view key) const;
  std::size_t size() const { return offsets_.size(); }

 private:
  struct Slot {
    std::uint32_t hash = 0;
    std::uint32_t index = npos;
  };
  static std::uint32_t hash_of(std::string_view key);
  std::string_view key_at(std::uint32_t i) const {
    return std::string_view(arena_).substr(offsets_[i], lengths_[i]);
  }
  void grow();

  std::string arena_;
  std::vector<std::uint32_t> offsets_, lengths_;
  std::vector<Slot> slots_;  // size is a power of two, at most half full
};

}  // namespace hivehook::etl
