// The tables for rules files: a rule, its match, its job and what happens after it.
// The tables use designated initializers and rely on the defaults of the keys they leave out;
// g++ 12 still warns about those under -Wextra.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "base/executable.h"
#include "rules/glob.h"
#include "rules/lambda_function.h"
#include "rules/schemas.h"

namespace hivehook {

using schema::Field;
using schema::Mapping;
using schema::Reader;
using schema::Type;
using schema::Value;
namespace fs = std::filesystem;

namespace {

bool is_env_name(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}


// Is `name` an executable file in one of $PATH's folders?
bool on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string ignored;
  return find_executable(name, path ? path : "", &ignored).has_value();
}

// "{path}" etc. are substituted at run time; a misspelt one would reach the job unchanged.
void check_placeholders(const std::string& arg, const YAML::Mark& mark, Reader& rd) {
  static const std::vector<std::string_view> known{"path", "key", "bucket", "name", "table", "run_id", "attempt", "group"};
  for (size_t i = 0; i < arg.size(); ++i) {
    if (arg[i] != '{') continue;
    if (i + 1 < arg.size() && arg[i + 1] == '{') {
      ++i;
      continue;
    }
    size_t close = arg.find('}', i);
    if (close == std::string::npos) return;
    std::string name = arg.substr(i + 1, close - i - 1);
    bool ok = std::find(known.begin(), known.end(), name) != known.end() ||
              (name.rfind("partition.", 0) == 0 && name.size() > 10);
    if (!ok) {
      std::string hint = schema::closest(name, known);
      rd.warning(mark, "unknown placeholder '{" + name + "}' is passed unchanged" +
                           (hint.empty() ? std::string(" (known: {path}, {key}, {bucket}, {name}, {table}, "
                                                       "{partition.NAME}, {run_id}, {attempt})")
                                         : " (did you mean '{" + hint + "}'?)"));
    }
    i = close;
  }
}

std::optional<std::string> check_command(const Value& v, Reader& rd) {
  const std::string& exe = v.list.front();
  if (exe.empty()) return "the command's first element (the program) is empty";
  if (exe.find('/') != std::string::npos && exe.front() != '/')
    return "program '" + exe + "' is a relative path, relative to nothing: use an absolute path or a bare name "
           "found on PATH";
  if (exe.front() == '/') {
    if (::access(exe.c_str(), X_OK) != 0 || fs::is_directory(exe))
      rd.warning(v.list_marks.front(), "program '" + exe + "' is not an executable file (yet)");
  } else if (exe.find('{') == std::string::npos && !on_path(exe)) {
    rd.warning(v.list_marks.front(), "program '" + exe + "' is not found on PATH (yet)");
  }
  for (size_t i = 0; i < v.list.size(); ++i) check_placeholders(v.list[i], v.list_marks[i], rd);
  return std::nullopt;
}

// Does a command argument look like a file named relative to the job's cwd ("scripts/etl.py",
// "load.sh")? Options, placeholders, ${VAR}s, URLs and key=value pairs are not.
bool looks_like_relative_file(const std::string& a) {
  if (a.empty() || a.front() == '-' || a.front() == '/') return false;
  if (a.find_first_of("{$:= \t") != std::string::npos) return false;
  if (a.find('/') != std::string::npos) return true;
  static const std::vector<std::string_view> scripts{".py", ".sh", ".bash", ".js", ".mjs", ".cjs", ".ts", ".rb",
                                                     ".pl", ".php", ".lua", ".R", ".jar", ".sql", ".awk"};
  return std::any_of(scripts.begin(), scripts.end(), [&](std::string_view ext) {
    return a.size() > ext.size() && a.compare(a.size() - ext.size(), ext.size(), ext) == 0;
  });
}

// A command's relative file arguments, as the job will see them from its cwd: with
// `[python3, scripts/etl.py, "{path}"]` and the wrong cwd, the job would only fail at run time
// (and be quarantined after its retries).
void check_relative_files(JobSpec& j, const YAML::Node& node, Reader& rd) {
  const auto* cmd = std::get_if<CommandJob>(&j.kind);
  const YAML::Node list = node["command"];
  if (!cmd || !list || !list.IsSequence()) return;
  for (size_t i = 1; i < cmd->argv.size() && i < list.size(); ++i) {
    const std::string& a = cmd->argv[i];
    std::error_code ec;
    if (looks_like_relative_file(a) && !fs::exists(j.cwd / a, ec))
      rd.warning(list[i].Mark(), "'" + a + "' does not exist relative to the job's cwd '" + display_path(j.cwd) +
                                     "' (yet)");
  }
}

// Every name in a `notify:` list must be a target of the config's `notify:`.
void check_targets(const Value& v, Reader& rd) {
  if (!rd.config) return;
  std::vector<std::string_view> names;
  for (const auto& [name, _] : rd.config->notify) names.push_back(name);
  for (size_t i = 0; i < v.list.size(); ++i) {
    if (rd.config->notify.count(v.list[i])) continue;
    std::string hint = schema::closest(v.list[i], names);
    rd.error(v.list_marks[i],
             "unknown notify target '" + v.list[i] + "'" +
                 (!hint.empty()       ? " (did you mean '" + hint + "'?)"
                  : names.empty()     ? " (the config defines no 'notify' targets)"
                                      : " (defined targets: " + schema::quoted_list(names, "and") + ")"));
  }
}

const Mapping<MatchSpec>& match_schema() {
  static const Mapping<MatchSpec> m{
      .name = "match",
      .description = "S3-style filters on the object's key; every filter given must hold.",
      .fields =
          {
              {.key = "prefix", .description = "The key starts with this text.", .nonempty = true,
               .check = [](const Value& v, Reader&) -> std::optional<std::string> {
                 if (v.str.front() == '/') return "'prefix' starts with '/' but keys are relative to landing";
                 return std::nullopt;
               },
               .set = [](MatchSpec& s, const Value& v, Reader&) { s.prefix = v.str; }},
              {.key = "suffix", .description = "The key ends with this text.", .nonempty = true,
               .set = [](MatchSpec& s, const Value& v, Reader&) { s.suffix = v.str; }},
              {.key = "glob",
               .description = "The whole key matches: `*`, `?`, `[...]` within one segment, a `**` segment "
                              "spans zero or more segments.",
               .check = [](const Value& v, Reader&) { return key_glob_problem(v.str); },
               .set = [](MatchSpec& s, const Value& v, Reader&) { s.glob = v.str; }},
              {.key = "partition", .type = Type::string_map,
               .description = "Partition columns that must equal these values (compared decoded).",
               .check = [](const Value& v, Reader&) -> std::optional<std::string> {
                 if (v.map.empty()) return "'partition' needs at least one 'name: value'";
                 for (const auto& [name, _] : v.map)
                   if (name.empty() || name.find_first_of("/=") != std::string::npos)
                     return "partition column '" + name + "' must be non-empty, without '/' or '='";
                 return std::nullopt;
               },
               .set = [](MatchSpec& s, const Value& v, Reader&) { s.partition = v.map; }},
          },
      .at_least_one_of = {{"prefix", "suffix", "glob", "partition"}},
  };
  return m;
}

const Mapping<LambdaJob>& warm_schema() {
  static const Mapping<LambdaJob> m{
      .name = "warm",
      .description = "How execution environments are kept warm (initialised once, reused one invocation at a time).",
      .fields =
          {
              {.key = "max", .type = Type::integer, .default_text = "workers",
               .description = "Most execution environments of this function at once (a rule's `concurrency` "
                              "bounds them too); invocations beyond wait for a free one.",
               .min = 1, .max = 1000, .set = [](LambdaJob& l, const Value& v, Reader&) { l.warm_max = int(v.num); }},
              {.key = "idle", .type = Type::duration, .default_text = "5m",
               .description = "An environment idle this long is stopped; `0` stops it after every invocation "
                              "(one process per invocation).",
               .min = 0, .max = 7 * 24 * 3'600'000,
               .set = [](LambdaJob& l, const Value& v, Reader&) { l.warm_idle = v.dur; }},
          },
  };
  return m;
}

const Mapping<LambdaJob>& lambda_schema() {
  static const Mapping<LambdaJob> m{
      .name = "lambda",
      .description = "An unchanged AWS Lambda function (Python, Node.js or a custom runtime's `bootstrap`), run "
                     "in warm execution environments that hivehook serves the Lambda Runtime API to.",
      .fields =
          {
              {.key = "handler", .description =
                   "Required except for `provided`. As AWS takes it: `module.function` for Python (`app.handler`, "
                   "`src/hello_world/app.lambda_handler`, `src/hello_world.app.lambda_handler`), `file.function` "
                   "for Node.js (`index.handler`, `src/app.handler`); any text for `provided` (given as `$_HANDLER`).",
               .nonempty = true,
               .set = [](LambdaJob& l, const Value& v, Reader&) { l.handler = v.str; }},
              {.key = "code", .type = Type::path, .default_text = ". (the rules file's folder)",
               .description = "Folder holding the function's code (`LAMBDA_TASK_ROOT`), relative to the rules file.",
               .set = [](LambdaJob& l, const Value& v, Reader&) { l.code = v.str; }},
              {.key = "runtime", .default_text = "python3",
               .description = "`python3` or `python3.X` (hivehook's Python bootstrap), `nodejs` or `nodejsNN.x` "
                              "(its Node.js bootstrap, `node` from PATH), `provided`, `provided.al2023` or "
                              "`provided.al2` (the `bootstrap` executable in `code`, as on AWS).",
               .check = [](const Value& v, Reader&) -> std::optional<std::string> {
                 if (lambda_runtime_family(v.str)) return std::nullopt;
                 return "unknown runtime '" + v.str + "' (python3, python3.X, nodejs, nodejsNN.x, provided, "
                        "provided.al2023 or provided.al2)";
               },
               .set = [](LambdaJob& l, const Value& v, Reader&) { l.runtime = v.str; }},
              {.key = "python", .type = Type::path,
               .description = "The Python interpreter, e.g. a virtualenv's `bin/python` (its packages are "
                              "then importable); relative to the rules file. Default: `/usr/bin/python3` (or "
                              "`/usr/bin/python3.X`), else the one on PATH.",
               .set = [](LambdaJob& l, const Value& v, Reader&) { l.python = v.str; }},
              {.key = "memory_mb", .type = Type::integer, .default_text = "128",
               .description = "`AWS_LAMBDA_FUNCTION_MEMORY_SIZE` and the context's `memory_limit_in_mb` (not "
                              "enforced).",
               .min = 128, .max = 10240,
               .set = [](LambdaJob& l, const Value& v, Reader&) { l.memory_mb = int(v.num); }},
              {.key = "warm", .type = Type::mapping, .default_text = "{idle: 5m}",
               .description = "Warm execution environments.", .nested = "warm",
               .set = [](LambdaJob& l, const Value& v, Reader& rd) { schema::parse_mapping(v.node, warm_schema(), l, rd); }},
          },
      .finish = [](LambdaJob& l, const YAML::Node& node, Reader& rd) {
        const auto family = *lambda_runtime_family(l.runtime);
        auto mark_of = [&](const char* key) { return node[key] ? node[key].Mark() : node.Mark(); };
        if (!l.python.empty() && family != LambdaRuntimeFamily::python) {
          rd.error(mark_of("python"), "'python' applies only to a Python runtime, not '" + l.runtime + "'");
          return;
        }
        if (l.handler.empty() && family != LambdaRuntimeFamily::provided) {
          rd.error(node.Mark(), "missing required key 'handler' in lambda");
          return;
        }
        if (auto problem = l.handler.empty() ? std::nullopt : lambda_handler_problem(family, l.handler)) {
          rd.error(mark_of("handler"), *problem);
          return;
        }
        std::error_code ec;
        if (!l.python.empty() && (::access(l.python.c_str(), X_OK) != 0 || fs::is_directory(l.python, ec)))
          rd.warning(mark_of("python"), "python '" + display_path(l.python) + "' is not an executable file (yet)");
        YAML::Mark at = mark_of("code");
        if (!fs::is_directory(l.code, ec)) {
          rd.error(at, "lambda code folder '" + display_path(l.code) + "' does not exist");
          return;
        }
        const std::string module = lambda_handler_module_path(family, l.handler);
        switch (family) {
          case LambdaRuntimeFamily::python:
            if (!fs::exists(l.code / (module + ".py"), ec) && !fs::exists(l.code / module / "__init__.py", ec))
              rd.warning(at, "no '" + module + ".py' in lambda code folder '" + display_path(l.code) + "'");
            break;
          case LambdaRuntimeFamily::nodejs: {
            bool found = false;
            for (const char* ext : {".js", ".mjs", ".cjs"}) found = found || fs::exists(l.code / (module + ext), ec);
            if (!found)
              rd.warning(at, "no '" + module + ".js', '.mjs' or '.cjs' in lambda code folder '" +
                                 display_path(l.code) + "'");
            break;
          }
          case LambdaRuntimeFamily::provided: {
            const fs::path bootstrap = l.code / "bootstrap";
            if (::access(bootstrap.c_str(), X_OK) != 0 || fs::is_directory(bootstrap, ec))
              rd.warning(at, "no executable 'bootstrap' in lambda code folder '" + display_path(l.code) + "' (yet)");
            break;
          }
        }
      }};
  return m;
}

const Mapping<JobSpec>& job_schema() {
  static const Mapping<JobSpec> m{
      .name = "job",
      .description = "What runs for each matching object: exactly one of `command`, `lambda` or `builtin`.",
      .fields =
          {
              {.key = "command", .type = Type::string_list,
               .description = "argv, no shell: `{path}`, `{key}`, `{bucket}`, `{name}`, `{table}`, "
                              "`{partition.NAME}`, `{run_id}`, `{attempt}` are substituted per element. The "
                              "program is an absolute path or a bare name looked up on PATH.",
               .nonempty = true, .check = check_command,
               .set = [](JobSpec& j, const Value& v, Reader&) { j.kind = CommandJob{v.list}; }},
              {.key = "lambda", .type = Type::mapping,
               .description = "An AWS Lambda function (Python, Node.js or a custom runtime), kept warm.",
               .nested = "lambda",
               .set = [](JobSpec& j, const Value& v, Reader& rd) {
                 LambdaJob l;
                 l.code = rd.base_dir();
                 schema::parse_mapping(v.node, lambda_schema(), l, rd);
                 j.kind = l;
               }},
              {.key = "builtin", .description = "A job built into hivehook (`noop` succeeds at once).",
               .choices = {"noop"}, .set = [](JobSpec& j, const Value& v, Reader&) { j.kind = BuiltinJob{v.str}; }},
              {.key = "env", .type = Type::string_map, .description = "Extra environment variables of the job.",
               .check = [](const Value& v, Reader& rd) -> std::optional<std::string> {
                 for (size_t i = 0; i < v.map.size(); ++i) {
                   const std::string& name = v.map[i].first;
                   if (!is_env_name(name)) return "'" + name + "' is not a valid environment variable name";
                   if (name.rfind("HIVEHOOK_", 0) == 0)
                     rd.warning(v.map_marks[i], "'" + name + "' is set by hivehook for every run and overrides this");
                 }
                 return std::nullopt;
               },
               .set = [](JobSpec& j, const Value& v, Reader&) {
                 for (const auto& [name, value] : v.map) j.env[name] = value;
               }},
              {.key = "inherit_env", .type = Type::string_list, .default_text = "[] (none)",
               .description = "Variables of the daemon's environment the job also gets: a list of names, or "
                              "`all`. Jobs get a clean environment otherwise: PATH, HOME, LANG, LC_*, TZ, "
                              "TMPDIR, what hivehook sets (HIVEHOOK_*) and `env`; never notification secrets.",
               .scalar_as_list = true,
               .check = [](const Value& v, Reader&) -> std::optional<std::string> {
                 for (const auto& name : v.list) {
                   if (name == "all" && v.list.size() > 1) return "'all' stands alone: `inherit_env: all`";
                   if (name != "all" && !is_env_name(name))
                     return "'" + name + "' is not a valid environment variable name";
                 }
                 return std::nullopt;
               },
               .set = [](JobSpec& j, const Value& v, Reader&) {
                 if (v.list.size() == 1 && v.list[0] == "all") j.inherit_all = true;
                 else j.inherit_env = v.list;
               }},
              {.key = "cwd", .type = Type::path, .default_text = ". (the rules file's folder)",
               .description = "Working folder of the job, relative to the rules file.",
               .check = [](const Value& v, Reader&) -> std::optional<std::string> {
                 std::error_code ec;
                 if (!fs::is_directory(v.str, ec)) return "cwd '" + display_path(v.str) + "' is not a folder";
                 return std::nullopt;
               },
               .set = [](JobSpec& j, const Value& v, Reader&) { j.cwd = v.str; }},
              {.key = "timeout", .type = Type::duration, .default_text = "15m",
               .description = "The job's process group is killed after this long.", .min = 1,
               .set = [](JobSpec& j, const Value& v, Reader&) { j.timeout = v.dur; }},
          },
      .exactly_one_of = {{"command", "lambda", "builtin"}},
      .finish = check_relative_files,
  };
  return m;
}

Mapping<Rule> outcome_schema(bool success) {
  static const std::vector<std::string_view> on_success_actions{"archive", "delete", "keep"};
  static const std::vector<std::string_view> on_failure_actions{"quarantine", "keep"};
  return Mapping<Rule>{
      .name = success ? "on_success" : "on_failure",
      .description = success ? "After every matching rule's run succeeded."
                             : "After a run failed for good (no retries left, or exit 65).",
      .fields =
          {
              {.key = "action", .default_text = success ? "archive" : "quarantine",
               .description = success ? "Move the object to archive, delete it, or leave it in landing."
                                      : "Move the object to quarantine (with `<key>.error.json`), or leave it.",
               .choices = success ? on_success_actions : on_failure_actions,
               .set = [success](Rule& r, const Value& v, Reader&) {
                 if (success)
                   r.on_success = v.str == "delete" ? SuccessAction::remove
                                  : v.str == "keep" ? SuccessAction::keep
                                                    : SuccessAction::archive;
                 else
                   r.on_failure = v.str == "keep" ? FailureAction::keep : FailureAction::quarantine;
               }},
              {.key = "notify", .type = Type::string_list, .default_text = "[]",
               .description = "Names of targets in the config's `notify:`.", .scalar_as_list = true,
               .set = [success](Rule& r, const Value& v, Reader& rd) {
                 check_targets(v, rd);
                 (success ? r.notify_success : r.notify_failure) = v.list;
               }},
          },
  };
}

const Mapping<Rule>& on_success_schema() {
  static const Mapping<Rule> m = outcome_schema(true);
  return m;
}
const Mapping<Rule>& on_failure_schema() {
  static const Mapping<Rule> m = outcome_schema(false);
  return m;
}

// The rule table with the orchestration keys (orchestration_schema.cpp) appended.
Mapping<Rule> with_orchestration(Mapping<Rule> m) {
  for (auto& f : orchestration_rule_fields()) m.fields.push_back(std::move(f));
  return m;
}

const Mapping<Rule>& rule_schema() {
  static const Mapping<Rule> m = with_orchestration(Mapping<Rule>{
      .name = "rule",
      .description = "One entry of a rules file's `rules:` list.",
      .fields =
          {
              {.key = "name", .required = true, .description = "Unique over all rules files; `[a-z0-9-]+`.",
               .check = [](const Value& v, Reader&) -> std::optional<std::string> {
                 bool ok = !v.str.empty() && v.str.size() <= 128 &&
                           std::all_of(v.str.begin(), v.str.end(),
                                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
                 if (!ok) return "rule name '" + v.str + "' must be 1-128 of a-z, 0-9 and '-'";
                 return std::nullopt;
               },
               .set = [](Rule& r, const Value& v, Reader&) { r.name = v.str; }},
              {.key = "description", .description = "Free text for people.",
               .set = [](Rule& r, const Value& v, Reader&) { r.description = v.str; }},
              {.key = "match", .type = Type::mapping, .description = "Which keys fire the job (every rule but a `schedule` one).",
               .nested = "match",
               .set = [](Rule& r, const Value& v, Reader& rd) { schema::parse_mapping(v.node, match_schema(), r.match, rd); }},
              {.key = "job", .type = Type::mapping, .required = true, .description = "What runs.", .nested = "job",
               .set = [](Rule& r, const Value& v, Reader& rd) { schema::parse_mapping(v.node, job_schema(), r.job, rd); }},
              {.key = "retries", .type = Type::integer, .default_text = "2",
               .description = "Attempts after the first (exit 65 is never retried).", .min = 0, .max = 100,
               .set = [](Rule& r, const Value& v, Reader&) { r.retries = int(v.num); }},
              {.key = "backoff", .type = Type::mapping, .default_text = "{initial: 1s, max: 5m}",
               .description = "Delay between attempts.", .nested = "backoff",
               .set = [](Rule& r, const Value& v, Reader& rd) {
                 schema::parse_mapping(v.node, backoff_schema(false), r.backoff, rd);
               }},
              {.key = "concurrency", .type = Type::integer, .default_text = "0",
               .description = "Most runs of this rule at once; `0` = no limit but `workers`; `1` runs in "
                              "discovery order.",
               .min = 0, .max = 10000, .set = [](Rule& r, const Value& v, Reader&) { r.concurrency = int(v.num); }},
              {.key = "settle", .type = Type::duration, .default_text = "0s",
               .description = "Wait until the file has been quiet this long.", .min = 0, .max = 24 * 3'600'000,
               .set = [](Rule& r, const Value& v, Reader&) { r.settle = v.dur; }},
              {.key = "on_success", .type = Type::mapping, .default_text = "{action: archive}",
               .description = "After success.", .nested = "on_success",
               .set = [](Rule& r, const Value& v, Reader& rd) { schema::parse_mapping(v.node, on_success_schema(), r, rd); }},
              {.key = "on_failure", .type = Type::mapping, .default_text = "{action: quarantine}",
               .description = "After failure.", .nested = "on_failure",
               .set = [](Rule& r, const Value& v, Reader& rd) { schema::parse_mapping(v.node, on_failure_schema(), r, rd); }},
              {.key = "notify_each_run", .type = Type::boolean, .default_text = "false",
               .description = "Also notify `on_failure` targets of each failed attempt, not only the outcome.",
               .set = [](Rule& r, const Value& v, Reader&) { r.notify_each_run = v.flag; }},
          },
      .exactly_one_of = {{"match", "schedule"}},
      .finish = finish_orchestration,
      .keys_together = orchestration_keys_together,
  });
  return m;
}

}  // namespace

void check_notify_targets(const Value& v, Reader& rd) { check_targets(v, rd); }

const Mapping<RulesFileDraft>& rules_file_schema() {
  static const Mapping<RulesFileDraft> m{
      .name = "rules file",
      .description = "A rules file (`rules/*.yaml`): a top-level `rules:` list.",
      .fields =
          {
              {.key = "rules", .type = Type::mapping_list, .required = true, .description = "The rules, in order.",
               .nested = "rule",
               .set = [](RulesFileDraft& d, const Value& v, Reader& rd) {
                 for (const auto& item : v.node) {
                   Rule r;
                   r.job.cwd = rd.base_dir();
                   YAML::Mark at = item.Mark();
                   r.source = rd.file() + ":" + std::to_string(at.line + 1);
                   schema::parse_mapping(item, rule_schema(), r, rd);
                   d.marks.push_back(item.IsMap() && item["name"] ? item["name"].Mark() : at);
                   d.rules.push_back(std::move(r));
                 }
               }},
          },
  };
  return m;
}

std::vector<DocSection> rule_doc_sections() {
  auto section = [](std::string name, const auto& m) {
    return DocSection{std::move(name), std::string(m.description), schema::doc_rows(m)};
  };
  std::vector<DocSection> out{section("rules-file", rules_file_schema()), section("rule", rule_schema()),
          section("match", match_schema()),           section("job", job_schema()),
          section("lambda", lambda_schema()),         section("warm", warm_schema()),
          section("on_success", on_success_schema()),
          section("on_failure", on_failure_schema())};
  auto more = orchestration_doc_sections();
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

}  // namespace hivehook
