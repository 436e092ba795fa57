#include "landing/beneath.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>  // struct open_how, RESOLVE_*
#include <stdio.h>          // renameat2, RENAME_NOREPLACE
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace hivehook {

namespace {

std::atomic<bool> g_force_fallback{false};
std::atomic<bool> g_no_openat2{false};    // the kernel said ENOSYS once
std::atomic<bool> g_force_named_temp{false};

constexpr int kRetries = 8;

std::string reason(int err, const std::filesystem::path& root) {
  switch (err) {
    case ELOOP:
      return "a symlink is on the path (never followed beneath " + root.native() + ")";
    case EXDEV:
      return "the path leaves " + root.native();
    default:
      return std::strerror(err);
  }
}

// Splits a clean relative path into its components.
std::vector<std::string_view> components(std::string_view rel) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= rel.size() && !rel.empty()) {
    std::size_t end = rel.find('/', start);
    if (end == std::string_view::npos) end = rel.size();
    out.push_back(rel.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// One component (no '/') opened beneath `dirfd` without following a symlink. Returns fd or -1.
int open_one(int dirfd, const std::string& name, int flags, mode_t mode) {
  int fd = ::openat(dirfd, name.c_str(), flags | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return -1;
  // O_PATH | O_NOFOLLOW opens a symlink itself instead of failing: refuse it here.
  if (flags & O_PATH) {
    struct stat st;
    if (::fstat(fd, &st) != 0 || S_ISLNK(st.st_mode)) {
      ::close(fd);
      errno = ELOOP;
      return -1;
    }
  }
  return fd;
}

// The component-by-component walk for kernels without openat2: every folder on the way is opened
// O_NOFOLLOW | O_DIRECTORY from the previous one.
int walk_open(int root, std::string_view rel, int flags, mode_t mode) {
  auto comps = components(rel);
  if (comps.empty()) return open_one(root, ".", flags, mode);
  UniqueFd cur;
  int at = root;
  for (std::size_t i = 0; i + 1 < comps.size(); ++i) {
    int next = open_one(at, std::string(comps[i]), O_PATH | O_DIRECTORY, 0);
    if (next < 0) {
      if (errno == ENOTDIR) {  // a symlink opened O_NOFOLLOW|O_DIRECTORY says ENOTDIR: say which
        struct stat st;
        if (::fstatat(at, std::string(comps[i]).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
          errno = ELOOP;
      }
      return -1;
    }
    cur.reset(next);
    at = cur.get();
  }
  return open_one(at, std::string(comps.back()), flags, mode);
}

// A symlink met where a folder is needed (O_DIRECTORY, or a folder on the way) makes the kernel say
// ENOTDIR; the caller is told ELOOP, the errno of "a symlink is on the path", when a component is
// one. Only classifies the error: no decision is taken on this second look.
int classify_enotdir(int root, std::string_view rel) {
  std::size_t end = 0;
  while (end != std::string_view::npos) {
    end = rel.find('/', end + 1);
    const std::string prefix(rel.substr(0, end));
    struct stat st;
    if (::fstatat(root, prefix.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) break;
    if (S_ISLNK(st.st_mode)) return ELOOP;
    if (!S_ISDIR(st.st_mode)) break;
  }
  return ENOTDIR;
}

int open_beneath_raw(int root, std::string_view rel, int flags, mode_t mode);

// openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), or the walk. Returns fd or -1 (errno set).
int open_beneath(int root, std::string_view rel, int flags, mode_t mode) {
  int fd = open_beneath_raw(root, rel, flags, mode);
  if (fd < 0 && errno == ENOTDIR && !rel.empty()) errno = classify_enotdir(root, rel);
  return fd;
}

int open_beneath_raw(int root, std::string_view rel, int flags, mode_t mode) {
  const bool creates = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
  if (!g_force_fallback.load() && !g_no_openat2.load()) {
    struct open_how how;
    std::memset(&how, 0, sizeof how);
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
    how.mode = creates ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    const std::string path = rel.empty() ? std::string(".") : std::string(rel);
    for (int i = 0; i < kRetries; ++i) {
      long fd = ::syscall(SYS_openat2, root, path.c_str(), &how, sizeof how);
      if (fd >= 0) return static_cast<int>(fd);
      if (errno == EAGAIN || errno == EINTR) continue;  // a concurrent rename/mount: retry
      if (errno != ENOSYS) return -1;
      g_no_openat2 = true;
      break;
    }
    if (!g_no_openat2.load()) return -1;
  }
  return walk_open(root, rel, flags, creates ? mode : 0);
}

std::string random_suffix() {
  unsigned char bytes[8];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // No entropy source: fall back to something unique enough for a temp name.
      unsigned long v = static_cast<unsigned long>(::getpid()) ^ static_cast<unsigned long>(::time(nullptr)) ^
                        reinterpret_cast<std::uintptr_t>(&got);
      std::memcpy(bytes, &v, sizeof bytes < sizeof v ? sizeof bytes : sizeof v);
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char b : bytes) {
    s.push_back(hex[b >> 4]);
    s.push_back(hex[b & 15]);
  }
  return s;
}

EntryType type_of(mode_t m) {
  if (S_ISREG(m)) return EntryType::regular;
  if (S_ISDIR(m)) return EntryType::directory;
  if (S_ISLNK(m)) return EntryType::symlink;
  return EntryType::other;
}

// renameat2 with RENAME_NOREPLACE, or link + unlink where the filesystem lacks the flag.
int rename_at(int from_dir, const char* from, int to_dir, const char* to, Replace replace) {
  if (replace == Replace::yes) return ::renameat(from_dir, from, to_dir, to);
  if (::renameat2(from_dir, from, to_dir, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  if (::linkat(from_dir, from, to_dir, to, 0) != 0) return -1;
  ::unlinkat(from_dir, from, 0);
  return 0;
}

}  // namespace

std::string relative_path_problem(std::string_view rel) {
  if (rel.empty()) return "";
  if (rel.find('\0') != std::string_view::npos) return "contains a NUL byte";
  if (rel.front() == '/') return "is absolute";
  for (std::string_view seg : components(rel)) {
    if (seg.empty()) return "has an empty segment";
    if (seg == "." || seg == "..") return "has a '" + std::string(seg) + "' segment";
  }
  return "";
}

bool is_temp_name(std::string_view basename) { return basename.substr(0, 10) == ".hivehook-"; }

// ---- Tree ------------------------------------------------------------------------------------

Tree::Tree(UniqueFd dirfd, std::filesystem::path root) : fd_(std::move(dirfd)), root_(std::move(root)) {}

FsResult<Tree> Tree::open(const std::filesystem::path& root) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(root, ec).lexically_normal();
  if (ec) abs = root;
  std::string s = abs.native();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  int fd = ::open(s.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return FsError{err, "cannot open folder " + s + ": " + std::strerror(err)};
  }
  return Tree(UniqueFd(fd), std::filesystem::path(s));
}

std::string Tree::path_of(std::string_view rel) const {
  std::string s = root_.native();
  if (rel.empty()) return s;
  if (s.empty() || s.back() != '/') s += '/';
  s.append(rel);
  return s;
}

FsError Tree::error(const char* what, std::string_view rel, int err) const {
  return FsError{err, std::string(what) + " " + path_of(rel) + ": " + reason(err, root_)};
}

FsResult<UniqueFd> Tree::open(std::string_view rel, int flags, mode_t mode) const {
  if (auto problem = relative_path_problem(rel); !problem.empty())
    return FsError{EINVAL, "cannot open " + path_of(rel) + ": the path " + problem};
  int fd = open_beneath(fd_.get(), rel, flags, mode);
  if (fd < 0) return error("cannot open", rel, errno);
  return UniqueFd(fd);
}

FsResult<UniqueFd> Tree::open_regular(std::string_view rel) const {
  auto fd = open(rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (!fd) return fd;
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return error("cannot stat", rel, errno);
  if (S_ISDIR(st.st_mode)) return FsError{EISDIR, "cannot read " + path_of(rel) + ": it is a folder"};
  if (!S_ISREG(st.st_mode)) return FsError{EINVAL, "cannot read " + path_of(rel) + ": not a regular file"};
  int fl = ::fcntl(fd->get(), F_GETFL);
  if (fl >= 0) ::fcntl(fd->get(), F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

FsResult<UniqueFd> Tree::open_dir(std::string_view rel) const {
  if (auto problem = relative_path_problem(rel); !problem.empty())
    return FsError{EINVAL, "cannot open folder " + path_of(rel) + ": the path " + problem};
  int fd = open_beneath(fd_.get(), rel, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0) return error("cannot open folder", rel, errno);
  return UniqueFd(fd);
}

FsResult<UniqueFd> Tree::open_parent(std::string_view rel, std::string_view* name, const char* what) const {
  if (rel.empty()) return FsError{EINVAL, std::string(what) + " " + path_of(rel) + ": the tree's root is not an entry"};
  if (auto problem = relative_path_problem(rel); !problem.empty())
    return FsError{EINVAL, std::string(what) + " " + path_of(rel) + ": the path " + problem};
  std::size_t slash = rel.rfind('/');
  *name = slash == std::string_view::npos ? rel : rel.substr(slash + 1);
  if (slash == std::string_view::npos) {
    int fd = ::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return error(what, rel, errno);
    return UniqueFd(fd);
  }
  int fd = open_beneath(fd_.get(), rel.substr(0, slash), O_PATH | O_DIRECTORY, 0);
  if (fd < 0) return error(what, rel, errno);
  return UniqueFd(fd);
}

FsResult<struct stat> Tree::stat(std::string_view rel) const {
  struct stat st;
  if (rel.empty()) {
    if (::fstat(fd_.get(), &st) != 0) return error("cannot stat", rel, errno);
    return st;
  }
  std::string_view name;
  auto parent = open_parent(rel, &name, "cannot stat");
  if (!parent) return parent.error();
  if (::fstatat(parent->get(), std::string(name).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return error("cannot stat", rel, errno);
  return st;
}

FsResult<std::vector<DirEntry>> Tree::list_dir(std::string_view rel) const {
  auto fd = open_dir(rel);
  if (!fd) return fd.error();
  int dfd = fd->release();
  DIR* dir = ::fdopendir(dfd);
  if (!dir) {
    int err = errno;
    ::close(dfd);
    return error("cannot read folder", rel, err);
  }
  std::vector<DirEntry> out;
  errno = 0;
  while (struct dirent* d = ::readdir(dir)) {
    std::string_view n = d->d_name;
    if (n == "." || n == "..") continue;
    EntryType t;
    switch (d->d_type) {
      case DT_REG: t = EntryType::regular; break;
      case DT_DIR: t = EntryType::directory; break;
      case DT_LNK: t = EntryType::symlink; break;
      case DT_UNKNOWN: {
        struct stat st;
        if (::fstatat(::dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
          errno = 0;
          continue;  // vanished meanwhile
        }
        t = type_of(st.st_mode);
        break;
      }
      default: t = EntryType::other;
    }
    out.push_back(DirEntry{std::string(n), t});
    errno = 0;
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return error("cannot read folder", rel, err);
  return out;
}

FsStatus Tree::make_dirs(std::string_view rel, mode_t mode, const std::function<void(int dir_fd)>& made) const {
  if (auto problem = relative_path_problem(rel); !problem.empty())
    return FsError{EINVAL, "cannot create folder " + path_of(rel) + ": the path " + problem};
  UniqueFd cur;
  int at = fd_.get();
  std::size_t done = 0;  // length of the prefix of `rel` already resolved
  for (std::string_view comp : components(rel)) {
    const std::string name(comp);
    const std::string_view prefix = rel.substr(0, done + comp.size());
    const bool created = ::mkdirat(at, name.c_str(), mode) == 0;
    if (!created && errno != EEXIST) return error("cannot create folder", prefix, errno);
    int next = open_beneath(at, name, O_PATH | O_DIRECTORY, 0);
    if (next < 0) {
      int err = errno;
      if (err == ENOTDIR) return FsError{ENOTDIR, "cannot create folder " + path_of(prefix) + ": it exists and is not a folder"};
      return error("cannot create folder", prefix, err);
    }
    cur.reset(next);
    at = cur.get();
    done += comp.size() + 1;
    if (created && made) made(at);
  }
  return {};
}

FsStatus Tree::unlink(std::string_view rel) const {
  std::string_view name;
  auto parent = open_parent(rel, &name, "cannot delete");
  if (!parent) return parent.error();
  if (::unlinkat(parent->get(), std::string(name).c_str(), 0) != 0) return error("cannot delete", rel, errno);
  return {};
}

FsStatus Tree::remove_dir(std::string_view rel) const {
  std::string_view name;
  auto parent = open_parent(rel, &name, "cannot remove folder");
  if (!parent) return parent.error();
  if (::unlinkat(parent->get(), std::string(name).c_str(), AT_REMOVEDIR) != 0)
    return error("cannot remove folder", rel, errno);
  return {};
}

FsStatus Tree::rename(std::string_view from, const Tree& to_tree, std::string_view to, Replace replace) const {
  std::string_view from_name, to_name;
  auto from_dir = open_parent(from, &from_name, "cannot move");
  if (!from_dir) return from_dir.error();
  auto to_dir = to_tree.open_parent(to, &to_name, "cannot move to");
  if (!to_dir) return to_dir.error();
  if (rename_at(from_dir->get(), std::string(from_name).c_str(), to_dir->get(), std::string(to_name).c_str(),
                replace) != 0) {
    int err = errno;
    return FsError{err, "cannot move " + path_of(from) + " to " + to_tree.path_of(to) + ": " + reason(err, root_)};
  }
  return {};
}

FsStatus Tree::link(std::string_view from, const Tree& to_tree, std::string_view to) const {
  std::string_view from_name, to_name;
  auto from_dir = open_parent(from, &from_name, "cannot link");
  if (!from_dir) return from_dir.error();
  auto to_dir = to_tree.open_parent(to, &to_name, "cannot link to");
  if (!to_dir) return to_dir.error();
  if (::linkat(from_dir->get(), std::string(from_name).c_str(), to_dir->get(), std::string(to_name).c_str(), 0) != 0) {
    int err = errno;
    return FsError{err, "cannot link " + path_of(from) + " as " + to_tree.path_of(to) + ": " + reason(err, root_)};
  }
  return {};
}

FsStatus Tree::fsync_dir(std::string_view rel) const {
  auto fd = open_dir(rel);
  if (!fd) return fd.error();
  if (::fsync(fd->get()) != 0) return error("cannot fsync folder", rel, errno);
  return {};
}

// ---- TempFile --------------------------------------------------------------------------------

FsResult<TempFile> TempFile::create(const Tree& tree, std::string_view rel_dir, mode_t mode, std::string_view prefix) {
  TempFile t;
  t.tree_ = &tree;
  t.dir_rel_ = std::string(rel_dir);
  t.prefix_ = std::string(prefix);
  auto dir = tree.open(rel_dir, O_PATH | O_DIRECTORY);
  if (!dir) return FsError{dir.code(), "cannot create a temporary file in " + tree.path_of(rel_dir) + ": " +
                                           reason(dir.code(), tree.root())};
  t.dir_ = std::move(*dir);
  if (!g_force_named_temp.load()) {
    int fd = ::openat(t.dir_.get(), ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
    if (fd >= 0) {
      t.fd_.reset(fd);
      return t;
    }
    // EOPNOTSUPP: the filesystem has no O_TMPFILE; EISDIR: the kernel predates it.
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
      int err = errno;
      return FsError{err, "cannot create a temporary file in " + tree.path_of(rel_dir) + ": " + std::strerror(err)};
    }
  }
  for (int i = 0; i < 100; ++i) {
    std::string name = t.prefix_ + random_suffix();
    int fd = ::openat(t.dir_.get(), name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd >= 0) {
      t.fd_.reset(fd);
      t.name_ = std::move(name);
      return t;
    }
    if (errno != EEXIST) {
      int err = errno;
      return FsError{err, "cannot create a temporary file in " + tree.path_of(rel_dir) + ": " + std::strerror(err)};
    }
  }
  return FsError{EEXIST, "cannot create a temporary file in " + tree.path_of(rel_dir) + ": no free name"};
}

TempFile::TempFile(TempFile&& o) noexcept
    : tree_(o.tree_),
      fd_(std::move(o.fd_)),
      dir_(std::move(o.dir_)),
      dir_rel_(std::move(o.dir_rel_)),
      name_(std::exchange(o.name_, std::string())),
      prefix_(std::move(o.prefix_)),
      published_(o.published_) {}

TempFile& TempFile::operator=(TempFile&& o) noexcept {
  if (this != &o) {
    discard();
    tree_ = o.tree_;
    fd_ = std::move(o.fd_);
    dir_ = std::move(o.dir_);
    dir_rel_ = std::move(o.dir_rel_);
    name_ = std::exchange(o.name_, std::string());
    prefix_ = std::move(o.prefix_);
    published_ = o.published_;
  }
  return *this;
}

TempFile::~TempFile() { discard(); }

std::string TempFile::path() const {
  if (!tree_) return "(no temporary file)";
  std::string dir = tree_->path_of(dir_rel_);
  return dir + "/" + (name_.empty() ? std::string("(unnamed)") : name_);
}

void TempFile::discard() {
  if (!name_.empty() && dir_ && !published_) ::unlinkat(dir_.get(), name_.c_str(), 0);
  name_.clear();
  fd_.reset();
}

FsStatus TempFile::publish(std::string_view rel, Replace replace) {
  if (!tree_ || published_) return FsError{EINVAL, "cannot publish " + path() + ": nothing to publish"};
  std::string_view final_name;
  auto final_dir = tree_->open_parent(rel, &final_name, "cannot move to");
  if (!final_dir) return final_dir.error();
  if (name_.empty()) {
    // Unnamed (O_TMPFILE): give it a temporary name beside the final one, then rename, so a
    // watcher sees IN_MOVED_TO at the final name as for any named write-then-rename.
    const std::string proc = "/proc/self/fd/" + std::to_string(fd_.get());
    for (int i = 0; i < 100 && name_.empty(); ++i) {
      std::string name = prefix_ + random_suffix();
      int r = ::linkat(AT_FDCWD, proc.c_str(), final_dir->get(), name.c_str(), AT_SYMLINK_FOLLOW);
      if (r != 0 && errno == ENOENT && ::access("/proc/self/fd", F_OK) != 0)  // no /proc: needs CAP_DAC_READ_SEARCH
        r = ::linkat(fd_.get(), "", final_dir->get(), name.c_str(), AT_EMPTY_PATH);
      if (r == 0) {
        int dup = ::fcntl(final_dir->get(), F_DUPFD_CLOEXEC, 0);
        if (dup < 0) {
          int err = errno;
          ::unlinkat(final_dir->get(), name.c_str(), 0);
          return FsError{err, "cannot move a temporary file to " + tree_->path_of(rel) + ": " + std::strerror(err)};
        }
        name_ = std::move(name);
        dir_.reset(dup);
        dir_rel_ = std::string(rel.substr(0, rel.size() - final_name.size()));
        if (!dir_rel_.empty()) dir_rel_.pop_back();
        break;
      }
      if (errno != EEXIST) {
        int err = errno;
        return FsError{err, "cannot move a temporary file to " + tree_->path_of(rel) + ": " + reason(err, tree_->root())};
      }
    }
    if (name_.empty()) return FsError{EEXIST, "cannot move a temporary file to " + tree_->path_of(rel) + ": no free name"};
  }
  fd_.reset();  // closed before it appears: the watcher's IN_CLOSE_WRITE never names the final key
  if (rename_at(dir_.get(), name_.c_str(), final_dir->get(), std::string(final_name).c_str(), replace) != 0) {
    int err = errno;
    // Still ours under its temporary name: open it again, so it can be written and published again.
    if (int fd = ::openat(dir_.get(), name_.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW); fd >= 0) fd_.reset(fd);
    return FsError{err, "cannot move " + path() + " to " + tree_->path_of(rel) + ": " + reason(err, tree_->root())};
  }
  published_ = true;
  name_.clear();
  return {};
}

// ---- leftovers ---------------------------------------------------------------------------------

std::size_t remove_temp_files(const Tree& tree, std::string_view prefix, std::vector<std::string>* errors) {
  std::size_t removed = 0;
  std::vector<std::string> stack{""};
  while (!stack.empty()) {
    std::string dir = std::move(stack.back());
    stack.pop_back();
    auto entries = tree.list_dir(dir);
    if (!entries) {
      if (errors && entries.code() != ENOENT) errors->push_back(entries.message());
      continue;
    }
    for (const auto& e : *entries) {
      std::string rel = dir.empty() ? e.name : dir + "/" + e.name;
      if (e.type == EntryType::directory) {
        stack.push_back(std::move(rel));
      } else if (e.type == EntryType::regular && std::string_view(e.name).substr(0, prefix.size()) == prefix) {
        if (auto st = tree.unlink(rel); st.ok())
          ++removed;
        else if (errors && st.code() != ENOENT)
          errors->push_back(st.message());
      }
    }
  }
  return removed;
}

namespace beneath_testing {
void force_fallback(bool on) { g_force_fallback = on; }
void force_named_temp(bool on) { g_force_named_temp = on; }
}  // namespace beneath_testing

}  // namespace hivehook
