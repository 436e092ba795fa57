// audit.jsonl: a JSON-lines mirror of the events table, appended after each commit, for `tail -f`.
// The table is the truth; on open the mirror is repaired (a torn last line cut, missing events
// appended), so after a crash the two agree again.
#pragma once

#include <filesystem>
#include <vector>

#include "base/unique_fd.h"
#include "store/event.h"

namespace hivehook {

class Store;

class AuditLog {
 public:
  // Opens (creating, 0600) and catches the file up with the store. Throws std::runtime_error.
  AuditLog(const std::filesystem::path& path, Store& store);
  // Appends the events of one commit with a single write. A failed write (the disk full) is logged
  // and caught up from the store, the truth, at the next append: the mirror never stops.
  void append(const std::vector<AuditEvent>& events);
  int64_t last_id() const { return last_id_; }

 private:
  void write_lines(const std::vector<AuditEvent>& events);
  void catch_up();

  std::filesystem::path path_;
  Store& store_;
  UniqueFd fd_;
  int64_t last_id_ = 0;
  bool behind_ = false;
};

}  // namespace hivehook
