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

// Objects whose latest arrival at their key ended quarantined.
std::vector<ObjectRecord> quarantined_objects(Store& store, const std::optional<std::string>& key = std::nullopt);

}  // namespace hivehook
