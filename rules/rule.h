// Rules: a match, a job, and what to do after it (see DESIGN.md "Rules").
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "landing/key.h"
#include "rules/config.h"

namespace hivehook {

struct MatchSpec {
  std::optional<std::string> prefix;
  std::optional<std::string> suffix;
  std::optional<std::string> glob;  // '*' within a segment, '**' across segments, '?'
  Partition partition;              // every name must equal its value
};

struct CommandJob {
  std::vector<std::string> argv;  // ${VAR} expanded at load; {placeholders} at run time
};
struct LambdaJob {
  std::string handler;           // "module.function"
  std::filesystem::path code;    // absolute folder holding the module
  std::string runtime = "python3";
  int memory_mb = 128;
};
struct BuiltinJob {
  std::string name;  // "noop"
};

struct JobSpec {
  std::variant<CommandJob, LambdaJob, BuiltinJob> kind;
  std::map<std::string, std::string> env;
  std::filesystem::path cwd;  // absolute; default: the rules file's folder
  Duration timeout = std::chrono::minutes(15);
};

enum class SuccessAction { archive, remove, keep };  // "archive" | "delete" | "keep"
enum class FailureAction { quarantine, keep };       // "quarantine" | "keep"

struct Rule {
  std::string name;  // unique, [a-z0-9-]+
  std::string description;  // free text for people
  MatchSpec match;
  JobSpec job;
  int retries = 2;  // attempts after the first
  BackoffPolicy backoff;
  int concurrency = 0;  // 0 = no per-rule limit (only `workers`)
  Duration settle{0};
  SuccessAction on_success = SuccessAction::archive;
  std::vector<std::string> notify_success;
  FailureAction on_failure = FailureAction::quarantine;
  std::vector<std::string> notify_failure;
  bool notify_each_run = false;  // also notify on each failed attempt (not only the final outcome)
  std::string source;  // "file:line" where the rule is defined
};

struct RuleSet {
  std::vector<Rule> rules;                   // in load order (files sorted, then order in file)
  std::vector<std::filesystem::path> files;  // the files read
  const Rule* find(std::string_view name) const;
};

// Loads rules from a file or a folder of *.yaml (sorted by name). Every problem goes to `diags`
// at file:line:col; returns nullopt when there is any error. `config` supplies notify target
// names and the base for relative paths is each rules file's folder.
std::optional<RuleSet> load_rules(const std::filesystem::path& path, const Config& config, Diagnostics& diags);

// Does one rule's match hold for a key?
bool rule_matches(const MatchSpec& match, const ObjectKey& key);
// Every matching rule, in rule order.
std::vector<const Rule*> match_rules(const RuleSet& rules, const ObjectKey& key);

// S3-style glob over a whole key: '*' and '?' stay within a segment, '**' crosses segments.
bool key_glob_match(std::string_view pattern, std::string_view key);

}  // namespace hivehook
