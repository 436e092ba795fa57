// `expect:` on a rule (DESIGN.md "Orchestration"): the partition of each period must have arrived
// by its deadline — an Airflow SLA, a CloudWatch "missing data" alarm. When the deadline passes
// and no object of that partition was admitted for the rule, `expect.late` is recorded and its
// notification put in the outbox (the rule's `expect.notify` targets); when the partition's first
// object finally arrives, `expect.arrived` clears it. The gauge `hivehook_expectations_late` counts
// the late ones. Durable (OrchestrationState): how far each rule's deadlines were checked, and each
// expected partition's state — a deadline that passed while the daemon was down is raised once at
// start-up; an expectation seen for the first time starts checking from now. A rule edit that
// removes the rule or its `expect:` forgets the expectation (`expect.removed`) and clears its late
// partitions (`expect.cleared`, the gauge drops); a changed partition template clears the late
// partitions it can no longer name.
#pragma once

#include <map>
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
  // `expect.cleared`: a late partition's alert dropped without its partition arriving.
  void clear(const std::string& rule, const ExpectedPartition& p, const std::string& reason);
  void check(const std::string& rule);
  // Arms the rule's timer for its first deadline after `now` (the instant check() decided at).
  void arm(const Rule& rule, SystemTime now);
  void notify(const Rule& rule, const std::string& event, const ExpectedPartition& p, const std::string& key);
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
