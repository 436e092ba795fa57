// The tables themselves (config_schema.cpp, rule_schema.cpp), reachable for loading and for docs.
#pragma once

#include <string>
#include <vector>

#include "rules/config.h"
#include "rules/rule.h"
#include "rules/schema.h"

namespace hivehook {

const schema::Mapping<Config>& config_schema();
// Rule files: the top level ({rules: [...]}) and one rule. Rules read into `out` one by one.
struct RulesFileDraft {
  std::vector<Rule> rules;
  std::vector<YAML::Mark> marks;  // where each rule starts
};
const schema::Mapping<RulesFileDraft>& rules_file_schema();
const schema::Mapping<BackoffPolicy>& backoff_schema(bool for_notify);

// Orchestration (orchestration_schema.cpp): the rule keys after, requires, batch, schedule,
// timezone, catch_up, expect; the checks tying them to the rest of a rule (run as the rule
// table's `finish`); their doc sections.
std::vector<schema::Field<Rule>> orchestration_rule_fields();
void finish_orchestration(Rule& r, const YAML::Node& node, schema::Reader& rd);
// The keys a schedule rule does not take (batch, after, requires, expect, settle), refused even when
// another of the rule's values was invalid (the rule table's `keys_together`).
void orchestration_keys_together(const YAML::Node& node, schema::Reader& rd);
// Every name in a `notify:` list must be a target of the config's `notify:` (reported at each).
void check_notify_targets(const schema::Value& v, schema::Reader& rd);

// One section of docs/config-reference.md per table.
struct DocSection {
  std::string name;         // anchor and heading
  std::string description;
  std::vector<schema::DocRow> rows;
};
std::vector<DocSection> config_doc_sections();
std::vector<DocSection> rule_doc_sections();
std::vector<DocSection> orchestration_doc_sections();
// The whole reference page (docs/config-reference.md), generated from the tables.
std::string config_reference_markdown();

// Is `inner` the same as or below `outer`? (both absolute and normalised)
bool path_within(const std::filesystem::path& inner, const std::filesystem::path& outer);

}  // namespace hivehook
