// The partition matrix: per table and hive partition, what became of the objects there (`hivehook
// partitions`, the console's grid, GET /api/v1/partitions).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace hivehook {

// One table × partition cell. Counts cover the latest object at each key (a re-upload or a replay
// supersedes the earlier arrival at its key).
struct PartitionCell {
  std::string table;      // the key's first segment ("" for keys at the landing root)
  std::string partition;  // the key's name=value segments as written in keys: "year=2023/month=03/day=15"
  std::string day;        // "2023-03-15" when the partition names a day (year/month/day, or a YYYY-MM-DD value); else ""
  std::map<std::string, int64_t> objects;  // object state (store/states.h strings) → count
  int64_t last_update_ms = 0;              // newest updated_at of those objects
  struct LastRun {
    std::string run_id, rule, key, state;
    int64_t started_at = 0;
    std::optional<int64_t> ended_at;
  };
  // The failed run that ended last on a failed one (quarantined, failed_kept, failed) when the cell
  // holds any — a quarantined day never reads as succeeded because another rule ended later —,
  // else the run that ended last on any of them; a run not ended yet counts as the latest (issue 15
  // finding F7: the newest *started* run was shown, a 20 ms copy job hiding the loader that ended
  // after it).
  std::optional<LastRun> last_run;
  struct Failed {
    int64_t object_id = 0;
    std::string key, state, error;  // error: ObjectRecord::error (each failed rule and why)
  };
  std::vector<Failed> failed;  // the cell's failed objects (quarantined, failed_kept, failed, move_failed)
  std::vector<std::string> waiting_rules;  // rules whose task on one of them has not ended (queued, running, ...)
  // Expectations (rule `expect:`) raised late for this partition and neither arrived nor cleared
  // since (`expect.arrived`, `expect.cleared`): the detail of each open `expect.late` event. The event's detail names {"table", "partition"} (DESIGN.md).
  std::vector<nlohmann::json> late;
  // Expectations this partition met late (`expect.arrived`): the event's detail ({table, partition,
  // deadline, late_by_ms, rule}); an SLA miss stays visible after the data came (issue 15 F19).
  std::vector<nlohmann::json> arrived_late;
  // A day with no object in a daily table that has objects on days before and after it (issue 15
  // F4: a day that never came was invisible, its neighbours side by side): `objects` is empty,
  // `day` is set and `partition` is written as the day before it (the same names, the day's
  // values). A table counts as daily when it has objects on at least half the days from its first
  // to its last (a weekly or monthly table's gaps are its cadence).
  bool missing = false;
  // The batches (`batch:` rules) holding the cell's objects, the newest generation per rule and
  // group: whether the day's summary ran, was skipped or failed (issue 14, F8 of the new-user test:
  // `partitions` said nothing of them).
  struct Batch {
    std::string rule, group, state;  // state: open | complete | running | succeeded | failed | skipped | abandoned
    int64_t generation = 1;
    int attempts = 0;
  };
  std::vector<Batch> batches;
};

// At most this many days from a table's first day to its last are checked for gaps: a table whose
// days span more gets no `missing` cells rather than thousands.
inline constexpr int kMaxGapScanDays = 3660;

struct PartitionFilter {
  std::optional<std::string> table;
};

// Cells ordered by table, then partition, in key order (landing/key_order.h: day=9 before day=10).
// Reads every key's latest object, the runs on them and the open tasks; on a large store this is
// a scan (it backs an operator's view, not the hot path).
std::vector<PartitionCell> partition_matrix(Store& store, const PartitionFilter& filter = {});

// The partition part of a key ("year=2023/month=03" of "t/year=2023/month=03/x.csv") and its day
// ("2023-03" has none; year+month+day gives "YYYY-MM-DD"; a value starting YYYY-MM-DD gives that).
std::string key_partition(const std::string& key);
std::string partition_day(const std::string& partition);
std::string key_table(const std::string& key);

}  // namespace hivehook
