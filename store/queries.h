// Read-only questions the CLI asks of the store (`status`, `runs`, `audit`, `retry`).
#pragma once

#include <map>
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
  int64_t retry_wait = 0;       // tasks waiting out their backoff
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
// Objects recorded as ignored (unreadable, too long a key, symlinks...), newest first.
std::vector<ObjectRecord> ignored_objects(Store& store, int limit);

// Objects whose latest arrival at their key ended quarantined.
std::vector<ObjectRecord> quarantined_objects(Store& store, const std::optional<std::string>& key = std::nullopt);

}  // namespace hivehook
