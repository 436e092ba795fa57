// `hivehook replay` and `retry`: the same request whether or not the daemon runs. When it runs
// (it owns the state DB), the request goes to it over the API (POST /api/v1/replay|retry with
// http.token); when nothing runs, this process takes the state DB and carries the replay out itself
// (app/daemon.h, DaemonMode::replay). A dry run is planned from a read-only store.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>

#include "app/commands.h"
#include "store/replay_query.h"

namespace hivehook::cli {

// Returns the exit code: 0 done (or planned), 1 some replayed object failed, 2 usage/config/refused.
int submit_replay(Globals& g, const ReplayRequest& request, bool json);

}  // namespace hivehook::cli

namespace hivehook {
// The plan (pipeline/replay_plan.h's JSON) for people, or as JSON. For people, a real run that
// replayed nothing ends with why: every match skipped, or nothing matched.
void print_replay(std::ostream& out, const nlohmann::json& plan, bool json);
}  // namespace hivehook
