// The object pipeline: discovery → record → run every matching rule's job → archive/quarantine →
// notify. Runs on one io_context; every transition is committed (in batches) before its side
// effect. Its edges — clock, timers, file operations, job runners — are injected (PipelineSeams),
// so tests drive it with a manual clock, scripted jobs and injected file faults.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/timers.h"
#include "jobs/job_runner.h"
#include "pipeline/commit_batch.h"
#include "pipeline/file_ops.h"
#include "pipeline/landing_scan.h"
#include "pipeline/scheduler.h"
#include "pipeline/stats.h"
#include "rules/config.h"
#include "rules/rule.h"
#include "store/replay_query.h"
#include "store/store.h"

namespace hivehook {

struct ObjectKey;
struct FinalPlan;
struct Outcome;

struct PipelineSeams {
  const Clock& clock;
  Timers& timers;
  FileOps& files;
  JobRunner& runner;                   // command jobs, and lambda jobs while no lambda runner is set
  JobRunner* lambda_runner = nullptr;  // `lambda:` jobs (warm execution environments), when set
};

// How a hint about a file arrived. A close or rename event says the writer is done; a scan (of
// any sort) or a bare IN_CREATE (a hard link) does not: those go through the admission check.
enum class Hint { written, scanned, created };

class Pipeline {
 public:
  Pipeline(boost::asio::io_context& io, const Config& config, std::shared_ptr<const RuleSet> rules, Store& store,
           CommitBatch& batch, PipelineStats& stats, PipelineSeams seams);
  ~Pipeline();

  // Restart recovery (DESIGN.md): interrupted runs marked and re-queued, pending objects queued,
  // decided-but-unmoved objects moved without re-running.
  void recover();
  // Cluster mode on PostgreSQL: takes over the work of the nodes whose lease ran out (pipeline/
  // takeover.cpp): their started runs are recorded interrupted (event run.interrupted, reason
  // "node N lost its lease") and their tasks queued again here, their unfinished objects loaded as
  // recovery loads this node's own, their pending notifications delivered by this node from now on.
  // Returns the number of nodes taken over. A failure to reach PostgreSQL is logged and tried again
  // at the next call; throws sql::StoreError (SQLITE_PERM) when this node lost its own lease.
  std::size_t take_over_expired_nodes();
  // A hint that landing/<key> may hold a new object.
  void offer(const std::string& key, Hint hint = Hint::written);
  // Walks a folder of landing (absolute, inside landing) in key order, offering every file as
  // scanned. The walk runs in slices of at most ~20 ms (or 1,000 folders or files) and yields to
  // the loop between them, so even a rescan of 100,000 files never stalls timers, reaping or
  // /healthz. A scan asked for while the same folder's scan is under way runs once more after it
  // (what changed behind the first walk is found by the second). idle() is false meanwhile.
  void scan(const std::filesystem::path& dir);
  // Scans under way (for tests and status).
  std::size_t scans_in_progress() const { return scans_.size(); }
  // Keys the admission check found still being written. Each is offered again every
  // kRecentWindow (file_ops.h) until it is admitted or gone — its close event may bring it back
  // sooner, but none comes when the writer closed it before its folder was watched, or when no
  // lease could tell (another owner's file): then only this look admits it. `scan --wait` also
  // looks at them itself.
  const std::set<std::string>& busy() const { return busy_; }
  // Stops looking at the busy keys (`scan --wait` is over: they are reported as skipped).
  void forget_busy();
  // A client deleted landing/<key> (the file of inode `inode`) through the S3 API: event
  // object.deleted with `detail` ({"by": "s3", "operation", "request_id", "client"}). The key's
  // latest object, when it is that file and rests in landing (unmatched, kept, failed_kept,
  // ignored), ends `deleted`, so `status` stops counting it; one still being processed keeps its
  // course (its final action finds the file gone: vanished). On the loop. (DESIGN.md audit events.)
  void deleted_by_client(const std::string& key, std::uint64_t inode, nlohmann::json detail);
  // Every failed move, now (the reconcile scan calls it; each also retries on its own backoff).
  void retry_moves();
  // Objects whose move failed and is being retried (for status and /healthz).
  std::size_t stuck() const { return stuck_.size(); }
  // Unix ms since the oldest still-failed move first failed, 0 when none; read from any thread.
  int64_t oldest_move_failure_ms() const { return oldest_failure_ms_.load(); }

  // New rules apply to objects discovered from now on; runs in flight are untouched.
  void set_rules(std::shared_ptr<const RuleSet> rules);
  const RuleSet& rules() const { return *rules_; }
  void set_workers(int workers);
  // Cluster mode: rules' `concurrency` holds across the nodes (store/rule_slots.h): `claim(rule,
  // limit)` takes a cluster-wide slot before a run of a limited rule starts, `release(rule)` gives
  // it back when the run ends. While tasks wait for slots other nodes hold, the queue is looked at
  // again every kSlotWait (no run ending on this node would wake it).
  void share_concurrency(std::function<bool(const std::string&, int)> claim,
                         std::function<void(const std::string&)> release);
  static constexpr Duration kSlotWait = std::chrono::milliseconds(100);
  // The `ignore` patterns (basename globs) for files discovered from now on (a reload).
  void set_ignore(std::vector<std::string> patterns) { config_.ignore = std::move(patterns); }
  // Names of environment variables jobs never get (the notify targets' ${VAR}s).
  void set_secret_env(std::set<std::string> names) { config_.secret_env = std::move(names); }
  // The one masking (base/redactor.h) for what the pipeline writes outside the store (quarantine's
  // <key>.error.json, notification excerpts): the daemon's, which keeps the secrets of earlier
  // configs too; until set, the rules' own (RuleSet::redactor).
  void set_redactor(Redactor redact) { redactor_ = std::move(redact); }
  const Redactor& redactor() const { return redactor_ ? *redactor_ : rules_->redactor; }

  // Records an audit event in the current batch.
  void emit(std::string event, const std::optional<std::string>& key = std::nullopt,
            nlohmann::json detail = nullptr, const std::optional<std::string>& rule = std::nullopt,
            const std::optional<std::string>& run_id = std::nullopt, std::optional<int> attempt = std::nullopt);

  // Shutdown: stop starting runs; `running()` tells when the jobs in flight are done.
  void stop_starting();
  // After the grace period: kill what still runs; those runs are recorded as interrupted.
  void kill_running(Duration grace);

  // Replays (or, with request.retry, retries) archived/quarantined objects as new objects (see
  // pipeline/replay_plan.h): (200, the plan as carried out) or (400|503, {"error"}). On the loop.
  std::pair<int, nlohmann::json> replay(const ReplayRequest& request);
  // A retry of schedule rules' failed firings (request.schedules; pipeline/schedule_retry.h), which
  // replay() hands here: the daemon wires its Schedules (Schedules::retry). Unset: 503.
  std::function<std::pair<int, nlohmann::json>(const ReplayRequest&)> retry_schedules;

  // Nothing scanning, settling, hashing, queued, running, waiting for a retry or to move. Objects whose
  // only open tasks are `waiting` (for after:/requires:) do not count: only another object can free
  // them; nor do objects whose move failed (move_failed): they wait for their own retry timer.
  bool idle() const;
  // Objects with a task waiting for after:/requires: (what `scan` reports as left waiting).
  std::size_t waiting_objects() const;
  // Cluster mode: rules whose first success another node recorded (its NOTIFY, or a look at the
  // store's rule_successes): the objects of this node whose `requires:` waited only for them are
  // released and start. Rules already known change nothing.
  void rules_succeeded_elsewhere(const std::vector<std::string>& rules);
  // Keys discovered but not admitted yet (still being written, settling, or hashed off the loop).
  std::vector<std::string> keys_in_discovery() const;
  std::size_t running() const;
  // Objects that ended failed (quarantined or failed_kept) since start, and those whose move
  // failed and is still being retried.
  uint64_t failures() const { return failures_ + stuck_.size(); }

  // Orchestration beyond one object (daemon/ wires these; DESIGN.md "Orchestration").
  // Called once per admitted object, in the batch that records it, with its per-object rules
  // (expectations note arrivals here).
  std::function<void(const ObjectRecord&, const ObjectKey&, const std::vector<const Rule*>&)> on_admitted;
  // Called when an object reaches its end (a terminal state: archived, quarantined, kept, ...), from
  // the one transition function, in the batch that records it, with its final state and path
  // (batches wait for their members here).
  std::function<void(const ObjectRecord&)> on_ended;
  // True when `key` is the marker a batch group's newest generation is collecting for (issue 14,
  // G2 of the new-user retest): such a file is admitted as a new object even when its content is
  // that of the key's last archived version (every `_SUCCESS` is empty, so a re-delivered day's
  // marker is byte-identical to the first one), never recorded as `object.duplicate` — the
  // duplicate guard must not swallow a batch's completion signal (docs/decisions.md).
  std::function<bool(const ObjectKey&)> awaits_marker;
  // A rule succeeded on something other than an object (a scheduled run): kept as its first
  // success when it is one, and whatever `requires:` it releases is released.
  void note_rule_success(const std::string& rule, int64_t object_id);
  // Has `rule` succeeded at least once, ever (durable; what `requires:` waits for)?
  bool rule_has_succeeded(const std::string& rule) const { return succeeded_rules_.count(rule) > 0; }
  // Called on a loop turn of its own after a rule's first success ever: batches whose rule
  // `requires:` it may run now (issue 14, G13 of the new-user retest).
  std::function<void(const std::string&)> on_first_success;
  // A batch's or a schedule firing's run (no object) waiting for a worker: `start` is called once
  // `workers` and the rule's `concurrency` allow it — the same admission as object runs, FIFO with
  // them (issue 14, F14 of the new-user test) — and never after stop_starting(). From then on the
  // run holds one of the rule's slots until rule_job_ended(rule) gives it back (its job ended, or
  // `start` found nothing to run). Counted in hivehook_jobs_queued while it waits, and in
  // hivehook_jobs_running while it holds its slot.
  void queue_rule_job(const std::string& rule, std::function<void()> start);
  void rule_job_ended(const std::string& rule);

 private:
  struct Active;  // an object between discovery and its final action
  struct ScanRun {
    explicit ScanRun(FileOps& files, std::string dir) : walk(files, std::move(dir)) {}
    LandingScan walk;
    bool again = false;  // asked for again while under way
    int slices = 0;
    SteadyTime started{};
  };
  struct Settling {
    TimerHandle timer;
    uint64_t size = 0;
    int64_t mtime_ns = -1;
  };

  // discovery (discovery.cpp)
  void start_scan(const std::string& dir);
  void scan_slice(ScanRun* s);
  void scan_done(ScanRun* s);
  void offer_checked(const std::string& key, Hint hint, bool after_settle);
  std::optional<ObjectKey> classify(const std::string& key, const FileInfo& info, Hint hint);
  bool known_and_left(const std::optional<ObjectRecord>& last, const FileIdentity& id) const;
  bool metadata_changed(const std::optional<ObjectRecord>& last, const Hashed& h);
  bool awaiting_close(const std::string& key, const FileInfo& info);
  void record_ignored(const std::string& key, const FileInfo& info, const std::string& why);
  void record_unmatched(const std::string& key, const FileInfo& info);
  // Cluster mode: objects are inserted once, whichever node saw the file first (Store::claim_object).
  // False when `rec` (a new arrival at its key) is not this node's to record: another node recorded
  // that very file (dropped), or is recording an object of its key right now (offered again shortly).
  // A key enters and leaves busy_ only here: entering arms its next look.
  void mark_busy(const std::string& key);
  void unmark_busy(const std::string& key);
  bool claimed(const ObjectRecord& rec);
  void settle(const std::string& key, Hint hint, const FileInfo& info, Duration quiet);
  void on_settled(const std::string& key, Hint hint, Duration quiet);
  void hash_then_admit(const ObjectKey& key, const FileInfo& info, std::optional<ObjectRecord> last);
  void hashed(const ObjectKey& key, const FileInfo& info, const std::optional<ObjectRecord>& last,
              std::optional<Hashed> h, int err, const std::string& error);
  // `last`: the key's last object, looked up once by offer_checked (only this loop writes it).
  void admit(const ObjectKey& key, const Hashed& h, const std::optional<ObjectRecord>& last);
  void admit_duplicate(ObjectRecord rec, const ObjectRecord& of);
  // A job that rewrites its own input (findings 15 F22): the key's new version appeared during the
  // run of the object it replaced, `generations` times in a row (kSelfRewriteLimit): it is recorded,
  // not run, and quarantined with the reason (object.loop_detected, a warning naming key and rules,
  // hivehook_object_loops_total{rule}).
  // A new object for the file at `key` as hashed (`h`): its row (next id, identity, eTag) and the
  // in-memory state every admission starts from; not yet recorded or in active_.
  std::unique_ptr<Active> new_arrival(const ObjectKey& key, const Hashed& h);
  void admit_looping(const ObjectKey& key, const Hashed& h, const std::vector<const Rule*>& matched,
                     const std::vector<std::string>& writers, int generations);
  // What a replayed object records (`object.replayed`).
  struct ReplayOrigin {
    int64_t of_object = 0;
    std::string from;
    bool retry = false;
    std::string quarantined;  // `from` as a key of the quarantine, when it is there
  };
  // A new pending object with one task per rule in `matched`. `replay`: the object is a replay
  // (admitted past the duplicate guard), and `object.replayed` is recorded.
  // `self_rewrites`: versions before it at the key written by their own run, in a row (F22).
  void start_object(const ObjectKey& key, const Hashed& h, const std::vector<const Rule*>& matched,
                    const ReplayOrigin* replay, int self_rewrites = 0);
  // runs (runs.cpp)
  // Starts the queued tasks the workers and limits allow. Not re-entered: a call from inside it (a
  // run that ended at once) makes the running one look again (pumping_, pump_again_).
  void pump();
  void start_run(int64_t object_id, const std::string& rule_name);
  // Identity check before a run and before the final move: the file at the key is still the
  // object's. Else it ends superseded (replaced or rewritten; `why` leads the audit note) or
  // vanished (gone); returns false. A file that cannot be looked at (EACCES/EPERM/EIO on its
  // folder) is not gone: before its run it runs, once decided its move is move_failed.
  // Only its ctime moved (P9): the eTag decides; while a big file is hashed off the loop it returns
  // false and `resume` (the caller's step, to be tried again) runs once the answer is in.
  bool still_there(Active& a, std::function<void()> resume, const std::string& why = {});
  bool same_content(Active& a, const FileIdentity& now, std::function<void()> resume);
  bool content_compared(Active& a, const FileIdentity& now, const std::optional<Hashed>& h, int err);
  void superseded(Active& a, const FileIdentity& now, const std::string& why = {});
  void dispatch(Active& a, const Rule& rule, const RunRecord& run);
  void record_process(RunRecord run, const ChildIdentity& child);
  void on_run_exit(int64_t object_id, const std::string& rule_name, RunRecord run,
                   const std::filesystem::path& result_file, ProcessResult result);
  void record_interrupted(Active& a, TaskRecord* task, RunRecord& run, const std::string& why);
  void record_run_failure(Active& a, TaskRecord* task, const Rule* rule, RunRecord& run, const ProcessResult& r,
                          nlohmann::json detail);
  void requeue_after(int64_t object_id, const std::string& rule, int64_t at_ms);
  // outcome (outcome.cpp)
  void maybe_finish(int64_t object_id);
  FinalPlan plan_final_action(const Active& a) const;
  void apply_final_action(int64_t object_id);
  void finish_object(Active& a);
  Outcome perform(const Active& a);
  Outcome move_out(const Active& a, Area to, ObjectState done);
  Outcome quarantine(const Active& a);
  void record_outcome(Active& a, Outcome o);
  void move_failed(Active& a, Outcome o);
  void unstick(Active& a, bool leave = true);
  void end_early(Active& a, ObjectState to, nlohmann::json detail);  // superseded | vanished
  // notifications (notifications.cpp)
  void enqueue_notifications(const Active& a, ObjectState outcome, const std::vector<std::string>& targets);
  // One outbox row per target, in the current batch (the same transaction as the outcome).
  void put_in_outbox(const Active& a, const std::string& event, const std::string& rule, const RunRecord& run,
                     int attempts, const std::string& outcome, const std::vector<std::string>& targets);
  // the state machines (transitions.cpp): the one transition function per machine
  void record_new(ObjectRecord& rec, nlohmann::json detail);
  void transition(ObjectRecord& rec, ObjectState to, nlohmann::json detail = nullptr);
  void record_run_start(RunRecord& run);
  void run_transition(RunRecord& run, RunState to, nlohmann::json detail);
  void record_new_task(Active& a, TaskRecord& t, nlohmann::json detail = nullptr);
  void task_transition(Active& a, TaskRecord& t, TaskState to, nlohmann::json detail = nullptr);
  // after:/requires: (dependencies.cpp)
  struct Blockers;
  Blockers blockers(const Active& a, const TaskRecord& t) const;
  // A new object's tasks: queued, or waiting for what after:/requires: name.
  void admit_tasks(Active& a);
  // A task ended: record a rule's first success, release what waited for it, skip what cannot run.
  void on_task_ended(Active& a, const TaskRecord& t);
  // Every waiting task whose wait is over, released in key order (or skipped); `only`: one object.
  void release_waiting(Active* only = nullptr);
  // A waiting task whose wait has ended: released to run, skipped because a task it waited for can
  // no longer succeed (`doomed_by`), or ended because its rule was removed.
  struct ReleasedTask {
    std::string key;
    int64_t id;
    std::string rule;
    std::optional<std::string> doomed_by;
    bool rule_removed = false;
  };
  // Adds `a`'s waiting tasks whose wait has ended to `ready`; the others' `waiting_for` is updated.
  void collect_released(Active& a, std::vector<ReleasedTask>& ready);
  const Rule* rule_now(const Active& a, const std::string& name) const;
  // recovery (recovery.cpp)
  void recover_interrupted_runs();
  // Loads the unfinished objects of this node (`only`: those it accepts) into memory: re-queues
  // their open tasks, moves the decided ones.
  void recover_objects(const std::function<bool(const ObjectRecord&)>& only = nullptr);
  // A run cut off (by a crash, or its node's lost lease) recorded interrupted with `error` and the
  // event's `detail`; its running task queued again, counting the interruption.
  void record_interrupted(RunRecord run, const std::string& error, nlohmann::json detail);
  // What is left of a cut-off run's processes on this host, killed (its recorded process group, and
  // any group whose environment carries its run id).
  static void kill_leftovers(const RunRecord& run);
  // A task of a recovered object to queue again: its key (for key order), object id and rule.
  struct QueuedTask {
    std::string key;
    int64_t id;
    std::string rule;
  };
  Active& restore_active(const ObjectRecord& rec, ObjectKey key);
  void sort_released_in_key_order(std::vector<QueuedTask>& queued) const;

  void forget(Active& a);  // the object reached its end: drop it from memory once no run of it is in flight
  void refresh_gauges();
  const Rule* rule_for(const Active& a, const std::string& name) const;

  boost::asio::io_context& io_;
  Config config_;
  static constexpr std::size_t kNotifyExcerptLines = 20, kNotifyExcerptBytes = 2048;
  std::shared_ptr<const RuleSet> rules_;
  std::optional<Redactor> redactor_;
  Store& store_;
  CommitBatch& batch_;
  PipelineStats& stats_;
  const Clock& clock_;
  Timers& timers_;
  FileOps& files_;
  JobRunner& runner_;
  JobRunner* lambda_runner_;
  Scheduler scheduler_;
  boost::asio::thread_pool hash_pool_{1};
  std::mt19937_64 rng_{std::random_device{}()};

  std::unordered_map<int64_t, std::unique_ptr<Active>> active_;
  std::unordered_map<std::string, int64_t> active_by_key_;
  std::unordered_map<std::string, Settling> settling_;
  TimerHandle slot_wait_;  // cluster mode: the next look at tasks waiting for a cluster-wide slot
  bool slot_wait_armed_ = false;
  bool pumping_ = false;     // pump() is on the stack
  bool pump_again_ = false;  // pump() was called meanwhile: look at the queue again
  std::unordered_map<std::string, TimerHandle> claim_retries_;  // keys another node was recording: offered again
  std::unordered_set<std::string> hashing_;
  std::vector<std::unique_ptr<ScanRun>> scans_;  // scans under way, each walking in slices
  std::set<std::string> busy_;
  std::unordered_map<std::string, TimerHandle> busy_rechecks_;  // one per busy key: its next look
  // Files inotify saw a writer create (IN_CREATE, one link) whose close has not come (P14).
  struct OpenWrite {
    uint64_t inode = 0;
    SteadyTime since{};
    bool warned = false;
  };
  std::unordered_map<std::string, OpenWrite> open_writes_;
  std::set<int64_t> stuck_;  // objects in move_failed
  std::atomic<int64_t> oldest_failure_ms_{0};
  std::map<std::pair<int64_t, std::string>, TimerHandle> retry_timers_;
  // Concurrency of rules gone from the current rules, for the runs they still owe (see set_rules).
  std::unordered_map<std::string, int> retired_limits_;
  // Rules that have succeeded at least once on any object (the store's rule_successes).
  std::unordered_set<std::string> succeeded_rules_;
  std::map<std::string, int64_t> waiting_by_rule_;
  // Keys whose last object ended superseded by a version written during its own run (F22): how
  // many such generations in a row, and the rules that ran on the last one. Taken by the key's next
  // arrival; dropped when the key's file is gone or ends any other way.
  struct SelfRewrites {
    int generations = 0;
    std::vector<std::string> rules;
  };
  std::unordered_map<std::string, SelfRewrites> self_rewrites_;  // tasks waiting now, per rule (the gauge)
  bool starting_allowed_ = true;
  bool killing_ = false;
  uint64_t failures_ = 0;
  int finishing_ = 0;        // final actions committed but not yet applied
  std::size_t in_flight_ = 0;  // jobs handed to a runner whose exit has not been recorded yet
  // Batch and scheduled runs waiting for a worker (by ticket), and how many hold a slot now.
  std::map<uint64_t, std::function<void()>> rule_jobs_queued_;
  uint64_t next_rule_job_ = 1;
  std::size_t rule_jobs_running_ = 0;
};

}  // namespace hivehook
