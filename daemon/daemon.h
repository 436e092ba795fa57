// The daemon: one event loop that owns the store, the pipeline, the watchers, the outbox sender,
// the metrics server and the signals. Its start-up (run()) reads top to bottom: announce, recover,
// watch, scan, loop; each concern — reload, the landing watch (new folders, overflow, reconcile),
// health, shutdown — is a named member in its own file of daemon/.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "base/timers.h"
#include "daemon/health.h"
#include "daemon/kept_rules.h"
#include "daemon/http_listener.h"
#include "daemon/landing_watch.h"
#include "daemon/reload.h"
#include "daemon/shutdown.h"
#include "jobs/process_runner.h"
#include "lambda/invoker.h"
#include "pipeline/batches.h"
#include "pipeline/commit_batch.h"
#include "pipeline/expectations.h"
#include "pipeline/file_ops.h"
#include "pipeline/outbox_sender.h"
#include "pipeline/pipeline.h"
#include "pipeline/schedules.h"
#include "rules/config.h"
#include "s3/server.h"
#include "store/audit_log.h"
#include "store/leader_lock.h"
#include "store/notify_listener.h"
#include "store/rule_slots.h"
#include "store/store.h"
#include "watcher/rules_watcher.h"

namespace hivehook {

// watch: `hivehook run`; one_shot: `hivehook scan`; replay: `hivehook replay`/`retry` with no
// daemon running: recovery, then the replay instead of the scan of landing, then exit once idle.
enum class DaemonMode { watch, one_shot, replay };

struct DaemonOptions {
  DaemonMode mode = DaemonMode::watch;
  // `scan`: how long files found still open for writing are waited for before they are reported
  // as skipped (and scan exits 1).
  Duration scan_wait = std::chrono::seconds(60);
  // `run --new-state`: start a new, empty state DB even though the archive, quarantine or audit log
  // show an earlier one (a lost DB would otherwise re-run everything still in landing).
  bool new_state = false;
  // `run --strict`: refuse to start when the rules on disk are invalid (instead of running the last
  // good rules kept in the store, degraded).
  bool strict = false;
  // DaemonMode::replay: what is carried out (`hivehook replay`/`retry` with no daemon running).
  std::optional<ReplayRequest> replay;
  // `run --node NAME` / `scan --node NAME`: this daemon's node name (cluster mode, docs/cluster.md),
  // overriding the config's `node:`.
  std::string node;
};

// Exit codes (DESIGN.md, sysexits.h): 0 ok, 1 some object failed (scan), 2 usage/config error at
// start-up, 70 (EX_SOFTWARE) a fatal fault at run time, 75 (EX_TEMPFAIL) a listening address
// (metrics/http.listen, s3.listen) in use by another process at start-up; a supervisor restarts
// on 70 and 75, never on 2 (the unit's RestartPreventExitStatus=2).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailures = 1;
inline constexpr int kExitConfig = 2;
inline constexpr int kExitRuntime = 70;
inline constexpr int kExitTempFail = 75;

// Hooks for the service manager (systemd sd_notify): called on the loop thread.
struct DaemonHooks {
  std::function<void(const std::string&)> on_status;  // what start-up is doing ("recovering"), for STATUS=
  std::function<void()> on_ready;      // recovery and the start-up scan are done, watching
  std::function<void()> on_heartbeat;  // every second while the loop turns (WATCHDOG=1)
  std::function<void()> on_reloading;  // a reload begins (RELOADING=1)
  std::function<void()> on_reloaded;  // it is applied or rejected (READY=1)
  std::function<void()> on_stopping;   // shutdown has begun (STOPPING=1)
  // DaemonMode::replay: the plan as carried out (pipeline/replay_plan.h's JSON, or {"error"} with
  // a status other than 200, after which start() returns kExitConfig).
  std::function<void(int status, const nlohmann::json& plan)> on_replayed;
};

class Daemon {
 public:
  // Opens the store (the caller holds the state's owner lock) and wires every part. Throws
  // sql::StoreError or std::runtime_error (naming the file) when the state cannot be opened.
  // `rules_rejected`: the rules on disk were invalid and `rules` are the last good ones kept in
  // the store (daemon/kept_rules.h): the daemon runs degraded and says so.
  Daemon(Config config, std::shared_ptr<const RuleSet> rules, DaemonOptions options,
         std::optional<RulesRejection> rules_rejected = std::nullopt);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Start-up, then the loop until stopped. Returns the exit code.
  int run();
  // Test seams: start-up without entering the loop, then turn it one handler at a time or until
  // nothing is ready to run.
  int start();
  bool step();
  std::size_t run_until_idle();

  DaemonHooks hooks;
  // One line for the service manager's STATUS=: "watching /srv/landing: 3 rules, 2 jobs running"
  // (and why it is degraded, when it is). On the loop thread.
  std::string status_line() const;
  // Why the daemon is degraded because the landing folder itself is missing, or nullopt.
  std::optional<std::string> landing_missing() const;

 private:
  bool watching() const { return options_.mode == DaemonMode::watch; }
  int serve();
  void wire_reloads();
  void wire_orchestration();
  void ready_after_scan();
  void apply_secrets(const Config& c);
  void apply_redactor();
  void remove_leftovers();
  int replay();
  bool replay_delivered();
  void announce_start();
  void status(const std::string& what);
  void start_watching();
  void handle_signals();
  void watch_storage();
  // Cluster mode: renews the node's lease every third of it (daemon/node_lease.cpp); a lease found
  // lost stops the daemon (exit 70).
  void keep_lease();
  // Cluster mode on PostgreSQL (`run` only): every half lease, takes over the work of the nodes
  // whose lease ran out (Pipeline::take_over_expired_nodes), and has the outbox deliver what it took.
  void take_over_expired_nodes();
  // Cluster mode on PostgreSQL (`run` only): one node leads (store/leader_lock.h) — it alone runs the
  // reconcile scans, fires schedules and raises expectations (daemon/leadership.cpp). Tried at once
  // at start-up, then every quarter lease; without a cluster (SQLite, `scan`) this daemon leads.
  void lead();
  void try_lead();
  // What the leader alone does, handed the rules in force (after the start-up scan).
  void start_leading_orchestration();
  // Cluster mode on PostgreSQL: rules' `concurrency` as cluster-wide slots (daemon/cluster_concurrency.cpp).
  void share_concurrency();
  void add_health_checks();
  void finish_when_idle();
  bool waited_for_busy_files();
  void stop_inputs();
  std::size_t jobs_running() const;
  void finish();
  void export_lambda_totals();
  // Hands the rules in force to schedules, expectations and batches (once the start-up scan is
  // done, and at each applied reload); before that, batches only collect members.
  void orchestrate();

  Config config_;  // in force: a reload updates the settings that apply live (daemon/reload.h)
  DaemonOptions options_;
  std::optional<RulesRejection> rules_rejected_at_start_;
  const Clock& clock_;
  boost::asio::io_context io_{1};
  AsioTimers timers_{io_};
  Ticker ready_wait_;  // polls until the start-up scan is done, then says ready once
  Store store_;
  std::unique_ptr<AuditLog> audit_;
  void reopen_audit_log();  // SIGHUP: a rotated audit_log is followed to its new file
  CommitBatch batch_;
  PipelineStats stats_;
  LocalFileOps files_;
  ProcessRunner runner_;   // command jobs: a child process per run
  lambda::Invoker lambda_;  // lambda jobs: warm execution environments per rule, over the Runtime API
  lambda::Invoker::Totals lambda_exported_;  // what /metrics shows so far
  Pipeline pipeline_;
  Schedules schedules_;        // schedule: rules (run mode only)
  Expectations expectations_;  // expect: deadlines
  Batches batches_;            // batch: fan-in groups (runs in run mode only)
  std::shared_ptr<const RuleSet> orchestrated_;  // the rules schedules and expectations were given
  bool scanned_ = false;  // the start-up scan is done (ready): orchestration may evaluate
  OutboxSender outbox_;
  Reloader reloader_;
  Health health_;
  std::unique_ptr<HttpListener> http_;  // /metrics, /healthz, the console, /api/v1 (config `http:`)
  std::unique_ptr<s3::Server> s3_;  // the S3 API on its own threads: uploads land like dropped files
  std::unique_ptr<LandingWatch> watch_;
  std::unique_ptr<RulesWatcher> rules_watcher_;
  Shutdown shutdown_;
  boost::asio::signal_set signals_{io_, SIGINT, SIGTERM, SIGHUP};
  Ticker idle_check_;
  Ticker storage_retry_;         // while the state DB refuses writes: try the batch again
  Ticker lease_;                 // cluster mode: the node's lease heartbeat (SQLite)
  Ticker takeover_;              // cluster mode: looks for nodes whose lease ran out
  Ticker leadership_;            // cluster mode: tries (or checks) the leader lock
  Ticker batch_sweep_;           // cluster mode, the leader: batch offers and complete batches
  std::unique_ptr<LeaderLock> leader_;  // cluster mode on PostgreSQL: the leader lock's session
  std::unique_ptr<NotifyListener> listener_;  // cluster mode on PostgreSQL: LISTEN hivehook (wake-ups)
  std::unique_ptr<RuleSlots> slots_;   // cluster mode on PostgreSQL: the concurrency slots' session
  bool leading_ = true;          // this daemon leads (always, without a cluster)
  metrics::Gauge* leader_gauge_ = nullptr;  // hivehook_cluster_leader
  int64_t replay_started_ms_ = 0;                 // DaemonMode::replay: when the replay began (unix ms)
  std::set<std::string> replayed_keys_;           // DaemonMode::replay: the keys it put back through
  std::optional<SteadyTime> replay_runs_ended_;   // DaemonMode::replay: when its runs had all ended
  SteadyTime busy_deadline_{};   // `scan`: files still open for writing are waited for until then
  std::size_t skipped_ = 0;      // `scan`: files still open for writing after --wait
  std::vector<std::string> secrets_;
};

}  // namespace hivehook
