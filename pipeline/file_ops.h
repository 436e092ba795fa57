// The file operations the pipeline performs on landing, archive and quarantine, behind one
// interface: production resolves every path beneath its tree's directory fd with no symlink in
// any component (LocalFileOps over landing/beneath.h); tests wrap it to inject faults (a move that
// fails with ENOSPC, a file gone between two steps) or crashes at exactly this seam. Keys are
// relative to their area, '/'-separated. Every call may be made from the loop thread; hash() also
// from the hashing thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "archive/mover.h"
#include "landing/beneath.h"
#include "landing/etag.h"
#include "landing/scan.h"

namespace hivehook {

// Which of the three trees a key lives in (named Area, not Tree: landing/beneath.h's Tree is the
// directory handle over one of them).
enum class Area { landing, archive, quarantine };

// A file's identity (DESIGN.md "Only complete files": Identity). Replacing a file changes its
// inode; rewriting it in place changes its mtime (and size, mostly) and its ctime. A change of
// metadata only (chmod, chown, an ACL, `touch -a`) moves the ctime alone: compare_identity says so,
// and the eTag decides (docs/decisions.md, issue 16 retest P9).
struct FileIdentity {
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};

// How the identity of the file at a key now compares with the one recorded.
enum class IdentityMatch {
  same,           // every field equal (a recorded ctime of 0, written before identities had one, matches any)
  metadata_only,  // inode, size and mtime equal, the ctime moved: a chmod/chown/`touch -a` — or a
                  // same-size rewrite within the mtime's granularity (issue 10 item 2): the caller
                  // compares the eTag of the bytes now there with the recorded one (same eTag: the
                  // same file, whose new ctime is recorded; else a different file)
  different,      // inode, size or mtime differ: another file (replaced or rewritten)
};
// The one identity check every comparison goes through (discovery, the checks before a run and
// before the final move).
IdentityMatch compare_identity(const FileIdentity& recorded, const FileIdentity& now);

// What lstat(2) beneath landing says about one key (symlinks never followed).
struct FileInfo {
  bool exists = false;  // false: not there, or no longer beneath landing (a symlink on its path)
  EntryKind kind = EntryKind::other;
  FileIdentity id;
  mode_t mode = 0;
  nlink_t nlink = 0;  // hard links (an IN_CREATE of a file with 2 or more is a link, not a writer's create)
  uid_t uid = 0;  // owner and group, for messages about a file the daemon may not read
  gid_t gid = 0;
  int error = 0;  // errno when the lookup failed for another reason than "not there" (EACCES, ENAMETOOLONG)
};

// Where no lease can say whether a writer still has a file open (not the file's owner, a
// filesystem without leases), a file changed within this window counts as still being written.
inline constexpr std::chrono::seconds kRecentWindow{2};
// How long a file inotify saw a writer create waits for that writer's close (IN_CLOSE_WRITE)
// before the recency rule decides after all, with a warning (issue 16 retest P14; docs/runbook.md
// "A file still being written").
inline constexpr std::chrono::minutes kAwaitCloseMax{10};
// Whether `id` changed (mtime or ctime) within the last kRecentWindow of the system clock: a file
// this process may not open yet (cp/mv across filesystems make their copy 0600 until it is done)
// counts as still being written rather than unreadable (issue 16 N1).
bool changed_recently(const FileIdentity& id);

// Whether a file found by a scan may be admitted (DESIGN.md "Complete").
enum class Admission {
  complete,    // nobody has it open for writing (a read lease was granted)
  quiet,       // no lease possible (not the file's owner, a filesystem without leases): unchanged for
               // kRecentWindow, no writer known. Admitted, unless inotify saw a writer create it and
               // its close has not come yet (issue 16 retest P14)
  busy,        // a writer has it open, or (no lease possible) it changed within kRecentWindow: the
               // pipeline looks again every kRecentWindow (its close event may bring it back sooner,
               // but none comes when the writer closed it before its folder was watched)
  gone,        // not there any more
  unreadable,  // cannot be opened (EACCES, ENAMETOOLONG, ...) and unchanged for kRecentWindow: *why says so
};

// The eTag of the bytes read and the identity of the file they were read from.
struct Hashed {
  std::string etag;
  FileIdentity id;
  mode_t mode = 0;
};

class FileOps {
 public:
  virtual ~FileOps() = default;
  // The absolute path of `key` in `area` (what a job is told as {path}; never used for a call).
  virtual std::filesystem::path path(Area area, const std::string& key) const = 0;
  // lstat of landing/<key>.
  virtual FileInfo stat(const std::string& key) = 0;
  // The entries of folder landing/<dir> ("" = landing itself), unsorted, beneath landing (a folder
  // swapped for a symlink is ELOOP, never followed). For scans (pipeline/landing_scan.h).
  virtual FsResult<std::vector<DirEntry>> list(const std::string& dir) = 0;
  // Is landing/<key> complete? A read lease (fcntl F_SETLEASE F_RDLCK) is refused while any
  // process has the file open for writing; where leases are not allowed (not the file's owner,
  // a filesystem without them) a change within the last kRecentWindow counts as busy.
  virtual Admission probe(const std::string& key, std::string* why) = 0;
  // The eTag (hex MD5) of landing/<key>, and the identity of what was read. nullopt and *error
  // (*err: errno; EAGAIN when the file changed while being read) when it cannot be read.
  virtual std::optional<Hashed> hash(const std::string& key, int* err, std::string* error) = 0;
  // Moves landing/<key> to <to>/<key> (or "<key>~<unique_suffix>" beside an earlier different
  // object), as archive/mover.h's move_object.
  virtual MoveResult move(const std::string& key, Area to, const std::string& unique_suffix) = 0;
  // Deletes landing/<key>.
  virtual MoveResult remove(const std::string& key) = 0;
  // A replay or retry: puts a copy of `from` (an archived or quarantined object's file, beneath the
  // archive or the quarantine) at landing/<key>, creating partition folders, never over a file
  // already there. The one way a kept file goes back into landing for a run: `from` keeps its
  // place and the job gets bytes of its own (archive/mover.h copy_object: a reflink, else a copy
  // after a free-space check), so a job that writes to its input cannot change the kept copy
  // (findings 15 F21). `error` says why not (ENOSPC names the free and needed bytes).
  virtual MoveResult restore(const std::filesystem::path& from, const std::string& key) = 0;
  // Removes <area>/<key> (archive or quarantine) and, in the quarantine, its .error.json: a
  // quarantined original once its retry has ended elsewhere. A file already gone is not an error.
  virtual FsStatus remove_kept(Area area, const std::string& key) = 0;
  // Writes quarantine/<key>.error.json with `mode` (key: where the object went in quarantine).
  virtual FsStatus write_error_json(const std::string& key, const std::string& json, mode_t mode) = 0;
  // After a crash between a move and its commit (or a move whose error report then failed): the
  // object is already in `area`, under its key or "<key>~<id>", recognised by inode and size after
  // a rename, by the copy's origin mark after a copy across filesystems (archive/mover.h
  // is_moved_copy_of). Its key there, or nullopt; nullopt too while
  // landing/<key> is still that file (a replay's hard link shares the archived copy's inode).
  virtual std::optional<std::string> find_moved(Area area, const std::string& key, int64_t id, const FileIdentity& was) = 0;
  // How the S3 API created landing/<key> (landing/etag.h's record), when it did and the file is
  // still the one discovered (`was`: inode, size, mtime); nullopt for a dropped or rewritten file.
  virtual std::optional<UploadEvent> upload_event(const std::string& key, const FileIdentity& was) = 0;
  // The landing folder at its path is another one now (renamed away and made anew, deleted and
  // made again): work on that one from now on (issue 16 retest P5: the old folder's descriptor was
  // kept, so the new folder's files were never seen). Default: nothing (fakes have no descriptor).
  virtual void reopen_landing() {}
};

// FileOps on the configured folders, each opened once as a beneath-tree.
class LocalFileOps final : public FileOps {
 public:
  // Opens the three trees; throws std::runtime_error naming the folder that cannot be opened.
  LocalFileOps(const std::filesystem::path& landing, const std::filesystem::path& archive,
               const std::filesystem::path& quarantine);
  std::filesystem::path path(Area area, const std::string& key) const override;
  FileInfo stat(const std::string& key) override;
  FsResult<std::vector<DirEntry>> list(const std::string& dir) override;
  Admission probe(const std::string& key, std::string* why) override;
  std::optional<Hashed> hash(const std::string& key, int* err, std::string* error) override;
  MoveResult move(const std::string& key, Area to, const std::string& unique_suffix) override;
  MoveResult remove(const std::string& key) override;
  MoveResult restore(const std::filesystem::path& from, const std::string& key) override;
  FsStatus remove_kept(Area area, const std::string& key) override;
  FsStatus write_error_json(const std::string& key, const std::string& json, mode_t mode) override;
  std::optional<std::string> find_moved(Area area, const std::string& key, int64_t id, const FileIdentity& was) override;
  std::optional<UploadEvent> upload_event(const std::string& key, const FileIdentity& was) override;
  // Opens the folder now at landing's path and puts it in place of the old one's descriptor with
  // dup3(2), atomically, so threads using the tree meanwhile see one or the other, never a closed fd.
  void reopen_landing() override;

  const Tree& tree(Area area) const;

 private:
  Tree landing_, archive_, quarantine_;
};

// The identity of what fstat/lstat returned.
FileIdentity identity_of(const struct stat& st);

}  // namespace hivehook
