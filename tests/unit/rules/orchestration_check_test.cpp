// `check` on the orchestration keys (DESIGN.md "Orchestration"): each misconfiguration the issue
// lists — an unknown rule name in after:/requires:, a cycle, a bad cron expression, a batch.group
// naming a partition the rule's match cannot produce — reported at the file:line:col of the
// offending text; and the order in which the rules matching one object start.
#include <gtest/gtest.h>

#include "rules/rule.h"
#include "rules_test_util.h"

using namespace hivehook;
using namespace hivehook::test;

namespace {

class OrchestrationCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    Diagnostics d;
    auto c = load_config(minimal_config(dir), d);
    ASSERT_TRUE(c) << d.str();
    config = *c;
  }
  std::optional<RuleSet> load(const std::string& text) {
    dir.write("rules/r.yaml", text);
    return load_rules(dir.path() / "rules", config, diags);
  }
  TempDir dir;
  Config config;
  Diagnostics diags;
};

constexpr const char* kJob = "    job: {builtin: noop}\n";

}  // namespace

TEST_F(OrchestrationCheck, UnknownRuleNamesAreReportedWhereWrittenWithASuggestion) {
  auto rs = load(std::string("rules:\n"
                             "  - name: dim-products\n"
                             "    match: {prefix: dim_products/}\n") +
                 kJob +
                 "  - name: transactions\n"
                 "    match: {prefix: transactions/}\n" +
                 kJob +
                 "    requires: [dim-product, dim-customers]\n"
                 "    after: [nope]\n");
  EXPECT_FALSE(rs);
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 8, 16,
                      "'requires:' names unknown rule 'dim-product' (did you mean 'dim-products'?)"));
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 8, 29, "'requires:' names unknown rule 'dim-customers'"));
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 9, 13, "'after:' names unknown rule 'nope'"));
}

TEST_F(OrchestrationCheck, CyclesInAfterAndRequiresAreRefusedAtTheEdgeClosingThem) {
  auto rs = load(std::string("rules:\n"
                             "  - name: a\n"
                             "    match: {suffix: .csv}\n") +
                 kJob +
                 "    after: [b]\n"
                 "  - name: b\n"
                 "    match: {suffix: .csv}\n" +
                 kJob +
                 "    requires: [c]\n"
                 "  - name: c\n"
                 "    match: {suffix: .txt}\n" +
                 kJob +
                 "    requires:\n"
                 "      - a\n");
  EXPECT_FALSE(rs);
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 14, 9,
                      "cycle in 'after:'/'requires:': a -> b -> c -> a (each would wait for the other forever)"));
  EXPECT_EQ(error_count(diags), 1) << diags.str();
}

TEST_F(OrchestrationCheck, RuleNamingItselfIsRefused) {
  auto rs = load(std::string("rules:\n  - name: a\n    match: {suffix: .csv}\n") + kJob + "    after: [a]\n");
  EXPECT_FALSE(rs);
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 5, 13, "rule 'a' names itself in 'after:'"));
}

TEST_F(OrchestrationCheck, BadCronIsReportedAtTheOffendingField) {
  auto rs = load(std::string("rules:\n"
                             "  - name: nightly\n"
                             "    schedule: \"0 25 * * *\"\n") +
                 kJob +
                 "  - name: never\n"
                 "    schedule: \"0 0 30 2 *\"\n" +
                 kJob);
  EXPECT_FALSE(rs);
  // Column of the hour field inside the quoted scalar: the opening quote is column 15.
  bool found = false;
  for (const auto& d : diags.items())
    if (d.line == 3 && d.col == 18 && d.message.rfind("bad schedule: ", 0) == 0) found = true;
  EXPECT_TRUE(found) << diags.str();
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 6, 15, "schedule '0 0 30 2 *' never fires (no such day)"));
}

TEST_F(OrchestrationCheck, BatchGroupNamingAPartitionTheGlobCannotProduce) {
  auto rs = load(std::string("rules:\n"
                             "  - name: daily-summary\n"
                             "    match: {glob: \"transactions/year=*/month=*/*.csv\"}\n") +
                 kJob +
                 "    batch:\n"
                 "      group: \"{table}/{partition.year}/{partition.day}\"\n"
                 "      when: {count: 4}\n");
  EXPECT_FALSE(rs);
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 6, 14,
                      "batch.group names partition 'day', which no key matched by this rule has (its glob "
                      "'transactions/year=*/month=*/*.csv' has no 'day=' folder)"));
  EXPECT_EQ(error_count(diags), 1) << diags.str();
}

TEST_F(OrchestrationCheck, BatchGroupWithAGlobThatCrossesFoldersIsFine) {
  auto rs = load(std::string("rules:\n"
                             "  - name: daily-summary\n"
                             "    match: {glob: \"transactions/**/day=*/*.csv\"}\n") +
                 kJob +
                 "    batch: {group: \"{table}/{partition.day}\", when: {count: 4}}\n");
  EXPECT_TRUE(rs) << diags.str();
}

// Issue 14, F3 of the new-user test: `match: {prefix: t/}` with `group: "{partition.day}"`, and
// `glob: "*.csv"` (top-level files, no table) with `group: "{table}"`, were accepted; a matched key
// lacking the column was archived with no batch and no word. Refused at the group.
TEST_F(OrchestrationCheck, BatchGroupNamingAColumnAMatchedKeyCanLackIsRefused_F3) {
  auto rs = load(std::string("rules:\n"
                             "  - name: b\n"
                             "    match: {prefix: t/}\n"
                             "    batch: {group: \"{partition.day}\", when: {count: 2}}\n") +
                 kJob +
                 "  - name: r\n"
                 "    match: {glob: \"*.csv\"}\n"
                 "    batch: {group: \"{table}\", when: {count: 2}}\n" +
                 kJob +
                 "  - name: c\n"
                 "    match: {glob: \"transactions/**/*.csv\"}\n"
                 "    batch: {group: \"{partition.day}\", when: {count: 2}}\n" +
                 kJob +
                 "  - name: fine\n"
                 "    match: {prefix: u/day=}\n"
                 "    batch: {group: \"{table}\", when: {count: 2}}\n" + kJob);
  EXPECT_FALSE(rs);
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 4, 20,
                      "batch.group names partition 'day', which a key this rule matches can lack (its match does not "
                      "require a 'day=' folder): such a key would join no group. Narrow the match, e.g. a glob with a "
                      "'day=*' folder"));
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 8, 20,
                      "batch.group names {table}, which a key this rule matches can lack (a top-level file has no "
                      "table): such a key would join no group. Narrow the match to files in a folder, e.g. a glob "
                      "such as 'TABLE/*'"));
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 12, 20,
                      "batch.group names partition 'day', which a key this rule matches can lack (its match does not "
                      "require a 'day=' folder): such a key would join no group. Narrow the match, e.g. a glob with a "
                      "'day=*' folder"));
  EXPECT_EQ(error_count(diags), 3) << diags.str();
}

TEST(MatchGuarantees, WhichMatchesAlwaysCarryAColumnOrATable_F3) {
  auto glob = [](std::string g) { MatchSpec m; m.glob = std::move(g); return m; };
  auto prefix = [](std::string p) { MatchSpec m; m.prefix = std::move(p); return m; };
  EXPECT_TRUE(match_always_has_partition(glob("t/day=*/*"), "day"));
  EXPECT_TRUE(match_always_has_partition(glob("t/year=*/**/day=*/*.csv"), "day"));
  EXPECT_FALSE(match_always_has_partition(glob("t/*/*"), "day")) << "a folder that may be day=, or not";
  EXPECT_FALSE(match_always_has_partition(glob("**/day=*/*"), "day")) << "below a leading ** it could be the table";
  EXPECT_FALSE(match_always_has_partition(glob("t/day=*"), "day")) << "the file, not a folder";
  EXPECT_TRUE(match_always_has_partition(prefix("t/day=2024/"), "day"));
  EXPECT_FALSE(match_always_has_partition(prefix("t/day="), "day")) << "t/day=1 may be a file";
  EXPECT_TRUE(match_always_has_table(glob("t/*")));
  EXPECT_FALSE(match_always_has_table(glob("*.csv")));
  EXPECT_FALSE(match_always_has_table(glob("**/*.csv")));
  EXPECT_TRUE(match_always_has_table(prefix("t/")));
  EXPECT_FALSE(match_always_has_table(prefix("t")));
  MatchSpec none;
  EXPECT_FALSE(match_always_has_table(none));
}

// Issue 14, F11 of the new-user test: a marker the rule never sees — outside its glob, or an
// ignored name — was accepted, and its batches collected forever.
TEST_F(OrchestrationCheck, AMarkerTheRuleNeverSeesIsRefused_F11) {
  auto rs = load(std::string("rules:\n"
                             "  - name: b\n"
                             "    match: {glob: \"t/day=*/*.csv\"}\n"
                             "    batch: {group: \"{partition.day}\", when: {marker: _SUCCESS}}\n") +
                 kJob +
                 "  - name: c\n"
                 "    match: {glob: \"u/day=*/*\"}\n"
                 "    batch: {group: \"{partition.day}\", when: {marker: .done}}\n" +
                 kJob +
                 "  - name: d\n"
                 "    match: {glob: \"v/day=*/*\", suffix: .csv}\n"
                 "    batch: {group: \"{partition.day}\", when: {marker: _SUCCESS}}\n" +
                 kJob +
                 "  - name: fine\n"
                 "    match: {glob: \"w/day=*/*\"}\n"
                 "    batch: {group: \"{partition.day}\", when: {marker: _SUCCESS}}\n" + kJob);
  EXPECT_FALSE(rs);
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 4, 54,
                      "batch.when.marker '_SUCCESS' is a file this rule never matches (the file part '*.csv' of its "
                      "glob does not match it): the batch would never complete. Widen the match to the group's "
                      "folder (e.g. 't/day=*/*')"));
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 8, 54,
                      "batch.when.marker '.done' is an ignored name (the config's ignore pattern '.*'): it is never "
                      "processed, so the batch would never complete. Name another marker, or drop the pattern from "
                      "'ignore'"));
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 12, 54,
                      "batch.when.marker '_SUCCESS' is a file this rule never matches (it does not end with the "
                      "rule's suffix '.csv'): the batch would never complete"));
  EXPECT_EQ(error_count(diags), 3) << diags.str();
}

// Issue 14, F10 of the new-user test: two problems in one rule — `batch` on a schedule rule and a
// group without a placeholder — were reported one at a time; a name twice in `requires:` passed.
TEST_F(OrchestrationCheck, TwoProblemsOfOneRuleAreReportedTogether_F10) {
  auto rs = load(std::string("rules:\n"
                             "  - {name: s, schedule: \"@daily\", batch: {group: \"x\", when: {count: 2}}, job: {builtin: noop}}\n"
                             "  - name: d\n"
                             "    match: {prefix: d/}\n") +
                 kJob +
                 "  - name: t\n"
                 "    match: {prefix: t/}\n"
                 "    requires: [d, d]\n" + kJob);
  EXPECT_FALSE(rs);
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 2, 42, "'batch' does not apply to a schedule rule (it runs on a clock, not on objects)"))
      << diags.str();
  EXPECT_EQ(error_count(diags), 2) << "and the group's own problem: " << diags.str();
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 8, 19, "'d' is named twice in this list", Diagnostic::Severity::warning));
}

TEST_F(OrchestrationCheck, ScheduleRuleTakesNoMatchAndOnlyItsKeys) {
  auto rs = load(std::string("rules:\n"
                             "  - name: nightly\n"
                             "    schedule: \"@daily\"\n"
                             "    match: {prefix: x/}\n") +
                 kJob);
  EXPECT_FALSE(rs);
  EXPECT_GE(error_count(diags), 1) << diags.str();
  diags = Diagnostics();
  rs = load(std::string("rules:\n"
                        "  - name: nightly\n"
                        "    schedule: \"@daily\"\n"
                        "    settle: 1s\n") +
            kJob);
  EXPECT_FALSE(rs);
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 4, 13,
                      "'settle' does not apply to a schedule rule (it runs on a clock, not on objects)"));
}

TEST_F(OrchestrationCheck, AfterMayNotNameAScheduleOrBatchRule) {
  auto rs = load(std::string("rules:\n"
                             "  - name: nightly\n"
                             "    schedule: \"@daily\"\n") +
                 kJob +
                 "  - name: load\n"
                 "    match: {suffix: .csv}\n" +
                 kJob + "    after: [nightly]\n");
  EXPECT_FALSE(rs);
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 8, 13,
                      "'after:' names schedule rule 'nightly', which runs on a clock, not on objects (use "
                      "'requires:' to wait for its first success)"));
}

TEST_F(OrchestrationCheck, ExpectPartitionMustBeOneTheMatchProduces) {
  auto rs = load(std::string("rules:\n"
                             "  - name: load\n"
                             "    match: {glob: \"transactions/year=*/*.csv\"}\n") +
                 kJob +
                 "    expect: {every: 1d, by: \"06:00\", partition: \"year={yyyy}/month={mm}/day={dd}\"}\n");
  EXPECT_FALSE(rs);
  bool found = false;
  for (const auto& d : diags.items())
    if (d.line == 5 && d.message.find("expect.partition names partition 'month'") != std::string::npos) found = true;
  EXPECT_TRUE(found) << diags.str();
}

// The fault: `check` printed a bad period as raw milliseconds ("not 420000ms"), not as written.
TEST_F(OrchestrationCheck, BadExpectPeriodIsQuotedAsWrittenNotInMilliseconds) {
  auto rs = load(std::string("rules:\n"
                             "  - name: load\n"
                             "    match: {glob: \"t/year=*/month=*/day=*/*.csv\"}\n") +
                 kJob +
                 "    expect: {every: 7m, by: \"06:00\", partition: \"year={yyyy}/month={mm}/day={dd}\"}\n");
  EXPECT_FALSE(rs);
  bool found = false;
  for (const auto& d : diags.items()) {
    EXPECT_EQ(d.message.find("420000"), std::string::npos) << d.message;
    if (d.line == 5 && d.message.find("divides a day (e.g. 15m, 1h, 6h, 1d), not '7m'") != std::string::npos) found = true;
  }
  EXPECT_TRUE(found) << diags.str();
}

TEST_F(OrchestrationCheck, RunOrderPutsAfterRulesBehindTheirDependencies) {
  auto rs = load(std::string("rules:\n"
                             "  - name: report\n"
                             "    match: {suffix: .csv}\n") +
                 kJob +
                 "    after: [load, validate]\n"
                 "  - name: load\n"
                 "    match: {suffix: .csv}\n" +
                 kJob +
                 "    after: [validate]\n"
                 "  - name: validate\n"
                 "    match: {suffix: .csv}\n" +
                 kJob + "  - name: copy\n    match: {suffix: .csv}\n" + kJob);
  ASSERT_TRUE(rs) << diags.str();
  auto key = parse_key("t/a.csv");
  auto order = run_order(match_rules(*rs, *key));
  std::vector<std::string> names;
  for (const Rule* r : order) names.push_back(r->name);
  EXPECT_EQ(names, (std::vector<std::string>{"validate", "load", "report", "copy"}));
}

TEST_F(OrchestrationCheck, ScheduleAndBatchRulesDoNotRunPerObject) {
  auto rs = load(std::string("rules:\n"
                             "  - name: nightly\n"
                             "    schedule: \"@daily\"\n") +
                 kJob +
                 "  - name: summary\n"
                 "    match: {prefix: t/}\n" +
                 kJob + "    batch: {group: \"{table}\", when: {count: 2}}\n" +
                 "  - name: load\n    match: {prefix: t/}\n" + kJob);
  ASSERT_TRUE(rs) << diags.str();
  auto key = parse_key("t/a.csv");
  auto per_object = match_rules(*rs, *key);
  ASSERT_EQ(per_object.size(), 1u);
  EXPECT_EQ(per_object[0]->name, "load");
  auto batches = match_batch_rules(*rs, *key);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0]->name, "summary");
}

// F18 of issue 14's new-user test: `on_success.action: delete` on a batch rule was accepted and
// silently ignored (the members were archived by their own rules).
TEST_F(OrchestrationCheck, AnActionOnABatchOrScheduleRuleIsWarnedAsDoingNothing) {
  auto rs = load(std::string("rules:\n"
                             "  - name: b\n"
                             "    match: {glob: \"t/day=*/*\"}\n"
                             "    batch: {group: \"{partition.day}\", when: {count: 2}}\n") +
                 kJob +
                 "    on_success: {action: delete}\n"
                 "  - name: s\n"
                 "    schedule: \"@daily\"\n" +
                 kJob +
                 "    on_failure: {action: keep, notify: []}\n");
  ASSERT_TRUE(rs) << diags.str();
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 6, 26,
                      "'on_success.action' does nothing on a batch rule: each member's own rules decide where its file "
                      "goes (only 'notify' is used here)", Diagnostic::Severity::warning))
      << diags.str();
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 10, 26,
                      "'on_failure.action' does nothing on a schedule rule: it has no file (only 'notify' is used here)", Diagnostic::Severity::warning))
      << diags.str();
}

// Issue 14, G1 of the new-user retest: `load` requires `summary`, a batch rule whose members are
// load's own objects; the batch runs after its members' rules ended — a cycle `check` passed, and
// both waited forever. Refused at the requires: entry. A batch over other objects is no cycle.
TEST_F(OrchestrationCheck, ARequiresOfABatchRuleTakingThisRulesObjectsIsACycle_G1) {
  auto rs = load(std::string("rules:\n"
                             "  - name: load\n"
                             "    match: {glob: \"t/day=*/*.csv\"}\n"
                             "    requires: [summary]\n") +
                 kJob +
                 "  - name: summary\n"
                 "    match: {glob: \"t/day=*/*\"}\n"
                 "    batch: {group: \"{partition.day}\", when: {marker: _SUCCESS}}\n" +
                 kJob +
                 "  - name: other\n"
                 "    match: {glob: \"u/day=*/*.csv\"}\n"
                 "    requires: [summary]\n" +
                 kJob +
                 "  - name: json\n"
                 "    match: {glob: \"t/day=*/*.json\"}\n"
                 "    requires: [csvs]\n" +
                 kJob +
                 "  - name: csvs\n"
                 "    match: {glob: \"t/day=*/*.csv\"}\n"
                 "    batch: {group: \"{partition.day}\", when: {count: 2}}\n" +
                 kJob);
  EXPECT_FALSE(rs);
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 4, 16,
                      "cycle in 'requires:': load -> summary -> load (batch rule 'summary' can take this rule's objects "
                      "as members, and a batch runs only after its members' own rules ended: each would wait for the "
                      "other forever)"))
      << diags.str();
  EXPECT_EQ(error_count(diags), 1) << "u/ and *.json objects are never summary's or csvs' members: " << diags.str();
}

// Issue 14, G14 and G9 of the new-user retest: `expect:` on a batch rule raised a false late alert
// (its objects are admitted for their own rules), `settle:` on one was ignored. Both refused.
TEST_F(OrchestrationCheck, ExpectAndSettleOnABatchRuleAreRefused_G14_G9) {
  auto rs = load(std::string("rules:\n"
                             "  - name: b\n"
                             "    match: {glob: \"t/minute=*/*\"}\n"
                             "    settle: 5s\n"
                             "    expect: {every: 1m, by: \"00:00:03\", partition: \"minute={yyyy}{mm}{dd}{hh}{mi}\"}\n"
                             "    batch: {group: \"{partition.minute}\", when: {count: 1}}\n") +
                 kJob);
  EXPECT_FALSE(rs);
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 5, 13,
                      "'expect' does not apply to a batch rule (its objects are admitted for their own rules, not the "
                      "batch's): put it on the rule that loads these files (a rule with the same match and "
                      "'job: {builtin: noop}' will do)"))
      << diags.str();
  EXPECT_TRUE(HasDiag(diags, "r.yaml", 4, 13,
                      "'settle' does not apply to a batch rule (a file is admitted once it settled under the object "
                      "rules matching it): put it on those rules (a rule with the same match and 'job: {builtin: "
                      "noop}' will do)"))
      << diags.str();
}
