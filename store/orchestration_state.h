// The durable state of schedules and expectations (DESIGN.md "Orchestration"): for each schedule
// rule its last firing and the firing still open (running, or waiting for a retry); for each
// expectation how far its deadlines have been checked and which expected partitions arrived or
// are late. Tables of migration 3 (store/schema.cpp); written inside the store's open batch, so a
// change commits together with the audit event that announces it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace hivehook {

struct ScheduleRecord {
  std::string rule;
  int64_t last_fired_for = 0;  // unix ms: the scheduled time of the last firing (or the baseline)
  bool open = false;           // a firing not ended yet: it runs again at start-up after a crash
  int64_t open_for = 0;        // unix ms: the scheduled time of the open firing
  bool catch_up = false;       // the open firing is a catch-up of a time missed while down
  int attempts = 0;            // runs started for the open firing
  int interrupted = 0;         // of those, cut off by a crash or shutdown (not held against retries)
  std::optional<int64_t> next_at;  // unix ms of the open firing's next attempt (a retry)
};

// One expected partition of an `expect:` rule: "arrived" or "late".
struct ExpectedPartition {
  std::string rule;
  std::string partition;  // "year=2023/month=03/day=15"
  std::string state;      // arrived | late
  int64_t deadline = 0;   // unix ms (0 when it arrived before any deadline was checked)
  int64_t changed_at = 0; // unix ms
};

// One `expect.late` notification put in the outbox: who was told, under which delivery id.
struct LateNotice {
  std::string target;
  std::string delivery_id;
};

class OrchestrationState {
 public:
  explicit OrchestrationState(Store& store) : store_(store) {}

  std::optional<ScheduleRecord> schedule(const std::string& rule);
  // Writes (inserts or replaces) the row. Throws std::logic_error outside a batch.
  void put_schedule(const ScheduleRecord& r);
  // Schedules with a firing open (running, or waiting out a retry's backoff), by rule name.
  std::vector<ScheduleRecord> open_schedules();

  // How far (unix ms) the rule's deadlines have been checked; nullopt: never.
  std::optional<int64_t> expect_checked_until(const std::string& rule);
  void set_expect_checked_until(const std::string& rule, int64_t ms);
  std::optional<ExpectedPartition> expected(const std::string& rule, const std::string& partition);
  void put_expected(const ExpectedPartition& p);
  // Expected partitions late now (not arrived), oldest deadline first; `rule` empty: every rule.
  std::vector<ExpectedPartition> late(const std::string& rule = "");
  // Rules with expectation state (checked, arrived or late), by name.
  std::vector<std::string> expectation_rules();
  // The `expect.late` notifications of this late partition (outbox rows with that event, rule and
  // key = partition, created at or after `since_ms`, the late row's changed_at): the latest per
  // target, by target name. Those targets were told "late"; they are the ones to tell "arrived" or
  // "cleared", whatever the rule's `expect.notify` says now (or whether the rule still exists).
  // Scans the outbox (no index on event): it runs once per late partition resolved.
  std::vector<LateNotice> late_notices(const std::string& rule, const std::string& partition, int64_t since_ms);
  // Removes one expected partition's row (a late alert cleared without its partition arriving).
  void remove_expected(const std::string& rule, const std::string& partition);
  // Forgets the rule's expectation: how far it was checked and every expected partition. Seen
  // again, it starts checking from then (`expect.added`). Throws std::logic_error outside a batch.
  void forget_expectation(const std::string& rule);

 private:
  void require_batch() const;
  Store& store_;
};

}  // namespace hivehook
