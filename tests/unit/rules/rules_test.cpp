#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "rules/rule.h"
#include "rules_test_util.h"

using namespace hivehook;
using namespace hivehook::test;
using namespace std::chrono_literals;

namespace {

class Rules : public ::testing::Test {
 protected:
  void SetUp() override {
    Diagnostics d;
    auto c = load_config(minimal_config(dir), d);
    ASSERT_TRUE(c) << d.str();
    config = *c;
  }
  // Loads one rules file "rules/r.yaml" with this text.
  std::optional<RuleSet> load(const std::string& text) {
    dir.write("rules/r.yaml", text);
    return load_rules(dir.path() / "rules", config, diags);
  }
  TempDir dir;
  Config config;
  Diagnostics diags;
};

}  // namespace

TEST_F(Rules, FullRuleIsRead) {
  dir.mkdir("rules/handlers");
  dir.write("rules/handlers/etl.py", "def handler(e, c): pass\n");
  ::setenv("HH_WAREHOUSE", "/srv/wh", 1);
  auto rs = load(R"(rules:
  - name: transactions-etl
    description: Load daily transactions.
    match:
      prefix: transactions/
      suffix: .csv
      glob: "transactions/year=*/**/*.csv"
      partition: {year: "2023", month: 03}
    job:
      command: [/bin/echo, --warehouse, "${HH_WAREHOUSE}", "{path}"]
      env: {LOG_LEVEL: info}
      cwd: handlers
      timeout: 10m
    retries: 0
    backoff: {initial: 250ms, max: 5m}
    concurrency: 1
    settle: 2s
    on_success: {action: delete, notify: [ops-hook]}
    on_failure: {action: keep, notify: [ops-hook, ops-mail]}
    notify_each_run: true
  - name: py
    match: {suffix: .json}
    job:
      lambda: {handler: etl.handler, code: handlers, memory_mb: 256}
  - name: nothing
    match: {prefix: x/}
    job: {builtin: noop}
)");
  ASSERT_TRUE(rs) << diags.str();
  EXPECT_FALSE(diags.has_errors());
  ASSERT_EQ(rs->rules.size(), 3u);
  const Rule& r = rs->rules[0];
  EXPECT_EQ(r.name, "transactions-etl");
  EXPECT_EQ(r.description, "Load daily transactions.");
  EXPECT_EQ(r.match.prefix, "transactions/");
  EXPECT_EQ(r.match.suffix, ".csv");
  EXPECT_EQ(r.match.glob, "transactions/year=*/**/*.csv");
  EXPECT_EQ(r.match.partition, (Partition{{"year", "2023"}, {"month", "03"}}));
  const auto& cmd = std::get<CommandJob>(r.job.kind);
  EXPECT_EQ(cmd.argv, (std::vector<std::string>{"/bin/echo", "--warehouse", "/srv/wh", "{path}"}));
  EXPECT_EQ(r.job.env.at("LOG_LEVEL"), "info");
  EXPECT_EQ(r.job.cwd, dir.path() / "rules/handlers");
  EXPECT_EQ(r.job.timeout, Duration(10min));
  EXPECT_EQ(r.retries, 0);
  EXPECT_EQ(r.backoff.initial, Duration(250));
  EXPECT_EQ(r.concurrency, 1);
  EXPECT_EQ(r.settle, Duration(2s));
  EXPECT_EQ(r.on_success, SuccessAction::remove);
  EXPECT_EQ(r.notify_success, std::vector<std::string>{"ops-hook"});
  EXPECT_EQ(r.on_failure, FailureAction::keep);
  EXPECT_EQ(r.notify_failure.size(), 2u);
  EXPECT_TRUE(r.notify_each_run);
  EXPECT_EQ(r.source, display_path(dir.path() / "rules/r.yaml") + ":2");

  const auto& l = std::get<LambdaJob>(rs->rules[1].job.kind);
  EXPECT_EQ(l.handler, "etl.handler");
  EXPECT_EQ(l.code, dir.path() / "rules/handlers");
  EXPECT_EQ(l.memory_mb, 256);
  EXPECT_EQ(rs->rules[1].job.cwd, dir.path() / "rules");  // default: the rules file's folder
  EXPECT_EQ(rs->rules[1].retries, 2);
  EXPECT_EQ(rs->rules[1].on_success, SuccessAction::archive);
  EXPECT_EQ(rs->rules[1].on_failure, FailureAction::quarantine);
  EXPECT_EQ(rs->rules[1].job.timeout, Duration(15min));
  EXPECT_EQ(std::get<BuiltinJob>(rs->rules[2].job.kind).name, "noop");
  EXPECT_EQ(rs->find("py"), &rs->rules[1]);
  EXPECT_EQ(rs->find("nope"), nullptr);
}

TEST_F(Rules, UnknownKeysWithSuggestions) {
  EXPECT_FALSE(load(R"(rules:
  - name: a
    retires: 3
    match: {prefx: a/}
    job: {builtin: noop, timout: 1s}
    on_success: {acton: keep}
)"));
  const std::string f = "r.yaml";
  EXPECT_TRUE(HasDiag(diags, f, 3, 5, "unknown key 'retires' in rule (did you mean 'retries'?)"));
  EXPECT_TRUE(HasDiag(diags, f, 4, 13, "unknown key 'prefx' in match (did you mean 'prefix'?)"));
  EXPECT_TRUE(HasDiag(diags, f, 5, 26, "unknown key 'timout' in job (did you mean 'timeout'?)"));
  EXPECT_TRUE(HasDiag(diags, f, 6, 18, "unknown key 'acton' in on_success (did you mean 'action'?)"));
  EXPECT_TRUE(HasDiag(diags, f, 4, 12, "match needs at least one of 'prefix', 'suffix', 'glob' or 'partition'"));
}

TEST_F(Rules, EveryValidationErrorInOneFile) {
  ::unsetenv("HH_NOPE");
  EXPECT_FALSE(load(R"(rules:
  - name: Bad_Name
    match: {prefix: /abs}
    job: {builtin: noop}
  - name: no-match
    job: {builtin: nope}
  - name: two-jobs
    match: {glob: "a/[x"}
    job: {builtin: noop, command: [x]}
  - name: no-job
    match: {suffix: .csv}
    job: {env: {A: b}}
  - name: ranges
    match: {partition: {year: "2023"}}
    job: {command: [bin/etl], timeout: 0}
    retries: 101
    concurrency: -1
    settle: soon
    backoff: {initial: 0}
  - name: actions
    match: {prefix: a/}
    job: {command: [""]}
    on_success: {action: quarantine, notify: [ops-hok, nobody]}
    on_failure: {action: archive}
    notify_each_run: maybe
  - name: lambda
    match: {prefix: a/}
    job: {lambda: {handler: nodot, code: missing-dir, runtime: python2}}
  - name: env
    match: {prefix: a/}
    job: {command: ["${HH_NOPE}"], env: {1BAD: x}, cwd: no-such-dir}
  - name: types
    match: {prefix: [a]}
    job: {command: "/bin/echo hi"}
    retries: two
  - 42
)"));
  const std::string f = "r.yaml";
  EXPECT_TRUE(HasDiag(diags, f, 2, 11, "rule name 'Bad_Name' must be 1-128 of a-z, 0-9 and '-'"));
  EXPECT_TRUE(HasDiag(diags, f, 3, 21, "'prefix' starts with '/' but keys are relative to landing"));
  EXPECT_TRUE(HasDiag(diags, f, 5, 5, "rule needs one of 'match' or 'schedule'"));
  EXPECT_TRUE(HasDiag(diags, f, 6, 20, "'builtin' must be 'noop', not 'nope'"));
  EXPECT_TRUE(HasDiag(diags, f, 8, 19, "unterminated '[' in glob (write '[[]' for a literal '[')"));
  EXPECT_TRUE(HasDiag(diags, f, 9, 26,
                      "'command' and 'builtin' cannot both be given (job takes exactly one of 'command', 'lambda' "
                      "or 'builtin')"));
  EXPECT_TRUE(HasDiag(diags, f, 12, 10, "job needs one of 'command', 'lambda' or 'builtin'"));
  EXPECT_TRUE(HasDiag(diags, f, 15, 20,
                      "program 'bin/etl' is a relative path, relative to nothing: use an absolute path or a bare "
                      "name found on PATH"));
  EXPECT_TRUE(HasDiag(diags, f, 15, 40, "'timeout' must be greater than 0 (got 0)"));
  EXPECT_TRUE(HasDiag(diags, f, 16, 14, "'retries' must be between 0 and 100 (got 101)"));
  EXPECT_TRUE(HasDiag(diags, f, 17, 18, "'concurrency' must be between 0 and 10000 (got -1)"));
  EXPECT_TRUE(HasDiag(diags, f, 18, 13, "'settle': invalid duration 'soon' (write e.g. 250ms, 30s, 10m, 1h or 0)"));
  EXPECT_TRUE(HasDiag(diags, f, 19, 24, "'initial' must be greater than 0 (got 0)"));
  EXPECT_TRUE(HasDiag(diags, f, 22, 20, "the command's first element (the program) is empty"));
  EXPECT_TRUE(HasDiag(diags, f, 23, 26,
                      "'action' must be 'archive', 'delete' or 'keep', not 'quarantine'"));
  EXPECT_TRUE(HasDiag(diags, f, 23, 47, "unknown notify target 'ops-hok' (did you mean 'ops-hook'?)"));
  EXPECT_TRUE(HasDiag(diags, f, 23, 56,
                      "unknown notify target 'nobody' (defined targets: 'ops-hook' and 'ops-mail')"));
  EXPECT_TRUE(HasDiag(diags, f, 24, 26, "'action' must be 'quarantine' or 'keep', not 'archive'"));
  EXPECT_TRUE(HasDiag(diags, f, 25, 22, "'notify_each_run' must be true or false, not 'maybe'"));
  EXPECT_TRUE(HasDiag(diags, f, 28, 64,
                      "unknown runtime 'python2' (python3, python3.X, nodejs, nodejsNN.x, provided, provided.al2023 "
                      "or provided.al2)"));
  EXPECT_TRUE(HasDiag(diags, f, 31, 21, "environment variable 'HH_NOPE' is not set"));
  EXPECT_TRUE(HasDiag(diags, f, 31, 41, "'1BAD' is not a valid environment variable name"));
  EXPECT_TRUE(HasDiag(diags, f, 31, 57,
                      "cwd '" + display_path(dir.path() / "rules/no-such-dir") + "' is not a folder"));
  EXPECT_TRUE(HasDiag(diags, f, 33, 21, "'prefix' must be a single value, not a list"));
  EXPECT_TRUE(HasDiag(diags, f, 34, 20, "'command' must be a list of strings, not a single value"));
  EXPECT_TRUE(HasDiag(diags, f, 35, 14, "'retries' must be a whole number, not 'two'"));
  EXPECT_TRUE(HasDiag(diags, f, 36, 5, "rule must be a mapping of keys to values, not a single value"));
  EXPECT_GE(error_count(diags), 27);
}

TEST_F(Rules, LambdaHandlerStringsAsAwsTakesThem) {
  dir.mkdir("rules/fn/src/hello_world");
  dir.write("rules/fn/src/hello_world/app.py", "def lambda_handler(e, c): pass\n");
  dir.write("rules/fn/index.mjs", "export const handler = async () => 1;\n");
  dir.write("rules/fn/bootstrap", "#!/bin/sh\n");
  ::chmod((dir.path() / "rules/fn/bootstrap").c_str(), 0755);
  auto rs = load(R"(rules:
  - {name: sam-slash, match: {prefix: a/}, job: {lambda: {handler: src/hello_world/app.lambda_handler, code: fn}}}
  - {name: sam-dot, match: {prefix: a/}, job: {lambda: {handler: src/hello_world.app.lambda_handler, code: fn, runtime: python3.11}}}
  - {name: node, match: {prefix: a/}, job: {lambda: {handler: index.handler, code: fn, runtime: nodejs20.x}}}
  - name: custom
    match: {prefix: a/}
    job: {lambda: {code: fn, runtime: provided.al2023, warm: {max: 3, idle: 30s}}}
  - {name: venv, match: {prefix: a/}, job: {lambda: {handler: src/hello_world/app.lambda_handler, code: fn, python: /bin/sh}}}
)");
  ASSERT_TRUE(rs) << diags.str();
  EXPECT_EQ(diags.str().find("warning"), std::string::npos) << diags.str();
  EXPECT_EQ(std::get<LambdaJob>(rs->rules[1].job.kind).runtime, "python3.11");
  const auto& custom = std::get<LambdaJob>(rs->rules[3].job.kind);
  EXPECT_EQ(custom.warm_max, 3);
  EXPECT_EQ(custom.warm_idle, Duration(30s));
  EXPECT_EQ(std::get<LambdaJob>(rs->rules[0].job.kind).warm_max, 0) << "0: decided by concurrency/workers";
  EXPECT_EQ(std::get<LambdaJob>(rs->rules[0].job.kind).warm_idle, Duration(5min));
  EXPECT_EQ(std::get<LambdaJob>(rs->rules[4].job.kind).python, "/bin/sh");
}

TEST_F(Rules, LambdaHandlerAndRuntimeMistakes) {
  dir.mkdir("rules/fn");
  EXPECT_FALSE(load(R"(rules:
  - {name: a, match: {prefix: a/}, job: {lambda: {handler: nodot, code: fn}}}
  - {name: b, match: {prefix: a/}, job: {lambda: {handler: src/../x.handler, code: fn, runtime: nodejs}}}
  - {name: c, match: {prefix: a/}, job: {lambda: {handler: app.handler, code: fn, runtime: nodejs, python: /usr/bin/python3}}}
  - {name: d, match: {prefix: a/}, job: {lambda: {code: fn}}}
  - {name: e, match: {prefix: a/}, job: {lambda: {handler: my-app.handler, code: fn}}}
  - {name: f, match: {prefix: a/}, job: {lambda: {handler: a.b, code: fn, warm: {max: 0}}}}
)"));
  const std::string f = "r.yaml";
  EXPECT_TRUE(HasDiag(diags, f, 2, 60,
                      "'handler' must be 'module.function' (e.g. app.handler or src/hello_world/app.lambda_handler), "
                      "not 'nodot'")) << diags.str();
  EXPECT_TRUE(HasDiag(diags, f, 3, 60, "the file in handler 'src/../x.handler' must stay inside 'code'")) << diags.str();
  EXPECT_TRUE(HasDiag(diags, f, 4, 108, "'python' applies only to a Python runtime, not 'nodejs'")) << diags.str();
  EXPECT_TRUE(HasDiag(diags, f, 5, 50, "missing required key 'handler' in lambda")) << diags.str();
  EXPECT_TRUE(HasDiag(diags, f, 6, 60,
                      "the module in handler 'my-app.handler' must be Python identifiers joined by '.' or '/' (e.g. "
                      "app.handler or src/hello_world/app.lambda_handler)")) << diags.str();
  EXPECT_TRUE(HasDiag(diags, f, 7, 87, "'max' must be between 1 and 1000 (got 0)")) << diags.str();
}

TEST_F(Rules, LambdaCodeFolderMustExist) {
  EXPECT_FALSE(load(R"(rules:
  - name: l
    match: {prefix: a/}
    job:
      lambda: {handler: etl.handler, code: missing}
)"));
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 5, 44,
                      "lambda code folder '" + display_path(dir.path() / "rules/missing") + "' does not exist"));
}

TEST_F(Rules, WarningsDoNotFail) {
  auto rs = load(R"(rules:
  - name: w
    match: {prefix: a/}
    job:
      command: [surely-not-a-program-hh, "{pth}", /no/such/prog]
      env: {HIVEHOOK_KEY: x}
  - name: l
    match: {prefix: a/}
    job: {lambda: {handler: nomod.handler}}
)");
  ASSERT_TRUE(rs) << diags.str();
  using S = Diagnostic::Severity;
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 5, 17, "program 'surely-not-a-program-hh' is not found on PATH (yet)", S::warning));
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 5, 42, "unknown placeholder '{pth}' is passed unchanged (did you mean '{path}'?)",
                      S::warning));
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 6, 13, "'HIVEHOOK_KEY' is set by hivehook for every run and overrides this",
                      S::warning));
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 9, 19,
                      "no 'nomod.py' in lambda code folder '" + display_path(dir.path() / "rules") + "'", S::warning));
}

TEST_F(Rules, BareProgramOnPathIsFine) {
  auto rs = load("rules:\n  - {name: e, match: {prefix: a/}, job: {command: [echo, \"{key}\", \"{partition.year}\"]}}\n");
  ASSERT_TRUE(rs) << diags.str();
  EXPECT_TRUE(diags.items().empty()) << diags.str();
}

TEST_F(Rules, FolderIsReadInSortedOrderAndDuplicatesNameBothPlaces) {
  dir.write("rules/b.yaml", "rules:\n  - {name: two, match: {prefix: b/}, job: {builtin: noop}}\n");
  dir.write("rules/a.yaml",
            "rules:\n  - {name: one, match: {prefix: a/}, job: {builtin: noop}}\n"
            "  - {name: zero, match: {prefix: z/}, job: {builtin: noop}}\n");
  dir.write("rules/c.yaml", "rules:\n  - name: one\n    match: {prefix: c/}\n    job: {builtin: noop}\n");
  dir.write("rules/notes.txt", "not yaml");
  dir.write("rules/.hidden.yaml", "garbage: [");
  dir.write("rules/old.yml", "rules: []\n");
  auto rs = load_rules(dir.path() / "rules", config, diags);
  EXPECT_FALSE(rs);
  EXPECT_TRUE(HasDiag(diags, "c.yaml", 2, 11,
                      "duplicate rule name 'one' (first defined at " + display_path(dir.path() / "rules/a.yaml") +
                          ":2:12)"));
  EXPECT_TRUE(HasDiag(diags, "old.yml", 0, 0, "ignored: rules files must end in .yaml", Diagnostic::Severity::warning));
  EXPECT_EQ(error_count(diags), 1);

  std::filesystem::remove(dir.path() / "rules/c.yaml");
  Diagnostics d2;
  rs = load_rules(dir.path() / "rules", config, d2);
  ASSERT_TRUE(rs) << d2.str();
  std::vector<std::string> names;
  for (const auto& r : rs->rules) names.push_back(r.name);
  EXPECT_EQ(names, (std::vector<std::string>{"one", "zero", "two"}));
  ASSERT_EQ(rs->files.size(), 2u);
  EXPECT_EQ(rs->files[0].filename(), "a.yaml");
  EXPECT_EQ(rs->files[1].filename(), "b.yaml");
}

TEST_F(Rules, SingleFileAndEmptyCases) {
  auto file = dir.write("one.yaml", "rules:\n  - {name: x, match: {suffix: .csv}, job: {builtin: noop}}\n");
  auto rs = load_rules(file, config, diags);
  ASSERT_TRUE(rs) << diags.str();
  EXPECT_EQ(rs->rules.size(), 1u);

  Diagnostics d;
  EXPECT_TRUE(load_rules(dir.write("empty.yaml", ""), config, d));
  EXPECT_TRUE(HasDiag(d, "empty.yaml", 0, 0, "empty rules file", Diagnostic::Severity::warning));

  Diagnostics e;
  EXPECT_FALSE(load_rules(dir.write("norules.yaml", "rule: []\n"), config, e));
  EXPECT_TRUE(HasDiag(e, "norules.yaml", 1, 1, "unknown key 'rule' in rules file (did you mean 'rules'?)"));
  EXPECT_TRUE(HasDiag(e, "norules.yaml", 1, 1, "missing required key 'rules' in rules file"));

  Diagnostics g;
  EXPECT_FALSE(load_rules(dir.path() / "nowhere", config, g));
  EXPECT_TRUE(HasDiag(g, "nowhere", 0, 0, "rules file or folder does not exist"));
}

TEST_F(Rules, SyntaxErrorInOneFileStillReportsTheOthers) {
  dir.write("rules/a.yaml", "rules:\n  - name: [\n");
  dir.write("rules/b.yaml", "rules:\n  - {name: b, match: {}, job: {builtin: noop}}\n");
  EXPECT_FALSE(load_rules(dir.path() / "rules", config, diags));
  EXPECT_EQ(error_count(diags), 2) << diags.str();
  EXPECT_TRUE(HasDiag(diags, "b.yaml", 2, 22, "match needs at least one of 'prefix', 'suffix', 'glob' or 'partition'"));
}

TEST_F(Rules, DeepNestingIsRefusedNotCrashed) {
  EXPECT_FALSE(load("rules: " + std::string(10000, '[')));
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 0, 0, "nesting deeper than 64 levels"));
}

TEST_F(Rules, FixtureFileWithManyErrors) {
  auto rs = load_rules(std::filesystem::path(HIVEHOOK_TEST_DATA) / "rules/broken.yaml", config, diags);
  EXPECT_FALSE(rs);
  EXPECT_TRUE(HasDiag(diags, "broken.yaml", 4, 5, "unknown key 'retires' in rule (did you mean 'retries'?)"));
  EXPECT_GE(error_count(diags), 4) << diags.str();
}

// yaml-cpp 0.7 spins forever on these (found by fuzz_rules); they must be refused up front.
TEST_F(Rules, StrayCommaWhereYamlCppWouldHangIsASyntaxError) {
  struct Case {
    const char* text;
    int line, col;
  } cases[] = {{",", 1, 1}, {"&a ,", 1, 4}, {"--- ,", 1, 5}, {"- a\n,", 2, 1}, {"\n# c\n  ,", 3, 3},
               {"rules:\n  - name: a\n    retries: 6\n  ,   match: {prefix: a/}\n", 4, 3},
               {"# a [ in a comment\nrules:\n  - name: '[x'\n  , b\n", 4, 3}};
  for (const auto& c : cases) {
    Diagnostics d;
    EXPECT_FALSE(load_rules(dir.write("h.yaml", c.text), config, d));
    EXPECT_TRUE(HasDiag(d, "h.yaml", c.line, c.col, "YAML syntax error: unexpected ','")) << c.text;
  }
  // Commas in flow collections, in values and in block scalars are fine.
  Diagnostics ok;
  EXPECT_TRUE(load_rules(dir.write("ok.yaml", "rules: [\n  {name: a, match: {prefix: \"a,b\"}\n, job: {builtin: noop}}\n]\n"),
                         config, ok))
      << ok.str();
  Diagnostics block;
  EXPECT_TRUE(load_rules(dir.write("block.yaml", "rules:\n  - name: a\n    description: |\n      first\n      , second\n"
                                                 "    match: {prefix: a/}\n    job: {builtin: noop}\n"),
                         config, block))
      << block.str();
}
