// `hivehook replay` and `retry`: the same request whether or not the daemon runs. When it runs
// (it owns the state DB), the request goes to it over the API (POST /api/v1/replay|retry with
// http.token); when nothing runs, this process takes the state DB and carries the replay out itself
// (app/daemon.h, DaemonMode::replay). A dry run is planned from a read-only store.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "app/commands.h"
#include "store/replay_query.h"

namespace hivehook::cli {

// The config line that gives a daemon an API that may act (issue 16 N9: the message suggested
// `http: {listen: HOST:PORT, token: ${HIVEHOOK_TOKEN}}`, which is not YAML: '}' ends a plain scalar
// in a flow mapping). Quoted, it is valid YAML the config accepts (unit RetrySuggestion.*).
inline constexpr const char* kHttpListenerYaml = R"(http: {listen: "127.0.0.1:9464", token: "${HIVEHOOK_TOKEN}"})";
// What the refusal says to do with it.
inline const std::string kHttpListenerSuggestion =
    std::string("replace `metrics: ...` with `") + kHttpListenerYaml + "`, HIVEHOOK_TOKEN (12 characters or more) "
    "in the service's environment file";

// Returns the exit code: 0 done (or planned), 1 some replayed object failed, 2 usage/config/refused.
int submit_replay(Globals& g, const ReplayRequest& request, bool json);

}  // namespace hivehook::cli

namespace hivehook {
// The plan (pipeline/replay_plan.h's JSON) for people, or as JSON. For people, a real run that
// replayed nothing ends with why: every match skipped, or nothing matched.
void print_replay(std::ostream& out, const nlohmann::json& plan, bool json);
}  // namespace hivehook
