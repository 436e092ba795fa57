#include "landing/etag.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <memory>
#include <vector>

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

namespace {

// A field of the record: printable ASCII without spaces, 1 to 64 bytes.
bool plausible_field(const std::string& f) {
  if (f.empty() || f.size() > 64) return false;
  for (char ch : f)
    if (ch <= ' ' || ch > '~') return false;
  return true;
}

}  // namespace

std::optional<EtagRecord> parse_etag_record(std::string_view value) {
  std::vector<std::string_view> fields;
  for (std::size_t from = 0;;) {
    const std::size_t space = value.find(' ', from);
    fields.push_back(value.substr(from, space == std::string_view::npos ? std::string_view::npos : space - from));
    if (space == std::string_view::npos) break;
    from = space + 1;
  }
  if (fields.size() != 4 && fields.size() != 7) return std::nullopt;
  auto number = [](std::string_view s, std::uint64_t* out) {
    // Canonical decimal (no sign, no leading zero), below 2^63: fits both signed and unsigned.
    if (s.empty() || s.size() > 19 || (s.size() > 1 && s[0] == '0')) return false;
    std::uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    *out = v;
    return true;
  };
  EtagRecord r;
  r.etag = std::string(fields[0]);
  std::uint64_t mtime = 0;
  if (!plausible_etag(r.etag) || !number(fields[1], &r.size) || !number(fields[2], &mtime) || !number(fields[3], &r.inode))
    return std::nullopt;
  r.mtime_ns = static_cast<std::int64_t>(mtime);
  if (fields.size() == 7) {
    UploadEvent e{std::string(fields[4]), std::string(fields[5]), std::string(fields[6])};
    if (!plausible_field(e.event_name) || !plausible_field(e.request_id) || !plausible_field(e.id2)) return std::nullopt;
    r.event = std::move(e);
  }
  return r;
}

std::string format_etag_record(const EtagRecord& r) {
  if (!plausible_etag(r.etag) || r.mtime_ns < 0) return "";
  std::string value = r.etag + " " + std::to_string(r.size) + " " + std::to_string(r.mtime_ns) + " " + std::to_string(r.inode);
  if (r.event) {
    if (!plausible_field(r.event->event_name) || !plausible_field(r.event->request_id) || !plausible_field(r.event->id2))
      return "";
    value += " " + r.event->event_name + " " + r.event->request_id + " " + r.event->id2;
  }
  return value;
}

bool record_etag(int fd, const std::string& etag, const UploadEvent* event) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return false;
  EtagRecord r{etag, static_cast<std::uint64_t>(st.st_size), mtime_ns(st), static_cast<std::uint64_t>(st.st_ino), {}};
  if (event) r.event = *event;
  const std::string value = format_etag_record(r);
  if (value.empty()) {
    errno = EINVAL;
    return false;
  }
  return ::fsetxattr(fd, kEtagXattr, value.data(), value.size(), 0) == 0;
}

namespace {

// The record on `fd`, when it is bound to `st` (size, mtime, inode).
std::optional<EtagRecord> valid_record(int fd, const struct stat& st) {
  char value[512];
  const ssize_t n = ::fgetxattr(fd, kEtagXattr, value, sizeof value);
  if (n <= 0) return std::nullopt;
  auto r = parse_etag_record(std::string_view(value, static_cast<std::size_t>(n)));
  if (!r || r->size != static_cast<std::uint64_t>(st.st_size) || r->mtime_ns != mtime_ns(st) ||
      r->inode != static_cast<std::uint64_t>(st.st_ino))
    return std::nullopt;
  return r;
}

}  // namespace

std::optional<std::string> recorded_etag(int fd, const struct stat& st) {
  auto r = valid_record(fd, st);
  if (!r) return std::nullopt;
  return r->etag;
}

std::optional<UploadEvent> recorded_upload_event(int fd, const struct stat& st) {
  auto r = valid_record(fd, st);
  if (!r) return std::nullopt;
  return r->event;
}

std::optional<UploadEvent> file_upload_event(const std::filesystem::path& path, std::string_view etag) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0) return std::nullopt;
  auto r = valid_record(fd.get(), st);
  if (!r || r->etag != etag) return std::nullopt;
  return r->event;
}

bool carry_etag_record(int from, const struct stat& from_st, int to) {
  auto r = valid_record(from, from_st);
  if (!r) return false;
  return record_etag(to, r->etag, r->event ? &*r->event : nullptr);
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
