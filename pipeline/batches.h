// `batch:` rules (DESIGN.md "Orchestration"): fan-in. Objects a batch rule matches are collected
// into groups by the rule's `batch.group` template (objects whose keys render the same text); a
// group is complete when its marker file arrives (`when: {marker: _SUCCESS}`, the Hadoop/Spark
// convention), when it has `count` objects, or when no object joined it for `quiet`. Once it is
// complete AND every member's own rules have ended (the member reached its final state), the job
// runs ONCE for the group with an S3-style event listing every member in `Records[]` (the marker
// not listed) — what a Glue workflow's fan-in trigger or an Airflow task downstream of a day's
// loads does.
//
// Members that failed: Airflow's default trigger rule `all_success` — when any member ended failed
// (quarantined, or kept after a failure), the batch is `skipped` (`batch.skipped`, its rule's
// `on_failure` targets told) and its job does not run.
//
// Durable (store/batch_state.h): every batch and its members are in the store, written in the same
// transaction as the audit event announcing them, so kill -9 loses no member and runs no batch
// twice: a batch whose `quiet` time passed, or whose last member ended, while the daemon was down
// runs once at start; a run cut off by a crash runs again (a new attempt), as object runs do. A
// failed run is retried per the rule's `retries`/`backoff`. A group that ended and gets new objects
// opens its next generation (a new batch). Runs start only under `run` (a one-shot `scan` collects
// and completes batches; the next `run` runs them).
//
// Rule edits (a reload, or an edit while the daemon was down): a batch not yet running whose rule
// was removed or lost `batch:` is abandoned (`batch.abandoned`, its members listed; they keep their
// own rules' outcomes); one whose members render another group under a changed `batch.group` is
// abandoned and its members join the groups they render now. `status` shows abandoned batches for
// 24 hours (docs/decisions.md "A batch whose rule changed").
//
// Audit events (docs/decisions.md): batch.opened, batch.joined, batch.completed, batch.started,
// batch.resumed, batch.succeeded, batch.failed, batch.skipped, batch.abandoned, and in cluster mode
// batch.offered; and run.* for its runs (the run's key is the group).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>

#include "base/timers.h"
#include "jobs/job_runner.h"
#include "pipeline/commit_batch.h"
#include "pipeline/pipeline.h"
#include "pipeline/rule_jobs.h"
#include "pipeline/stats.h"
#include "rules/rule.h"
#include "store/batch_state.h"
#include "store/store.h"

namespace hivehook {

class Batches {
 public:
  using Seams = RuleJobs::Seams;
  Batches(const Config& config, Store& store, CommitBatch& batch, PipelineStats& stats, Pipeline& pipeline,
          Seams seams);

  // Start-up, after the pipeline's recovery: batches left open get their quiet timers back (a quiet
  // time passed while down completes at once), complete ones whose members have ended run, runs cut
  // off by a crash run again. `run_jobs` false (a one-shot scan): batches are collected and
  // completed, never run.
  void start(std::shared_ptr<const RuleSet> rules, bool run_jobs);
  // Before start(), while the start-up scan admits what landed while the daemon was down: admitted
  // objects join their groups, nothing completes, runs or times out yet.
  void collect(std::shared_ptr<const RuleSet> rules) { rules_ = std::move(rules); }
  // A reload: the new rules decide what completes open batches from now on.
  void set_rules(std::shared_ptr<const RuleSet> rules);
  // Shutdown: no new runs; a run that ends badly from now on runs again at the next start.
  void stop();
  // An object admitted (Pipeline::on_admitted): it joins one group of each batch rule matching it.
  void on_admitted(const ObjectRecord& rec, const ObjectKey& key);
  // An object reached its end (Pipeline::on_ended): the complete batches it belongs to may run.
  void on_ended(const ObjectRecord& rec);
  // True when `key` is the marker of a batch rule matching it and that rule's group for the key
  // has its newest generation open without a marker (collecting): the file completes it, even
  // when its bytes equal an earlier marker's (Pipeline::awaits_marker; issue 14, G2).
  bool awaits_marker(const ObjectKey& key);
  // A rule succeeded for the first time (Pipeline::on_first_success): complete batches whose rule
  // `requires:` it may run now. A batch rule's `requires:` holds its complete batches (audit
  // `batch.waiting` {group, generation, requires}) until each named rule succeeded at least once,
  // as it holds an object rule's tasks (issue 14, G13 of the new-user retest).
  void on_first_success(const std::string& rule);
  std::size_t running() const { return jobs_.running(); }

  // Cluster mode on PostgreSQL (docs/cluster.md "Batches across nodes"): batches are the leader's.
  // It alone opens, completes and runs them, so a group's batch completes and runs once cluster-wide
  // whichever nodes admitted its members. A node that does not lead offers each object it admits
  // to the leader (BatchState::offer, audit `batch.offered`) and wakes it when a member of a
  // complete batch ends here; the leader joins the offers to their batches (`batch.joined`).
  // Called once, before start(), by a node of a cluster: it does not lead until set_leading(true).
  void join_cluster();
  // Cluster mode: this node leads from now on (true: batches are taken up as after a restart —
  // open ones get their quiet timers, complete ones run, a run of a leader that died runs again,
  // offers are joined) or no longer does (false: its timers are dropped; a run in flight here
  // ends as it is, and its outcome is recorded only if no other leader ran the batch again).
  void set_leading(bool leading);
  // Cluster mode, the leader: joins the offered objects to their batches and runs the complete
  // batches whose last members ended on other nodes. On the `batch` wake-up and every second.
  void sweep();

  // The S3-style event a batch run reads on stdin: `Records[]` with one S3 event record per member
  // (the marker not included), and a `hivehook` object {rule, run_id, attempt, group, generation,
  // reason, objects: [{key, path, state, size}]} — `path` where the member is now (its archive path).
  static nlohmann::json batch_event(const Config& config, const BatchRecord& b, const std::vector<BatchMember>& members,
                                    const std::string& run_id, int attempt);

 private:
  using Id = std::tuple<std::string, std::string, int64_t>;  // rule, group, generation
  static Id id_of(const BatchRecord& b) { return {b.rule, b.group, b.generation}; }
  const Rule* rule(const std::string& name) const;
  // What start() does on the node that leads: reconcile with the rules, then take every unfinished
  // batch up (quiet timers, complete ones run, cut-off runs run again) and the offers.
  void take_up();
  // The leader: each offered object joins the group it renders under the rules in force here.
  void take_offers();
  // A member of `rec` under batch rule `r`: the group its key renders, or nullopt (batch.left_out
  // said).
  std::optional<std::string> group_of(const Rule& r, const ObjectRecord& rec, const ObjectKey& key);
  void join(const Rule& r, const std::string& group, const ObjectRecord& rec, bool marker);
  // The batch of `group` that takes `rec`: the latest when it is open, complete by its marker and
  // `rec` is data, or `rec` replaces one of its members (`*replaces`); else a new generation
  // (batch.opened emitted, not yet stored).
  BatchRecord batch_taking(const Rule& r, const std::string& group, const ObjectRecord& rec, bool marker,
                           bool* replaces);
  // Completes the open batch `b` when `rec` was its marker or made its count; arms its quiet timer.
  void complete_if_due(const Rule& r, BatchRecord& b, const ObjectRecord& rec, bool marker);
  // Abandons the batches a reload (or an edit while down) left without a rule or in a stale group.
  void reconcile();
  // `batch.abandoned` with `reason`; `regroup_by` set: each member joins the group it renders now.
  void abandon(BatchRecord& b, const std::vector<BatchMember>& members, const std::string& reason,
               const Rule* regroup_by);
  void arm_quiet(const Rule& r, const BatchRecord& b);
  void complete(BatchRecord& b, const std::string& reason);
  // Complete, and every member ended: run it (or skip it when a member failed).
  void maybe_run(BatchRecord b);
  bool replacement_coming(const BatchMember& m);
  // A batch queued for a worker whose job has not started (attempt 0): still complete with every
  // member ended and none failed? Otherwise (a member rewritten while it waited, G2) it goes back
  // to `complete` and maybe_run() decides again; false then.
  bool still_ready(BatchRecord& b);
  // The rule's `requires:` names a rule that never succeeded: the complete batch waits (G13).
  bool held_by_requires(const Rule& r, const BatchRecord& b);
  // Queues the batch's next attempt for a worker; run_admitted() starts it once one is free.
  void start_run(const Id& id);
  void run_admitted(const Id& id);
  void on_exit(const Id& id, RunRecord run, const std::filesystem::path& result_file, ProcessResult r);
  std::optional<BatchRecord> load(const Id& id);
  void notify(const Rule& r, const std::string& event, const BatchRecord& b, const RunRecord* run,
              const nlohmann::json& extra);
  nlohmann::json describe(const BatchRecord& b) const;

  RuleJobs jobs_;  // the run rows, job starts, outcomes, retries and notifications batch runs share with schedules
  BatchState state_;
  std::shared_ptr<const RuleSet> rules_;
  std::map<Id, TimerHandle> quiet_;  // per open quiet batch: when it completes
  std::map<Id, TimerHandle> retry_;  // per running batch: its next attempt
  std::set<Id> waiting_;  // complete batches held by their rule's requires: (batch.waiting said once)
  bool run_jobs_ = false;
  bool stopping_ = false;
  bool started_ = false;        // start() came (the start-up scan is over)
  bool run_jobs_wanted_ = false;  // start()'s run_jobs, for a leadership that comes later
  bool cluster_ = false;        // a node of a cluster (join_cluster)
  bool leading_ = true;         // this node decides batches (always, without a cluster)
  std::set<Id> in_flight_;      // batches whose job runs here now
};

}  // namespace hivehook
