// audit.jsonl: a JSON-lines mirror of the events table, appended after each commit, for `tail -f`.
// The table is the truth; on open the mirror is repaired (a torn last line cut, missing events
// appended), so after a crash the two agree again.
//
// Event ids do not always become visible in id order: on PostgreSQL ids come from a sequence, and a
// commit whose reply was lost (the server restarted under it) is reported failed although it
// happened; a previous incarnation's last COMMIT, sent before it was killed, may become visible
// after the new incarnation mirrored higher ids. So the mirror does not only follow a high-water
// mark: before writing a commit's events it reads the ids between its mark and them, and for
// kGapWindow it remembers which ids below the mark it wrote and looks (one COUNT at most every
// kGapLookEvery) for events that appeared among them since, appending those late. No id is ever
// written twice; a line appended late comes after lines with higher ids.
//
// Rotation (issue 16 retest P12): reopen() (the daemon's SIGHUP, logrotate's postrotate) moves the
// mirror to the file now at the path, continuing there from the next event; an empty or missing
// file at open (rotated away while the daemon was stopped) starts at the store's newest event,
// never the whole history again.
#pragma once

#include <chrono>
#include <deque>
#include <filesystem>
#include <set>
#include <vector>

#include "base/unique_fd.h"
#include "store/event.h"

namespace hivehook {

class Store;

class AuditLog {
 public:
  // How long ids below the high-water mark are still looked for (an event that becomes visible
  // later than this after a higher id was mirrored is missed by the mirror, never by the table).
  static constexpr std::chrono::milliseconds kGapWindow{30000};
  // How often, at most, append() looks for such late events.
  static constexpr std::chrono::milliseconds kGapLookEvery{250};

  // Opens (creating, 0600) and catches the file up with the store. Throws std::runtime_error.
  AuditLog(const std::filesystem::path& path, Store& store);
  // Looks for late events one last time (the store must still be open; errors are ignored).
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  // Appends the events of one commit with a single write, after any event committed before them
  // that was never appended (a commit reported failed that happened). A failed write (the disk
  // full) is logged and caught up from the store, the truth, at the next append: the mirror never
  // stops.
  void append(const std::vector<AuditEvent>& events);
  // Appends every event of the store with an id below the high-water mark, within kGapWindow,
  // that is not in the file yet. append() calls it every kGapLookEvery; tests call it directly.
  // Throws std::runtime_error (write) or sql::StoreError (read).
  void fill_gaps();
  // Opens the path again (created 0600 when missing). When it names another file than the one open
  // (renamed away by a log rotation), the mirror continues in the new one: from the next event when
  // it is empty, else from its last line (catching up what it lacks). Returns true when it switched
  // files. Throws std::runtime_error when the path cannot be opened (the old file stays in use).
  bool reopen();
  // The highest id in the file.
  int64_t last_id() const { return last_id_; }

 private:
  using Clock = std::chrono::steady_clock;
  void write_lines(const std::vector<AuditEvent>& events);
  void write_new(const std::vector<AuditEvent>& events);
  void catch_up();
  void advance_floor(Clock::time_point now);
  void take_tail(const std::vector<int64_t>& ids);

  std::filesystem::path path_;
  Store& store_;
  UniqueFd fd_;
  int64_t last_id_ = 0;
  bool behind_ = false;
  // Ids in (floor_, last_id_] are still looked for; mirrored_ holds those of them in the file.
  int64_t floor_ = 0;
  std::set<int64_t> mirrored_;
  std::deque<std::pair<Clock::time_point, int64_t>> marks_;  // (when, last_id_ then)
  Clock::time_point next_look_{};
};

}  // namespace hivehook
