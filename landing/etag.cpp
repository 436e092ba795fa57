#include "landing/etag.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "base/encoding.h"
#include "base/unique_fd.h"

namespace hivehook {

namespace {

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

// MD5 of `fd` read with pread from `offset` (or read() from the current offset when offset < 0).
std::optional<std::string> md5_of(int fd, off_t offset, std::string* error) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr);
  static thread_local char buf[1 << 16];
  for (;;) {
    ssize_t n = offset < 0 ? ::read(fd, buf, sizeof buf) : ::pread(fd, buf, sizeof buf, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (error) *error = std::string("read: ") + std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    if (offset >= 0) offset += n;
    EVP_DigestUpdate(ctx.get(), buf, static_cast<size_t>(n));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  return hex_lower(md, len);
}

// An eTag as S3 writes them: 32 hex digits, optionally "-N" (parts).
bool plausible_etag(const std::string& e) {
  if (e.size() < 32) return false;
  for (std::size_t i = 0; i < 32; ++i)
    if (!std::isxdigit(static_cast<unsigned char>(e[i]))) return false;
  if (e.size() == 32) return true;
  if (e[32] != '-' || e.size() == 33 || e.size() > 38) return false;
  for (std::size_t i = 33; i < e.size(); ++i)
    if (e[i] < '0' || e[i] > '9') return false;
  return true;
}

}  // namespace

std::optional<std::string> file_md5_hex(const std::filesystem::path& path, std::string* error) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (error) *error = std::string("open: ") + std::strerror(errno);
    return std::nullopt;
  }
  return md5_of(fd.get(), -1, error);
}

std::optional<std::string> fd_md5_hex(int fd, std::string* error) { return md5_of(fd, -1, error); }

bool record_etag(int fd, const std::string& etag) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return false;
  char value[128];
  const int n = std::snprintf(value, sizeof value, "%s %lld %lld %llu", etag.c_str(), static_cast<long long>(st.st_size),
                              static_cast<long long>(mtime_ns(st)), static_cast<unsigned long long>(st.st_ino));
  if (n <= 0 || static_cast<std::size_t>(n) >= sizeof value) {
    errno = EINVAL;
    return false;
  }
  return ::fsetxattr(fd, kEtagXattr, value, static_cast<std::size_t>(n), 0) == 0;
}

std::optional<std::string> recorded_etag(int fd, const struct stat& st) {
  char value[128];
  const ssize_t n = ::fgetxattr(fd, kEtagXattr, value, sizeof value - 1);
  if (n <= 0) return std::nullopt;
  value[n] = '\0';
  char etag[64];
  long long size = -1, mtime = -1;
  unsigned long long ino = 0;
  if (std::sscanf(value, "%63s %lld %lld %llu", etag, &size, &mtime, &ino) != 4) return std::nullopt;
  if (size != static_cast<long long>(st.st_size) || mtime != static_cast<long long>(mtime_ns(st)) ||
      ino != static_cast<unsigned long long>(st.st_ino))
    return std::nullopt;
  std::string e(etag);
  if (!plausible_etag(e)) return std::nullopt;
  return e;
}

std::optional<std::string> fd_etag(int fd, std::string* error) {
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    if (error) *error = std::string("stat: ") + std::strerror(errno);
    return std::nullopt;
  }
  if (auto e = recorded_etag(fd, st)) return e;
  return md5_of(fd, 0, error);
}

std::optional<std::string> file_etag(const std::filesystem::path& path, std::string* error) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) {
    if (error) *error = std::string("open: ") + std::strerror(errno);
    return std::nullopt;
  }
  return fd_etag(fd.get(), error);
}

}  // namespace hivehook
