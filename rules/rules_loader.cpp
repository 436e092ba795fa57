// Loading rules from a file or a folder of *.yaml: every file read, every problem reported.
#include <algorithm>
#include <map>

#include "rules/schemas.h"
#include "rules/secrets.h"
#include "rules/yaml_reader.h"

namespace hivehook {

namespace fs = std::filesystem;

const Rule* RuleSet::find(std::string_view name) const {
  for (const auto& r : rules)
    if (r.name == name) return &r;
  return nullptr;
}

namespace {

// The files a rules path stands for: itself, or the folder's *.yaml in byte order of their names.
std::vector<fs::path> rules_files(const fs::path& path, Diagnostics& diags) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    if (!fs::exists(path, ec)) diags.error(display_path(path), 0, 0, "rules file or folder does not exist");
    else return {path};
    return {};
  }
  std::vector<fs::path> files;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;  // editors' swap and backup files
    bool yaml = name.size() > 5 && name.compare(name.size() - 5, 5, ".yaml") == 0;
    if (!yaml) {
      if (name.size() > 4 && name.compare(name.size() - 4, 4, ".yml") == 0)
        diags.warning(display_path(it->path()), 0, 0, "ignored: rules files must end in .yaml");
      continue;
    }
    if (it->is_regular_file(ec)) files.push_back(it->path());
  }
  if (ec) diags.error(display_path(path), 0, 0, "cannot list rules folder: " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty() && !ec) diags.warning(display_path(path), 0, 0, "no *.yaml rules files in this folder");
  return files;
}

}  // namespace

namespace {

std::optional<RuleSet> parse_sources(std::vector<RulesSource> sources, Diagnostics& local, const Config& config,
                                     Diagnostics& diags) {
  RuleSet set;
  std::map<std::string, std::string> first_defined;  // name -> file:line:col
  for (const RulesSource& source : sources) {
    const fs::path& file = source.file;
    set.files.push_back(file);
    std::string display = display_path(file);
    auto root = parse_yaml_text(source.text, display, local);
    if (!root) continue;
    schema::Reader rd(display, file.parent_path(), local);
    rd.config = &config;
    if (root->IsNull()) {
      rd.warning(YAML::Mark::null_mark(), "empty rules file");
      continue;
    }
    RulesFileDraft draft;
    schema::parse_mapping(*root, rules_file_schema(), draft, rd);
    for (size_t i = 0; i < draft.rules.size(); ++i) {
      Rule& r = draft.rules[i];
      if (r.name.empty()) continue;  // already reported
      std::string here = rd.where(draft.marks[i]);
      auto [it, fresh] = first_defined.emplace(r.name, here);
      if (!fresh) rd.error(draft.marks[i], "duplicate rule name '" + r.name + "' (first defined at " + it->second + ")");
      set.rules.push_back(std::move(r));
    }
  }
  set.sources = std::move(sources);
  set.secrets = config_secrets(config);
  for (const Rule& r : set.rules)
    for (auto& s : environment_secrets(r.job.env)) set.secrets.push_back(std::move(s));
  for (auto& s : environment_secrets(process_environment())) set.secrets.push_back(std::move(s));
  std::sort(set.secrets.begin(), set.secrets.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;  // longest first: a secret inside another is masked whole
  });
  set.secrets.erase(std::unique(set.secrets.begin(), set.secrets.end()), set.secrets.end());
  set.redactor = Redactor(set.secrets);
  check_rule_graph(set.rules, local);
  bool failed = local.has_errors();
  local.sort();
  diags.append(local);
  if (failed) return std::nullopt;
  return set;
}

}  // namespace

std::optional<RuleSet> load_rules(const fs::path& path, const Config& config, Diagnostics& diags) {
  fs::path abs = fs::absolute(path).lexically_normal();
  Diagnostics local;
  std::vector<RulesSource> sources;
  for (const fs::path& file : rules_files(abs, local)) {
    if (auto text = read_text_file(file, display_path(file), local)) sources.push_back({file, std::move(*text)});
  }
  return parse_sources(std::move(sources), local, config, diags);
}

std::optional<RuleSet> load_rules(const std::vector<RulesSource>& sources, const Config& config, Diagnostics& diags) {
  Diagnostics local;
  return parse_sources(sources, local, config, diags);
}

bool rule_matches(const MatchSpec& match, const ObjectKey& key) {
  const std::string& k = key.key;
  if (match.prefix && k.compare(0, match.prefix->size(), *match.prefix) != 0) return false;
  if (match.suffix &&
      (k.size() < match.suffix->size() || k.compare(k.size() - match.suffix->size(), match.suffix->size(), *match.suffix) != 0))
    return false;
  if (match.glob && !key_glob_match(*match.glob, k)) return false;
  for (const auto& [name, value] : match.partition) {
    auto actual = key.partition_value(name);
    if (!actual || *actual != value) return false;
  }
  return true;
}

std::vector<const Rule*> match_rules(const RuleSet& rules, const ObjectKey& key) {
  std::vector<const Rule*> out;
  for (const auto& r : rules.rules)
    if (!r.schedule && !r.batch && rule_matches(r.match, key)) out.push_back(&r);
  return out;
}

std::vector<const Rule*> match_batch_rules(const RuleSet& rules, const ObjectKey& key) {
  std::vector<const Rule*> out;
  for (const auto& r : rules.rules)
    if (r.batch && rule_matches(r.match, key)) out.push_back(&r);
  return out;
}

}  // namespace hivehook
