// docs/config-reference.md, generated from the schema tables so the docs cannot drift from the code.
#include "rules/schemas.h"

namespace hivehook {

namespace {
std::string cell(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

void render(std::string& md, const DocSection& s) {
  md += "### " + s.name + "\n\n" + s.description + "\n\n";
  md += "| key | type | required | default | description |\n| --- | --- | --- | --- | --- |\n";
  for (const auto& r : s.rows)
    md += "| `" + r.key + "` | " + cell(r.type) + " | " + cell(r.required) + " | " + cell(r.default_text) + " | " +
          cell(r.description) + " |\n";
  md += "\n";
}
}  // namespace

std::string config_reference_markdown() {
  std::string md =
      "# Configuration reference\n\n"
      "<!-- Generated from the schema tables in rules/config_schema.cpp and rules/rule_schema.cpp.\n"
      "     Regenerate: HIVEHOOK_UPDATE_DOCS=1 build/tests/unit_rules --gtest_filter='Reference.*' -->\n\n"
      "`hivehook check` validates both files and reports every problem as `file:line:col: message`.\n"
      "Unknown keys are errors (with the closest known key suggested). In every value `${VAR}` expands\n"
      "from the environment (a missing variable is an error), `$$` is a literal `$`.\n\n"
      "Durations: `250ms`, `30s`, `10m`, `1h`, `1d` (24h), combinations such as `1h30m`, or `0`.\n\n"
      "## hivehook.yaml\n\n";
  for (const auto& s : config_doc_sections()) render(md, s);
  md +=
      "## Rules files\n\n"
      "`rules:` in the config names one file, or a folder whose `*.yaml` files (not hidden ones) are read\n"
      "in byte order of their names; rules keep that order (files, then position in the file). Rule names\n"
      "are unique over all files. A key's *table* is its first segment; its *partition* is every\n"
      "`name=value` folder below the table (`%XX` decoded, the first `=` splits, `%00` stays literal).\n\n";
  for (const auto& s : rule_doc_sections()) render(md, s);
  return md;
}

}  // namespace hivehook
