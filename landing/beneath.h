// Path operations confined beneath a tree: every path is resolved from the tree's directory fd
// with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), then acted on with *at() calls on fds, so
// a folder swapped for a symlink can never make hivehook read, write, rename or delete a file
// outside the tree (DESIGN.md, "Only complete files, only inside landing": Beneath).
//
// Paths given to a Tree are *relative paths*: '/'-separated, no leading '/', no empty, "." or
// ".." segment, no NUL ("" names the tree's root where a folder is meant). Anything else is
// refused with EINVAL before the kernel sees it. A symlink anywhere on the path (the last
// component included) is refused with ELOOP. Every error keeps the errno of the failing call and a
// sentence naming the absolute path, e.g.
//   "cannot open /srv/landing/sales/x.csv: a symlink is on the path (never followed beneath /srv/landing)".
// Kernels without openat2 (before 5.6) get the same guarantees from a component-by-component walk
// with O_NOFOLLOW.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/unique_fd.h"

namespace hivehook {

// One failed path operation.
struct FsError {
  int code = 0;         // errno of the failing call (ENOENT, ELOOP, ENOTDIR, ENOSPC, EXDEV, EEXIST, ...)
  std::string message;  // "<what failed> <absolute path>: <reason>"
};

// The outcome of an operation that returns nothing: ok, or an FsError.
class [[nodiscard]] FsStatus {
 public:
  FsStatus() = default;  // ok
  FsStatus(FsError e) : error_(std::move(e)) {}
  bool ok() const { return error_.code == 0; }
  explicit operator bool() const { return ok(); }
  int code() const { return error_.code; }                  // 0 when ok
  const std::string& message() const { return error_.message; }  // "" when ok
  const FsError& error() const { return error_; }

 private:
  FsError error_;
};

// The outcome of an operation that returns a T: the value, or an FsError.
template <class T>
class [[nodiscard]] FsResult {
 public:
  FsResult(T value) : v_(std::move(value)) {}
  FsResult(FsError e) : v_(std::move(e)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& operator*() { return std::get<0>(v_); }
  const T& operator*() const { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  int code() const { return ok() ? 0 : std::get<1>(v_).code; }
  const std::string& message() const {
    static const std::string none;
    return ok() ? none : std::get<1>(v_).message;
  }
  const FsError& error() const { return std::get<1>(v_); }
  FsStatus status() const { return ok() ? FsStatus() : FsStatus(std::get<1>(v_)); }

 private:
  std::variant<T, FsError> v_;
};

// What a directory entry is, from lstat (a symlink is never followed).
enum class EntryType { regular, directory, symlink, other };

struct DirEntry {
  std::string name;  // one component, never "." or ".."
  EntryType type;
};

// rename(2) over an existing destination, or never (RENAME_NOREPLACE; EEXIST when it exists).
enum class Replace { yes, no };

// Checks a relative path (rules above). Returns "" when clean, else the reason ("empty segment").
std::string relative_path_problem(std::string_view rel);

// The prefix of every temporary name hivehook creates beside a final name. Names starting with
// it are hivehook's own; the default `ignore: [".*"]` hides them from discovery, and
// `is_temp_name` lets any layer recognise them regardless of the ignore list.
inline constexpr std::string_view kTempPrefix = ".hivehook-tmp-";
bool is_temp_name(std::string_view basename);  // starts with ".hivehook-"

// A directory tree opened once as a directory fd. Cheap to move; not copyable. All methods are
// const and thread-safe (they only use the fd).
class Tree {
 public:
  // Opens `root` (absolute, or relative to the current directory) as a tree. The root's own path is
  // resolved once, as the config names it (it may itself be reached through a symlink); after that
  // only the fd is used, so moving or replacing the root's path later changes nothing.
  static FsResult<Tree> open(const std::filesystem::path& root);
  // Adopts an open directory fd (for tests and for callers that already hold one).
  Tree(UniqueFd dirfd, std::filesystem::path root);

  Tree(Tree&&) noexcept = default;
  Tree& operator=(Tree&&) noexcept = default;

  const std::filesystem::path& root() const { return root_; }  // absolute, lexically normal
  int fd() const { return fd_.get(); }
  // The absolute path of `rel`, for messages (never used for a system call).
  std::string path_of(std::string_view rel) const;

  // openat2 of `rel` with `flags` (O_CLOEXEC and O_NOFOLLOW are added; `mode` is used with O_CREAT
  // or O_TMPFILE). The building block of everything below.
  FsResult<UniqueFd> open(std::string_view rel, int flags, mode_t mode = 0) const;
  // Opens a regular file for reading. A FIFO, device or folder is refused (EINVAL / EISDIR)
  // without blocking.
  FsResult<UniqueFd> open_regular(std::string_view rel) const;
  // Opens a folder (O_RDONLY | O_DIRECTORY): for fsync, listing, or as a base for more *at() calls.
  FsResult<UniqueFd> open_dir(std::string_view rel) const;

  // lstat semantics: a symlink as the last component is reported as one (S_ISLNK), not followed;
  // a symlink on the way is ELOOP.
  FsResult<struct stat> stat(std::string_view rel) const;
  // The entries of folder `rel` ("" = root), unsorted, without "." and "..".
  FsResult<std::vector<DirEntry>> list_dir(std::string_view rel) const;

  // mkdir -p of folder `rel` with `mode` (minus umask). A component that exists and is not a folder
  // is ENOTDIR, one that is a symlink ELOOP. "" is the root: nothing to do. `made`, if given, is
  // called with an O_PATH descriptor of each folder this call created (not those that existed).
  FsStatus make_dirs(std::string_view rel, mode_t mode = 0755, const std::function<void(int dir_fd)>& made = nullptr) const;
  // unlink(2) of a non-folder (a symlink is removed itself, never its target).
  FsStatus unlink(std::string_view rel) const;
  // rmdir(2) of an empty folder.
  FsStatus remove_dir(std::string_view rel) const;
  // rename(2) of `from` (in this tree) to `to` in `to_tree` (may be this tree). Replace::no uses
  // RENAME_NOREPLACE (on filesystems without it: link + unlink), EEXIST when `to` exists. EXDEV
  // when the trees are on different filesystems: the caller copies (see TempFile).
  FsStatus rename(std::string_view from, const Tree& to_tree, std::string_view to, Replace replace) const;
  // link(2) of `from` (in this tree) as `to` in `to_tree`: a second name for the same file, never
  // replacing one (EEXIST when `to` exists); EXDEV across filesystems.
  FsStatus link(std::string_view from, const Tree& to_tree, std::string_view to) const;
  // fsync(2) of folder `rel`, making renames and unlinks in it durable.
  FsStatus fsync_dir(std::string_view rel) const;

 private:
  Tree() = default;
  friend class TempFile;
  // The folder holding `rel`'s last component, opened O_PATH beneath the root; `name` is that
  // component. For a top-level name the result is a dup of the root fd.
  FsResult<UniqueFd> open_parent(std::string_view rel, std::string_view* name, const char* what) const;
  FsError error(const char* what, std::string_view rel, int err) const;

  UniqueFd fd_;
  std::filesystem::path root_;
};

// A new file written beside its final name and published with one rename, so a watcher sees only
// the complete file (IN_MOVED_TO at the final name). Where the filesystem supports O_TMPFILE the
// file has no name at all until published (a crash leaves nothing behind); elsewhere it is named
// "<prefix><random>" in its folder and removed unless published. Move-only.
class TempFile {
 public:
  // Creates the file in folder `rel_dir` of `tree` (which must exist), mode `mode` minus umask.
  // The file must be published on the same filesystem (any folder of `tree`).
  static FsResult<TempFile> create(const Tree& tree, std::string_view rel_dir, mode_t mode = 0644,
                                   std::string_view prefix = kTempPrefix);

  TempFile(TempFile&& o) noexcept;
  TempFile& operator=(TempFile&& o) noexcept;
  ~TempFile();  // discard()

  int fd() const { return fd_.get(); }    // O_RDWR
  bool named() const { return !name_.empty(); }
  std::string path() const;                // for messages: the named temp, or "<folder>/(unnamed)"

  // Makes the file visible as `rel` (in the tree it was created in; its folder must exist) with
  // one rename: Replace::yes replaces an existing file, Replace::no fails with EEXIST. Write, fsync
  // and set attributes (xattrs, times) first: publish closes fd() before the rename, so a watcher's
  // IN_CLOSE_WRITE never names the final key. On failure the TempFile may be written, published
  // again (e.g. after make_dirs) or discarded: fd() is open again (the file, under a temporary
  // name beside `rel` when the rename failed).
  FsStatus publish(std::string_view rel, Replace replace);
  // Removes the named temp (an unnamed one vanishes when closed). Idempotent.
  void discard();

 private:
  TempFile() = default;
  const Tree* tree_ = nullptr;
  UniqueFd fd_;
  UniqueFd dir_;       // the folder it was created in (O_PATH)
  std::string dir_rel_;
  std::string name_;   // named temp: its name in dir_; unnamed: ""
  std::string prefix_;
  bool published_ = false;
};

// Removes every regular file whose name starts with `prefix` anywhere beneath `tree` (the leftovers
// of a process that died mid-write). Returns how many were removed; unreadable folders and
// failed unlinks are reported in *errors (one sentence each) and skipped.
std::size_t remove_temp_files(const Tree& tree, std::string_view prefix, std::vector<std::string>* errors);

namespace beneath_testing {
// Forces the component-by-component walk used on kernels without openat2 (tests only).
void force_fallback(bool on);
// Forces named temporary files, as on filesystems without O_TMPFILE (tests only).
void force_named_temp(bool on);
}  // namespace beneath_testing

}  // namespace hivehook
