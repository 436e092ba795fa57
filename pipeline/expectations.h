// `expect:` on a rule (DESIGN.md "Orchestration"): the partition of each period must have arrived
// by its deadline — an Airflow SLA, a CloudWatch "missing data" alarm. When the deadline passes
// and no object of that partition was admitted for the rule, `expect.late` is recorded and its
// notification put in the outbox (the rule's `expect.notify` targets); when the partition's first
// object finally arrives, `expect.arrived` clears it. The gauge `hivehook_expectations_late` counts
// the late ones. Durable (OrchestrationState): how far each rule's deadlines were checked, and each
// expected partition's state — a deadline that passed while the daemon was down is raised once at
// start-up; an expectation seen for the first time starts checking from now.
//
// An alert raised is resolved by the same channel: `expect.arrived` and `expect.cleared` are sent
// to the targets that were sent its `expect.late` (found in the outbox), with the same `alert_id`
// and the late notification's delivery id (`late_delivery_id`; a mail answers it: In-Reply-To).
//
// Rule edits (a reload, or an edit made while the daemon was down): a rule that lost `expect:` or
// was removed forgets its expectation (`expect.removed`) and clears its late partitions
// (`expect.cleared`); a rule whose `every`/`by`/`partition`/`timezone` changed has its late
// partitions judged again by the new definition — cleared when it no longer names them or their
// deadline has not passed under it — and the periods late under the new definition since the
// expectation was first seen are raised. The definition last in force is kept in the store (meta
// `expect.definition:<rule>`), so an edit made while the daemon was down is seen at its start.
#pragma once

#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "base/timers.h"
#include "pipeline/commit_batch.h"
#include "pipeline/pipeline.h"
#include "pipeline/stats.h"
#include "rules/rule.h"
#include "store/orchestration_state.h"
#include "store/store.h"

namespace hivehook {

class Expectations {
 public:
  Expectations(const Config& config, Store& store, CommitBatch& batch, PipelineStats& stats, Pipeline& pipeline,
               const Clock& clock, Timers& timers);

  // Start-up (after recovery) and each reload: deadlines passed since the last check are raised,
  // then each expectation is armed for its next deadline.
  void start(std::shared_ptr<const RuleSet> rules);
  void set_rules(std::shared_ptr<const RuleSet> rules) { start(std::move(rules)); }
  // An object admitted with these per-object rules (Pipeline::on_admitted).
  void on_admitted(const ObjectRecord& rec, const ObjectKey& key, const std::vector<const Rule*>& rules);
  void stop() { timers_by_rule_.clear(); }

 private:
  // Expectations a rule edit left stale: forgotten, their late partitions cleared.
  void forget_stale();
  // The rule's late partitions judged by its current definition (cleared when they no longer hold),
  // and its definition stored. Returns, when `every`/`by`/`timezone` changed, the instant (unix ms)
  // the expectation was first seen: check() then raises every period late under the new definition
  // since then, not only those whose deadline came after the last check.
  std::optional<int64_t> redefine(const Rule& rule, SystemTime now);
  // `expect.cleared`: a late partition's alert dropped without its partition arriving.
  void clear(const std::string& rule, const ExpectedPartition& p, const std::string& reason);
  // `raise_since` (unix ms): also look at deadlines after it, not only after the last check.
  void check(const std::string& rule, std::optional<int64_t> raise_since = std::nullopt);
  // Arms the rule's timer for its first deadline after `now` (the instant check() decided at).
  void arm(const Rule& rule, SystemTime now);
  // `expect.late` to the rule's `expect.notify` targets.
  void notify_late(const Rule& rule, const ExpectedPartition& p);
  // `expect.arrived` / `expect.cleared` to the targets told that `p` (the late row) was late.
  void notify_resolved(const std::string& rule, const std::string& event, const ExpectedPartition& p,
                       const std::string& key, const std::string& reason);
  void enqueue(const std::string& target, const std::string& event, const std::string& rule, const std::string& key,
               nlohmann::json body);
  void refresh_gauge();

  Config config_;
  Store& store_;
  OrchestrationState state_;
  CommitBatch& batch_;
  PipelineStats& stats_;
  Pipeline& pipeline_;
  const Clock& clock_;
  Timers& timers_;
  std::shared_ptr<const RuleSet> rules_;
  std::map<std::string, TimerHandle> timers_by_rule_;
  metrics::Gauge& late_gauge_;  // hivehook_expectations_late
};

}  // namespace hivehook
