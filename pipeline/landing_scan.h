// One scan of a folder of landing, walked a slice at a time so that even a scan of 100,000 files
// never holds the event loop for long (DESIGN.md: the overflow rescan "walks in chunks and yields
// to the loop"). Folders are listed through the FileOps seam (beneath landing, no symlink
// followed), one folder per step; once every folder is listed, the files are handed out in
// lexicographic key order (the order the contract promises for scans).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "pipeline/file_ops.h"

namespace hivehook {

// One non-folder entry a scan found (regular files, and symlinks and the like, which discovery
// records as ignored).
struct ScanFound {
  std::string key;  // relative to landing, '/'-separated
  EntryType type;
};

class LandingScan {
 public:
  // Scans folder `dir` of landing ("" = all of landing; '/'-separated, relative to landing).
  LandingScan(FileOps& files, std::string dir);

  const std::string& dir() const { return dir_; }
  // Lists the next folder. False once every folder is listed (the files are then sorted by key).
  // A folder that cannot be read is reported to `on_error` (one sentence naming it) and skipped;
  // one that vanished meanwhile is skipped silently.
  bool list_next(const std::function<void(const std::string&)>& on_error);
  // The next file found, in key order; nullptr when there is none left (or listing is not done).
  const ScanFound* next();
  bool listed() const { return pending_dirs_.empty(); }
  std::size_t found() const { return files_found_.size(); }
  std::size_t handed_out() const { return pos_; }

 private:
  FileOps& files_;
  std::string dir_;
  std::vector<std::string> pending_dirs_;  // folders still to list
  std::vector<ScanFound> files_found_;
  bool sorted_ = false;
  std::size_t pos_ = 0;
};

}  // namespace hivehook
