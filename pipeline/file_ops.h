// The file operations the pipeline performs on landing, archive and quarantine, behind one
// interface: production resolves them on the real trees (LocalFileOps); tests wrap that to inject
// faults (a move that fails with ENOSPC, a file gone between two steps) at exactly this seam.
// Keys are relative to their tree, '/'-separated. Every call may be made from the loop thread;
// etag() also from the hashing thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "archive/mover.h"
#include "landing/scan.h"

namespace hivehook {

// Which of the three trees a key lives in (named Area, not Tree: landing/beneath.h's Tree is the
// directory handle over one of them).
enum class Area { landing, archive, quarantine };

// What lstat(2) says about one entry (symlinks never followed).
struct FileInfo {
  bool exists = false;
  EntryKind kind = EntryKind::other;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  int error = 0;  // errno when the lookup failed for another reason than "not there"
};

class FileOps {
 public:
  virtual ~FileOps() = default;
  // The absolute path of `key` in `tree` (what a job is told as {path}).
  virtual std::filesystem::path path(Area tree, const std::string& key) const = 0;
  // lstat of landing/<key>.
  virtual FileInfo stat(const std::string& key) = 0;
  // The eTag (hex MD5) of landing/<key>; nullopt and *error when it cannot be read.
  virtual std::optional<std::string> etag(const std::string& key, std::string* error) = 0;
  // Moves landing/<key> to <to>/<key> (or "<key>~<unique_suffix>" beside an earlier different
  // object), as archive/mover.h's move_object.
  virtual MoveResult move(const std::string& key, Area to, const std::string& unique_suffix) = 0;
  // Deletes landing/<key>.
  virtual MoveResult remove(const std::string& key) = 0;
  // Writes quarantine/<key>.error.json (key: where the object went, relative to quarantine).
  virtual bool write_error_json(const std::string& key, const std::string& json, std::string* error) = 0;
  // After a crash between a move and its commit: the object is already in `tree`, under its key
  // or "<key>~<id>", recognised by inode and size. Its path, or nullopt.
  virtual std::optional<std::filesystem::path> find_moved(Area tree, const std::string& key, int64_t id,
                                                          uint64_t inode, uint64_t size) = 0;
};

// FileOps on the configured folders.
class LocalFileOps final : public FileOps {
 public:
  LocalFileOps(std::filesystem::path landing, std::filesystem::path archive, std::filesystem::path quarantine);
  std::filesystem::path path(Area tree, const std::string& key) const override;
  FileInfo stat(const std::string& key) override;
  std::optional<std::string> etag(const std::string& key, std::string* error) override;
  MoveResult move(const std::string& key, Area to, const std::string& unique_suffix) override;
  MoveResult remove(const std::string& key) override;
  bool write_error_json(const std::string& key, const std::string& json, std::string* error) override;
  std::optional<std::filesystem::path> find_moved(Area tree, const std::string& key, int64_t id, uint64_t inode,
                                                  uint64_t size) override;

 private:
  const std::filesystem::path& root(Area tree) const;
  std::filesystem::path landing_, archive_, quarantine_;
};

}  // namespace hivehook
