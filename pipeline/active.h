// An object between discovery and its final action, as the pipeline holds it in memory.
// (Internal to pipeline/.)
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "landing/key.h"
#include "pipeline/pipeline.h"
#include "rules/rule.h"
#include "store/store.h"

namespace hivehook {

// Fan-out with different actions: the safest wins. Success: keep > archive > delete.
// Failure: quarantine unless every failed rule says keep.
struct FinalPlan {
  bool success = true;
  SuccessAction on_success = SuccessAction::remove;
  FailureAction on_failure = FailureAction::keep;
  std::vector<std::string> notify;
};

// Where the object ended and what its audit event says.
struct Outcome {
  ObjectState state = ObjectState::kept;
  std::string final_path;
  nlohmann::json detail = nlohmann::json::object();
};

struct Pipeline::Active {
  ObjectRecord rec;
  ObjectKey key;
  std::filesystem::path path;                      // absolute, in landing (the job's {path})
  std::vector<TaskRecord> tasks;                  // one per matching rule, in rule order
  std::shared_ptr<const RuleSet> ruleset;          // the rules as they were at discovery
  std::vector<RunRecord> failed_runs;              // for quarantine/<key>.error.json and notifications
  RunRecord last_run;                              // for notifications
  bool decided = false;                            // outcome committed, final action pending

  TaskRecord* task(const std::string& rule) {
    for (auto& t : tasks)
      if (t.rule == rule) return &t;
    return nullptr;
  }
};

}  // namespace hivehook
