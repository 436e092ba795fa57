#include "pipeline/file_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "landing/etag.h"
#include "landing/made_folders.h"

namespace hivehook {

namespace {
constexpr int64_t kRecentNs = std::chrono::nanoseconds(kRecentWindow).count();

Tree open_tree(const std::filesystem::path& root) {
  auto t = Tree::open(root);
  if (!t) throw std::runtime_error(t.message());
  return std::move(*t);
}

EntryKind kind_of(mode_t mode) {
  return S_ISREG(mode) ? EntryKind::regular : S_ISLNK(mode) ? EntryKind::symlink : EntryKind::other;
}

bool not_there(int err) { return err == ENOENT || err == ENOTDIR || err == ELOOP; }

// No lease possible: a file changed within the last kRecentWindow may still be being written.
Admission by_recency(const struct stat& st) {
  return changed_recently(identity_of(st)) ? Admission::busy : Admission::quiet;
}
}  // namespace

IdentityMatch compare_identity(const FileIdentity& recorded, const FileIdentity& now) {
  if (recorded.inode != now.inode || recorded.size != now.size || recorded.mtime_ns != now.mtime_ns)
    return IdentityMatch::different;
  if (recorded.ctime_ns == 0 || recorded.ctime_ns == now.ctime_ns) return IdentityMatch::same;
  return IdentityMatch::metadata_only;
}

bool changed_recently(const FileIdentity& id) {
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  return now - std::max(id.mtime_ns, id.ctime_ns) < kRecentNs;
}

FileIdentity identity_of(const struct stat& st) {
  return FileIdentity{static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size),
                      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec,
                      static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000LL + st.st_ctim.tv_nsec};
}

LocalFileOps::LocalFileOps(const std::filesystem::path& landing, const std::filesystem::path& archive,
                           const std::filesystem::path& quarantine)
    : landing_(open_tree(landing)), archive_(open_tree(archive)), quarantine_(open_tree(quarantine)) {}

namespace {
// Puts the folder now at `t`'s path in place of the one `t` holds, with dup3(2) (atomic: threads
// using the tree meanwhile see one folder or the other, never a closed descriptor).
void reopen(const Tree& t, const char* what) {
  auto fresh = Tree::open(t.root());
  if (!fresh) {
    spdlog::warn("cannot open the {} folder again: {}", what, fresh.message());
    return;
  }
  if (::dup3(fresh->fd(), t.fd(), O_CLOEXEC) < 0)
    spdlog::warn("cannot open the {} folder again: dup3: {}", what, std::strerror(errno));
}

// Follows the folder at `t`'s configured path (issue 10 retest T18): when it is another folder
// than the one held (the archive rotated with `mv archive archive-2026-11 && mkdir archive`,
// deleted and made again), the tree is reopened there, so files go where the store says they
// are. A path that leads nowhere is an error naming it (the move waits as move_failed).
FsStatus follow(const Tree& t, const char* what) {
  struct stat at_path, held;
  if (::stat(t.root().c_str(), &at_path) != 0) {
    const int err = errno;
    return FsError{err, std::string("the ") + what + " folder " + t.root().string() + " cannot be reached: " +
                            std::strerror(err) + " (renamed or removed while hivehook runs?)"};
  }
  if (::fstat(t.fd(), &held) != 0 || (at_path.st_dev == held.st_dev && at_path.st_ino == held.st_ino)) return {};
  spdlog::warn("the {} folder {} is another folder now (renamed away, or removed and made again): using the one "
               "at the path from now on",
               what, t.root().string());
  reopen(t, what);
  return {};
}

const char* name_of(Area area) {
  return area == Area::archive ? "archive" : area == Area::quarantine ? "quarantine" : "landing";
}

MoveResult failed(const FsError& e) {
  MoveResult r;
  r.error = e.message;
  r.code = e.code;
  return r;
}
}  // namespace

void LocalFileOps::reopen_landing() { reopen(landing_, "landing"); }

const Tree& LocalFileOps::tree(Area area) const {
  switch (area) {
    case Area::archive:
      return archive_;
    case Area::quarantine:
      return quarantine_;
    case Area::landing:
      break;
  }
  return landing_;
}

std::filesystem::path LocalFileOps::path(Area area, const std::string& key) const {
  return tree(area).path_of(key);
}

FileInfo LocalFileOps::stat(const std::string& key) {
  FileInfo info;
  auto st = landing_.stat(key);
  if (!st) {
    if (!not_there(st.code())) info.error = st.code();
    return info;
  }
  info.exists = true;
  info.kind = kind_of(st->st_mode);
  info.id = identity_of(*st);
  info.mode = st->st_mode;
  info.nlink = st->st_nlink;
  info.uid = st->st_uid;
  info.gid = st->st_gid;
  return info;
}

FsResult<std::vector<DirEntry>> LocalFileOps::list(const std::string& dir) { return landing_.list_dir(dir); }

Admission LocalFileOps::probe(const std::string& key, std::string* why) {
  auto fd = landing_.open_regular(key);
  if (!fd) {
    if (not_there(fd.code())) return Admission::gone;
    if (why) *why = fd.message();
    // Not readable yet may be "still being copied": cp and mv across filesystems create the copy
    // 0600 and set its mode when done (issue 16 N1: recorded "ignored" although it then ran).
    if (fd.code() == EACCES || fd.code() == EPERM)
      if (auto st = landing_.stat(key); st && changed_recently(identity_of(*st))) return Admission::busy;
    return Admission::unreadable;
  }
  // A read lease is granted only while no process has the file open for writing (fcntl(2)).
  if (::fcntl(fd->get(), F_SETLEASE, F_RDLCK) == 0) {
    ::fcntl(fd->get(), F_SETLEASE, F_UNLCK);
    return Admission::complete;
  }
  if (errno == EAGAIN) return Admission::busy;
  struct stat st;  // EACCES/EPERM (not the owner, no CAP_LEASE), EINVAL (no leases here)
  if (::fstat(fd->get(), &st) != 0) return Admission::gone;
  return by_recency(st);
}

std::optional<Hashed> LocalFileOps::hash(const std::string& key, int* err, std::string* error) {
  auto fail = [&](int code, std::string message) -> std::optional<Hashed> {
    if (err) *err = code;
    if (error) *error = std::move(message);
    return std::nullopt;
  };
  auto fd = landing_.open_regular(key);
  if (!fd) return fail(fd.code(), fd.message());
  struct stat before, after;
  if (::fstat(fd->get(), &before) != 0) return fail(errno, "cannot stat " + path(Area::landing, key).string());
  std::string read_error;
  auto etag = fd_etag(fd->get(), &read_error);  // the writer's recorded eTag when still valid, else the MD5
  if (!etag) return fail(EIO, "cannot read " + path(Area::landing, key).string() + ": " + read_error);
  if (::fstat(fd->get(), &after) != 0 || !(identity_of(before) == identity_of(after)))
    return fail(EAGAIN, path(Area::landing, key).string() + " changed while it was being read");
  return Hashed{std::move(*etag), identity_of(after), after.st_mode};
}

std::optional<UploadEvent> LocalFileOps::upload_event(const std::string& key, const FileIdentity& was) {
  auto fd = landing_.open_regular(key);
  struct stat st;
  if (!fd || ::fstat(fd->get(), &st) != 0) return std::nullopt;
  const FileIdentity now = identity_of(st);
  if (now.inode != was.inode || now.size != was.size || now.mtime_ns != was.mtime_ns) return std::nullopt;
  return recorded_upload_event(fd->get(), st);
}

// An object that left landing may leave folders the S3 API made for it empty: they go too
// (landing/made_folders.h; folders a person made, or holding anything, stay).
MoveResult LocalFileOps::move(const std::string& key, Area to, const std::string& unique_suffix) {
  if (auto ok = follow(tree(to), name_of(to)); !ok) return failed(ok.error());
  MoveResult r = move_object(landing_, key, tree(to), unique_suffix);
  if (r.ok) prune_made_folders(landing_, key);
  return r;
}

MoveResult LocalFileOps::remove(const std::string& key) {
  MoveResult r = delete_object(landing_, key);
  if (r.ok) prune_made_folders(landing_, key);
  return r;
}

MoveResult LocalFileOps::restore(const std::filesystem::path& from, const std::string& key) {
  for (Area area : {Area::archive, Area::quarantine}) {
    const Tree& t = tree(area);
    (void)follow(t, name_of(area));
    const std::filesystem::path rel = from.lexically_normal().lexically_relative(t.root());
    if (rel.empty() || rel.is_absolute() || *rel.begin() == "..") continue;
    // The kept file stays where it is and landing gets a copy of its own (a reflink where the
    // filesystem has them), so a job that writes to its input changes the copy, never the
    // archive's good copy or the quarantined original (findings 15 F21: a hard link shared the
    // archived file's bytes with the job). A replay that succeeds finds the same bytes at its
    // archive key and drops the copy (move_object: an identical file there counts as moved).
    return copy_object(t, rel.string(), landing_, key);
  }
  MoveResult r;
  r.error = "cannot copy " + from.string() + " back into landing: it is in neither the archive nor the quarantine";
  return r;
}

FsStatus LocalFileOps::remove_kept(Area area, const std::string& key) {
  const Tree& t = tree(area);
  if (auto ok = follow(t, name_of(area)); !ok) return ok;
  if (auto gone = t.unlink(key); !gone && gone.code() != ENOENT) return gone;
  if (area == Area::quarantine)
    if (auto gone = t.unlink(key + ".error.json"); !gone && gone.code() != ENOENT) return gone;
  return {};
}

FsStatus LocalFileOps::write_error_json(const std::string& key, const std::string& json, mode_t mode) {
  if (auto ok = follow(quarantine_, "quarantine"); !ok) return ok;
  return hivehook::write_error_json(quarantine_, key, json, mode);
}

std::optional<std::string> LocalFileOps::find_moved(Area area, const std::string& key, int64_t id,
                                                    const FileIdentity& was) {
  // The object's file still at its key in landing is not moved, whatever else shares its inode: a
  // hard link between landing and the archive (made by hand, or by a replay of hivehook before
  // findings 15 F21, which linked instead of copying) must not be taken for this object's
  // finished move (that left the replayed file in landing after a successful replay or retry).
  auto here = landing_.stat(key);
  if (here && S_ISREG(here->st_mode) && static_cast<uint64_t>(here->st_ino) == was.inode) return std::nullopt;
  const bool gone = !here && here.code() == ENOENT;
  (void)follow(tree(area), name_of(area));
  for (const auto& candidate : {key, collision_name(key, std::to_string(id))}) {
    auto st = tree(area).stat(candidate);
    if (!st || !S_ISREG(st->st_mode) || static_cast<uint64_t>(st->st_size) != was.size) continue;
    if (static_cast<uint64_t>(st->st_ino) == was.inode) return candidate;  // renamed
    // Copied across filesystems (findings 10-retest T2: its inode is the copy's own).
    if (is_moved_copy_of(tree(area), candidate, {was.inode, was.size, was.mtime_ns}, gone)) return candidate;
  }
  return std::nullopt;
}

}  // namespace hivehook
