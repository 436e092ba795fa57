// `hivehook status [--json]`: daemon up or not, objects by state, queue, running jobs, outbox, recent failures.
#include <iostream>

#include "app/cli_support.h"
#include "store/owner_lock.h"
#include "store/queries.h"

namespace hivehook::cli {

namespace {
int run_status(Globals& g, bool json) {
  auto config = load_config_or_report(g);
  if (!config) return kExitUsage;
  std::string role;
  auto pid = OwnerLock::holder(config->state, &role);
  auto store = open_reader(*config, g);
  nlohmann::json out;
  out["daemon"] = {{"running", pid.has_value()}};
  if (pid) out["daemon"]["pid"] = *pid, out["daemon"]["mode"] = role;
  out["state_db"] = config->state.string();
  if (!store) {
    if (json) std::cout << out.dump(2) << "\n";
    else std::cout << "daemon: " << (pid ? "running" : "not running") << "\nno state DB yet\n";
    return kExitOk;
  }
  auto c = status_counts(*store);
  out["objects"] = c.objects;
  out["queue"] = {{"queued", c.tasks["queued"]}, {"retry_wait", c.tasks["retry_wait"]}};
  out["running_jobs"] = c.runs_in_flight;
  out["outbox"] = {{"pending", c.outbox["pending"]}, {"sent", c.outbox["sent"]}, {"dead", c.outbox["dead"]}};
  nlohmann::json dead = nlohmann::json::array();
  for (const auto& o : dead_notifications(*store, 20)) {
    dead.push_back({{"delivery_id", o.delivery_id}, {"target", o.target}, {"event", o.event},
                    {"key", o.key.value_or("")}, {"rule", o.rule.value_or("")}, {"attempts", o.attempts},
                    {"last_status", o.last_status ? nlohmann::json(*o.last_status) : nlohmann::json(nullptr)},
                    {"last_error", o.last_detail}, {"time", time_text(o.updated_at)}});
  }
  out["dead_notifications"] = dead;
  RunFilter f;
  f.failed_only = true;
  f.limit = 10;
  nlohmann::json failures = nlohmann::json::array();
  for (const auto& r : list_runs(*store, f)) {
    failures.push_back({{"time", time_text(r.started_at)}, {"rule", r.rule}, {"key", r.key}, {"run_id", r.run_id},
                        {"attempt", r.attempt}, {"state", to_string(r.state)},
                        {"exit_code", r.exit_code ? nlohmann::json(*r.exit_code) : nlohmann::json(nullptr)},
                        {"error", r.error}});
  }
  out["recent_failures"] = failures;
  if (json) {
    std::cout << safe_dump(out, 2) << "\n";
    return kExitOk;
  }
  std::cout << "daemon:   " << (pid ? "running (pid " + std::to_string(*pid) + ", " + role + ")" : "not running") << "\n";
  std::cout << "state:    " << config->state.string() << "\n";
  std::cout << "objects: ";
  if (c.objects.empty()) std::cout << " none";
  for (auto& [state, n] : c.objects) std::cout << " " << state << "=" << n;
  std::cout << "\nqueue:    " << c.tasks["queued"] << " queued, " << c.runs_in_flight << " running, "
            << c.tasks["retry_wait"] << " waiting to retry\n";
  std::cout << "outbox:   " << c.outbox["pending"] << " pending, " << c.outbox["sent"] << " sent, " << c.outbox["dead"]
            << " dead\n";
  if (!dead.empty()) {
    std::cout << "dead notifications:\n";
    for (auto& d : dead)
      std::cout << "  " << d["time"].get<std::string>() << "  " << d["target"].get<std::string>() << "  "
                << printable(d["key"].get<std::string>()) << "  " << d["last_error"].get<std::string>() << "\n";
  }
  if (!failures.empty()) {
    std::cout << "recent failures:\n";
    for (auto& f2 : failures)
      std::cout << "  " << f2["time"].get<std::string>() << "  " << f2["rule"].get<std::string>() << "  "
                << printable(f2["key"].get<std::string>()) << "  " << f2["state"].get<std::string>()
                << (f2["exit_code"].is_null() ? "" : " exit " + std::to_string(f2["exit_code"].get<int>())) << "  "
                << f2["error"].get<std::string>() << "\n";
  }
  return kExitOk;
}
}  // namespace

void add_status(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("status", "Daemon up or not, objects by state, queue, running jobs, outbox, failures.");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "one JSON object");
  cmd->callback([&g, json] { g.exit_code = run_status(g, *json); });
}

}  // namespace hivehook::cli
