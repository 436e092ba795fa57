// An object between discovery and its final action, as the pipeline holds it in memory.
// (Internal to pipeline/.)
#pragma once

#include <filesystem>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "landing/key.h"
#include "pipeline/pipeline.h"
#include "rules/rule.h"
#include "store/store.h"

namespace hivehook {

// The final actions, as the object row records them with the decision.
namespace action {
inline constexpr const char* archive = "archive";
inline constexpr const char* remove = "delete";
inline constexpr const char* keep = "keep";
inline constexpr const char* quarantine = "quarantine";
inline constexpr const char* keep_failed = "keep_failed";
inline constexpr const char* duplicate = "duplicate";
}  // namespace action

// What happens to a decided object. Fan-out with different actions: the safest wins. Success:
// keep > archive > delete. Failure: quarantine unless every failed rule says keep.
struct FinalPlan {
  bool success = true;
  std::string action;
  std::vector<std::string> notify;
};

// Where a final action left the object, and what its audit event says. `failed`: the side effect
// failed (the object becomes move_failed, never a final state).
struct Outcome {
  ObjectState state = ObjectState::kept;
  std::string final_path;
  nlohmann::json detail = nlohmann::json::object();
  bool failed = false;
  std::string error;
};

// The ignored names already announced by pipeline `p` (`forget`: drop them, at its end). Kept
// beside the Pipeline so its header (and everything including it) stays as it is.
std::unordered_set<std::string>& ignored_names_seen(const Pipeline* p, bool forget = false);

struct Pipeline::Active {
  ObjectRecord rec;
  ObjectKey key;
  std::filesystem::path path;                      // absolute, in landing (the job's {path})
  std::vector<TaskRecord> tasks;                  // one per matching rule, in rule order
  std::shared_ptr<const RuleSet> ruleset;          // the rules as they were at discovery
  std::vector<RunRecord> failed_runs;              // for quarantine/<key>.error.json and notifications
  RunRecord last_run;                              // for notifications
  bool decided = false;                            // outcome committed, final action pending
  int in_flight = 0;                               // its runs handed to a runner, not yet ended
  mode_t mode = 0;                                 // the file's mode when read (0: not known)
  TimerHandle move_retry;                          // while move_failed: the next attempt

  FileIdentity identity() const { return {rec.inode, rec.size, rec.mtime_ns, rec.ctime_ns}; }

  TaskRecord* task(const std::string& rule) {
    for (auto& t : tasks)
      if (t.rule == rule) return &t;
    return nullptr;
  }
};

}  // namespace hivehook
