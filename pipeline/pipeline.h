// The object pipeline: discovery → record → run every matching rule's job → archive/quarantine →
// notify. Runs on one io_context; every transition is committed (in batches) before its side effect.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "jobs/process_runner.h"
#include "pipeline/commit_batch.h"
#include "pipeline/scheduler.h"
#include "pipeline/stats.h"
#include "rules/config.h"
#include "rules/rule.h"
#include "store/store.h"

namespace hivehook {

class Pipeline {
 public:
  Pipeline(boost::asio::io_context& io, const Config& config, std::shared_ptr<const RuleSet> rules, Store& store,
           CommitBatch& batch, PipelineStats& stats);
  ~Pipeline();

  // Restart recovery (DESIGN.md): interrupted runs marked and re-queued, pending objects queued,
  // decided-but-unmoved objects moved without re-running.
  void recover();
  // A hint that `path` (key relative to landing) may hold a new object.
  void offer(const std::filesystem::path& path, const std::string& key);
  // Walks a folder of landing in key order, offering every file.
  void scan(const std::filesystem::path& dir);

  // New rules apply to objects discovered from now on; runs in flight are untouched.
  void set_rules(std::shared_ptr<const RuleSet> rules);
  const RuleSet& rules() const { return *rules_; }
  void set_workers(int workers);

  // Records an audit event in the current batch.
  void emit(std::string event, const std::optional<std::string>& key = std::nullopt,
            nlohmann::json detail = nullptr, const std::optional<std::string>& rule = std::nullopt,
            const std::optional<std::string>& run_id = std::nullopt, std::optional<int> attempt = std::nullopt);

  // Shutdown: stop starting runs; `running()` tells when the jobs in flight are done.
  void stop_starting();
  // After the grace period: kill what still runs; those runs are recorded as interrupted.
  void kill_running(Duration grace);

  bool idle() const;  // nothing settling, hashing, queued, running, waiting for a retry or to move
  std::size_t running() const { return runner_.running(); }
  // Objects that ended failed (quarantined or failed_kept) since start.
  uint64_t failures() const { return failures_; }
  // Called on the loop each time the pipeline becomes idle.
  std::function<void()> on_idle;

 private:
  struct Active;  // an object between discovery and its final action

  // discovery
  void offer_checked(const std::filesystem::path& path, const std::string& key, bool after_settle);
  void record_ignored(const std::string& key, uint64_t inode, const std::string& why);
  // `last`: the key's last object, looked up once by offer_checked (only this loop writes it).
  void admit(const std::filesystem::path& path, const ObjectKey& key, const struct stat& st,
             std::vector<const Rule*> matched, std::string etag, const std::optional<ObjectRecord>& last);
  // runs
  void pump();
  void start_run(int64_t object_id, const std::string& rule_name);
  void on_run_exit(int64_t object_id, std::string rule_name, RunRecord run, std::filesystem::path result_file,
                   ProcessResult result);
  void requeue_after(int64_t object_id, const std::string& rule, int64_t at_ms);
  // outcome
  void maybe_finish(int64_t object_id);
  void apply_final_action(int64_t object_id);
  void enqueue_notifications(const Active& a, ObjectState outcome, const std::vector<std::string>& targets);
  // One outbox row per target, in the current batch (the same transaction as the outcome).
  void put_in_outbox(const Active& a, const std::string& event, const std::string& rule, const RunRecord& run,
                     int attempts, const std::string& outcome, const std::vector<std::string>& targets);
  void check_idle();

  const Rule* rule_for(const Active& a, const std::string& name) const;

  boost::asio::io_context& io_;
  Config config_;
  std::shared_ptr<const RuleSet> rules_;
  Store& store_;
  CommitBatch& batch_;
  PipelineStats& stats_;
  ProcessRunner runner_;
  Scheduler scheduler_;
  boost::asio::thread_pool hash_pool_{1};
  std::mt19937_64 rng_{std::random_device{}()};

  std::unordered_map<int64_t, std::unique_ptr<Active>> active_;
  std::unordered_map<std::string, int64_t> active_by_key_;
  struct Settling {
    std::unique_ptr<boost::asio::steady_timer> timer;
    int64_t size = -1;
    int64_t mtime_ns = -1;
  };
  std::unordered_map<std::string, Settling> settling_;
  std::unordered_set<std::string> hashing_;
  std::unordered_set<std::string> ignored_seen_;  // key + inode already recorded as ignored
  std::map<std::pair<int64_t, std::string>, std::unique_ptr<boost::asio::steady_timer>> retry_timers_;
  std::unordered_map<std::string, int64_t> run_pids_;  // run_id → pid, for shutdown bookkeeping
  // Concurrency of rules gone from the current rules, for the runs they still owe (see set_rules).
  std::unordered_map<std::string, int> retired_limits_;
  bool starting_allowed_ = true;
  bool killing_ = false;
  uint64_t failures_ = 0;
  int finishing_ = 0;  // final actions committed but not yet applied
};

}  // namespace hivehook
