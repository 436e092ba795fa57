#include "rules/schema.h"

#include <algorithm>
#include <charconv>

#include "rules/config.h"

namespace hivehook::schema {

namespace {
int line_of(const YAML::Mark& m) { return m.line >= 0 ? m.line + 1 : 0; }
int col_of(const YAML::Mark& m) { return m.column >= 0 ? m.column + 1 : 0; }

// Optimal string alignment distance: Levenshtein plus adjacent swaps ("retires" -> "retries" is 1).
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::optional<std::string> expand(const YAML::Node& n, Reader& rd) {
  std::string problem;
  auto out = expand_env(n.Scalar(), &problem);
  if (!out) {
    rd.error(n.Mark(), problem);
  } else if (out->find('\0') != std::string::npos) {
    rd.error(n.Mark(), "values must not contain a NUL byte");
    return std::nullopt;
  }
  return out;
}

std::optional<long long> parse_int(std::string_view s) {
  long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<bool> parse_bool(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  return std::nullopt;
}

std::string range_text(Type t, std::optional<long long> min, std::optional<long long> max) {
  auto show = [t](long long v) { return t == Type::duration ? format_duration(Duration{v}) : std::to_string(v); };
  if (t == Type::duration && min && *min == 0 && !max) return "";  // durations are never negative
  if (min && max) return "between " + show(*min) + " and " + show(*max);
  if (min) return (t == Type::duration && *min == 1) ? "greater than 0" : "at least " + show(*min);
  if (max) return "at most " + show(*max);
  return "";
}
}  // namespace

void Reader::error(const YAML::Mark& m, std::string message) {
  ++errors_;
  diags_.error(file_, line_of(m), col_of(m), std::move(message));
}

void Reader::warning(const YAML::Mark& m, std::string message) {
  diags_.warning(file_, line_of(m), col_of(m), std::move(message));
}

std::string Reader::where(const YAML::Mark& m) const {
  return file_ + ":" + std::to_string(line_of(m)) + ":" + std::to_string(col_of(m));
}

std::string_view type_name(Type t) {
  switch (t) {
    case Type::string: return "string";
    case Type::path: return "path";
    case Type::integer: return "integer";
    case Type::boolean: return "bool";
    case Type::duration: return "duration";
    case Type::string_list: return "list of strings";
    case Type::string_map: return "map of strings";
    case Type::mapping: return "mapping";
    case Type::named_mappings: return "map of name to mapping";
    case Type::mapping_list: return "list of mappings";
  }
  return "?";
}

std::string_view node_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Scalar: return "a single value";
    default: return "nothing";
  }
}

std::string closest(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string best;
  size_t best_d = std::max<size_t>(1, word.size() / 3) + 1;
  for (auto c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = std::string(c);
    }
  }
  return best;
}

std::string quoted_list(const std::vector<std::string_view>& words, std::string_view conj) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " " + std::string(conj) + " " : ", ";
    out += "'" + std::string(words[i]) + "'";
  }
  return out;
}

std::optional<Value> convert(const YAML::Node& key, const YAML::Node& node, const FieldRules& f, Reader& rd) {
  Value v;
  v.node = node;
  v.mark = node.Mark();
  v.key_mark = key.Mark();
  // An empty value ("retries:") has no mark of its own; point at the key instead.
  if (v.mark.line < 0 || node.IsNull()) v.mark = key.Mark();
  std::string k = "'" + std::string(f.key) + "'";
  auto want = [&](std::string_view what) {
    rd.error(v.mark, k + " must be " + std::string(what) + ", not " + std::string(node_kind(node)));
    return std::nullopt;
  };

  switch (f.type) {
    case Type::string:
    case Type::path:
    case Type::integer:
    case Type::boolean:
    case Type::duration: {
      if (!node.IsScalar()) {
        return want(f.type == Type::integer    ? "a whole number"
                    : f.type == Type::boolean  ? "true or false"
                    : f.type == Type::duration ? "a duration such as 30s"
                                               : "a single value");
      }
      auto text = expand(node, rd);
      if (!text) return std::nullopt;
      if (f.type == Type::string || f.type == Type::path) {
        if ((f.nonempty || f.type == Type::path) && text->empty()) {
          rd.error(v.mark, k + " must not be empty");
          return std::nullopt;
        }
        if (f.choices && !f.choices->empty() &&
            std::find(f.choices->begin(), f.choices->end(), *text) == f.choices->end()) {
          std::string hint = closest(*text, *f.choices);
          rd.error(v.mark, k + " must be " + quoted_list(*f.choices, "or") + ", not '" + *text + "'" +
                               (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
          return std::nullopt;
        }
        v.str = *text;
        if (f.type == Type::path) {
          std::filesystem::path p(*text);
          v.str = (p.is_absolute() ? p : rd.base_dir() / p).lexically_normal().string();
          if (v.str.size() > 1 && v.str.back() == '/') v.str.pop_back();
        }
      } else if (f.type == Type::integer) {
        auto n = parse_int(*text);
        if (!n) {
          rd.error(v.mark, k + " must be a whole number, not '" + *text + "'");
          return std::nullopt;
        }
        if ((f.min && *n < *f.min) || (f.max && *n > *f.max)) {
          rd.error(v.mark, k + " must be " + range_text(f.type, f.min, f.max) + " (got " + *text + ")");
          return std::nullopt;
        }
        v.num = *n;
      } else if (f.type == Type::boolean) {
        auto b = parse_bool(*text);
        if (!b) {
          rd.error(v.mark, k + " must be true or false, not '" + *text + "'");
          return std::nullopt;
        }
        v.flag = *b;
      } else {
        auto d = parse_duration(*text);
        if (!d) {
          rd.error(v.mark, k + ": invalid duration '" + *text + "' (write e.g. 250ms, 30s, 10m, 1h or 0)");
          return std::nullopt;
        }
        if ((f.min && d->count() < *f.min) || (f.max && d->count() > *f.max)) {
          rd.error(v.mark, k + " must be " + range_text(f.type, f.min, f.max) + " (got " + *text + ")");
          return std::nullopt;
        }
        v.dur = *d;
        v.str = *text;  // as written ("7m"), for messages that quote it
      }
      return v;
    }
    case Type::string_list: {
      if (f.scalar_as_list && node.IsScalar()) {
        auto text = expand(node, rd);
        if (!text) return std::nullopt;
        v.list.push_back(*text);
        v.list_marks.push_back(node.Mark());
        return v;
      }
      if (!node.IsSequence()) return want("a list of strings");
      bool ok = true;
      for (const auto& item : node) {
        if (!item.IsScalar()) {
          rd.error(item.Mark(), "items of " + k + " must be single values, not " + std::string(node_kind(item)));
          ok = false;
          continue;
        }
        auto text = expand(item, rd);
        if (!text) {
          ok = false;
          continue;
        }
        v.list.push_back(*text);
        v.list_marks.push_back(item.Mark());
      }
      if (ok && f.nonempty && v.list.empty()) {
        rd.error(v.mark, k + " must not be an empty list");
        return std::nullopt;
      }
      if (!ok) return std::nullopt;
      return v;
    }
    case Type::string_map: {
      if (!node.IsMap()) return want("a mapping of names to values");
      bool ok = true;
      for (auto it = node.begin(); it != node.end(); ++it) {
        const YAML::Node name = it->first, value = it->second;  // copies: the pair is a temporary
        if (!name.IsScalar() || !value.IsScalar()) {
          rd.error(name.Mark(), "entries of " + k + " must be 'name: value' with single values");
          ok = false;
          continue;
        }
        auto text = expand(value, rd);
        if (!text) {
          ok = false;
          continue;
        }
        v.map.emplace_back(name.Scalar(), *text);
        v.map_marks.push_back(name.Mark());
      }
      if (!ok) return std::nullopt;
      return v;
    }
    case Type::mapping:
    case Type::named_mappings:
      if (!node.IsMap()) return want("a mapping");
      return v;
    case Type::mapping_list:
      if (!node.IsSequence()) return want("a list");
      return v;
  }
  return std::nullopt;
}

void check_groups(const std::vector<std::vector<std::string_view>>& exactly_one,
                  const std::vector<std::vector<std::string_view>>& at_least_one,
                  const std::vector<Presence>& present, std::string_view where, const YAML::Mark& at, Reader& rd) {
  auto given = [&](const std::vector<std::string_view>& group) {
    std::vector<const Presence*> out;
    for (const auto& p : present)
      if (std::find(group.begin(), group.end(), p.key) != group.end()) out.push_back(&p);
    return out;
  };
  for (const auto& group : exactly_one) {
    auto g = given(group);
    if (g.empty())
      rd.error(at, std::string(where) + " needs one of " + quoted_list(group, "or"));
    for (size_t i = 1; i < g.size(); ++i)
      rd.error(g[i]->mark, "'" + std::string(g[i]->key) + "' and '" + std::string(g[0]->key) +
                               "' cannot both be given (" + std::string(where) + " takes exactly one of " +
                               quoted_list(group, "or") + ")");
  }
  for (const auto& group : at_least_one)
    if (given(group).empty()) rd.error(at, std::string(where) + " needs at least one of " + quoted_list(group, "or"));
}

std::string describe_constraints(Type t, std::optional<long long> min, std::optional<long long> max,
                                 const std::vector<std::string_view>& choices) {
  std::string out;
  if (!choices.empty()) {
    out = "One of ";
    for (size_t i = 0; i < choices.size(); ++i) out += (i ? ", `" : "`") + std::string(choices[i]) + "`";
    out += ".";
  }
  std::string r = range_text(t, min, max);
  if (!r.empty()) out += (out.empty() ? "" : " ") + std::string("Must be ") + r + ".";
  return out;
}

}  // namespace hivehook::schema
