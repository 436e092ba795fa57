#include "app/daemon.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <spdlog/spdlog.h>

#include "app/cli_support.h"
#include "base/node_name.h"
#include "app/logging.h"
#include "app/systemd_notify.h"
#include "base/path_access.h"
#include "daemon/folder_access.h"
#include "daemon/kept_rules.h"
#include "daemon/reload.h"
#include "app/replay_client.h"
#include "rules/config.h"
#include "rules/rule.h"
#include "store/owner_lock.h"

namespace hivehook {

namespace {
struct Loaded {
  Config config;
  std::shared_ptr<const RuleSet> rules;             // null: the rules on disk are invalid
  Diagnostics rule_diags;                           // why (file:line:col)
};

// The config, then the rules: a config error stops us before we touch anything (file:line:col on
// stderr); invalid rules are for the caller to refuse or replace by the last good ones.
std::optional<Loaded> load(const std::string& config_arg) {
  Diagnostics diags;
  auto config = load_config(resolve_config_path(config_arg), diags);
  if (!config) {
    std::cerr << diags.str();
    return std::nullopt;
  }
  Loaded out{std::move(*config), nullptr, {}};
  if (auto rules = load_rules(out.config.rules, out.config, diags))
    out.rules = std::make_shared<const RuleSet>(std::move(*rules));
  if (!diags.items().empty()) std::cerr << diags.str();
  out.rule_diags = std::move(diags);
  return out;
}

// The rules on disk are invalid: the last good rules kept in the store instead, or nullopt (with
// the reason on stderr) when there are none or they no longer fit the config.
std::optional<RulesRejection> fall_back_to_kept_rules(Loaded& loaded) {
  std::string why;
  auto kept = kept_rules_at(loaded.config.state, &why);
  if (!kept) {
    std::cerr << "hivehook: the rules on disk are invalid and " << why << ": not starting\n";
    return std::nullopt;
  }
  Diagnostics diags;
  auto rules = load_rules(kept->sources, loaded.config, diags);
  if (!rules) {
    std::cerr << diags.str() << "hivehook: the rules on disk are invalid and the last good rules kept in "
              << cli::state_display(loaded.config) << " do not fit the config any more: not starting\n";
    return std::nullopt;
  }
  loaded.rules = std::make_shared<const RuleSet>(std::move(*rules));
  auto errors = diagnostics_json(loaded.rule_diags)["errors"].get<std::vector<std::string>>();
  return RulesRejection{SystemClock::instance().now_ms(), std::move(errors), kept->kept_at_ms, {}};  // the rules files
}

bool holds_a_file(const std::filesystem::path& dir) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != decltype(it)(); it.increment(ec))
    if (it->is_regular_file(ec)) return true;
  return false;
}

// The mark an SQLite state DB leaves beside itself when it is first used: `.<name>.created` in its
// folder (hidden, so `rm state/hivehook.db*` leaves it), for a pipeline whose rules only keep or
// delete and that writes no audit log, where nothing else shows that there was an earlier state
// (findings 10-retest T5). None for a PostgreSQL state (the server keeps it).
std::optional<std::filesystem::path> state_mark(const Config& c) {
  if (is_postgres_state(c.state.string())) return std::nullopt;
  return c.state.parent_path() / ("." + c.state.filename().string() + ".created");
}

// Leaves the mark, once the store is open (best effort: a folder that cannot take it only loses
// this one check).
void leave_state_mark(const std::optional<std::filesystem::path>& mark, const std::string& state) {
  std::error_code ec;
  if (!mark || std::filesystem::exists(*mark, ec)) return;
  std::ofstream out(*mark);
  out << "hivehook's state DB " << state << " was created here. If it is gone, the state was lost: "
      << "`hivehook run` refuses to start (docs/runbook.md, \"A lost state DB\").\n";
}

// A lost state DB must not silently re-run everything still in landing: a brand-new store beside
// an archive, a quarantine, an audit log or the state's own mark that show an earlier one is
// refused unless asked for.
std::optional<std::string> lost_state(const Config& c) {
  std::error_code ec;
  if (cli::state_exists(c)) return std::nullopt;
  std::string seen;
  if (auto mark = state_mark(c); mark && std::filesystem::exists(*mark, ec))
    seen = "its mark " + mark->string() + " shows that it existed";
  else if (holds_a_file(c.archive)) seen = "the archive " + c.archive.string() + " holds files";
  else if (holds_a_file(c.quarantine)) seen = "the quarantine " + c.quarantine.string() + " holds files";
  else if (c.audit_log && std::filesystem::file_size(*c.audit_log, ec) > 0 && !ec)
    seen = "the audit log " + c.audit_log->string() + " has events";
  if (seen.empty()) return std::nullopt;
  return "state DB " + cli::state_display(c) + " does not exist, but " + seen +
         ": an earlier state seems lost, and starting afresh would re-run everything still in landing. "
         "Restore the DB, or start anew with `hivehook run --new-state`";
}

// Why the SQLite state DB could not be opened, when it is a permission (issue 16 retest P10: the
// fatal line gave SQLite's "unable to open database file" while `status` named the file, its mode
// and owner): the same probe as status (base/path_access.h), and who this daemon runs as.
std::optional<std::string> state_permission_fault(const std::filesystem::path& state) {
  const PathAccess a = probe_database_access(state);
  if (a.state != PathAccess::State::denied || a.refused.empty()) return std::nullopt;
  const std::string user = process_user_name();
  const std::string path = a.refused_path.string();
  std::error_code ec;
  const bool folder = std::filesystem::is_directory(path, ec);
  return "cannot open the state DB " + state.string() + ": " + a.refused + ", and this daemon runs as " +
         process_user() + ": give it back to that user (as root: chown " + user + ": " + path + " && chmod " +
         (folder ? "u+rwx " : "u+rw ") + path + "), or run the daemon as user " + a.owner;
}

// `--node NAME` (cluster mode) over the config's `node:`; false, said on stderr, when NAME is no
// node name (the rule of base/node_name.h).
bool apply_node_option(const DaemonOptions& options, Config& config) {
  if (options.node.empty()) return true;
  if (!valid_node_name(options.node)) {
    std::cerr << "hivehook: --node: '" << options.node
              << "' is not a node name (1-63 of A-Z a-z 0-9 . _ -, not starting with . _ -)\n";
    return false;
  }
  config.node = options.node;
  return true;
}

// The role this process takes in the state's owner lock (store/owner_lock.h), which `status` and
// the CLI read back: "run", "scan" or "replay".
const char* owner_role(DaemonMode mode) {
  return mode == DaemonMode::replay ? "replay" : mode == DaemonMode::one_shot ? "scan" : "run";
}

// `hivehook replay`/`retry` run here (DaemonMode::replay): the plan on stdout once the daemon has
// made it, a refusal on stderr.
void print_replay_outcome(Daemon& daemon, const DaemonOptions& options, bool json) {
  const std::string prefix = options.replay && options.replay->retry ? "hivehook retry: " : "hivehook replay: ";
  daemon.hooks.on_replayed = [json, prefix](int status, const nlohmann::json& plan) {
    print_replay(std::cout, plan, json);
    if (status != 200) std::cerr << prefix << plan.value("error", "replay refused") << "\n";
    // Batch jobs run under `hivehook run` only: objects that join a batch here do not run its job
    // (issue 14 retest 3 G3: exit 0 and "joins batch" read as if the summary had run).
    if (json || status != 200 || plan.value("dry_run", false) || !plan.contains("objects")) return;
    std::set<std::string> batches;
    for (const auto& o : plan["objects"])
      if (o.contains("batches"))
        for (const auto& b : o["batches"]) batches.insert(b.get<std::string>());
    if (batches.empty()) return;
    std::string names;
    for (const auto& b : batches) names += (names.empty() ? "" : ", ") + b;
    std::cout << "the batch job" << (batches.size() == 1 ? " " : "s ") << "(" << names << ") "
              << (batches.size() == 1 ? "runs" : "run") << " under `hivehook run`, not here: once complete, at the "
              << "daemon's next start (`hivehook status` shows the batch)\n";
  };
}
}  // namespace

int run_daemon(const std::string& config_arg, const DaemonOptions& options, bool json) {
  auto loaded = load(config_arg);
  if (!loaded) return kExitConfig;
  if (!apply_node_option(options, loaded->config)) return kExitConfig;
  const Config& config = loaded->config;
  if (!loaded->rules && (options.strict || options.mode != DaemonMode::watch)) return kExitConfig;
  setup_logging(config.log);
  std::signal(SIGPIPE, SIG_IGN);  // a job closing its stdin early must not kill the daemon
  std::signal(SIGIO, SIG_IGN);    // a lease broken during the admission check must not either
  std::string lock_error;
  auto lock = OwnerLock::acquire(config.state, owner_role(options.mode), &lock_error, config.node);
  if (!lock) {
    std::cerr << "hivehook: " << lock_error << "\n";
    return kExitConfig;
  }
  if (auto lost = lost_state(config); lost && !options.new_state) {
    std::cerr << "hivehook: " << *lost << "\n";
    return kExitConfig;
  }
  std::optional<RulesRejection> rejected;
  if (!loaded->rules) {
    rejected = fall_back_to_kept_rules(*loaded);
    if (!rejected) return kExitConfig;
  }
  const bool postgres_state = is_postgres_state(config.state.string());  // (config is moved into the daemon)
  const std::filesystem::path state = config.state;
  auto fatal = [&](const std::exception& e) {
    auto why = postgres_state ? std::nullopt : state_permission_fault(state);
    spdlog::critical("fatal: {}", why ? *why + " (" + e.what() + ")" : std::string(e.what()));
    return kExitRuntime;
  };
  const auto mark = state_mark(config);
  try {
    if (auto cannot = make_folders(config)) {
      // A fault that may clear (a mount not up yet): 70, restarted, with what to do said once a try.
      spdlog::critical("fatal: {}", *cannot);
      return kExitRuntime;
    }
    // One daemon per landing (F1 of issue 10's third retest): the DB lock does not see a second
    // daemon on another state DB; a PostgreSQL state's nodes share landing by design.
    std::optional<LandingLock> landing_lock;
    if (!postgres_state) {
      std::string landing_error;
      landing_lock = LandingLock::acquire(config.landing, &landing_error);
      if (!landing_lock) {
        std::cerr << "hivehook: " << landing_error << "\n";
        return kExitConfig;
      }
    }
    SystemdNotifier systemd;
    Daemon daemon(std::move(loaded->config), std::move(loaded->rules), options, std::move(rejected));
    leave_state_mark(mark, state.string());  // the store is open (made now, or there already)
    systemd.attach(daemon);
    print_replay_outcome(daemon, options, json);
    return daemon.run();
  } catch (const sql::StoreError& e) {
    // A PostgreSQL state that cannot be reached or used at start-up is a config error, as a
    // missing folder is; anything later is a fault for the supervisor to restart.
    if (postgres_state && (e.code() == SQLITE_CANTOPEN || e.code() == SQLITE_BUSY)) {
      std::cerr << "hivehook: " << e.what() << "\n";
      return kExitConfig;
    }
    return fatal(e);
  } catch (const std::exception& e) {
    return fatal(e);
  }
}

}  // namespace hivehook
