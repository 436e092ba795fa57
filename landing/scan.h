// Walking landing: every regular file under a folder, in lexicographic key order.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace hivehook {

enum class EntryKind { regular, symlink, other };

struct ScanEntry {
  std::filesystem::path path;  // absolute
  std::string key;             // relative to landing, '/'-separated
  EntryKind kind;
};

// Visits every non-directory entry under `dir` (inside `landing`), sorted by key; symlinks are
// reported as such and never followed; unreadable folders are reported to `on_error` and skipped.
void scan_tree(const std::filesystem::path& landing, const std::filesystem::path& dir,
               const std::function<void(const ScanEntry&)>& visit,
               const std::function<void(const std::filesystem::path&, const std::string&)>& on_error = {});

}  // namespace hivehook
