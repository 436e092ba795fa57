#include "app/daemon.h"

#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <iostream>
#include <spdlog/spdlog.h>

#include "app/logging.h"
#include "app/reload.h"
#include "metrics/http_server.h"
#include "pipeline/commit_batch.h"
#include "pipeline/outbox_sender.h"
#include "pipeline/pipeline.h"
#include "pipeline/rules_watcher.h"
#include "rules/config.h"
#include "rules/rule.h"
#include "s3/server.h"
#include "store/audit_log.h"
#include "store/owner_lock.h"
#include "store/store.h"
#include "watcher/inotify_watcher.h"

namespace hivehook {

namespace {

using namespace std::chrono_literals;

// A timer that calls `fn` every `period` until `fn` returns false.
void every(boost::asio::steady_timer& t, Duration period, std::function<bool()> fn) {
  t.expires_after(period);
  t.async_wait([&t, period, fn = std::move(fn)](const boost::system::error_code& ec) mutable {
    if (!ec && fn()) every(t, period, std::move(fn));
  });
}

}  // namespace

int run_daemon(const std::string& config_arg, DaemonMode mode) {
  const bool one_shot = mode == DaemonMode::one_shot;

  // 1. Config and rules: any error stops us before we touch anything.
  Diagnostics diags;
  auto config = load_config(resolve_config_path(config_arg), diags);
  std::shared_ptr<const RuleSet> rules;
  if (config) {
    if (auto loaded = load_rules(config->rules, *config, diags)) rules = std::make_shared<const RuleSet>(std::move(*loaded));
  }
  if (!diags.items().empty()) std::cerr << diags.str();
  if (!config || !rules) return 2;
  setup_logging(config->log);
  std::signal(SIGPIPE, SIG_IGN);  // a job closing its stdin early must not kill the daemon

  // 2. One owner per state DB, then the store and its audit.jsonl mirror.
  std::string lock_error;
  auto lock = OwnerLock::acquire(config->state, one_shot ? "scan" : "run", &lock_error);
  if (!lock) {
    std::cerr << "hivehook: " << lock_error << "\n";
    return 2;
  }
  for (const auto& dir : {config->landing, config->archive, config->quarantine})
    std::filesystem::create_directories(dir);
  Store store(config->state, Store::Mode::owner);
  std::unique_ptr<AuditLog> audit;
  if (config->audit_log) audit = std::make_unique<AuditLog>(*config->audit_log, store);

  boost::asio::io_context io(1);
  CommitBatch batch(io, store, audit.get());
  PipelineStats stats;
  Pipeline pipeline(io, *config, rules, store, batch, stats);
  OutboxSender outbox(io, store, batch, stats, config->notify);
  stats.m.rules_loaded.set(static_cast<double>(rules->rules.size()));

  // /metrics and /healthz on their own thread: a slow scraper never touches the loop.
  std::unique_ptr<metrics::HttpServer> metrics_server;
  if (config->metrics) {
    auto health = [&stats, state = config->state]() -> std::pair<bool, std::string> {
      int64_t age = unix_ms(std::chrono::system_clock::now()) - stats.loop_heartbeat_ms.load();
      if (age > 5000) return {false, "event loop stalled for " + std::to_string(age) + " ms"};
      if (::access(state.c_str(), W_OK) != 0) return {false, "state DB not writable"};
      return {true, ""};
    };
    metrics_server = std::make_unique<metrics::HttpServer>([&stats] { return stats.registry.render_prometheus(); },
                                                           health);
    if (auto err = metrics_server->start(*config->metrics); !err.empty()) {
      std::cerr << "hivehook: metrics: cannot listen on " << *config->metrics << ": " << err << "\n";
      return 2;
    }
    spdlog::info("metrics on port {}: /metrics and /healthz", metrics_server->port());
  }
  // The S3 API on its own threads: uploads land in landing like any dropped file.
  std::unique_ptr<s3::Server> s3_server;
  if (config->s3) {
    s3_server = std::make_unique<s3::Server>(s3::settings_from(*config));
    if (auto err = s3_server->start(); !err.empty()) {
      std::cerr << "hivehook: s3: cannot serve on " << config->s3->listen << ": " << err << "\n";
      return 2;
    }
    spdlog::info("S3 API on {}", s3_server->endpoint_url());
  }
  batch.on_committed = [&](std::size_t) {
    ++stats.commits;
    outbox.poke();
  };

  pipeline.emit("daemon.started", std::nullopt,
                {{"pid", ::getpid()}, {"version", HIVEHOOK_VERSION}, {"mode", one_shot ? "scan" : "run"},
                 {"landing", config->landing.string()}, {"rules", rules->rules.size()}});
  pipeline.emit("rules.loaded", std::nullopt, describe_rules(*rules, nullptr));

  // 3. Recovery, then watch, then scan: nothing that landed before a watch existed is missed.
  pipeline.recover();
  std::unique_ptr<InotifyWatcher> watcher;
  std::unique_ptr<RulesWatcher> rules_watcher;
  boost::asio::steady_timer reconcile_timer(io), unwatched_timer(io), heartbeat(io), shutdown_timer(io);
  bool stopping = false;

  auto reload = [&] {
    if (stopping) return;
    Diagnostics d;
    std::optional<Config> fresh;
    auto next = reload_rules(*config, d, &fresh);
    if (!next) {
      pipeline.emit("rules.rejected", std::nullopt, diagnostics_json(d));
      stats.m.rule_reloads.labels({"rejected"}).inc();
      spdlog::error("rules rejected, the previous rules stay in force:\n{}", d.str());
      return;
    }
    auto before = rules;
    rules = std::make_shared<const RuleSet>(std::move(*next));
    pipeline.set_rules(rules);
    pipeline.set_workers(fresh->workers);
    outbox.set_targets(fresh->notify);
    pipeline.emit("rules.loaded", std::nullopt, describe_rules(*rules, before.get()));
    stats.m.rule_reloads.labels({"loaded"}).inc();
    stats.m.rules_loaded.set(static_cast<double>(rules->rules.size()));
    spdlog::info("rules reloaded: {} rule(s)", rules->rules.size());
  };

  if (!one_shot) {
    WatcherCallbacks cb;
    cb.on_file = [&](const std::filesystem::path& p, const std::string& key) { pipeline.offer(p, key); };
    cb.on_new_dir = [&](const std::filesystem::path& dir) {
      stats.m.scans.labels({"new_directory"}).inc();
      pipeline.scan(dir);
    };
    cb.on_overflow = [&] {
      ++stats.overflows;
      stats.m.watch_overflows.inc();
      stats.m.scans.labels({"overflow"}).inc();
      pipeline.emit("watch.overflow", std::nullopt, {{"action", "full rescan"}});
      pipeline.emit("watch.rescan", std::nullopt, {{"reason", "overflow"}});
      ++stats.rescans;
      pipeline.scan(config->landing);
    };
    cb.on_watch_error = [&](const std::filesystem::path& dir, const std::string& message) {
      spdlog::error("{}", message);
      pipeline.emit("watch.error", std::nullopt, {{"dir", dir.string()}, {"error", message}});
    };
    watcher = std::make_unique<InotifyWatcher>(io, config->landing, std::move(cb));
    watcher->start();
    stats.watches = watcher->watch_count();
    stats.m.watched_directories.set(static_cast<double>(stats.watches));
    rules_watcher = std::make_unique<RulesWatcher>(io, config->rules, reload);
    rules_watcher->start();
  }
  stats.m.scans.labels({"startup"}).inc();
  pipeline.scan(config->landing);  // startup scan, in key order

  // 4. Timers: reconcile scan, coverage of folders inotify could not watch, heartbeat.
  if (!one_shot && config->reconcile.count() > 0) {
    every(reconcile_timer, config->reconcile, [&] {
      pipeline.emit("watch.rescan", std::nullopt, {{"reason", "reconcile"}});
      ++stats.rescans;
      stats.m.scans.labels({"reconcile"}).inc();
      pipeline.scan(config->landing);
      return !stopping;
    });
  }
  if (!one_shot) {
    every(unwatched_timer, 5s, [&] {
      if (watcher && watcher->unwatched_count() > 0) {
        watcher->retry_unwatched();
        for (const auto& dir : watcher->unwatched_dirs()) pipeline.scan(dir);
      }
      if (watcher) {
        stats.watches = watcher->watch_count();
        stats.unwatched = watcher->unwatched_count();
        stats.m.watched_directories.set(static_cast<double>(stats.watches));
      }
      return !stopping;
    });
  }
  stats.loop_heartbeat_ms = unix_ms(std::chrono::system_clock::now());
  every(heartbeat, 1s, [&] {
    stats.loop_heartbeat_ms = unix_ms(std::chrono::system_clock::now());
    return !stopping;
  });

  // 5. Stopping: no new discovery or runs, let jobs in flight finish within shutdown_grace, then
  //    kill what is left (recorded as interrupted, retried after restart), flush, exit.
  auto finish = [&] {
    outbox.stop();
    if (metrics_server) metrics_server->stop();
    if (s3_server) s3_server->stop();
    pipeline.emit("daemon.stopped", std::nullopt, {{"pid", ::getpid()}});
    batch.flush();
    io.stop();
  };
  auto shutdown = [&](const char* why) {
    if (stopping) return;
    stopping = true;
    spdlog::info("stopping ({}): {} job(s) running", why, pipeline.running());
    if (watcher) watcher->stop();
    if (rules_watcher) rules_watcher->stop();
    reconcile_timer.cancel();
    unwatched_timer.cancel();
    pipeline.stop_starting();
    auto deadline = std::chrono::steady_clock::now() + config->shutdown_grace;
    auto killed = std::make_shared<bool>(false);
    every(shutdown_timer, 20ms, [&, deadline, killed] {
      if (pipeline.running() == 0) {
        finish();
        return false;
      }
      if (!*killed && std::chrono::steady_clock::now() >= deadline) {
        spdlog::warn("shutdown_grace over: stopping {} job(s)", pipeline.running());
        pipeline.kill_running(2s);
        *killed = true;
      }
      return true;
    });
  };

  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) reload(); else shutdown(sig == SIGINT ? "SIGINT" : "SIGTERM");
      wait_signal();
    });
  };
  wait_signal();

  // One shot: done once the pipeline is idle and every notification is delivered or dead.
  boost::asio::steady_timer idle_timer(io);
  if (one_shot) {
    every(idle_timer, 20ms, [&] {
      if (stopping) return false;
      if (pipeline.idle() && outbox.idle()) {
        stopping = true;
        finish();
        return false;
      }
      return true;
    });
  }

  outbox.start();
  if (!one_shot) spdlog::info("watching {} ({} folders)", config->landing.string(), watcher ? watcher->watch_count() : 0);
  io.run();
  batch.flush();
  return one_shot && pipeline.failures() > 0 ? 1 : 0;
}

}  // namespace hivehook
