#include "daemon/daemon.h"
#include "base/build_info.h"

#include "daemon/folder_access.h"

#include <unistd.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <iostream>
#include <limits>
#include <spdlog/spdlog.h>

#include "notify/redact.h"
#include "rules/config_keys.h"

namespace hivehook {

namespace {
constexpr auto kStorageRetryEvery = std::chrono::seconds(1);
constexpr auto kBusyLookEvery = std::chrono::milliseconds(100);
// How long an offline replay waits, after its runs end, for their notifications to be delivered.
constexpr auto kReplayDeliveryWait = std::chrono::seconds(30);

// audit.jsonl continues from the store's ids, and the store's ids never go behind it.
std::unique_ptr<AuditLog> open_audit_log(const Config& config, Store& store) {
  if (!config.audit_log) return nullptr;
  auto log = std::make_unique<AuditLog>(*config.audit_log, store);
  store.continue_event_ids_after(log->last_id());
  return log;
}

// Who this daemon is in the cluster (docs/cluster.md).
NodeOptions node_options(const Config& config, const DaemonOptions& options) {
  NodeOptions n;
  n.name = config.node;
  n.role = options.mode == DaemonMode::replay ? "replay" : options.mode == DaemonMode::one_shot ? "scan" : "run";
  n.lease = std::chrono::duration_cast<std::chrono::milliseconds>(config.node_lease);
  return n;
}

// The AWS that Lambda functions see: the S3 API's region and key, and its endpoint once it listens.
lambda::LocalAws local_aws(const Config& config, std::string s3_endpoint) {
  lambda::LocalAws aws;
  if (!config.s3) return aws;
  aws.region = config.s3->region;
  aws.access_key_id = config.s3->access_key_id;
  aws.secret_access_key = config.s3->secret_access_key;
  aws.s3_endpoint = std::move(s3_endpoint);
  return aws;
}
}  // namespace

Daemon::Daemon(Config config, std::shared_ptr<const RuleSet> rules, DaemonOptions options,
               std::optional<RulesRejection> rules_rejected)
    : config_(std::move(config)),
      options_(options),
      rules_rejected_at_start_(std::move(rules_rejected)),
      clock_(SystemClock::instance()),
      store_(config_.state, Store::Mode::owner, clock_, node_options(config_, options_)),
      audit_(open_audit_log(config_, store_)),
      batch_(io_, store_, audit_.get()),
      files_(config_.landing, config_.archive, config_.quarantine),
      runner_(io_, clock_),
      lambda_(io_, local_aws(config_, ""), config_.workers),
      pipeline_(io_, config_, rules, store_, batch_, stats_, {clock_, timers_, files_, runner_, &lambda_}),
      schedules_(config_, store_, batch_, stats_, pipeline_, {clock_, timers_, runner_, &lambda_}),
      expectations_(config_, store_, batch_, stats_, pipeline_, clock_, timers_),
      batches_(config_, store_, batch_, stats_, pipeline_, {clock_, timers_, runner_, &lambda_}),
      outbox_(io_, store_, batch_, stats_, config_.notify, {.clock = clock_, .timers = timers_, .deliver = nullptr, .offload = nullptr}),
      reloader_(config_, rules, pipeline_, outbox_, stats_, store_, clock_),
      health_(clock_, timers_, stats_, is_postgres_state(config_.state.string()) ? config_.state_dir : config_.state),
      shutdown_(clock_, timers_, pipeline_, config_.shutdown_grace, [this] { return jobs_running(); },
                [this] { stop_inputs(); }, [this] { finish(); }) {
  apply_secrets(config_);
  reloader_.on_config_applied = [this](const Config& fresh) {
    apply_secrets(fresh);
    // `ignore` applies at once to uploads too: the S3 API refuses the keys hivehook would skip.
    if (s3_ && s3_->service()) s3_->service()->set_ignore(config_.ignore);
  };
}

// Notification secrets are redacted from every log line and everything the store writes, and
// never passed to a job. A reload adds its secrets to those already known.
void Daemon::apply_secrets(const Config& c) {
  for (const auto& v : c.secret_values)
    if (std::find(secrets_.begin(), secrets_.end(), v) == secrets_.end()) secrets_.push_back(v);
  pipeline_.set_secret_env(c.secret_env);
  apply_redactor();
}

// The one masking (base/redactor.h) at every outlet the daemon writes: the store (audit events,
// audit.jsonl, errors, run output and results, the outbox), log lines, quarantine reports and
// notification excerpts. Its secrets: every config's so far and the rules' in force (their
// job.env and this process's credential-named values).
void Daemon::apply_redactor() {
  std::vector<std::string> all = secrets_;
  if (const auto& rules = reloader_.rules())
    for (const auto& s : rules->secrets) all.push_back(s);
  Redactor redact(std::move(all));
  store_.set_redactor(redact);
  install_log_redaction(redact);
  pipeline_.set_redactor(redact);
  if (http_) http_->set_redactor(redact);
}

Daemon::~Daemon() = default;

int Daemon::run() {
  if (int rc = start(); rc != kExitOk) return rc;
  io_.run();
  batch_.flush_all();
  if (store_.fault()) throw std::runtime_error(*store_.fault() + " at exit: the last transitions are not recorded");
  if (watching()) return kExitOk;
  // A scan ends with objects still waiting when the rules their requires: names never succeeded:
  // they stay pending in the store (the next run or scan takes them up) and the work is not done.
  if (std::size_t w = pipeline_.waiting_objects())
    spdlog::warn("scan: {} object(s) still waiting for the rules their after:/requires: name (see `hivehook status`)", w);
  // An offline `retry --schedule` whose firing failed again fails as a retried object does.
  return pipeline_.failures() > 0 || schedules_.failures() > 0 || skipped_ > 0 || pipeline_.waiting_objects() > 0
             ? kExitFailures
             : kExitOk;
}

// Start-up, in order: serve health, announce, recover, watch, then scan (nothing that landed
// before a watch existed is missed) — or, replaying, the replay instead — then the loop's own
// concerns.
int Daemon::start() {
  if (int rc = serve(); rc != kExitOk) return rc;
  batch_.on_committed = [this](std::size_t) { outbox_.poke(); };
  wire_reloads();
  watch_storage();
  keep_lease();
  add_health_checks();
  remove_leftovers();
  announce_start();
  reloader_.start(std::move(rules_rejected_at_start_));
  share_concurrency();
  status("recovering");
  pipeline_.recover();
  lead();
  wire_orchestration();
  if (watching()) start_watching();
  for (const auto& w : folder_access_warnings(config_)) spdlog::warn("{}", w);
  if (options_.mode == DaemonMode::replay) {
    status("replaying");
    if (int rc = replay(); rc != kExitOk) return rc;
  } else {
    stats_.m.scans.labels({"startup"}).inc();
    status("scanning " + config_.landing.string());
    pipeline_.scan(config_.landing);  // the start-up scan, in key order
  }
  health_.on_heartbeat = [this] {
    export_lambda_totals();
    if (hooks.on_heartbeat) hooks.on_heartbeat();
  };
  health_.start_heartbeat();
  handle_signals();
  if (!watching()) finish_when_idle();  // `scan`: done when idle
  outbox_.start();
  if (watching()) take_over_expired_nodes();
  if (watching()) {
    const auto n = watch_->watch_count();
    spdlog::info("watching {} ({} folder{})", config_.landing.string(), n, n == 1 ? "" : "s");
  }
  ready_after_scan();
  return kExitOk;
}

// What an applied reload changes beyond the rules the pipeline holds: secrets to mask, Lambda's
// workers and functions, the API's rules, the orchestration's rules.
void Daemon::wire_reloads() {
  reloader_.on_reloading = [this] {
    if (hooks.on_reloading) hooks.on_reloading();
  };
  reloader_.on_reloaded = [this] {
    orchestrate();
    if (hooks.on_reloaded) hooks.on_reloaded();
  };
  reloader_.on_applied = [this](const RuleSet& rules) {
    apply_redactor();  // the new rules' job.env secrets
    lambda_.set_workers(config_.workers);
    lambda_.set_rules(rules);  // warm environments of changed or removed functions are retired
    if (http_) http_->set_rules(reloader_.rules());  // the API's /rules
  };
  health_.add_degradation([this] { return reloader_.degraded(); });
  health_.add_degradation([this] { return landing_missing(); });
  health_.add_degradation([this]() -> std::optional<std::string> {
    return rules_watcher_ ? rules_watcher_->off() : std::nullopt;
  });
}

// Orchestration beyond one object: expectations see every admitted object; batches collect every
// admitted object a batch rule matches and hear when each ends. Nothing is evaluated (no deadline
// raised, no batch completed or run, no schedule fired) until the start-up scan has admitted what
// landed while the daemon was down: orchestrate() runs when ready (ready_after_scan). Schedules and
// batch runs start only under `run` (a one-shot scan fires nothing).
void Daemon::wire_orchestration() {
  pipeline_.on_admitted = [this](const ObjectRecord& rec, const ObjectKey& key, const std::vector<const Rule*>& rules) {
    expectations_.on_admitted(rec, key, rules);
    batches_.on_admitted(rec, key);
  };
  pipeline_.on_ended = [this](const ObjectRecord& rec) { batches_.on_ended(rec); };
  pipeline_.awaits_marker = [this](const ObjectKey& key) { return batches_.awaits_marker(key); };
  pipeline_.on_first_success = [this](const std::string& rule) { batches_.on_first_success(rule); };
  // `retry --schedule`: under `run`, the leader's schedules once they run (after the start-up
  // scan); offline (DaemonMode::replay) the retried firing runs here and nothing else fires.
  pipeline_.retry_schedules = [this](const ReplayRequest& request) -> std::pair<int, nlohmann::json> {
    if (watching() && !orchestrated_)
      return {503, {{"error", "the daemon is still starting (its start-up scan): schedules run once it is ready, try again then"}}};
    if (watching() && !leading_)
      return {503, {{"error", "this node does not lead the cluster: schedules fire and are retried on the leader "
                              "(`hivehook status` names it)"}}};
    return schedules_.retry(request, reloader_.rules());
  };
  orchestrate();
}

// Ready (systemd READY=1) once the start-up scan, which walks in slices on the loop, is done; then
// the orchestration is handed the rules (it evaluates from here on).
void Daemon::ready_after_scan() {
  ready_wait_.start(timers_, std::chrono::milliseconds(5), [this] {
    if (pipeline_.scans_in_progress() > 0) return true;
    scanned_ = true;
    if (!shutdown_.stopping()) orchestrate();
    if (hooks.on_ready) hooks.on_ready();
    return false;
  });
}

// The HTTP listener (/metrics, /healthz, the console, /api/v1) and the S3 API, each on its own
// threads. Cannot listen: a config error (exit 2), unless the address is only busy (exit 75,
// EX_TEMPFAIL: the service manager starts it again; docs/decisions.md "A busy port at start").
int Daemon::serve() {
  // "hivehook: metrics: cannot listen on 127.0.0.1:9464: Address already in use (...)", the key as
  // the config file has it.
  auto refused = [](const std::string& key, const http::StartError& err) {
    std::cerr << "hivehook: " << key << ": " << err.message;
    if (err.address_in_use)
      std::cerr << " (another process holds it: exit " << kExitTempFail
                << ", a service manager starts hivehook again; `ss -ltnp` (package iproute2) names the holder)";
    std::cerr << "\n";
    return err.address_in_use ? kExitTempFail : kExitConfig;
  };
  if (config_.http) {
    http_ = std::make_unique<HttpListener>(io_, config_, stats_, health_, pipeline_, reloader_.rules());
    auto err = http_->start(store_.last_event_id());
    if (!err.empty() && err.address_in_use && !watching()) {
      // `hivehook scan` or an offline replay/retry beside a process on the daemon's port (issue
      // 15 retest X5: exit 75 and the service manager's advice): it needs no listener to do its
      // work, so it does it without one.
      spdlog::warn("{}: {}: this {} runs without the HTTP listener", listen_key(config_.file), err.message,
                   options_.mode == DaemonMode::replay ? "replay" : "scan");
      http_.reset();
    } else if (!err.empty()) {
      return refused(listen_key(config_.file), err);
    } else {
      batch_.on_events = [this](const std::vector<AuditEvent>& events) { http_->publish(events); };
      apply_redactor();
    }
  }
  if (config_.s3) {
    auto settings = s3::settings_from(config_);
    // A client's DeleteObject(s) is recorded on the loop (audit object.deleted; issue 12 re-test R10).
    settings.service.on_removed = [this](const s3::ObjectRemoval& r) {
      boost::asio::post(io_, [this, r] {
        pipeline_.deleted_by_client(r.key, r.inode, {{"by", "s3"}, {"operation", r.operation},
                                                     {"request_id", r.request_id}, {"client", r.client}});
      });
    };
    settings.on_turned_away = [this](const char* reason, const std::string&, const std::string&) {
      stats_.m.s3_refused.labels({reason}).inc();  // thread-safe: the endpoint's io threads
    };
    s3_ = std::make_unique<s3::Server>(std::move(settings));
    if (auto err = s3_->start(); !err.empty()) return refused("s3", err);
    spdlog::info("S3 API on {}", s3_->endpoint_url());
    // Lambda functions reach it as AWS's SDKs would: AWS_ENDPOINT_URL_S3 and the configured key.
    lambda_.set_aws(local_aws(config_, s3_->endpoint_url()));
  }
  return kExitOk;
}

void Daemon::status(const std::string& what) {
  if (hooks.on_status) hooks.on_status(what);
}

// Thread-safe (a gauge): /healthz asks from the listener's threads.
std::optional<std::string> Daemon::landing_missing() const {
  if (stats_.m.landing_missing.value() <= 0) return std::nullopt;
  return "the landing folder " + config_.landing.string() +
         " is missing (renamed or deleted): nothing is watched or run until it is back";
}

std::string Daemon::status_line() const {
  const auto& rules = *reloader_.rules();
  std::string s = (watching() ? "watching " : options_.mode == DaemonMode::replay ? "replaying into " : "scanning ") + config_.landing.string() + ": " +
                  std::to_string(rules.rules.size()) + (rules.rules.size() == 1 ? " rule, " : " rules, ") +
                  std::to_string(pipeline_.running()) + (pipeline_.running() == 1 ? " job running" : " jobs running");
  if (shutdown_.stopping()) s = "stopping: " + std::to_string(jobs_running()) + " job(s) still running";
  if (auto why = reloader_.degraded()) s += "; degraded: " + *why;
  if (auto why = landing_missing()) s += "; degraded: " + *why;
  return s;
}

// The Invoker's running totals as Prometheus metrics, once a second (counters grow by the difference).
void Daemon::export_lambda_totals() {
  const auto t = lambda_.totals();
  stats_.m.lambda_environments.set(static_cast<double>(t.environments));
  stats_.m.lambda_cold_starts.inc(static_cast<double>(t.cold_starts) - static_cast<double>(lambda_exported_.cold_starts));
  stats_.m.lambda_warm_starts.inc(static_cast<double>(t.warm_starts) - static_cast<double>(lambda_exported_.warm_starts));
  lambda_exported_ = t;
}

// DaemonMode::replay: the replay (or retry) carried out on this loop, its plan told to the hook.
int Daemon::replay() {
  replay_started_ms_ = clock_.now_ms();
  auto [status, plan] = pipeline_.replay(*options_.replay);
  if (status == 200 && plan.contains("objects"))
    for (const auto& o : plan["objects"])
      if (o["skipped"].is_null()) replayed_keys_.insert(o.value("key", ""));
  if (hooks.on_replayed) hooks.on_replayed(status, plan);
  if (status != 200) {
    batch_.flush_all();
    return kExitConfig;
  }
  return kExitOk;
}

bool Daemon::step() { return io_.run_one() > 0; }

std::size_t Daemon::run_until_idle() {
  std::size_t n = 0;
  io_.restart();
  while (io_.poll_one() > 0) ++n;
  return n;
}

// Temporary files of a cross-filesystem copy (or an error report) that a crash interrupted.
void Daemon::remove_leftovers() {
  std::vector<std::string> errors;
  std::size_t removed = 0;
  for (Area area : {Area::archive, Area::quarantine, Area::landing})
    removed += remove_temp_files(files_.tree(area), kTempPrefix, &errors);
  for (const auto& e : errors) spdlog::warn("{}", e);
  if (removed) spdlog::info("removed {} temporary file(s) an interrupted copy left behind", removed);
}

// The state DB refusing writes (disk full, read-only, I/O error) is not fatal: nothing new starts
// or is admitted, /healthz says why, and the batch is tried again every second until it commits.
void Daemon::watch_storage() {
  stats_.m.state_db_writable.set(1);
  batch_.on_fault = [this](const std::string& why) {
    spdlog::error("{}: no new runs or files until it accepts writes again", why);
    stats_.m.state_db_writable.set(0);
    health_.set_storage_fault(why);
    storage_retry_.start(timers_, kStorageRetryEvery, [this] {
      batch_.flush();
      return store_.fault().has_value();
    });
  };
  batch_.on_recovered = [this] {
    spdlog::info("state DB {} accepts writes again: resuming", store_.display());
    stats_.m.state_db_writable.set(1);
    health_.set_storage_fault(std::nullopt);
    boost::asio::post(io_, [this] {
      pipeline_.set_workers(config_.workers);  // pumps: runs start again
      stats_.m.scans.labels({"resume"}).inc();
      pipeline_.scan(config_.landing);  // what landed meanwhile
    });
  };
}

void Daemon::add_health_checks() {
  health_.add_check([this]() -> std::optional<std::string> {
    int64_t since = pipeline_.oldest_move_failure_ms();
    if (since == 0 || clock_.now_ms() - since <= config_.move_alert_after.count()) return std::nullopt;
    return "a final move has been failing for " + std::to_string((clock_.now_ms() - since) / 1000) +
           " s (move_alert_after " + format_duration(config_.move_alert_after) + "): see `hivehook status`";
  });
}

void Daemon::announce_start() {
  const auto& rules = *reloader_.rules();
  stats_.m.rules_loaded.set(static_cast<double>(rules.rules.size()));
  spdlog::info("{}, pid {}", version_line(), ::getpid());  // what runs (issue 16 P15)
  pipeline_.emit("daemon.started", std::nullopt,
                 {{"pid", ::getpid()}, {"version", std::string(build_version())}, {"commit", std::string(build_commit())}, {"mode", watching() ? "run" : options_.mode == DaemonMode::replay ? "replay" : "scan"},
                  {"landing", config_.landing.string()}, {"rules", rules.rules.size()}});
  pipeline_.emit("rules.loaded", std::nullopt, describe_rules(rules, nullptr));
}

void Daemon::start_watching() {
  // The rules' one or two watches first: a landing tree larger than the inotify watch limit takes
  // what is left, and its folders are covered by periodic scans (F4 of issue 10's third retest:
  // started after it, the rules watcher found no watch left and hot reload was off for good).
  rules_watcher_ = std::make_unique<RulesWatcher>(io_, timers_, config_.rules, [this] {
    if (!shutdown_.stopping()) reloader_.reload();
  });
  rules_watcher_->start();
  watch_ = std::make_unique<LandingWatch>(io_, timers_, config_, pipeline_, stats_, [this] { files_.reopen_landing(); });
  watch_->leads = [this] { return leading_; };  // cluster mode: the leader's reconcile scans cover every host's writes
  watch_->start();
}

// SIGTERM/SIGINT drain and stop; SIGHUP reopens the audit log (a log rotation's postrotate) and
// reloads the config and the rules (daemon/reload.h).
void Daemon::handle_signals() {
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig != SIGHUP) {
      shutdown_.begin(sig == SIGINT ? "SIGINT" : "SIGTERM");
    } else if (!shutdown_.stopping()) {
      reopen_audit_log();
      reloader_.reload();
    }
    handle_signals();
  });
}

void Daemon::reopen_audit_log() {
  if (!audit_) return;
  try {
    if (audit_->reopen()) spdlog::info("audit log {} reopened: a new file (the old one was rotated)", config_.audit_log->string());
  } catch (const std::runtime_error& e) {
    spdlog::error("{}: still writing to the file open before", e.what());
  }
}

// One shot: done once the pipeline is idle, every notification is delivered or dead, and the
// files found still open for writing were closed (or waited for long enough).
void Daemon::finish_when_idle() {
  busy_deadline_ = clock_.steady_now() + options_.scan_wait;
  idle_check_.start(timers_, kBusyLookEvery, [this] {
    if (shutdown_.stopping()) return false;
    if (!scanned_ || !waited_for_busy_files() || !pipeline_.idle() || !schedules_.settled()) return true;
    if (options_.mode == DaemonMode::replay ? !replay_delivered() : !outbox_.idle()) return true;
    shutdown_.begin(options_.mode == DaemonMode::replay ? "replay done" : "scan done");
    return false;
  });
}

// DaemonMode::replay, once its runs ended: true when the notifications the replayed objects raised
// are delivered (or dead), or kReplayDeliveryWait has passed since the runs ended. What is left —
// theirs, and whatever was in the outbox before (older notifications, an expectation's alerts) —
// stays in the outbox for the daemon (`hivehook run`) to deliver, and is said so. (Issue 15, fault
// 4: the replay used to wait for the whole outbox, up to its max_age, silently.)
bool Daemon::replay_delivered() {
  const auto now = clock_.steady_now();
  if (!replay_runs_ended_) {
    replay_runs_ended_ = now;
    batch_.flush();  // the notifications of the last runs, committed, so they are seen below
  }
  std::size_t ours = 0, others = 0;
  for (const auto& o : store_.pending_outbox(std::numeric_limits<int64_t>::max(), 100000))
    (o.key && o.created_at >= replay_started_ms_ && replayed_keys_.count(*o.key) ? ours : others)++;
  if (ours > 0 && now < *replay_runs_ended_ + kReplayDeliveryWait) return false;
  if (ours > 0)
    spdlog::warn("replay: {} notification(s) of the replayed objects not delivered within {} s: left in the outbox for "
                 "the daemon (`hivehook run`) to deliver",
                 ours, std::chrono::duration_cast<std::chrono::seconds>(kReplayDeliveryWait).count());
  if (others > 0)
    spdlog::info("replay: {} older notification(s) in the outbox are left for the daemon (`hivehook run`) to deliver",
                 others);
  return true;
}

// Looks at the busy files again; true once none is left, or --wait is over (those left are
// reported as skipped).
bool Daemon::waited_for_busy_files() {
  if (pipeline_.busy().empty() || skipped_ > 0) return true;
  const std::vector<std::string> busy(pipeline_.busy().begin(), pipeline_.busy().end());
  if (clock_.steady_now() < busy_deadline_) {
    for (const auto& key : busy) pipeline_.offer(key, Hint::scanned);
    return pipeline_.busy().empty();
  }
  for (const auto& key : busy) {
    spdlog::warn("{}: still open for writing after --wait {}: skipped", key, format_duration(options_.scan_wait));
    pipeline_.emit("object.skipped", key, {{"reason", "still open for writing after --wait"}});
  }
  skipped_ = busy.size();
  pipeline_.forget_busy();
  return true;
}

void Daemon::orchestrate() {
  const auto& rules = reloader_.rules();
  if (!rules || rules == orchestrated_) return;  // a rejected reload: the rules in force stay
  if (!scanned_) return batches_.collect(rules);  // the start-up scan still admits what landed meanwhile
  const bool first = !orchestrated_;
  orchestrated_ = rules;
  // Expectations and schedules: the leader's alone (daemon/leadership.cpp); batches: every node's.
  if (first) {
    start_leading_orchestration();
    batches_.start(rules, watching());
  } else {
    if (leading_) expectations_.set_rules(rules);
    batches_.set_rules(rules);
    if (watching() && leading_) schedules_.set_rules(rules);
  }
}

// Object runs, batch runs and scheduled runs in flight: what a shutdown waits for (issue 14, F12 of
// the new-user test: counting object runs alone, SIGTERM killed a nightly schedule's job at once).
std::size_t Daemon::jobs_running() const { return pipeline_.running() + batches_.running() + schedules_.running(); }

void Daemon::stop_inputs() {
  schedules_.stop();
  expectations_.stop();
  batches_.stop();
  if (hooks.on_stopping) hooks.on_stopping();
  if (watch_) watch_->stop();
  if (rules_watcher_) rules_watcher_->stop();
}

void Daemon::finish() {
  outbox_.stop();
  health_.stop();
  if (http_) http_->stop();
  if (s3_) s3_->stop();
  // A job that ended just before: its outcome, archive move and the move's transition come before
  // daemon.stopped, the last event (system_pg.test_pipeline saw object.archived after it under load).
  batch_.drain();
  pipeline_.emit("daemon.stopped", std::nullopt, {{"pid", ::getpid()}});
  batch_.flush_all();
  signals_.cancel();
  io_.stop();
}

}  // namespace hivehook
