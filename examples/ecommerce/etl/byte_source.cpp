#include "etl/byte_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace hivehook::etl {

FileSource::FileSource(const std::string& path) : path_(path) {
  fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd_) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  ::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
}

std::size_t FileSource::read(char* dst, std::size_t n) {
  for (;;) {
    ssize_t got = ::read(fd_.get(), dst, n);
    if (got >= 0) return static_cast<std::size_t>(got);
    if (errno == EINTR) continue;
    throw std::runtime_error("cannot read " + path_ + ": " + std::strerror(errno));
  }
}

std::size_t MemorySource::read(char* dst, std::size_t n) {
  std::size_t take = std::min({n, chunk_, data_.size()});
  std::memcpy(dst, data_.data(), take);
  data_.remove_prefix(take);
  return take;
}

}  // namespace hivehook::etl
