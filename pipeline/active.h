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
  bool source_rewritten = false;  // the file changed during its copy across filesystems: nothing moved
};

// How many versions in a row a job may write to its own input (each one a new arrival that runs
// again) before the next version is quarantined instead of run (findings 15 F22). AWS stops a
// Lambda function's recursive S3 loop after about 16 invocations; a file pipeline's job that
// rewrites its input is a bug, or an in-place step whose second run would only repeat it, so 3.
inline constexpr int kSelfRewriteLimit = 3;
// A new version whose ctime is at most this much older than its object's first run start still
// counts as written during the run (file times come from the kernel's coarse clock, up to a tick
// behind the clock the run's start is read from).
inline constexpr int64_t kOwnRunSlackMs = 20;
// Files bigger than this are hashed off the loop thread (discovery, and the identity check of P9).
inline constexpr uint64_t kHashOffLoopBytes = 4 << 20;

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
  int64_t first_run_ms = 0;                        // wall ms its first run started (0: none yet)
  int self_rewrites = 0;                           // versions before it at its key written by their own run, in a row (F22)
  std::vector<std::string> loop_rules;             // recorded, not run: the rules whose job kept rewriting its input
  std::string quarantined_original;                // a retry from the quarantine: the original's key there
  std::string failure_reason;                      // why it failed when no run says so (a loop)
  bool verifying = false;                          // its bytes are being hashed: only its ctime moved (P9)
  std::vector<std::function<void()>> after_verify; // the steps waiting for that answer

  FileIdentity identity() const { return {rec.inode, rec.size, rec.mtime_ns, rec.ctime_ns}; }

  TaskRecord* task(const std::string& rule) {
    for (auto& t : tasks)
      if (t.rule == rule) return &t;
    return nullptr;
  }
};

}  // namespace hivehook
