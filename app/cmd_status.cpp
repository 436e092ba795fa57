// `hivehook status [--json]`: the daemon, what is happening now, and the totals since the state DB began.
#include <filesystem>
#include <iostream>

#include "app/cli_support.h"
#include "app/daemon_http.h"
#include "app/schedule_times.h"
#include "daemon/kept_rules.h"
#include "daemon/status_report.h"
#include "store/batch_state.h"
#include "store/leader_lock.h"
#include "store/nodes.h"
#include "store/schema.h"
#include "store/orchestration_state.h"
#include "store/owner_lock.h"
#include "store/queries.h"

namespace hivehook::cli {

namespace {

std::string plural(int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// The rules part of `status --json`: the rules on disk in force, or the last good ones (degraded).
nlohmann::json rules_json(const std::optional<RulesRejection>& rejected) {
  nlohmann::json rules = {{"degraded", rejected.has_value()}};
  if (rejected) {
    rules["rejected"] = rejected->config_file.empty() ? "rules" : "config";
    if (!rejected->config_file.empty()) rules["config_file"] = rejected->config_file;
    rules["rejected_since"] = time_text(rejected->since_ms);
    rules["errors"] = rejected->errors;
    if (rejected->running_kept_at_ms > 0) rules["in_force_kept_at"] = time_text(rejected->running_kept_at_ms);
  }
  return rules;
}

// What is happening now, the totals, and (kept for scripts written against the first form of
// `status --json`) objects/queue/running_jobs/outbox.
void add_counts(nlohmann::json& out, const PresentCounts& now, StatusCounts& c) {
  out["now"] = {{"in_progress", now.in_progress},       {"left_in_landing", now.left_in_landing},
                {"in_quarantine", now.in_quarantine},   {"running", now.running},
                {"queued", now.queued},                 {"retry_wait", now.retry_wait},
                {"waiting", now.waiting},               {"outbox_pending", now.outbox_pending},
                {"stuck", now.stuck}};
  out["totals"] = {{"objects", c.objects},
                   {"notifications", {{"sent", c.outbox["sent"]}, {"dead", c.outbox["dead"]}}}};
  // Kept for scripts written against the first form of `status --json`.
  out["objects"] = c.objects;
  out["queue"] = {{"queued", now.queued}, {"retry_wait", now.retry_wait}};
  out["running_jobs"] = now.running;
  out["outbox"] = {{"pending", c.outbox["pending"]}, {"sent", c.outbox["sent"]}, {"dead", c.outbox["dead"]}};
}

// Objects held by after:/requires: (DESIGN.md "Orchestration"), per rule, with what they wait for.
nlohmann::json waiting_json(Store& store) {
  nlohmann::json waiting = nlohmann::json::array();
  std::vector<WaitingRule> rules;
  try {
    rules = waiting_tasks(store);
  } catch (const sql::StoreError&) {
    // a state DB still at an older schema (its daemon not yet upgraded) has no waiting tasks
  }
  for (const auto& w : rules) {
    auto what = nlohmann::json::parse(w.waiting_for.empty() ? "{}" : w.waiting_for, nullptr, false);
    waiting.push_back({{"rule", w.rule}, {"objects", w.objects}, {"first_key", w.first_key},
                       {"waiting_for", what.is_discarded() ? nlohmann::json::object() : what}});
  }
  return waiting;
}

void print_waiting(const nlohmann::json& waiting) {
  for (const auto& w : waiting) {
    std::string why;
    for (const char* k : {"requires", "after"})
      if (w["waiting_for"].contains(k) && !w["waiting_for"][k].empty()) {
        std::string names;
        for (const auto& n : w["waiting_for"][k]) names += (names.empty() ? "" : ", ") + n.get<std::string>();
        why += (why.empty() ? "" : "; ") + std::string(k) + " " + names;
      }
    std::cout << "waiting:  " << w["rule"].get<std::string>() << ": "
              << plural(w["objects"].get<int64_t>(), "object", "objects") << " waiting (" << why << "), first "
              << printable(w["first_key"].get<std::string>()) << "\n";
  }
}

// Late expectations (DESIGN.md "Orchestration"): partitions whose deadline passed before they arrived.
nlohmann::json late_json(Store& store) {
  nlohmann::json late = nlohmann::json::array();
  OrchestrationState orchestration(store);
  try {
    for (const auto& p : orchestration.late())
      late.push_back({{"rule", p.rule}, {"partition", p.partition},
                      {"deadline", format_rfc3339_ms(SystemTime(std::chrono::milliseconds(p.deadline)))}});
  } catch (const sql::StoreError&) {
    // a state DB not yet migrated by a newer daemon has no expectations
  }
  return late;
}

void print_late(const nlohmann::json& late) {
  for (const auto& l : late)
    std::cout << "late:     " << l["rule"].get<std::string>() << ": " << l["partition"].get<std::string>()
              << " (due " << l["deadline"].get<std::string>() << ")\n";
}

// What a running batch is doing: its run running, or waiting out the backoff after a failed attempt
// (`next_at`; with no daemon running, a time passed means "at the next start").
std::string running_what(const nlohmann::json& b, bool daemon_running) {
  if (b["next_at"].is_null() && b.contains("run_started") && !b["run_started"].get<bool>())
    return daemon_running ? "queued for a worker" : "runs at the daemon's next start";
  if (b["next_at"].is_null()) return "running";
  const int64_t attempts = b["attempts"].get<int64_t>();
  if (!daemon_running) return "attempt " + std::to_string(attempts) + " ended, runs again at the daemon's next start";
  return "in retry backoff after attempt " + std::to_string(attempts) + " failed, next attempt at " +
         b["next_at"].get<std::string>();
}

void print_batches(const nlohmann::json& batches, const nlohmann::json& abandoned, bool daemon_running) {
  for (const auto& b : batches) {
    const std::string state = b["state"].get<std::string>();
    std::string what = state == "open" ? "collecting"
                       : state == "complete" && b["members"].get<int64_t>() == 0
                           ? "complete (" + b["reason"].get<std::string>() + "), waiting for its first data file"
                       : state == "complete" && b["members_ended"].get<bool>()
                           ? "complete (" + b["reason"].get<std::string>() + "), its members ended: " +
                                 (daemon_running ? "runs now" : "runs at the daemon's next start")
                       : state == "complete" ? "complete (" + b["reason"].get<std::string>() + "), waiting for its members' rules"
                                             : running_what(b, daemon_running);
    std::cout << "batch:    " << b["rule"].get<std::string>() << ": " << b["group"].get<std::string>() << ": "
              << plural(b["members"].get<int64_t>(), "object", "objects") << ", " << what << " (since "
              << b["opened_at"].get<std::string>() << ")\n";
  }
  for (const auto& b : abandoned)
    std::cout << "batch:    " << b["rule"].get<std::string>() << ": " << b["group"].get<std::string>() << ": "
              << plural(b["members"].get<int64_t>(), "object", "objects") << ", ABANDONED at "
              << b["abandoned_at"].get<std::string>() << ": " << b["reason"].get<std::string>()
              << " (audit batch.abandoned lists its members)\n";
}

void print_schedules(const nlohmann::json& schedules, bool daemon_running) {
  for (const auto& r : schedules)
    std::cout << "schedule: " << r["rule"].get<std::string>() << ": the firing for "
              << r["scheduled_time"].get<std::string>() << ", " << running_what(r, daemon_running) << "\n";
}

// The last 20 notifications given up on.
nlohmann::json dead_json(Store& store) {
  nlohmann::json dead = nlohmann::json::array();
  for (const auto& o : dead_notifications(store, 20)) {
    dead.push_back({{"delivery_id", o.delivery_id}, {"target", o.target}, {"event", o.event},
                    {"key", o.key.value_or("")}, {"rule", o.rule.value_or("")}, {"attempts", o.attempts},
                    {"last_status", o.last_status ? nlohmann::json(*o.last_status) : nlohmann::json(nullptr)},
                    {"last_error", o.last_detail}, {"time", time_text(o.updated_at)}});
  }
  return dead;
}

// The last 10 failed runs.
nlohmann::json failures_json(Store& store) {
  RunFilter f;
  f.failed_only = true;
  f.limit = 10;
  nlohmann::json failures = nlohmann::json::array();
  for (const auto& r : list_runs(store, f)) {
    failures.push_back({{"time", time_text(r.started_at)}, {"rule", r.rule}, {"key", r.key}, {"run_id", r.run_id},
                        {"attempt", r.attempt}, {"state", to_string(r.state)},
                        {"exit_code", r.exit_code ? nlohmann::json(*r.exit_code) : nlohmann::json(nullptr)},
                        {"error", r.error}});
  }
  return failures;
}

// Decided objects whose final move failed (disk full, read-only, permissions): retried with
// backoff, on every reconcile and after a restart (docs/runbook.md "A move that fails"). The first 20.
nlohmann::json stuck_json(Store& store) {
  nlohmann::json stuck = nlohmann::json::array();
  for (const auto& o : stuck_objects(store, 20)) {
    stuck.push_back({{"key", o.key}, {"action", o.action}, {"error", o.error}, {"attempts", o.move_attempts},
                     {"failing_since", o.failed_since ? nlohmann::json(time_text(*o.failed_since)) : nlohmann::json(nullptr)}});
  }
  return stuck;
}

// Files recorded once as ignored, with the reason (unreadable, too long a key, a symlink...). The last 20.
nlohmann::json ignored_json(Store& store) {
  nlohmann::json ignored = nlohmann::json::array();
  for (const auto& o : ignored_objects(store, 20))
    ignored.push_back({{"key", o.key}, {"reason", o.error}, {"time", time_text(o.discovered_at)}});
  return ignored;
}

void print_rules(const std::optional<RulesRejection>& rejected, bool running) {
  if (rejected) {
    std::cout << (rejected->config_file.empty() ? "rules:    " : "config:   ") << "DEGRADED: " << describe_rejection(*rejected)
              << (running ? "" : " (when the daemon last ran)") << "\n";
    for (const auto& e : rejected->errors) std::cout << "          " << printable(e) << "\n";
  } else {
    std::cout << "rules:    the rules on disk are in force\n";
  }
}

// Each state by its own name (`waiting` is the after:/requires: task state, never a queue): runs
// running (only while a daemon runs: a crashed daemon's runs were cut off and run again at its next
// start), tasks queued for a worker, tasks in their retry backoff, tasks waiting on after:/requires:.
void print_counts(const PresentCounts& now, StatusCounts& c, bool daemon_running) {
  std::cout << "now:      " << now.in_progress << " in landing being processed, " << now.in_quarantine
            << " in quarantine, " << (daemon_running ? now.running : 0) << " running, " << now.queued
            << " queued for a worker, " << now.retry_wait << " in retry backoff, " << now.waiting
            << " waiting on after:/requires:\n";
  if (!daemon_running && now.running > 0)
    std::cout << "          " << plural(now.running, "run", "runs")
              << " cut off when the daemon stopped: they run again at its next start\n";
  if (now.stuck > 0)
    std::cout << "          " << plural(now.stuck, "object", "objects")
              << " decided but not moved: the move failed and is being retried (see below)\n";
  if (now.left_in_landing > 0)
    std::cout << "          " << plural(now.left_in_landing, "key", "keys")
              << " left in landing on purpose (unmatched, or action keep)\n";
  std::cout << "outbox:   " << now.outbox_pending << " pending\n"
            << "totals:  ";
  if (c.objects.empty()) std::cout << " no objects yet";
  for (auto& [state, n] : c.objects) std::cout << " " << state << "=" << n;
  std::cout << "\n          notifications: " << c.outbox["sent"] << " sent, " << c.outbox["dead"] << " given up\n";
}

// Moves failing and files ignored (DESIGN.md "Faults at run time").
void print_faults(const nlohmann::json& stuck, const nlohmann::json& ignored) {
  if (!stuck.empty()) {
    std::cout << "moves failing (retried with backoff):\n";
    for (auto& s : stuck)
      std::cout << "  " << (s["failing_since"].is_null() ? std::string("?") : s["failing_since"].get<std::string>())
                << "  " << s["action"].get<std::string>() << "  " << printable(s["key"].get<std::string>()) << "  "
                << s["attempts"].get<int>() << " attempt(s)  " << s["error"].get<std::string>() << "\n";
  }
  if (!ignored.empty()) {
    std::cout << "ignored files (recorded once, not run; fixed and run since: not listed):\n";
    for (auto& i : ignored)
      std::cout << "  " << i["time"].get<std::string>() << "  " << printable(i["key"].get<std::string>()) << "  "
                << i["reason"].get<std::string>() << "\n";
  }
}

void print_problems(const nlohmann::json& out) {
  const auto& dead = out["dead_notifications"];
  const auto& failures = out["recent_failures"];
  if (!dead.empty()) {
    std::cout << "dead notifications:\n";
    for (auto& d : dead)
      std::cout << "  " << d["time"].get<std::string>() << "  " << d["target"].get<std::string>() << "  "
                << printable(d["key"].get<std::string>()) << "  " << d["last_error"].get<std::string>() << "\n";
  }
  print_faults(out["stuck"], out["ignored"]);
  if (!failures.empty()) {
    std::cout << "recent failures:\n";
    for (auto& f : failures)
      std::cout << "  " << f["time"].get<std::string>() << "  " << f["rule"].get<std::string>() << "  "
                << printable(f["key"].get<std::string>()) << "  " << f["state"].get<std::string>()
                << (f["exit_code"].is_null() ? "" : " exit " + std::to_string(f["exit_code"].get<int>())) << "  "
                << f["error"].get<std::string>() << "\n";
  }
}

// Cluster mode: every node that has used the state, whether it is live (its lease runs), its epoch,
// how long its lease has left and whether it leads (holds the leader lock; docs/cluster.md).
nlohmann::json nodes_json(Store& store) {
  nlohmann::json out = nlohmann::json::array();
  if (schema_version(store.db()) < 6) return out;
  const auto leader = LeaderLock::leader(store.db());
  for (const auto& n : list_nodes(store.db())) {
    out.push_back({{"name", n.name}, {"live", n.live()}, {"state", n.live() ? "live" : n.state == "live" ? "expired" : n.state},
                   {"leader", leader && *leader == n.name},
                   {"pid", n.pid}, {"host", n.host}, {"role", n.role}, {"epoch", n.epoch},
                   {"started", time_text(n.started_at)}, {"heartbeat", time_text(n.heartbeat_at)},
                   {"lease_left_ms", std::max<int64_t>(n.lease_until - n.now_ms, 0)}});
  }
  return out;
}

void print_nodes(const nlohmann::json& nodes) {
  if (nodes.empty()) return;
  std::cout << "nodes:\n";
  for (const auto& n : nodes) {
    std::cout << "  " << n["name"].get<std::string>() << "  " << n["state"].get<std::string>() << "  pid "
              << n["pid"].get<int64_t>() << " on " << n["host"].get<std::string>() << " ("
              << n["role"].get<std::string>() << "), epoch " << n["epoch"].get<int64_t>();
    if (n["live"].get<bool>())
      std::cout << ", lease " << human_duration(n["lease_left_ms"].get<int64_t>()) << " left";
    if (n.value("leader", false)) std::cout << ", leader (reconcile scans, schedules, expectations)";
    else
      std::cout << ", last heartbeat " << n["heartbeat"].get<std::string>();
    std::cout << "\n";
  }
}

// What the running daemon's /healthz says (findings 10-retest T4: with its state DB not writable,
// `status` read the DB's last state and said all was well): {"status": HTTP status, "text": the
// body} or {"status": 0, "error": why it could not be asked}; null when no daemon runs or it has
// no HTTP listener.
nlohmann::json health_json(const Config& config, bool running) {
  if (!running || !config.http) return nullptr;  // nothing to ask
  auto reply = ask_daemon_http(config, "GET", "/healthz", "", "", std::chrono::seconds(3));
  if (reply.status == 0) return {{"status", 0}, {"error", reply.error}};
  while (!reply.body.empty() && (reply.body.back() == '\n' || reply.body.back() == ' ')) reply.body.pop_back();
  return {{"status", reply.status}, {"text", reply.body}};
}

void print_health(const nlohmann::json& h) {
  if (h.is_null()) return;
  const int status = h.value("status", 0);
  const std::string text = h.value("text", "");
  if (status == 0) std::cout << "health:   unknown (" << h.value("error", "") << ")\n";
  else if (status == 200 && text == "ok") std::cout << "health:   ok\n";
  else if (status == 200) std::cout << "health:   DEGRADED: " << text << "\n";
  else std::cout << "health:   FAILING (/healthz " << status << "): " << text << "\n";
}

// The parts of `status --json` read from the store and the rules on disk.
void add_store_parts(nlohmann::json& out, Store& store, const Config& config, const PresentCounts& now,
                     StatusCounts& c, bool daemon_runs) {
  add_counts(out, now, c);
  out["dead_notifications"] = dead_json(store);
  out["recent_failures"] = failures_json(store);
  out["waiting"] = waiting_json(store);
  out["late"] = late_json(store);
  out["stuck"] = stuck_json(store);
  out["ignored"] = ignored_json(store);
  out["batches"] = open_batches_json(store);
  out["abandoned_batches"] = abandoned_batches_json(store);
  out["batch_offers"] = batch_offers_json(store);
  out["schedules"] = open_schedules_json(store);
  // Every schedule of the rules on disk: its last firing and its next times (F6 of issue 14's
  // new-user test: an idle schedule showed nowhere). Rules that do not load show none.
  Diagnostics ignored;
  if (auto rules = load_rules(config.rules, config, ignored))
    out["schedule_times"] = schedule_times(*rules, &store, SystemClock::instance().now(), 1, daemon_runs);
  else
    out["schedule_times"] = nlohmann::json::array();
  out["nodes"] = nodes_json(store);
}

int run_status(Globals& g, bool json) {
  auto config = load_config_or_report(g);
  if (!config) return kExitUsage;
  // A DB this user may not read says so: never "not running / no state DB yet" about a daemon that
  // runs behind a folder this user cannot enter.
  if (std::string why; state_access(*config, &why) == StateAccess::unreadable) {
    error(g) << unreadable_state_message(*config, why) << "\n";
    return kExitUsage;
  }
  std::string role;
  auto pid = OwnerLock::holder(config->state, &role);
  std::unique_ptr<Store> store;
  if (state_exists(*config)) store = open_reader(*config, g);
  if (!store && g.exit_code != kExitOk) return g.exit_code;  // a DB that exists but cannot be read
  nlohmann::json out;
  out["daemon"] = {{"running", pid.has_value()}};
  if (pid) out["daemon"]["pid"] = *pid, out["daemon"]["mode"] = role;
  out["state_db"] = state_display(*config);
  if (!store) {
    if (json) std::cout << out.dump(2) << "\n";
    else std::cout << "daemon:   " << (pid ? "running" : "not running") << "\nstate:    no state DB yet at "
                   << state_display(*config) << "\n";
    return kExitOk;
  }
  // The landing folder itself gone (renamed or deleted): the daemon watches nothing until it is back
  // (issue 16 N12: `status` said all was well). EACCES is not "missing": this user cannot tell.
  std::error_code landing_ec;
  const auto landing_type = std::filesystem::status(config->landing, landing_ec).type();
  const bool landing_missing = !landing_ec ? landing_type != std::filesystem::file_type::directory
                                           : landing_ec == std::errc::no_such_file_or_directory;
  out["landing"] = {{"path", config->landing.string()}, {"missing", landing_missing}};
  auto rejected = rules_rejected(*store);
  out["rules"] = rules_json(rejected);
  out["health"] = health_json(*config, pid && role == "run");
  auto now = present_counts(*store);
  auto c = status_counts(*store);
  add_store_parts(out, *store, *config, now, c, pid && role == "run");
  if (json) {
    std::cout << safe_dump(out, 2) << "\n";
    return kExitOk;
  }
  std::cout << "daemon:   " << (pid ? "running (pid " + std::to_string(*pid) + ", " + role + ")" : "not running") << "\n"
            << "state:    " << state_display(*config) << "\n";
  print_health(out["health"]);
  print_nodes(out["nodes"]);
  if (landing_missing)
    std::cout << "landing:  DEGRADED: " << config->landing.string() << " is missing (renamed or deleted): "
              << (pid ? "nothing is watched or run until it is back" : "`hivehook run` refuses to start") << "\n";
  print_rules(rejected, pid.has_value());
  print_counts(now, c, pid.has_value());
  print_waiting(out["waiting"]);
  print_late(out["late"]);
  print_schedule_times(out["schedule_times"], true);
  print_schedules(out["schedules"], pid.has_value());
  print_batches(out["batches"], out["abandoned_batches"], pid.has_value());
  for (const auto& o : out["batch_offers"])
    std::cout << "batch:    " << o["rule"].get<std::string>() << ": " << o["group"].get<std::string>() << ": "
              << plural(o["files"].get<int64_t>(), "file", "files")
              << " offered to the cluster's leader, not yet in a batch (since " << o["oldest"].get<std::string>()
              << ")\n";
  print_problems(out);
  return kExitOk;
}
}  // namespace

void add_status(CLI::App& app, Globals& g) {
  auto* cmd = add_command(
      app, g,
      {.name = "status",
       .summary = "The daemon, what is happening now, and the totals so far",
       .details = "daemon: whether a run or scan owns the state DB, and its pid.\n\n"
                  "landing: DEGRADED when the landing folder itself is missing (renamed or deleted; the daemon "
                  "watches it again within a second of its return).\n\n"
                  "rules: whether the daemon runs the rules on disk, or the last good rules because those on disk "
                  "were rejected (DEGRADED, with the errors).\n\n"
                  "now: objects in landing being processed, objects in quarantine now (the latest arrival at their "
                  "key; what retry --all-failed would move), runs running, tasks queued for a worker, tasks, batch runs "
                  "and schedule firings in their retry backoff, tasks waiting on the rules their after:/requires: name; notifications not yet "
                  "delivered.\n\n"
                  "waiting: per rule, the objects whose run waits for the rules its after:/requires: name, what "
                  "they wait for, and the key that is released first.\n\n"
                  "late: partitions an `expect:` rule expected whose deadline passed before they arrived.\n\n"
                  "schedule: every `schedule:` rule of the rules on disk, the scheduled time of its last firing "
                  "(and its latest run's state) and its next firing time (a time missed while no daemon ran is "
                  "said: the next start catches it up); then the open firings: running, queued for a worker, or "
                  "in retry backoff after a failed attempt.\n\n"
                  "batch: the open batches of `batch:` rules: collecting objects, complete and waiting for their "
                  "members' own rules, running, or in retry backoff after a failed attempt; and batches abandoned "
                  "in the last 24 hours because their rule was removed, lost `batch:`, or changed `batch.group`.\n\n"
                  "totals: every object by final state since the state DB was created (history: a quarantined "
                  "object that was retried still counts as quarantined there), notifications sent and given up; "
                  "then dead notifications, objects whose final move is failing (move_failed, retried with "
                  "backoff), files recorded as ignored with the reason, and the latest failed runs.\n\n"
                  "Works while the daemon runs (the store is read, never written).",
       .exit_status = "0 printed (also when no state DB exists yet); 2 invalid config, or a state DB this user may not "
                      "read (the message names the folder or file that refused, and its group).",
       .examples = "  hivehook status\n  hivehook status --json | jq .now"});
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "one JSON object");
  cmd->callback([&g, json] { g.exit_code = run_status(g, *json); });
}

}  // namespace hivehook::cli
