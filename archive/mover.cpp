#include "archive/mover.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE (glibc 2.28+)
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <spdlog/spdlog.h>
#include <string_view>
#include <vector>

#include "base/unique_fd.h"

// Paths are handed to the kernel as bytes: keys may hold newlines, quotes, non-UTF-8, a leading
// '-'; nothing here goes through a shell.
//
// Durability: a copy across filesystems is fsync'ed (file and folder) before the source is removed.
// A same-filesystem rename is not followed by a folder fsync: the store records the decision
// before the move and recovery redoes a rename lost to power loss, so one fsync per file would buy
// nothing but a 100x slower pipeline.

namespace hivehook {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kNameMax = 255;
constexpr int kMaxCandidates = 100;

std::string errno_text(int err) { return std::strerror(err); }

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string basename_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Keys must stay inside dest_root: no absolute keys, no "", "." or ".." segments, no NUL.
bool valid_key(std::string_view key, std::string* error) {
  auto fail = [&](const std::string& why) {
    if (error) *error = "invalid key: " + why;
    return false;
  };
  if (key.empty()) return fail("empty");
  if (key.find('\0') != std::string_view::npos) return fail("contains a NUL byte");
  if (key.front() == '/') return fail("absolute");
  std::size_t start = 0;
  while (true) {
    std::size_t end = key.find('/', start);
    std::string_view seg = key.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (seg.empty()) return fail("empty path segment");
    if (seg == "." || seg == "..") return fail("'" + std::string(seg) + "' segment");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return true;
}

std::string join(const fs::path& root, const std::string& key) {
  std::string r = root.native();
  if (r.empty()) r = ".";
  if (r.back() != '/') r += '/';
  return r + key;
}

// mkdir -p with mode 0755 (minus umask). A component that exists but is not a folder is an error.
bool make_dirs(const std::string& dir, std::string* error) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return true;
    *error = dir + " exists and is not a folder";
    return false;
  }
  if (errno != ENOENT) {
    *error = "cannot access " + dir + ": " + errno_text(errno);
    return false;
  }
  const std::string parent = parent_of(dir);
  if (parent != dir && !make_dirs(parent, error)) return false;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    *error = "cannot create folder " + dir + ": " + errno_text(errno);
    return false;
  }
  return true;
}

void fsync_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) spdlog::warn("fsync of folder {} failed: {}", dir, errno_text(errno));
}

bool read_full(int fd, char* buf, std::size_t want, std::size_t* got) {
  *got = 0;
  while (*got < want) {
    ssize_t n = ::read(fd, buf + *got, want - *got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) break;
    *got += static_cast<std::size_t>(n);
  }
  return true;
}

bool write_full(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// True only when `b` is a regular file with exactly the bytes of `a` (size first, then content).
bool same_content(const std::string& a, const std::string& b) {
  UniqueFd fa(::open(a.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  UniqueFd fb(::open(b.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fa || !fb) return false;
  struct stat sa, sb;
  if (::fstat(fa.get(), &sa) != 0 || ::fstat(fb.get(), &sb) != 0) return false;
  if (!S_ISREG(sa.st_mode) || !S_ISREG(sb.st_mode) || sa.st_size != sb.st_size) return false;
  std::vector<char> ba(64 * 1024), bb(64 * 1024);
  while (true) {
    std::size_t na = 0, nb = 0;
    if (!read_full(fa.get(), ba.data(), ba.size(), &na) || !read_full(fb.get(), bb.data(), bb.size(), &nb)) return false;
    if (na != nb || std::memcmp(ba.data(), bb.data(), na) != 0) return false;
    if (na < ba.size()) return true;
  }
}

// Removes the ".hivehook-tmp-*" files a killed daemon left in `dir` (kill -9 between a temp
// file's creation and its rename). Sound because only the mover writes temp files in archive and
// quarantine, from the loop thread, one at a time, and one daemon owns the trees: any temp file
// found here before a new one is made is a leftover. Errors are logged, never fatal.
void remove_stale_temp_files(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return;
  DIR* d = ::fdopendir(::dup(fd.get()));
  if (!d) return;
  while (const dirent* e = ::readdir(d)) {
    if (std::string_view(e->d_name).rfind(".hivehook-tmp-", 0) != 0) continue;
    if (::unlinkat(fd.get(), e->d_name, 0) == 0)
      spdlog::info("removed {}/{}, a temporary file left by an interrupted move", dir, e->d_name);
    else
      spdlog::warn("cannot remove the leftover temporary file {}/{}: {}", dir, e->d_name, errno_text(errno));
  }
  ::closedir(d);
}

// A temp file in the destination folder, unlinked unless committed (and, if the daemon is killed
// first, removed by the next create() in the same folder).
class TempFile {
 public:
  bool create(const std::string& dir, std::string* error) {
    remove_stale_temp_files(dir);
    std::string templ = (dir.back() == '/' ? dir : dir + "/") + ".hivehook-tmp-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    fd_.reset(::mkostemp(buf.data(), O_CLOEXEC));
    if (!fd_) {
      *error = "cannot create a temporary file in " + dir + ": " + errno_text(errno);
      return false;
    }
    path_.assign(buf.data());
    return true;
  }
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  void committed() { path_.clear(); }

 private:
  UniqueFd fd_;
  std::string path_;
};

// "<name>~<suffix>" beside `dest`, the name shortened so the result fits NAME_MAX.
std::string suffixed(const std::string& dest, std::string suffix) {
  for (char& c : suffix)
    if (c == '/' || c == '\0') c = '_';
  if (suffix.empty()) suffix = "dup";
  if (suffix.size() > 64) suffix.resize(64);
  std::string name = basename_of(dest);
  const std::size_t room = kNameMax - suffix.size() - 1;
  if (name.size() > room) name.resize(room);
  return parent_of(dest) + "/" + name + "~" + suffix;
}

enum class Placed { ok, exists, cross_device, source_gone, failed };

// rename(2) without replacing: renameat2(RENAME_NOREPLACE), or link+unlink on filesystems that do
// not support the flag. Either way an existing destination is never clobbered.
Placed rename_noreplace(const std::string& from, const std::string& to, std::string* error) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return Placed::ok;
  int err = errno;
  if (err == EINVAL || err == ENOSYS) {
    if (::link(from.c_str(), to.c_str()) == 0) {
      ::unlink(from.c_str());
      return Placed::ok;
    }
    err = errno;
  }
  switch (err) {
    case EEXIST:
    case ENOTEMPTY:
    case EISDIR:
      return Placed::exists;
    case EXDEV:
      return Placed::cross_device;
    case ENOENT:
      return Placed::source_gone;  // the caller checks which side is missing
    default:
      *error = "cannot move " + from + " to " + to + ": " + errno_text(err);
      return Placed::failed;
  }
}

// Across filesystems: copy into a temp file beside `to`, fsync it, then rename it into place
// without replacing. The caller unlinks the source once the destination folder is fsync'ed.
Placed copy_noreplace(const std::string& from, const std::string& to, std::string* error) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in) {
    if (errno == ENOENT) return Placed::source_gone;
    *error = "cannot open " + from + ": " + errno_text(errno);
    return Placed::failed;
  }
  struct stat st;
  if (::fstat(in.get(), &st) != 0) {
    *error = "cannot stat " + from + ": " + errno_text(errno);
    return Placed::failed;
  }
  TempFile tmp;
  if (!tmp.create(parent_of(to), error)) return Placed::failed;
  std::vector<char> buf(128 * 1024);
  while (true) {
    std::size_t n = 0;
    if (!read_full(in.get(), buf.data(), buf.size(), &n)) {
      *error = "cannot read " + from + ": " + errno_text(errno);
      return Placed::failed;
    }
    if (n > 0 && !write_full(tmp.fd(), buf.data(), n)) {
      *error = "cannot write " + tmp.path() + ": " + errno_text(errno);
      return Placed::failed;
    }
    if (n < buf.size()) break;
  }
  ::fchmod(tmp.fd(), st.st_mode & 07777);
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  ::futimens(tmp.fd(), times);  // keep the mtime, as mv does
  if (::fsync(tmp.fd()) != 0) {
    *error = "cannot fsync " + tmp.path() + ": " + errno_text(errno);
    return Placed::failed;
  }
  Placed placed = rename_noreplace(tmp.path(), to, error);
  if (placed == Placed::ok) tmp.committed();
  if (placed == Placed::source_gone) {  // the temp file vanished under us
    *error = "cannot move " + tmp.path() + " to " + to + ": " + errno_text(ENOENT);
    return Placed::failed;
  }
  return placed;
}

MoveResult missing(const std::string& source) {
  MoveResult r;
  r.source_missing = true;
  r.error = source + " is no longer in landing";
  return r;
}

// What one placement attempt means for the move: done (a cross-filesystem copy has its source
// removed once durable), already there (the source is a leftover of a crash), gone, or failed.
MoveResult settle_placement(Placed placed, const std::string& source, const std::string& candidate,
                            const std::string& dest_dir, bool cross_device, MoveResult result) {
  switch (placed) {
    case Placed::ok:
      // Across filesystems the copy must be durable before the source goes. A same-filesystem
      // rename needs no fsync here: the store committed the decision first, and recovery redoes
      // a rename that a power loss undid (the object comes back as the same identity).
      if (cross_device) fsync_dir(dest_dir);
      if (cross_device && ::unlink(source.c_str()) != 0 && errno != ENOENT) {
        result.error = "copied to " + candidate + " but cannot remove " + source + ": " + errno_text(errno);
        return result;
      }
      break;
    case Placed::exists:  // the same content: already moved (e.g. a crash between copy and unlink)
      if (::unlink(source.c_str()) != 0 && errno != ENOENT) {
        result.error = candidate + " already holds this object but cannot remove " + source + ": " + errno_text(errno);
        return result;
      }
      break;
    case Placed::source_gone:
      if (::access(source.c_str(), F_OK) != 0) return missing(source);
      result.error = "cannot move " + source + " to " + candidate + ": destination folder vanished";
      return result;
    case Placed::cross_device:
    case Placed::failed:
      return result;
  }
  result.ok = true;
  result.final_path = candidate;
  return result;
}

}  // namespace

MoveResult move_object(const fs::path& source_path, const fs::path& dest_root, const std::string& key,
                       const std::string& unique_suffix) {
  MoveResult result;
  const std::string source = source_path.native();
  struct stat st;
  if (::lstat(source.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return missing(source);
    result.error = "cannot access " + source + ": " + errno_text(errno);
    return result;
  }
  if (!S_ISREG(st.st_mode)) {
    result.error = source + " is not a regular file";
    return result;
  }
  if (!valid_key(key, &result.error)) return result;
  const std::string dest = join(dest_root, key);
  const std::string dest_dir = parent_of(dest);
  if (!make_dirs(dest_dir, &result.error)) return result;

  bool cross_device = false;
  for (int attempt = 0; attempt < kMaxCandidates; ++attempt) {
    const std::string candidate = attempt == 0   ? dest
                                  : attempt == 1 ? suffixed(dest, unique_suffix)
                                                 : suffixed(dest, unique_suffix + "-" + std::to_string(attempt));
    Placed placed = cross_device ? Placed::cross_device : rename_noreplace(source, candidate, &result.error);
    if (placed == Placed::cross_device) {
      cross_device = true;
      placed = copy_noreplace(source, candidate, &result.error);
    }
    if (placed == Placed::exists && !same_content(source, candidate)) continue;  // an earlier object: next name
    return settle_placement(placed, source, candidate, dest_dir, cross_device, std::move(result));
  }
  result.error = "cannot find a free name for " + dest + " after " + std::to_string(kMaxCandidates) + " tries";
  return result;
}

bool write_error_json(const fs::path& dest_root, const std::string& key, const std::string& json,
                      std::string* error) {
  std::string local;
  std::string* err = error ? error : &local;
  if (!valid_key(key, err)) return false;
  const std::string path = join(dest_root, key) + ".error.json";
  if (basename_of(path).size() > kNameMax) {
    *err = "cannot write the error file for " + key + ": the name would exceed 255 bytes";
    return false;
  }
  const std::string dir = parent_of(path);
  if (!make_dirs(dir, err)) return false;
  TempFile tmp;
  if (!tmp.create(dir, err)) return false;
  if (!write_full(tmp.fd(), json.data(), json.size()) || ::fchmod(tmp.fd(), 0644) != 0 || ::fsync(tmp.fd()) != 0) {
    *err = "cannot write " + tmp.path() + ": " + errno_text(errno);
    return false;
  }
  if (::rename(tmp.path().c_str(), path.c_str()) != 0) {
    *err = "cannot rename " + tmp.path() + " to " + path + ": " + errno_text(errno);
    return false;
  }
  tmp.committed();
  fsync_dir(dir);
  return true;
}

MoveResult delete_object(const fs::path& source_path) {
  MoveResult result;
  const std::string source = source_path.native();
  struct stat st;
  if (::lstat(source.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      result.ok = true;  // already gone: the delete action's goal holds
      result.source_missing = true;
      return result;
    }
    result.error = "cannot access " + source + ": " + errno_text(errno);
    return result;
  }
  if (S_ISDIR(st.st_mode)) {
    result.error = source + " is a folder, not an object";
    return result;
  }
  if (::unlink(source.c_str()) != 0) {
    if (errno == ENOENT) {
      result.ok = true;
      result.source_missing = true;
      return result;
    }
    result.error = "cannot delete " + source + ": " + errno_text(errno);
    return result;
  }
  fsync_dir(parent_of(source));
  result.ok = true;
  return result;
}

}  // namespace hivehook
