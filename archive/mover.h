// Moving an object out of a tree — archive/<key>, quarantine/<key> (+ .error.json), back to
// landing (`retry`) — or deleting it. Every path is resolved beneath its tree's directory fd with
// no symlink in any component (landing/beneath.h), so a folder swapped for a symlink can never make
// hivehook move, copy or delete a file outside the trees.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>

#include "landing/beneath.h"

namespace hivehook {

struct MoveResult {
  bool ok = false;
  std::string final_key;             // where the object now is, relative to the destination tree
  std::filesystem::path final_path;  // the same, absolute
  std::string error;                 // when !ok: one sentence naming the file
  int code = 0;                      // when !ok: the errno (ENOSPC, EACCES, EROFS, EXDEV, EIO, ...)
  bool source_missing = false;       // the source was no longer there (or no longer beneath its tree)
  bool source_rewritten = false;     // the source changed during a copy across filesystems (ESTALE):
                                     // nothing was placed, the source is left as it is
};

// Test seam: called once a copy across filesystems is written and fsync'ed, just before the source
// is checked again (a test writes to the source there). Empty (the default) in the daemon.
void set_after_copy_hook(std::function<void()> hook);

// Moves `key` of `from` to `key` of `to`, creating partition folders: rename(2) on one filesystem;
// across filesystems a copy into a temporary file beside the destination (mode, owner where
// permitted, and times kept, as mv does), fsync, one rename into place, folder fsync, then the
// source is unlinked. Never overwrites a different earlier object: when `key` exists in `to` with
// other content, the object goes to "<key>~<unique_suffix>" (a name that would exceed 255 bytes is
// shortened before the "~"), and final_key says so. An identical existing file (same size and
// content) counts as already moved — unless it is the source itself (same device and inode: the
// trees are one folder through a bind mount), which fails (EINVAL) and leaves the source alone.
// A source written or replaced during a copy across filesystems is not moved: source_rewritten
// (ESTALE), the copy dropped, the source untouched (DESIGN "Identity").
// The name an object takes beside a different earlier one at `key`: "<key>~<suffix>" (shortened to
// fit 255 bytes).
std::string collision_name(const std::string& key, const std::string& suffix);

MoveResult move_object(const Tree& from, const std::string& key, const Tree& to, const std::string& unique_suffix);
// The same, from `key` of `from` to `dest_key` of `to`. An empty `unique_suffix` means no other
// name: a different file already at `dest_key` fails the move (EEXIST).
MoveResult move_object(const Tree& from, const std::string& key, const Tree& to, const std::string& dest_key,
                       const std::string& unique_suffix);

// An independent copy of `key` of `from` at `dest_key` of `to` (creating partition folders), for a
// file that must stay where it is while a job gets bytes of its own (a replay or retry from the
// archive or the quarantine: findings 15 F21): a reflink (FICLONE) where the filesystem supports
// it, else a byte copy after a free-space check (ENOSPC: "... No space left on device (<folder>
// has N bytes free, the file needs M)"), with mode, owner where permitted and times kept,
// published with one rename. Writing to the copy never changes the source (unlike a hard link).
// Never replaces: EEXIST when a file is at `dest_key` already. source_missing when `key` is gone.
MoveResult copy_object(const Tree& from, const std::string& key, const Tree& to, const std::string& dest_key);

// A landing file as a move found it: inode, size in bytes, mtime in nanoseconds since the epoch.
struct MovedFrom {
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

// Whether `rel` in `tree` is the copy a cross-filesystem move_object made of the landing file
// `source`: the copy is marked (xattr user.hivehook.origin = "inode:size:mtime_ns" of the source,
// all three because a freed landing inode is soon reused). On a filesystem without user xattrs,
// the same size and mtime (the copy keeps both), and only when `source_gone` (no file at the key in
// landing). A rename keeps the inode: compare inodes for that. Used to recognise a move that a
// crash or a failed later step (an error report that could not be written) left unrecorded
// (findings 10-retest T2: such a copy was taken for a file that vanished).
bool is_moved_copy_of(const Tree& tree, const std::string& rel, const MovedFrom& source, bool source_gone);

// Writes `<key>.error.json` in `tree` with one rename (temporary file, fsync, rename), replacing an
// older one, with mode `mode` (the object's own, so a 0600 file's error report is not
// world-readable). Pass the key the object went to (its final_key).
FsStatus write_error_json(const Tree& tree, const std::string& key, const std::string& json, mode_t mode);

// Removes `key` from `tree` (the "delete" action). A missing file is reported as source_missing.
MoveResult delete_object(const Tree& tree, const std::string& key);

}  // namespace hivehook
