// Read-only questions the CLI and the HTTP API ask of the store (`status`, `runs`, `audit`,
// `retry`, `replay`, /api/v1/...).
#pragma once

#include <map>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace hivehook {

struct StatusCounts {
  std::map<std::string, int64_t> objects;  // state → count
  std::map<std::string, int64_t> tasks;    // open task state → count (queued, running, retry_wait)
  std::map<std::string, int64_t> outbox;   // pending | sent | dead → count
  int64_t runs_in_flight = 0;
};
StatusCounts status_counts(Store& store);

struct RunFilter {
  bool failed_only = false;              // failed, timed_out
  std::optional<std::string> key_prefix;
  std::optional<std::string> rule;
  int64_t before_id = 0;                 // > 0: only runs whose row id is below it (a page's cursor)
  int limit = 50;                        // newest N (0: all), printed oldest first
};
std::vector<RunRecord> list_runs(Store& store, const RunFilter& f);

struct EventFilter {
  std::optional<int64_t> since_ms;
  std::optional<std::string> rule;
  std::optional<std::string> key_prefix;
  int64_t after_id = 0;
  int limit = 1000;
};
std::vector<AuditEvent> list_events(Store& store, const EventFilter& f);

std::vector<OutboxRecord> dead_notifications(Store& store, int limit);

// What is true now, as opposed to the totals of status_counts (`hivehook status`).
struct PresentCounts {
  int64_t in_progress = 0;      // arrivals not decided or not yet moved: pending, succeeded, failed
  int64_t left_in_landing = 0;  // keys whose latest arrival stays in landing by design: unmatched, kept, failed_kept
  int64_t in_quarantine = 0;    // keys whose latest arrival is quarantined (what `retry --all-failed` moves)
  int64_t running = 0;          // runs started and not ended
  int64_t queued = 0;           // tasks waiting for a worker
  int64_t retry_wait = 0;       // tasks, batch runs and schedule firings waiting out their retry backoff
  int64_t waiting = 0;          // tasks waiting for the rules their after:/requires: name
  int64_t outbox_pending = 0;   // notifications not yet delivered nor given up
  int64_t stuck = 0;            // decided objects whose final move failed and is being retried (move_failed)
};
PresentCounts present_counts(Store& store);

// Tasks waiting for the rules their after:/requires: name, per rule (`hivehook status`).
struct WaitingRule {
  std::string rule;
  int64_t objects = 0;
  std::string first_key;    // the key released first (key order)
  std::string waiting_for;  // JSON {"after": [...], "requires": [...]} of that first key's task
};
std::vector<WaitingRule> waiting_tasks(Store& store);

// Objects whose state was last changed at or after `since_ms` (unix ms), counted by that state:
// what one `hivehook scan` decided (state → count).
std::map<std::string, int64_t> objects_updated_since(Store& store, int64_t since_ms);

// Objects whose final move failed and is being retried (move_failed), oldest failure first.
std::vector<ObjectRecord> stuck_objects(Store& store, int limit);
// Objects recorded as ignored (unreadable, too long a key, symlinks...) that are still the latest
// arrival at their key (not since fixed and run), newest first.
std::vector<ObjectRecord> ignored_objects(Store& store, int limit);

// Objects whose latest arrival at their key ended quarantined.
std::vector<ObjectRecord> quarantined_objects(Store& store, const std::optional<std::string>& key = std::nullopt);

// Objects, newest first.
struct ObjectFilter {
  std::optional<std::string> key_prefix;
  std::optional<std::string> table;      // the key's first segment
  std::optional<std::string> partition;  // the key's name=value segments, exactly ("year=2023/month=03")
  std::optional<std::string> state;      // a store/states.h object state string
  bool latest_only = false;              // only the latest object at each key
  int64_t before_id = 0;                 // paging: ids below this (0: from the newest)
  int limit = 100;
};
std::vector<ObjectRecord> list_objects(Store& store, const ObjectFilter& f);

// Every run of one object, oldest first (a scan of the runs table: runs have no object index).
std::vector<RunRecord> runs_of_object(Store& store, int64_t object_id);
std::optional<RunRecord> run_by_id(Store& store, const std::string& run_id);

// The newest runs of each rule among the newest `scan` runs: rule → up to `per_rule` runs, newest first.
std::map<std::string, std::vector<RunRecord>> recent_runs_by_rule(Store& store, int per_rule, int scan = 5000);

// A quarantined object (its key's latest arrival) with the runs that failed it.
struct QuarantineEntry {
  ObjectRecord object;
  std::vector<RunRecord> failed_runs;  // the failed/timed-out runs of that object, oldest first
};
// The newest `limit` of them, newest first; `before_id` > 0: only objects whose id is below it (a
// page's cursor); `max_runs` > 0: each keeps only its last `max_runs` failed runs (a file retried
// a hundred times is not a hundred runs' output in memory).
std::vector<QuarantineEntry> quarantine_report(Store& store, int limit = 200, int64_t before_id = 0, std::size_t max_runs = 0);

// The smallest id of `table` whose `time_column` (unix ms, non-decreasing with the id, as
// objects.discovered_at, runs.started_at and events.time are) is >= since_ms; one past the last
// id when none is. A binary search over the id (the primary key on both backends): O(log n)
// lookups instead of a full scan.
int64_t first_id_at_or_after(Store& store, const char* table, const char* time_column, int64_t since_ms);

// Runs of scheduled firings and batches (object_id 0): whether the rule has one started and not
// ended for `key` (a batch's group; "" for a schedule's firing).
bool run_started_for(Store& store, const std::string& rule, const std::string& key);
// The rule's newest schedule firing run: its run id, attempt, state, error and end (run_id empty:
// none yet). What `retry --schedule` reads to tell a firing that failed (pipeline/schedule_retry.h).
struct FiringRun {
  std::string run_id;
  int attempt = 0;
  std::string state;
  std::string error;
  std::optional<int64_t> ended_at;
};
std::optional<FiringRun> last_firing_run(Store& store, const std::string& rule);

}  // namespace hivehook
