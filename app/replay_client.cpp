#include "app/replay_client.h"

#include <cstdlib>
#include <fstream>
#include <regex>
#include <yaml-cpp/yaml.h>
#include <iostream>

#include <sys/stat.h>

#include <algorithm>

#include "api/params.h"
#include "base/host_port.h"
#include "base/path_access.h"
#include "app/cli_support.h"
#include "app/daemon.h"
#include "app/daemon_http.h"
#include "daemon/http_listener.h"
#include "pipeline/replay_plan.h"
#include "pipeline/schedule_retry.h"
#include "rules/rule.h"
#include "store/owner_lock.h"

namespace hivehook {

namespace {
// `retry --schedule`'s plan (pipeline/schedule_retry.h's JSON): each firing and the run that failed.
void print_schedule_retry(std::ostream& out, const nlohmann::json& plan) {
  const bool dry = plan.value("dry_run", false);
  for (const auto& s : plan["schedules"]) {
    out << (dry ? "would retry" : "retrying") << " schedule " << s.value("rule", "") << ": the firing for "
        << s.value("scheduled_time", "") << (s.value("catch_up", false) ? " (a catch-up)" : "") << ", which "
        << (s.value("failed_state", "") == "timed_out" ? "timed out" : "failed") << " in run "
        << s.value("failed_run_id", "") << " (attempt " << s.value("failed_attempt", 0) << ")";
    if (!s.value("failed_error", "").empty()) out << ": " << s.value("failed_error", "");
    out << "\n";
  }
}
}  // namespace

void print_replay(std::ostream& out, const nlohmann::json& plan, bool json) {
  if (json) {
    out << safe_dump(plan, 2) << "\n";
    return;
  }
  if (plan.contains("schedules")) return print_schedule_retry(out, plan);
  if (!plan.contains("objects")) return;
  const bool retry = plan.value("retry", false), dry = plan.value("dry_run", false);
  out << (dry ? "would " : "") << (retry ? "retry " : "replay ") << plan.value("replayed", 0) << " object(s)";
  if (plan.value("skipped", 0) > 0) out << ", " << plan.value("skipped", 0) << " skipped";
  out << "\n";
  for (const auto& o : plan["objects"]) {
    out << "  " << o.value("key", "") << "  (" << o.value("from_state", "") << ", object " << o.value("of_object", 0) << ")";
    if (!o["skipped"].is_null()) {
      out << "  skipped: " << o["skipped"].get<std::string>() << "\n";
      continue;
    }
    std::string rules;
    for (const auto& r : o["rules"]) rules += (rules.empty() ? "" : ", ") + r.get<std::string>();
    if (o.contains("batches"))
      for (const auto& b : o["batches"]) rules += (rules.empty() ? "" : ", ") + ("joins batch " + b.get<std::string>());
    out << "  → " << rules << "\n";
  }
  // Nothing run is not a failure (exit 0, as `retry --all-failed` with nothing in quarantine), but
  // it is said in words, not left to a "0 object(s)" count.
  if (dry || plan.value("replayed", 0) > 0) return;
  const int skipped = plan.value("skipped", 0);
  if (skipped > 0)
    out << "nothing " << (retry ? "retried" : "replayed") << ": " << (skipped == 1 ? "the one match was" : "every match was")
        << " skipped (the reason is on its line)\n";
  else
    out << "nothing " << (retry ? "retried" : "replayed") << ": no " << (retry ? "quarantined" : "archived, quarantined or unmatched")
        << " object matches the filters\n";
}

namespace cli {

// app/cmd_run.cpp: as root over the service user's folders, refuse (printed; true when refused).
bool refused_root_over_service_state(Globals& g);

namespace {

// POST the request to the running daemon's API; (status, JSON body) or (0, {"error"}) when unreachable.
std::pair<int, nlohmann::json> post_to_daemon(const Config& config, const std::string& token, const std::string& path,
                                              const std::string& body) {
  auto reply = ask_daemon_http(config, "POST", path, token, body, std::chrono::seconds(30));
  if (reply.status == 0) return {0, {{"error", reply.error}}};
  auto j = nlohmann::json::parse(reply.body, nullptr, false);
  if (j.is_discarded()) j = {{"error", reply.body}};
  return {reply.status, j};
}

// http.token as the config file writes it ("${HIVEHOOK_TOKEN}"), "" when it has none: tells an
// unset variable in this shell from a config without a token.
std::string token_as_written(const Config& config) {
  try {
    YAML::Node root = YAML::LoadFile(config.file.string());
    if (root["http"] && root["http"].IsMap() && root["http"]["token"] && root["http"]["token"].IsScalar())
      return root["http"]["token"].Scalar();
  } catch (const std::exception&) {
  }
  return "";
}

// The running daemon's local token (daemon/http_listener.h), "" when this user may not read it or
// the daemon writes none (an older one, or no HTTP listener).
std::string local_token(const Config& config) {
  std::ifstream in(http_local_token_file(config));
  std::string token;
  if (in) std::getline(in, token);
  return token.size() == 64 ? token : "";
}

// Why the daemon cannot be asked without a token, and the way out: the config's `${VAR}` empty in
// this shell, a token the config refuses, no http listener, or a local token this user may not read.
void explain_missing_token(Globals& g, const Config& config, pid_t holder) {
  const std::string written = token_as_written(config);
  // "${VAR}": is VAR empty here, or set to a value the config refuses (issue 15 finding F8: a
  // 5-character token was reported "empty in this shell")?
  static const std::regex kVariable(R"(^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$)");
  std::smatch var;
  const bool is_variable = std::regex_match(written, var, kVariable);
  const char* value = is_variable ? std::getenv(var[1].str().c_str()) : nullptr;
  if (is_variable && (!value || !*value))
    error(g) << "the daemon (pid " << holder << ") owns the state DB; the config's http.token is '" << written
             << "', which is empty in this shell: set it (the daemon's value), or pass the service's "
             << "--env-file, to ask the daemon\n";
  else if (!written.empty())
    error(g) << "the daemon (pid " << holder << ") owns the state DB; the config's http.token is '" << written
             << "'" << (is_variable ? ", set in this shell to a value the config refuses" : ", which the config refuses")
             << " (a token has at least 12 characters): set it to the daemon's token to ask the daemon\n";
  else if (!config.http)
    error(g) << "the daemon (pid " << holder << ") owns the state DB and the config has no http listener to ask "
             << "it through: " << kHttpListenerSuggestion << " (and restart the daemon), or stop the daemon\n";
  else
    error(g) << "the daemon (pid " << holder << ") owns the state DB and this user may not read its local token "
             << http_local_token_file(config).string() << ": run as root or as the daemon's user, or give "
             << "the config an http.token (" << kHttpListenerSuggestion << ") and set it here\n";
}

// A dry run planned here, from a read-only store and the rules on disk: it changes nothing, so it
// needs no daemon (fault: it was refused while the daemon ran).
int plan_here(Globals& g, const Config& config, const ReplayRequest& request, bool json) {
  auto store = open_reader(config, g);
  if (!store) return kExitUsage;
  Diagnostics d;
  auto rules = load_rules(config.rules, config, d);
  if (!rules) {
    // Said as this command's error, with the way out (issue 15 finding F8: a bare
    // "rules/sales.yaml:8:24: error: environment variable 'API_TOKEN' is not set", exit 2).
    error(g) << "the dry run plans from the rules on disk here (the daemon was not asked), and they do not load "
                "in this shell: set the variables they name, or the config's http.token to ask the daemon:\n"
             << d.str();
    return kExitUsage;
  }
  if (!request.schedules.empty()) {
    ScheduleRetryRefusal refusal;
    auto plan = plan_schedule_retry(*store, *rules, request, &refusal);
    if (!plan) {
      error(g) << refusal.why << "\n";
      return kExitUsage;
    }
    print_replay(std::cout, schedule_retry_json(*plan), json);
    return kExitOk;
  }
  std::string err;
  auto plan = plan_replay(*store, *rules, config.landing, request, &err);
  if (!plan) {
    error(g) << err << "\n";
    return kExitUsage;
  }
  print_replay(std::cout, plan_json(*plan), json);
  return kExitOk;
}

// Whether the configured port is listened on by the owner of the state folder or file that
// refused this user (so, the daemon's user) and answers /healthz. A port of 0 (written in the state
// folder) or a PostgreSQL state cannot be told: false.
bool daemons_listener_answers(const Config& config) {
  auto listen = parse_host_port(config.http->listen, nullptr);
  if (!listen || listen->port == 0 || is_postgres_state(config.state.string())) return false;
  const PathAccess access = probe_database_access(config.state);
  struct stat st {};
  if (access.refused_path.empty() || ::stat(access.refused_path.c_str(), &st) != 0) return false;
  const auto uids = tcp_listener_uids(listen->port);
  if (uids.empty() || std::any_of(uids.begin(), uids.end(), [&](uid_t u) { return u != st.st_uid; })) return false;
  return ask_daemon_http(config, "GET", "/healthz", "", "", std::chrono::seconds(3)).status != 0;
}

// The replay or retry posted to the running daemon, which plans and runs it.
int ask_daemon(Globals& g, const Config& config, const std::string& token, const ReplayRequest& request, bool json) {
  const char* path = request.retry ? "/api/v1/retry" : "/api/v1/replay";
  auto [status, reply] = post_to_daemon(config, token, path, api::replay_body(request));
  // Turned away by the listener's token guard (this address sent too many wrong tokens): a dry
  // run changes nothing, so it is planned here instead (issue 15 retest X1).
  if (status == 429 && request.dry_run) {
    error(g) << "the daemon turned the token away (" << reply.value("error", "HTTP 429")
             << "); planned here from the store and the rules on disk\n";
    return plan_here(g, config, request, json);
  }
  if (status != 200) {
    error(g) << "the daemon refused: " << reply.value("error", "HTTP " + std::to_string(status)) << "\n";
    return kExitUsage;
  }
  print_replay(std::cout, reply, json);
  if (!json && !request.dry_run && (reply.value("replayed", 0) > 0 || reply.value("retried", 0) > 0))
    std::cout << "the daemon runs them now: follow with `hivehook runs` or the console\n";
  return kExitOk;
}

// No daemon runs: this command runs the replay itself, as a daemon in replay mode that ends when
// the replayed objects have.
int run_here(Globals& g, const Config& config, const ReplayRequest& request, bool json) {
  // As root over the service's folders that would run every pending job as root and leave
  // root-owned folders (issue 16 retest P13, as N2).
  if (refused_root_over_service_state(g)) return kExitUsage;
  // Nothing ever ran here: nothing to replay, and no store is created for it (fault: `retry
  // --all-failed` made an empty state DB where `partitions` says there is none yet).
  if (!state_exists(config)) {
    error(g) << "no state DB at " << state_display(config) << " yet (start `hivehook run` or `hivehook scan`)\n";
    return kExitUsage;
  }
  DaemonOptions options;
  options.mode = DaemonMode::replay;
  options.strict = true;
  options.replay = request;
  return run_daemon(g.config, options, json);
}

}  // namespace

int submit_replay(Globals& g, const ReplayRequest& request, bool json) {
  auto config = load_config_or_report(g);
  if (!config) return kExitUsage;
  // A state DB this user may not read: said so, never taken for "no daemon runs" or "none yet".
  if (std::string why; state_access(*config, &why) == StateAccess::unreadable) {
    // Neither the DB nor its lock can be read here, so whether a daemon runs is asked of its
    // port: one that answers is sent the config's http.token (issue 15 retest X4: a user with the
    // token but not the state folder could not replay, not even a dry run).
    // The token goes only to a listener owned by the user that owns the state this user may not
    // read (the daemon's user): with the daemon stopped, another local user's server on the port
    // must not be sent it (issue 15 verification V2).
    if (config->http && !config->http->token.empty() && daemons_listener_answers(*config))
      return ask_daemon(g, *config, config->http->token, request, json);
    error(g) << unreadable_state_message(*config, why) << "\n";
    return kExitUsage;
  }
  std::string role;
  auto holder = OwnerLock::holder(config->state, &role);
  const bool daemon_runs = holder && role == "run";
  // The daemon's local token when this user may read it (root and the service user; issue 16 N9),
  // else the config's http.token. The local token comes first: the listener never locks it out, so
  // a client guessing tokens on this host cannot lock the operator's CLI out with it (issue 15
  // retest X1: ten refused tokens from 127.0.0.1 made `hivehook replay` a 429 too). A token the
  // config names but this shell lacks, with no local token to read, is said so.
  std::string token = config->http && daemon_runs ? local_token(*config) : "";
  if (token.empty() && config->http) token = config->http->token;
  const bool no_token = !config->http || token.empty();
  // A dry run without a token to ask the daemon is planned here.
  if (daemon_runs && !(request.dry_run && no_token)) {
    if (!no_token) return ask_daemon(g, *config, token, request, json);
    explain_missing_token(g, *config, *holder);
    return kExitUsage;
  }
  if (holder && !request.dry_run) {
    error(g) << "`hivehook " << role << "` (pid " << *holder << ") owns the state DB: try again when it ends\n";
    return kExitUsage;
  }
  if (request.dry_run) return plan_here(g, *config, request, json);
  return run_here(g, *config, request, json);
}

}  // namespace cli
}  // namespace hivehook
