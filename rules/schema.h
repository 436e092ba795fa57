// The declarative schema: one table per YAML mapping (key, type, required, default, description,
// constraints) drives parsing, unknown-key detection, validation and docs/config-reference.md.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "rules/diagnostics.h"

namespace hivehook {
struct Config;
}

namespace hivehook::schema {

enum class Type {
  string,          // a scalar (${VAR} expanded)
  path,            // a string; relative paths resolve against Reader::base_dir()
  integer,         // a whole number, checked against min/max
  boolean,         // true | false
  duration,        // "250ms", "30s", "10m", "1h", "0"; min/max in milliseconds
  string_list,     // a sequence of strings
  string_map,      // a mapping of string to string (values ${VAR} expanded)
  mapping,         // a nested table (parsed by the field's `set`)
  named_mappings,  // name -> nested table
  mapping_list,    // a sequence of nested tables
};

std::string_view type_name(Type t);

// Where diagnostics go while one file is read.
class Reader {
 public:
  Reader(std::string display_file, std::filesystem::path base_dir, Diagnostics& diags)
      : file_(std::move(display_file)), base_dir_(std::move(base_dir)), diags_(diags) {}

  void error(const YAML::Mark& m, std::string message);
  void warning(const YAML::Mark& m, std::string message);
  const std::string& file() const { return file_; }
  const std::filesystem::path& base_dir() const { return base_dir_; }
  int error_count() const { return errors_; }
  // "file:line:col" of a mark, for messages that point at a second place.
  std::string where(const YAML::Mark& m) const;

  const Config* config = nullptr;  // the loaded config, when reading rules

 private:
  std::string file_;
  std::filesystem::path base_dir_;
  Diagnostics& diags_;
  int errors_ = 0;
};

// One converted value; which members are meaningful depends on the field's Type.
struct Value {
  YAML::Node node;  // the raw value node (nested tables read it)
  YAML::Mark mark;  // where the value starts
  YAML::Mark key_mark;
  std::string str;  // string, path (absolute, normalised); a duration as written ("7m")
  long long num = 0;
  bool flag = false;
  Duration dur{0};
  std::vector<std::string> list;
  std::vector<YAML::Mark> list_marks;
  std::vector<std::pair<std::string, std::string>> map;  // in document order
  std::vector<YAML::Mark> map_marks;                     // of each key
};

template <class T>
struct Field {
  std::string_view key;
  Type type = Type::string;
  bool required = false;
  std::string_view default_text;  // for docs; empty: none
  std::string_view description;
  std::optional<long long> min, max;      // integer value / duration in ms
  std::vector<std::string_view> choices;  // allowed values of a string
  bool nonempty = false;                  // strings and lists
  bool scalar_as_list = false;            // string_list: "x" means ["x"]
  std::string_view only_with;             // key that must also be present for this one to apply
  std::string_view required_with;         // key whose presence makes this one required
  std::string_view nested;                // docs: the table describing a nested mapping
  // Extra validation; returns a message (reported at the value) or nullopt.
  std::function<std::optional<std::string>(const Value&, Reader&)> check;
  // Stores a valid value (nested tables parse themselves here).
  std::function<void(T&, const Value&, Reader&)> set;
};

template <class T>
struct Mapping {
  std::string_view name;  // as in messages and docs ("rule", "job", ...)
  std::string_view description;
  std::vector<Field<T>> fields;
  std::vector<std::vector<std::string_view>> exactly_one_of;
  std::vector<std::vector<std::string_view>> at_least_one_of;
  // Cross-field checks once every key is read (only called when the keys themselves were valid).
  std::function<void(T&, const YAML::Node&, Reader&)> finish;
  // Checks of which keys are present together, made even when a value was invalid, so that `check`
  // reports both problems of one mapping at once (issue 14, F10 of the new-user test).
  std::function<void(const YAML::Node&, Reader&)> keys_together;
};

// --- type-independent parts (schema.cpp) ---

// The closest known key to a misspelt one, or "" when none is close.
std::string closest(std::string_view word, const std::vector<std::string_view>& candidates);
// "'a', 'b' or 'c'"
std::string quoted_list(const std::vector<std::string_view>& words, std::string_view conj);

struct FieldRules {  // the type-independent slice of a Field
  std::string_view key;
  Type type;
  std::optional<long long> min, max;
  const std::vector<std::string_view>* choices;
  bool nonempty, scalar_as_list;
};
// Converts and checks a value against its field's type; reports problems and returns nullopt.
std::optional<Value> convert(const YAML::Node& key, const YAML::Node& value, const FieldRules& f, Reader& rd);

struct Presence {
  std::string_view key;
  YAML::Mark mark;
};
void check_groups(const std::vector<std::vector<std::string_view>>& exactly_one,
                  const std::vector<std::vector<std::string_view>>& at_least_one,
                  const std::vector<Presence>& present, std::string_view where, const YAML::Mark& at, Reader& rd);

std::string_view node_kind(const YAML::Node& n);  // "a list", "a mapping", "a string", "nothing"

// --- the generic table walk ---

// Reads `node` (a mapping) into `out` following `schema`; every problem is reported.
// Returns false when there was any error inside this mapping.
template <class T>
bool parse_mapping(const YAML::Node& node, const Mapping<T>& schema, T& out, Reader& rd) {
  int errors_before = rd.error_count();
  if (!node.IsMap()) {
    rd.error(node.Mark(), std::string(schema.name) + " must be a mapping of keys to values, not " +
                              std::string(node_kind(node)));
    return false;
  }
  std::vector<std::string_view> known;
  for (const auto& f : schema.fields) known.push_back(f.key);

  std::vector<Presence> present;
  std::vector<std::pair<const Field<T>*, Value>> values;
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: the iterator's pair is a temporary, references into it dangle (found by fuzz_rules).
    const YAML::Node k = it->first;
    const YAML::Node value = it->second;
    if (!k.IsScalar()) {
      rd.error(k.Mark(), "keys in " + std::string(schema.name) + " must be plain words");
      continue;
    }
    const std::string& name = k.Scalar();
    const Field<T>* field = nullptr;
    for (const auto& f : schema.fields)
      if (f.key == name) field = &f;
    if (!field) {
      std::string hint = closest(name, known);
      rd.error(k.Mark(), "unknown key '" + name + "' in " + std::string(schema.name) +
                             (hint.empty() ? " (known keys: " + quoted_list(known, "and") + ")"
                                           : " (did you mean '" + hint + "'?)"));
      continue;
    }
    bool duplicate = false;
    for (const auto& p : present)
      if (p.key == field->key) {
        rd.error(k.Mark(), "duplicate key '" + name + "' (first given at " + rd.where(p.mark) + ")");
        duplicate = true;
      }
    if (duplicate) continue;
    present.push_back({field->key, k.Mark()});
    FieldRules fr{field->key, field->type, field->min, field->max, &field->choices, field->nonempty,
                  field->scalar_as_list};
    std::optional<Value> v = convert(k, value, fr, rd);
    if (!v) continue;
    if (field->check) {
      if (auto problem = field->check(*v, rd)) {
        rd.error(v->mark, *problem);
        continue;
      }
    }
    values.emplace_back(field, std::move(*v));
  }

  auto is_present = [&](std::string_view key) {
    for (const auto& p : present)
      if (p.key == key) return true;
    return false;
  };
  for (const auto& f : schema.fields) {
    if (f.required && !is_present(f.key))
      rd.error(node.Mark(), "missing required key '" + std::string(f.key) + "' in " + std::string(schema.name));
    if (!f.required_with.empty() && is_present(f.required_with) && !is_present(f.key))
      rd.error(node.Mark(), "missing key '" + std::string(f.key) + "' (required with '" +
                                std::string(f.required_with) + "')");
  }
  for (const auto& p : present) {
    for (const auto& f : schema.fields)
      if (f.key == p.key && !f.only_with.empty() && !is_present(f.only_with))
        rd.error(p.mark, "'" + std::string(f.key) + "' applies only with '" + std::string(f.only_with) + "'");
  }
  check_groups(schema.exactly_one_of, schema.at_least_one_of, present, schema.name, node.Mark(), rd);

  if (schema.keys_together) schema.keys_together(node, rd);
  for (auto& [field, v] : values) field->set(out, v, rd);
  if (schema.finish && rd.error_count() == errors_before) schema.finish(out, node, rd);
  return rd.error_count() == errors_before;
}

// Docs: one Markdown table for a mapping.
struct DocRow {
  std::string key, type, required, default_text, description;
};
template <class T>
std::vector<DocRow> doc_rows(const Mapping<T>& schema);
std::string describe_constraints(Type t, std::optional<long long> min, std::optional<long long> max,
                                 const std::vector<std::string_view>& choices);

template <class T>
std::vector<DocRow> doc_rows(const Mapping<T>& schema) {
  std::vector<DocRow> rows;
  for (const auto& f : schema.fields) {
    DocRow r;
    r.key = std::string(f.key);
    r.type = f.nested.empty() ? std::string(type_name(f.type))
                              : std::string(type_name(f.type)) + " ([" + std::string(f.nested) + "](#" +
                                    std::string(f.nested) + "))";
    r.required = f.required ? "yes" : (!f.required_with.empty() ? "with `" + std::string(f.required_with) + "`" : "no");
    r.default_text = f.default_text.empty() ? "" : "`" + std::string(f.default_text) + "`";
    r.description = std::string(f.description);
    std::string c = describe_constraints(f.type, f.min, f.max, f.choices);
    if (!c.empty()) r.description += " " + c;
    if (!f.only_with.empty()) r.description += " Only with `" + std::string(f.only_with) + "`.";
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace hivehook::schema
