// Rules: a match, a job, and what to do after it (see DESIGN.md "Rules").
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/redactor.h"
#include "landing/key.h"
#include "orchestration/cron.h"
#include "orchestration/expectation.h"
#include "orchestration/group_template.h"
#include "orchestration/time_zone.h"
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
// An AWS Lambda function run in warm execution environments (DESIGN.md "Lambda runtime").
struct LambdaJob {
  std::string handler;           // as AWS takes it: "app.handler", "src/app.handler", "src/pkg.app.handler"
  std::filesystem::path code;    // absolute folder holding the function's code (LAMBDA_TASK_ROOT)
  std::string runtime = "python3";  // python3 | python3.X | nodejs | nodejsNN.x | provided | provided.al2023 | provided.al2
  int memory_mb = 128;           // AWS_LAMBDA_FUNCTION_MEMORY_SIZE (not enforced)
  std::filesystem::path python;  // a Python interpreter (a virtualenv's bin/python); empty: by runtime
  int warm_max = 0;              // most environments at once; 0: workers
  Duration warm_idle = std::chrono::minutes(5);  // an environment idle this long is stopped; 0: after each invocation
};
struct BuiltinJob {
  std::string name;  // "noop"
};

struct JobSpec {
  std::variant<CommandJob, LambdaJob, BuiltinJob> kind;
  std::map<std::string, std::string> env;
  // Variables of the daemon's own environment the job also gets (DESIGN.md "Jobs' environment");
  // by default it gets only PATH, HOME, LANG, LC_*, TZ and TMPDIR besides what hivehook sets.
  std::vector<std::string> inherit_env;
  bool inherit_all = false;  // `inherit_env: all`
  std::filesystem::path cwd;  // absolute; default: the rules file's folder
  Duration timeout = std::chrono::minutes(15);
};

// Where a value was written, for checks that span rules (after:/requires: names, cycles).
struct SourceAt {
  std::string file;
  int line = 0, col = 0;  // 1-based
};

// `batch:` — a fan-in rule (DESIGN.md "Orchestration"): matching objects collect into groups by
// `group`; a group closes when its marker arrives, it has `count` members, or no member came for
// `quiet`; then the job runs once with every member in `Records[]`.
struct BatchSpec {
  GroupTemplate group;
  enum class When { marker, count, quiet } when = When::marker;
  std::string marker;  // a basename, e.g. "_SUCCESS" (the Hadoop/Spark convention)
  int count = 0;
  Duration quiet{0};
};

// `schedule:` — a rule with no match whose job runs on a cron schedule (EventBridge Scheduler).
struct ScheduleSpec {
  CronExpression cron;
  bool catch_up = true;  // a firing missed while the daemon was down runs once at start
};

// `expect:` — the partition of each period must arrive by a deadline, else `expect.late`.
struct ExpectSpec {
  ExpectationSchedule schedule;  // every, by, partition, zone
  std::string partition_text;    // the template as written
  std::vector<std::string> notify;
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
  // Orchestration (DESIGN.md "Orchestration").
  std::vector<std::string> after;     // on the same object, run only after these rules succeeded
  std::vector<SourceAt> after_at;     // where each name was written
  std::vector<std::string> required_rules;  // `requires:` (a C++ keyword): wait until each of these has succeeded once, on any object
  std::vector<SourceAt> required_at;
  std::optional<BatchSpec> batch;
  std::optional<ScheduleSpec> schedule;  // set: a schedule rule (no match)
  std::optional<ExpectSpec> expect;
  TimeZone timezone;                  // of `schedule` and `expect` (UTC unless `timezone:`)
  std::string source;  // "file:line" where the rule is defined
};

// One rules file as read: its absolute path and its bytes (with ${VAR}s unexpanded).
struct RulesSource {
  std::filesystem::path file;
  std::string text;
};

struct RuleSet {
  std::vector<Rule> rules;                   // in load order (files sorted, then order in file)
  std::vector<std::filesystem::path> files;  // the files read
  std::vector<RulesSource> sources;          // what they held, to keep as the last good rules
  // Masked at every outlet (base/redactor.h, rules/secrets.h), computed once per load: the config's
  // secrets, the credential-named values of every rule's job.env and of this process's
  // environment (which jobs inherit).
  std::vector<std::string> secrets;
  Redactor redactor;  // masks `secrets` and the credential patterns (base/redactor.h): the one masking
  const Rule* find(std::string_view name) const;
};

// Loads rules from a file or a folder of *.yaml (sorted by name). Every problem goes to `diags`
// at file:line:col; returns nullopt when there is any error. `config` supplies notify target
// names and the base for relative paths is each rules file's folder.
std::optional<RuleSet> load_rules(const std::filesystem::path& path, const Config& config, Diagnostics& diags);
// The same from texts already read (the last good rules kept in the store): each source parsed as
// if read from its `file` (diagnostics name it, relative paths resolve against its folder).
std::optional<RuleSet> load_rules(const std::vector<RulesSource>& sources, const Config& config, Diagnostics& diags);

// Does one rule's match hold for a key?
bool rule_matches(const MatchSpec& match, const ObjectKey& key);
// Every rule that runs on this one object (per-object rules: neither `schedule` nor `batch`),
// in rule order.
std::vector<const Rule*> match_rules(const RuleSet& rules, const ObjectKey& key);
// Every `batch` rule whose match accepts the key (the object joins one group of each), in rule order.
std::vector<const Rule*> match_batch_rules(const RuleSet& rules, const ObjectKey& key);

// Can a key that this match accepts carry partition column `name` ("name=value" folder)? False only
// when it provably cannot: a glob without a '**' segment none of whose folder segments can begin
// with "name=". Used by `check` for batch groups and expected partitions.
bool match_can_produce_partition(const MatchSpec& match, std::string_view name);
// Does EVERY key this match accepts carry partition column `name`? True when the match names it
// (`partition:`), or its glob (not starting with '**') or its prefix has a folder below the table
// that begins with "name=". Used by `check`: a batch group naming a column a matched key can lack
// would collect that key into no group (issue 14, F3 of the new-user test).
bool match_always_has_partition(const MatchSpec& match, std::string_view name);
// Does every key this match accepts have a table (a first folder)? True when its glob has two
// segments other than '**', its prefix has a '/', or it names a partition column.
bool match_always_has_table(const MatchSpec& match);

// Checks across rules (after:/requires: name known rules, no cycles, after: names no schedule or
// batch rule); each problem at the file:line:col where the name was written.
void check_rule_graph(const std::vector<Rule>& rules, Diagnostics& diags);

// The order in which the rules matching one object start: a rule comes after every rule its
// `after:` names (among `matching`), otherwise in rule order. `matching` must be cycle-free
// (check_rule_graph refuses cycles).
std::vector<const Rule*> run_order(const std::vector<const Rule*>& matching);

// S3-style glob over a whole key: '*' and '?' stay within a segment, '**' crosses segments.
bool key_glob_match(std::string_view pattern, std::string_view key);

}  // namespace hivehook
