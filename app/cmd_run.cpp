// `hivehook run` (the daemon) and `hivehook scan` (one shot, then a one-line summary).
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "app/cli_support.h"
#include "app/daemon.h"
#include "base/path_access.h"
#include "rules/config.h"
#include "store/queries.h"

namespace hivehook::cli {

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "scan: 14 objects in 1.32s (10.6/s): 12 archived, 1 quarantined, 1 unmatched"
void print_scan_summary(Globals& g, int64_t started_ms, int64_t ended_ms) {
  auto config = load_config_or_report(g);
  if (!config) return;
  if (!state_exists(*config)) return;
  std::map<std::string, int64_t> by_state;
  try {
    Store store(config->state, Store::Mode::reader);
    by_state = objects_updated_since(store, started_ms);
  } catch (const std::exception& e) {
    error(g) << "cannot read the summary from " << state_display(*config) << ": " << e.what() << "\n";
    return;
  }
  int64_t total = 0;
  for (const auto& [_, n] : by_state) total += n;
  int64_t ms = std::max<int64_t>(ended_ms - started_ms, 0);
  std::cout << "scan: " << total << (total == 1 ? " object" : " objects") << " in " << human_duration(ms);
  if (total > 0 && ms > 0) {
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.1f", total * 1000.0 / ms);
    std::cout << " (" << rate << "/s)";
  }
  std::string sep = ": ";
  for (const auto& [state, n] : by_state) {
    std::cout << sep << n << " " << state;
    sep = ", ";
  }
  std::cout << "\n";
}

}  // namespace

// Issue 16 N2: `hivehook run` as root over the service's folders (the runbook's foreground run)
// made root-owned archive/quarantine folders that the service, user hivehook, then could not move
// files into. As root, the state folder (else landing, archive, quarantine) must be root's; when it
// belongs to another user, refuse and say how to run as that user. True when refused (printed).
bool refused_root_over_service_state(Globals& g) {
  if (::geteuid() != 0) return false;
  Diagnostics ignored;  // the daemon reports the config's errors itself
  auto config = load_config_lenient(resolve_config_path(g.config), ignored);
  if (!config) return false;
  std::vector<std::filesystem::path> places;
  if (!is_postgres_state(config->state.string())) places.push_back(config->state.parent_path());
  places.insert(places.end(), {config->landing, config->archive, config->quarantine});
  for (const auto& p : places) {
    struct stat st;
    if (p.empty() || ::stat(p.c_str(), &st) != 0 || st.st_uid == 0) continue;
    const std::string user = user_name(st.st_uid);
    error(g) << "running as root, but " << p.string() << " belongs to user " << user << " (the service's user): "
             << "folders and files made by root there would later refuse that user's moves (Permission denied). "
             << "Run it as " << user << ", with the service's secrets: runuser -u " << user << " -- hivehook " << g.command
             << " -c " << resolve_config_path(g.config).string()
             << " --env-file - < /etc/hivehook/hivehook.env; or use the service (systemctl start hivehook)\n";
    return true;
  }
  return false;
}

void add_run(CLI::App& app, Globals& g) {
  auto* cmd = add_command(
      app, g,
      {.name = "run",
       .summary = "Run the daemon in the foreground: watch landing, run jobs, archive, notify",
       .details =
           "Recovers what a previous run left (interrupted runs run again, decided objects are moved, files never "
           "seen are found by a full scan), then watches the landing tree with inotify until stopped.\n\n"
           "Invalid rules on disk at start-up: the daemon starts with the last good rules (kept in the state DB "
           "each time rules are put in force) and says so in the log, in status and on /healthz (200, "
           "\"degraded: ...\"); with --strict it refuses to start instead.\n\n"
           "Signals: SIGTERM and SIGINT drain (running jobs get shutdown_grace) and stop; SIGHUP reopens audit_log "
           "(after a log rotation renamed it: /etc/logrotate.d/hivehook) and reloads the config file and the rules. Applied at once: the rules, workers, notify, ignore, log.level, shutdown_grace; "
           "the other settings (folders, state, audit_log, bucket, rules path, reconcile, metrics, s3, log.format) "
           "are named in the log and keep their old value until a restart. An invalid edit is rejected whole.\n\n"
           "Under systemd (Type=notify) it reports READY=1 after recovery and the start-up scan, WATCHDOG=1 from "
           "its event loop, RELOADING=1 around a reload, and a STATUS= line.\n\n"
           "A brand-new state DB beside an archive, quarantine or audit log that show an earlier one is refused "
           "(a lost DB must not silently re-run everything still in landing) unless --new-state is given.\n\n"
           "HTTP (http: or its short form metrics:): /metrics and /healthz, the console at /, the JSON API under "
           "/api/v1/. With http.read_auth: token (the packaged config) the API's reads need http.token or the "
           "daemon's local token (<state>.http-token, mode 0600) as 'Authorization: Bearer'; /metrics and /healthz "
           "stay open. With read_auth: open (the default) whoever reaches the port reads runs, job output, keys "
           "and rules.\n\n"
           "Logs go to stderr (log.format: text or json; with syslog priorities under journald).",
       .exit_status = "0 stopped by a signal; 2 invalid config (an unparsable listen address, or one that is not "
                      "this machine's, included), invalid rules with --strict or with no last good "
                      "rules kept, another process owns the state DB, or the state DB is missing beside an earlier "
                      "archive; 70 a fatal fault at run time (the message names the file), which a supervisor "
                      "restarts; 75 (EX_TEMPFAIL) the metrics/http.listen or s3.listen address is in use by another "
                      "process at start-up, which a supervisor restarts (it listens once the port is free). A landing, archive or "
                      "quarantine folder that cannot be created is 70 (the message names it, the user and ReadWritePaths=). As root, it refuses "
                      "(2) when the state folder, landing, archive or quarantine belong to another user (the "
                      "service's): run it as that user.",
       .examples = "  hivehook run -c /etc/hivehook/hivehook.yaml\n  hivehook run --strict\n"
                   "  hivehook run --new-state   # after deliberately starting over"});
  auto options = std::make_shared<DaemonOptions>();
  cmd->add_flag("--strict", options->strict, "refuse to start when the rules on disk are invalid (no last good rules)");
  cmd->add_flag("--new-state", options->new_state,
                "start with a new, empty state DB although the archive or audit log show an earlier one");
  cmd->add_option("--node", options->node,
                  "this daemon's node name (cluster mode: daemons of different names share one PostgreSQL state; "
                  "default: the config's node:, else the host name)");
  cmd->callback([&g, options] {
    if (apply_env_files(g) < 0) return;
    if (refused_root_over_service_state(g)) {
      g.exit_code = kExitUsage;
      return;
    }
    g.exit_code = run_daemon(g.config, *options);
  });
}

void add_scan(CLI::App& app, Globals& g) {
  auto* cmd = add_command(
      app, g,
      {.name = "scan",
       .summary = "Process everything now in landing, wait for every run and notification, exit",
       .details = "The one-shot form of run, for cron or a CI step: recovery, one full scan of landing, every "
                  "matching job run (with its retries), every object moved and every notification sent or given "
                  "up; then one summary line on stdout: objects decided, how long, and by final state.\n\n"
                  "A file still open for writing is not processed until its writer closes it; scan waits up to "
                  "--wait for that, then reports it as skipped.",
       .exit_status = "0 every object succeeded; 1 any object failed, or a file was still being written after "
                      "--wait; 2 invalid config or rules, or another process owns the state DB.",
       .examples = "  hivehook scan -c hivehook.yaml\n"
                   "  scan: 8 objects in 1.20s (6.6/s): 7 archived, 1 quarantined\n"
                   "  hivehook scan --wait 5m"});
  auto options = std::make_shared<DaemonOptions>();
  options->mode = DaemonMode::one_shot;
  auto wait = std::make_shared<std::string>("60s");
  cmd->add_option("--wait", *wait, "how long to wait for files still open for writing (default 60s)");
  cmd->add_option("--node", options->node, "this daemon's node name (see run --node)");
  cmd->callback([&g, options, wait] {
    auto d = parse_duration(*wait);
    if (!d) {
      error(g) << "--wait: invalid duration '" << *wait << "' (write e.g. 30s, 2m, 0)\n";
      g.exit_code = kExitUsage;
      return;
    }
    options->scan_wait = *d;
    if (apply_env_files(g) < 0) return;
    if (refused_root_over_service_state(g)) {
      g.exit_code = kExitUsage;
      return;
    }
    int64_t started = wall_ms();
    g.exit_code = run_daemon(g.config, *options);
    if (g.exit_code != kExitUsage) print_scan_summary(g, started, wall_ms());
  });
}

}  // namespace hivehook::cli
