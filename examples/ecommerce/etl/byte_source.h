// Where the CSV reader's bytes come from: a file descriptor, or memory (tests, fuzzing).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/unique_fd.h"

namespace hivehook::etl {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Fills up to n bytes; returns 0 only at end of input. Throws std::runtime_error on I/O errors.
  virtual std::size_t read(char* dst, std::size_t n) = 0;
};

// Reads a file sequentially. Throws std::runtime_error when it cannot be opened.
class FileSource final : public ByteSource {
 public:
  explicit FileSource(const std::string& path);
  std::size_t read(char* dst, std::size_t n) override;

 private:
  std::string path_;
  UniqueFd fd_;
};

// Serves a buffer in chunks of at most `chunk` bytes, so buffer-boundary paths get exercised.
class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string_view data, std::size_t chunk = 1 << 20)
      : data_(data), chunk_(chunk ? chunk : 1) {}
  std::size_t read(char* dst, std::size_t n) override;

 private:
  std::string_view data_;
  std::size_t chunk_;
};

}  // namespace hivehook::etl
