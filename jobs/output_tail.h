// The last N bytes of a stream in a fixed ring: memory stays flat however much a child prints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hivehook {

class OutputTail {
 public:
  explicit OutputTail(std::size_t capacity) : cap_(capacity) {}

  void append(std::string_view data);
  // The kept bytes, oldest first.
  std::string str() const;
  // Every byte ever appended, kept or not.
  std::uint64_t total() const { return total_; }
  std::size_t capacity() const { return cap_; }

 private:
  std::size_t cap_;
  std::vector<char> buf_;  // grows up to cap_, then is reused as a ring
  std::size_t head_ = 0;   // once full: index of the oldest byte
  std::uint64_t total_ = 0;
};

}  // namespace hivehook
