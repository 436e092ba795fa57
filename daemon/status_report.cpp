#include "daemon/status_report.h"

#include <map>


#include "orchestration/time_zone.h"
#include "store/batch_state.h"
#include "store/orchestration_state.h"
#include "store/queries.h"
#include "store/sql.h"

namespace hivehook {

namespace {
SystemTime from_ms(int64_t ms) { return SystemTime(std::chrono::milliseconds(ms)); }
std::string ms_text(int64_t ms) { return format_rfc3339_ms(from_ms(ms)); }
}  // namespace

// Open batches (DESIGN.md "Orchestration"): groups of a `batch:` rule collecting objects, complete
// and waiting for their members' own rules, running, or waiting out a retry's backoff (`next_at`).
nlohmann::json open_batches_json(Store& store) {
  nlohmann::json out = nlohmann::json::array();
  BatchState batches(store);
  try {
    for (const auto& b : batches.unfinished()) {
      // Every member's own rules ended: a complete batch waits only for a daemon to run it (F16 of
      // issue 14's new-user test: offline it read "waiting for its members' rules").
      bool members_ended = b.members > 0;
      for (const auto& m : b.state == "complete" ? batches.members(b) : std::vector<BatchMember>{})
        if (m.object_state == "pending" || m.object_state == "succeeded" || m.object_state == "failed" ||
            m.object_state == "move_failed" || m.object_state.empty())
          members_ended = false;
      // A running batch with no run started waits for a worker (`workers`, the rule's concurrency).
      bool run_started = false;
      if (b.state == "running") {
        run_started = run_started_for(store, b.rule, b.group);
      }
      out.push_back({{"rule", b.rule}, {"group", b.group}, {"generation", b.generation}, {"state", b.state},
                     {"members_ended", b.state == "complete" && members_ended}, {"run_started", run_started},
                     {"members", b.members}, {"marker_seen", b.marker_seen}, {"reason", b.reason},
                     {"attempts", b.attempts},
                     {"next_at", b.next_at ? nlohmann::json(ms_text(*b.next_at)) : nlohmann::json(nullptr)},
                     {"opened_at", format_rfc3339_ms(SystemTime(std::chrono::milliseconds(b.opened_at)))},
                     {"last_member_at", format_rfc3339_ms(SystemTime(std::chrono::milliseconds(b.last_member_at)))}});
    }
  } catch (const sql::StoreError&) {
    // a state DB not yet migrated by a newer daemon has no batches
  }
  return out;
}

// Batches abandoned in the last 24 hours (docs/decisions.md "A batch whose rule changed"): their
// rule was removed or lost `batch:`, or its `batch.group` changed (their members moved to the
// groups the new template renders).
constexpr int64_t kAbandonedShownMs = 24 * 3600 * 1000;
nlohmann::json abandoned_batches_json(Store& store) {
  nlohmann::json out = nlohmann::json::array();
  BatchState batches(store);
  try {
    for (const auto& b : batches.abandoned_since(SystemClock::instance().now_ms() - kAbandonedShownMs))
      out.push_back({{"rule", b.rule}, {"group", b.group}, {"generation", b.generation}, {"members", b.members},
                     {"reason", b.reason}, {"abandoned_at", ms_text(b.completed_at)}});
  } catch (const sql::StoreError&) {
  }
  return out;
}

// Cluster mode (docs/cluster.md "Batches across nodes"): files a node offered to the leader that
// no batch holds yet, per rule and group (none mostly: the leader joins them within a second).
nlohmann::json batch_offers_json(Store& store) {
  nlohmann::json out = nlohmann::json::array();
  BatchState batches(store);
  try {
    std::map<std::pair<std::string, std::string>, nlohmann::json> by_group;
    for (const auto& o : batches.offers()) {
      auto& g = by_group[{o.rule, o.group}];
      if (g.is_null()) g = {{"rule", o.rule}, {"group", o.group}, {"files", 0}, {"oldest", ms_text(o.offered_at)}};
      g["files"] = g["files"].get<int64_t>() + 1;
    }
    for (auto& [_, g] : by_group) out.push_back(std::move(g));
  } catch (const sql::StoreError&) {
    // a state DB not yet migrated by a newer daemon has no offers
  }
  return out;
}

// Schedules with a firing open: its run running, or waiting out a retry's backoff.
nlohmann::json open_schedules_json(Store& store) {
  nlohmann::json out = nlohmann::json::array();
  OrchestrationState orchestration(store);
  try {
    for (const auto& r : orchestration.open_schedules()) {
      const bool run_started = run_started_for(store, r.rule, "");
      out.push_back({{"rule", r.rule}, {"scheduled_time", ms_text(r.open_for)}, {"attempts", r.attempts},
                     {"run_started", run_started},
                     {"catch_up", r.catch_up},
                     {"next_at", r.next_at ? nlohmann::json(ms_text(*r.next_at)) : nlohmann::json(nullptr)}});
    }
  } catch (const sql::StoreError&) {
  }
  return out;
}

nlohmann::json schedule_times(const RuleSet& rules, Store* store, SystemTime now, int count, bool daemon_runs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rules.rules) {
    if (!r.schedule) continue;
    nlohmann::json one = {{"rule", r.name}, {"schedule", r.schedule->cron.text()}, {"timezone", r.timezone.name()},
                          {"catch_up", r.schedule->catch_up}};
    nlohmann::json next = nlohmann::json::array();
    SystemTime after = now;
    if (store) {
      one["last_fired_for"] = nullptr;
      one["last_run_state"] = nullptr;
      one["missed"] = false;
      one["open"] = false;
      try {
        OrchestrationState state(*store);
        if (auto row = state.schedule(r.name)) {
          if (row->open_for > 0) one["last_fired_for"] = format_rfc3339_ms(from_ms(row->open_for));
          one["open"] = row->open;
          // A time after the last one covered that has come: no daemon was there to fire it.
          // While a daemon runs, a due time is being fired, not missed (a status between the time
          // and the firing read "missed" beside "daemon: running").
          if (auto due = next_firing(r.schedule->cron, r.timezone, from_ms(row->last_fired_for));
              !daemon_runs && due && *due <= now)
            one["missed"] = true;
        }
        if (auto last = last_firing_run(*store, r.name)) one["last_run_state"] = last->state;
      } catch (const sql::StoreError&) {
        // a state DB not yet migrated by a newer daemon has no schedules
      }
    }
    for (int i = 0; i < count; ++i) {
      auto t = next_firing(r.schedule->cron, r.timezone, after);
      if (!t) break;
      next.push_back(format_rfc3339_ms(*t));
      after = *t;
    }
    one["next"] = std::move(next);
    out.push_back(std::move(one));
  }
  return out;
}

}  // namespace hivehook
