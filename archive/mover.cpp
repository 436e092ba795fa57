#include "archive/mover.h"

#include <fcntl.h>
#include <linux/fs.h>  // FICLONE
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "landing/etag.h"

// Paths are handed to the kernel as bytes: keys may hold newlines, quotes, non-UTF-8, a leading
// '-'; nothing here goes through a shell.
//
// Durability: a copy across filesystems is fsync'ed (file and folder) before the source is removed.
// A same-filesystem rename is not followed by a folder fsync: the store records the decision
// before the move and recovery redoes a rename lost to power loss, so one fsync per file would buy
// nothing but a 100x slower pipeline.

namespace hivehook {

namespace {

constexpr std::size_t kNameMax = 255;
constexpr int kMaxCandidates = 100;

std::string parent_of(const std::string& key) {
  auto slash = key.find_last_of('/');
  return slash == std::string::npos ? std::string() : key.substr(0, slash);
}

std::string basename_of(const std::string& key) {
  auto slash = key.find_last_of('/');
  return slash == std::string::npos ? key : key.substr(slash + 1);
}

// "<name>~<suffix>" beside `key`, the name shortened so the result fits NAME_MAX.
std::string suffixed(const std::string& key, std::string suffix) {
  for (char& c : suffix)
    if (c == '/' || c == '\0') c = '_';
  if (suffix.empty()) suffix = "dup";
  if (suffix.size() > 64) suffix.resize(64);
  std::string name = basename_of(key);
  const std::size_t room = kNameMax - suffix.size() - 1;
  if (name.size() > room) name.resize(room);
  const std::string dir = parent_of(key);
  return (dir.empty() ? "" : dir + "/") + name + "~" + suffix;
}

std::string candidate_name(const std::string& key, const std::string& suffix, int attempt) {
  if (attempt == 0) return key;
  return suffixed(key, attempt == 1 ? suffix : suffix + "-" + std::to_string(attempt));
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

// True only when `b` in `tb` is a regular file with exactly the bytes of `a` in `ta`.
bool same_content(const Tree& ta, const std::string& a, const Tree& tb, const std::string& b) {
  auto fa = ta.open_regular(a);
  auto fb = tb.open_regular(b);
  if (!fa || !fb) return false;
  struct stat sa, sb;
  if (::fstat(fa->get(), &sa) != 0 || ::fstat(fb->get(), &sb) != 0 || sa.st_size != sb.st_size) return false;
  std::vector<char> ba(64 * 1024), bb(64 * 1024);
  while (true) {
    std::size_t na = 0, nb = 0;
    if (!read_full(fa->get(), ba.data(), ba.size(), &na) || !read_full(fb->get(), bb.data(), bb.size(), &nb)) return false;
    if (na != nb || std::memcmp(ba.data(), bb.data(), na) != 0) return false;
    if (na < ba.size()) return true;
  }
}

// Removes the ".hivehook-tmp-*" files a killed daemon left in folder `rel_dir` of `tree` (a temp
// named on a filesystem without O_TMPFILE, or kill -9 inside TempFile::publish's link-then-rename).
// Sound because only the mover writes temp files in archive and quarantine, from the loop thread,
// one at a time, and one daemon owns the trees: any temp file found there before a new one is made
// is a leftover. (Start-up removes those of the whole trees; this covers the folder in use now.)
// Errors are logged, never fatal.
void remove_stale_temp_files(const Tree& tree, const std::string& rel_dir) {
  auto entries = tree.list_dir(rel_dir);
  if (!entries) return;
  for (const auto& e : *entries) {
    if (e.type == EntryType::directory || e.name.rfind(kTempPrefix, 0) != 0) continue;
    const std::string rel = rel_dir.empty() ? e.name : rel_dir + "/" + e.name;
    if (auto removed = tree.unlink(rel); removed)
      spdlog::info("removed {}, a temporary file left by an interrupted move", tree.path_of(rel));
    else
      spdlog::warn("cannot remove the leftover temporary file {}", removed.message());
  }
}

MoveResult failure(const FsError& e) {
  MoveResult r;
  r.error = e.message;
  r.code = e.code;
  return r;
}

// The source could not be found: gone (ENOENT, ENOTDIR), or no longer beneath its tree (ELOOP: a
// symlink now stands on its path). Anything else is a failure to retry.
MoveResult source_failure(const FsError& e) {
  MoveResult r = failure(e);
  r.source_missing = e.code == ENOENT || e.code == ENOTDIR || e.code == ELOOP;
  return r;
}

MoveResult success(const Tree& to, const std::string& key) {
  MoveResult r;
  r.ok = true;
  r.final_key = key;
  r.final_path = to.path_of(key);
  return r;
}

// The bytes of `in` into `out`: a reflink (ioctl FICLONE: the copy shares the source's blocks,
// copy-on-write, so it costs no space and no time) where the filesystem offers it (btrfs, XFS with
// reflink, bcachefs, ...), else a byte copy — after checking that the destination's filesystem has
// room for it, so a lack of space is one clear sentence before anything is written rather than a
// half-written file. Either way writing to one never changes the other.
FsStatus copy_bytes(int in, const struct stat& st, const std::string& from_name, int out, const std::string& to_name,
                    const std::string& to_dir) {
  if (::ioctl(out, FICLONE, in) == 0) return {};
  struct statvfs vfs;
  if (::fstatvfs(out, &vfs) == 0) {
    const uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    if (free_bytes < static_cast<uint64_t>(st.st_size))
      return FsError{ENOSPC, "cannot copy " + from_name + " to " + to_name + ": " + std::strerror(ENOSPC) + " (" +
                                 to_dir + " has " + std::to_string(free_bytes) + " bytes free, the file needs " +
                                 std::to_string(st.st_size) + ")"};
  }
  std::vector<char> buf(128 * 1024);
  for (std::size_t n = buf.size(); n == buf.size();) {
    if (!read_full(in, buf.data(), buf.size(), &n)) return FsError{errno, "cannot read " + from_name + ": " + std::strerror(errno)};
    if (n > 0 && !write_full(out, buf.data(), n))
      return FsError{errno, "cannot write " + to_name + ": " + std::strerror(errno)};
  }
  return {};
}

// Marks an error document hivehook wrote (value: the object's key), so a later report for the key
// may replace it while a file of the same name that is an object never is.
constexpr const char* kErrorDocumentXattr = "user.hivehook.error_document";

// Whether `rel` is an error document about `key` that hivehook wrote, or does not exist (false
// for any other file: an object). Documents written before the mark are recognised by their
// content: a JSON object whose "key" is `key` and that has an "object_id".
bool is_error_document(const Tree& tree, const std::string& rel, const std::string& key) {
  auto fd = tree.open_regular(rel);
  if (!fd) return fd.code() == ENOENT;
  char mark[4096];
  const ssize_t n = ::fgetxattr(fd->get(), kErrorDocumentXattr, mark, sizeof mark);
  if (n >= 0) return std::string_view(mark, static_cast<std::size_t>(n)) == key;
  struct stat st;
  if (::fstat(fd->get(), &st) != 0 || st.st_size > (1 << 20)) return false;
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  if (!read_full(fd->get(), text.data(), text.size(), &got)) return false;
  text.resize(got);
  auto doc = nlohmann::json::parse(text, nullptr, false);
  return doc.is_object() && doc.contains("object_id") && doc.value("key", std::string()) == key;
}

// Copies the user.* extended attributes of `from` to `to` (best effort: a filesystem without user
// xattrs, or an attribute too large for it, is skipped; mv(1) warns and goes on the same way).
void copy_user_xattrs(int from, int to) {
  std::vector<char> names(64 * 1024);
  const ssize_t n = ::flistxattr(from, names.data(), names.size());
  if (n <= 0) return;
  std::vector<char> value(64 * 1024);
  for (ssize_t at = 0; at < n;) {
    const char* name = names.data() + at;
    at += static_cast<ssize_t>(std::strlen(name)) + 1;
    if (std::strncmp(name, "user.", 5) != 0) continue;
    const ssize_t len = ::fgetxattr(from, name, value.data(), value.size());
    if (len >= 0) (void)::fsetxattr(to, name, value.data(), static_cast<std::size_t>(len), 0);
  }
}

// The mark a cross-filesystem move leaves on its copy: which landing file it was a copy of.
constexpr const char* kOriginXattr = "user.hivehook.origin";

std::string origin_mark(const MovedFrom& m) {
  return std::to_string(m.inode) + ":" + std::to_string(m.size) + ":" + std::to_string(m.mtime_ns);
}

int64_t mtime_ns_of(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

std::function<void()>& after_copy_hook() {
  static std::function<void()> hook;
  return hook;
}

// Whether the file `in` (fstat'ed as `before` when the copy began) is still that file with those
// bytes: same device, inode, size, mtime and ctime (DESIGN "Identity"). A write in place during a
// copy across filesystems changes size or mtime (and ctime); a rename over it changes the inode.
bool unchanged_since(int in, const struct stat& before) {
  struct stat now;
  if (::fstat(in, &now) != 0) return false;
  return now.st_dev == before.st_dev && now.st_ino == before.st_ino && now.st_size == before.st_size &&
         now.st_mtim.tv_sec == before.st_mtim.tv_sec && now.st_mtim.tv_nsec == before.st_mtim.tv_nsec &&
         now.st_ctim.tv_sec == before.st_ctim.tv_sec && now.st_ctim.tv_nsec == before.st_ctim.tv_nsec;
}

// A copy of `key`'s bytes, mode, owner (where permitted), times and user.* xattrs (the eTag record
// rebound to the copy) in a temporary file published as `dest` in `to` (never replacing: EEXIST
// when `dest` exists). Used across filesystems by a move (`mark_origin`: the copy is marked with
// the source's identity, see is_moved_copy_of) and by copy_object (never marked: a mark copied
// from its source is removed). The source is fstat'ed again once the copy is made and before it
// is published: a source written (or replaced) meanwhile drops the copy and fails with ESTALE,
// *rewritten set (issue 10 retest T12: the archive held the new bytes under the old eTag, or a
// write the copy had passed was lost with the unlinked source).
FsStatus copy_across(const Tree& from, const std::string& key, const Tree& to, const std::string& dest,
                     bool mark_origin, bool* rewritten = nullptr) {
  auto in = from.open_regular(key);
  if (!in) return in.error();
  struct stat st;
  if (::fstat(in->get(), &st) != 0) return FsError{errno, "cannot stat " + from.path_of(key) + ": " + std::strerror(errno)};
  remove_stale_temp_files(to, parent_of(dest));
  auto tmp = TempFile::create(to, parent_of(dest), st.st_mode & 07777);
  if (!tmp) return tmp.error();
  if (auto copied = copy_bytes(in->get(), st, from.path_of(key), tmp->fd(), to.path_of(dest), to.path_of(parent_of(dest)));
      !copied)
    return copied;
  if (::fchown(tmp->fd(), st.st_uid, st.st_gid) != 0 && errno != EPERM)  // as mv: kept where permitted
    return FsError{errno, "cannot set the owner of " + to.path_of(dest) + ": " + std::strerror(errno)};
  ::fchmod(tmp->fd(), st.st_mode & 07777);  // after fchown, which may clear set-id bits
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  ::futimens(tmp->fd(), times);
  copy_user_xattrs(in->get(), tmp->fd());  // as mv(1) does: an upload's headers (user.hivehook.s3) go along
  carry_etag_record(in->get(), st, tmp->fd());  // and its eTag and how it was created, bound to the copy
  if (mark_origin) {
    const std::string mark = origin_mark({static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size), mtime_ns_of(st)});
    (void)::fsetxattr(tmp->fd(), kOriginXattr, mark.data(), mark.size(), 0);  // best effort, as every xattr
  } else {
    (void)::fremovexattr(tmp->fd(), kOriginXattr);
  }
  if (::fsync(tmp->fd()) != 0) return FsError{errno, "cannot fsync " + to.path_of(dest) + ": " + std::strerror(errno)};
  if (auto& hook = after_copy_hook(); hook) hook();
  if (!unchanged_since(in->get(), st)) {  // the temporary copy is dropped with `tmp`
    if (rewritten) *rewritten = true;
    return FsError{ESTALE, from.path_of(key) + " was rewritten during its move (its copy to " + to.path_of(dest) +
                               " is dropped)"};
  }
  return tmp->publish(dest, Replace::no);
}

// Brings `rel`'s ctime to now without changing its content, mode or times (chmod(2) to the mode it
// has updates ctime). Best effort: a file the daemon does not own keeps its ctime.
void refresh_ctime(const Tree& tree, const std::string& rel) {
  auto fd = tree.open_regular(rel);
  struct stat st;
  if (fd && ::fstat(fd->get(), &st) == 0) (void)::fchmod(fd->get(), st.st_mode & 07777);
}

// One placement attempt at `dest`: rename, or copy when the trees are on different filesystems.
// *rewritten is set when the source changed during a copy (nothing is placed then).
FsStatus place(const Tree& from, const std::string& key, const Tree& to, const std::string& dest, bool* across,
               bool* rewritten) {
  if (!*across) {
    auto st = from.rename(key, to, dest, Replace::no);
    if (st.code() != EXDEV) return st;
    *across = true;
  }
  auto st = copy_across(from, key, to, dest, /*mark_origin=*/true, rewritten);
  if (!st) return st;
  if (auto synced = to.fsync_dir(parent_of(dest)); !synced) return synced;  // durable before the source goes
  return from.unlink(key);
}

// fstat of folder `rel_dir` of `t` ("" = the root) into *out.
bool folder_stat(const Tree& t, const std::string& rel_dir, struct stat* out) {
  if (rel_dir.empty()) return ::fstat(t.fd(), out) == 0;
  auto st = t.stat(rel_dir);
  if (st) *out = *st;
  return static_cast<bool>(st);
}

// Whether `a` in `ta` and `b` in `tb` are one directory entry: the same file (device and inode)
// under the same name in the same folder — the two trees are one folder reached two ways (a bind
// mount), so "already at the destination" is the source itself. A hard link between the trees
// (a second name in another folder) is not: dropping the landing name leaves the archived one.
bool same_entry(const Tree& ta, const std::string& a, const Tree& tb, const std::string& b) {
  auto sa = ta.stat(a);
  auto sb = tb.stat(b);
  if (!sa || !sb || sa->st_dev != sb->st_dev || sa->st_ino != sb->st_ino || basename_of(a) != basename_of(b))
    return false;
  struct stat da, db;
  return folder_stat(ta, parent_of(a), &da) && folder_stat(tb, parent_of(b), &db) && da.st_dev == db.st_dev &&
         da.st_ino == db.st_ino;
}

}  // namespace

void set_after_copy_hook(std::function<void()> hook) { after_copy_hook() = std::move(hook); }

std::string collision_name(const std::string& key, const std::string& suffix) { return suffixed(key, suffix); }

MoveResult move_object(const Tree& from, const std::string& key, const Tree& to, const std::string& unique_suffix) {
  return move_object(from, key, to, key, unique_suffix);
}

MoveResult move_object(const Tree& from, const std::string& key, const Tree& to, const std::string& dest_key,
                       const std::string& unique_suffix) {
  auto src = from.stat(key);
  if (!src) return source_failure(src.error());
  if (!S_ISREG(src->st_mode)) return failure(FsError{EINVAL, from.path_of(key) + " is not a regular file"});
  if (auto made = to.make_dirs(parent_of(dest_key)); !made) return failure(made.error());
  bool across = false;
  const int candidates = unique_suffix.empty() ? 1 : kMaxCandidates;
  for (int attempt = 0; attempt < candidates; ++attempt) {
    const std::string dest = candidate_name(dest_key, unique_suffix, attempt);
    bool rewritten = false;
    auto placed = place(from, key, to, dest, &across, &rewritten);
    if (placed) return success(to, dest);
    if (rewritten) {
      MoveResult r = failure(placed.error());
      r.source_rewritten = true;
      return r;
    }
    if (placed.code() != EEXIST) {
      // ENOENT names the source or the destination folder: tell them apart.
      if (placed.code() == ENOENT) {
        auto still = from.stat(key);
        if (!still) return source_failure(still.error());
      }
      return failure(placed.error());
    }
    if (same_entry(from, key, to, dest))  // never unlink the source as "already moved" (retest T16)
      return failure(FsError{EINVAL, from.path_of(key) + " and " + to.path_of(dest) +
                                         " are the same file: the two folders are one (a bind mount?); not moved"});
    if (!same_content(from, key, to, dest)) continue;  // a different earlier object: the next name
    // Already there: moved before a crash between copy and unlink, or the same bytes stored again
    // (a key re-uploaded with an earlier version's content: a revert). The stored file now stands
    // for the newest arrival, so its ctime is brought forward (a chmod to its own mode): readers
    // take the version stored last, by ctime, as the key's latest (s3/versions.h).
    refresh_ctime(to, dest);
    if (auto gone = from.unlink(key); !gone && gone.code() != ENOENT) return failure(gone.error());
    return success(to, dest);
  }
  if (unique_suffix.empty()) return failure(FsError{EEXIST, "a different file is at " + to.path_of(dest_key) + " already"});
  return failure(FsError{EEXIST, "cannot find a free name for " + to.path_of(dest_key) + " after " +
                                     std::to_string(kMaxCandidates) + " tries"});
}

MoveResult copy_object(const Tree& from, const std::string& key, const Tree& to, const std::string& dest_key) {
  auto src = from.stat(key);
  if (!src) return source_failure(src.error());
  if (!S_ISREG(src->st_mode)) return failure(FsError{EINVAL, from.path_of(key) + " is not a regular file"});
  if (auto made = to.make_dirs(parent_of(dest_key)); !made) return failure(made.error());
  auto copied = copy_across(from, key, to, dest_key, /*mark_origin=*/false);
  if (copied.code() == EEXIST)
    return failure(FsError{EEXIST, "a file is at " + to.path_of(dest_key) + " already"});
  if (!copied) {
    if (copied.code() == ENOENT) {
      auto still = from.stat(key);
      if (!still) return source_failure(still.error());
    }
    return failure(copied.error());
  }
  (void)to.fsync_dir(parent_of(dest_key));
  return success(to, dest_key);
}

bool is_moved_copy_of(const Tree& tree, const std::string& rel, const MovedFrom& source, bool source_gone) {
  auto fd = tree.open_regular(rel);
  struct stat st;
  if (!fd || ::fstat(fd->get(), &st) != 0 || static_cast<uint64_t>(st.st_size) != source.size) return false;
  char mark[96];
  const ssize_t n = ::fgetxattr(fd->get(), kOriginXattr, mark, sizeof mark);
  if (n >= 0) return std::string_view(mark, static_cast<std::size_t>(n)) == origin_mark(source);
  // A filesystem without user xattrs keeps no mark: the copy kept the source's mtime, which is
  // enough only once the source is gone from landing (a file there is never taken for moved).
  return errno == ENOTSUP && source_gone && mtime_ns_of(st) == source.mtime_ns;
}

FsStatus write_error_json(const Tree& tree, const std::string& key, const std::string& json, mode_t mode) {
  // The documents' names start from the key; for a file name too long to take the suffixes
  // (".error.json", ".error-<n>.json") within NAME_MAX, from a shortened stem that names it
  // uniquely (retest R4: such an object was stuck in move_failed for ever): its first bytes (cut
  // at a UTF-8 boundary), "~h" and 16 hex digits of a hash of the whole name. "~h..." is never a
  // version's "~<digits>", so the name is not read as a version of another key.
  std::string stem = key;
  if (basename_of(key).size() + std::string_view(".error-1000.json").size() > kNameMax) {
    const std::string base = basename_of(key);
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
    for (unsigned char c : base) h = (h ^ c) * 1099511628211ULL;
    std::size_t cut = kNameMax - std::string_view(".error-1000.json").size() - 18;
    while (cut > 0 && (static_cast<unsigned char>(base[cut]) & 0xC0) == 0x80) --cut;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    const std::string dir = parent_of(key);
    stem = (dir.empty() ? "" : dir + "/") + base.substr(0, cut) + "~h" + hex;
  }
  const std::string name = stem + ".error.json";
  if (auto problem = relative_path_problem(name); !problem.empty())
    return FsError{EINVAL, "cannot write the error file for " + key + ": " + problem};
  if (auto made = tree.make_dirs(parent_of(name)); !made) return made;
  remove_stale_temp_files(tree, parent_of(name));
  auto tmp = TempFile::create(tree, parent_of(name), mode & 0666);
  if (!tmp) return tmp.error();
  if (!write_full(tmp->fd(), json.data(), json.size()) || ::fchmod(tmp->fd(), mode & 0666) != 0 ||
      ::fsync(tmp->fd()) != 0)
    return FsError{errno, "cannot write " + tree.path_of(name) + ": " + std::strerror(errno)};
  (void)::fsetxattr(tmp->fd(), kErrorDocumentXattr, key.data(), key.size(), 0);
  // The name may hold a quarantined object (a key ending in ".error.json"): never replace that
  // (objects are never overwritten); then the report goes to the first free "<key>.error-<n>.json".
  std::string target = name;
  for (int n = 2;; ++n) {
    const bool ours = is_error_document(tree, target, key);
    auto published = tmp->publish(target, ours ? Replace::yes : Replace::no);
    if (published) break;
    if (published.code() != EEXIST || n >= 1000) return published;
    if (is_error_document(tree, target, key)) continue;  // ours after all (written meanwhile): replace it
    target = stem + ".error-" + std::to_string(n) + ".json";
  }
  return tree.fsync_dir(parent_of(name));
}

MoveResult delete_object(const Tree& tree, const std::string& key) {
  auto st = tree.stat(key);
  if (!st) return source_failure(st.error());
  if (S_ISDIR(st->st_mode)) return failure(FsError{EISDIR, tree.path_of(key) + " is a folder, not an object"});
  if (auto gone = tree.unlink(key); !gone) return failure(gone.error());
  (void)tree.fsync_dir(parent_of(key));  // best effort: the file is gone either way
  MoveResult r;
  r.ok = true;
  return r;
}

}  // namespace hivehook
