// The unit tests' one temporary folder: fresh per use (mkdtemp), removed afterwards even when a test
// left parts of it unwritable; and small file helpers. Shared by every tests/unit/<module> (a
// folder of headers only: it becomes no test binary).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace hivehook::test {

class TempDir {
 public:
  // A new folder "<parent>/hivehook-<tag>-XXXXXX" (parent: $TMPDIR or /tmp by default; /dev/shm
  // for a second filesystem). Throws std::runtime_error when it cannot be made.
  explicit TempDir(const std::filesystem::path& parent = std::filesystem::temp_directory_path(),
                   const std::string& tag = "test") {
    std::string templ = (parent / ("hivehook-" + tag + "-XXXXXX")).string();
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed in " + parent.string());
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  operator const std::filesystem::path&() const { return path_; }  // NOLINT: a folder where a path is wanted
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  // Writes `text` to the relative path `rel`, making its folders; returns the full path.
  std::filesystem::path write(const std::string& rel, const std::string& text) const {
    std::filesystem::path p = path_ / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  // Makes the relative folder `rel` (and its parents); returns the full path.
  std::filesystem::path mkdir(const std::string& rel) const {
    std::filesystem::create_directories(path_ / rel);
    return path_ / rel;
  }

 private:
  std::filesystem::path path_;
};

// Writes `content` to `p` (binary); throws std::runtime_error when it cannot.
inline void write_file(const std::filesystem::path& p, const std::string& content = "x") {
  std::ofstream out(p, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

// The bytes of `p`; "" when it cannot be read.
inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace hivehook::test
