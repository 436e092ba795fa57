// Parsing and rendering batch group templates (see group_template.h).
#include "orchestration/group_template.h"

#include <algorithm>
#include <utility>

namespace hivehook {

std::optional<GroupTemplate> GroupTemplate::parse(std::string_view text, std::string* error, size_t* offset) {
  auto fail = [&](size_t at, std::string m) -> std::optional<GroupTemplate> {
    if (error) *error = std::move(m);
    if (offset) *offset = at;
    return std::nullopt;
  };
  if (text.empty()) return fail(0, "the group template is empty (e.g. \"{table}/{partition.day}\")");
  GroupTemplate t;
  t.text_ = std::string(text);
  std::string literal;
  bool any_placeholder = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      literal += '{';
      ++i;
      continue;
    }
    if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      literal += '}';
      ++i;
      continue;
    }
    if (c == '}') return fail(i, "'}' without '{' in the group template (write '}}' for a literal '}')");
    if (c != '{') {
      literal += c;
      continue;
    }
    size_t close = text.find('}', i);
    if (close == std::string_view::npos) return fail(i, "unclosed '{' in the group template");
    std::string_view name = text.substr(i + 1, close - i - 1);
    if (!literal.empty()) t.pieces_.push_back({Piece::Kind::literal, std::exchange(literal, {})});
    if (name == "table") {
      t.pieces_.push_back({Piece::Kind::table, {}});
      t.uses_table_ = true;
    } else if (name == "bucket") {
      t.pieces_.push_back({Piece::Kind::bucket, {}});
    } else if (name.rfind("partition.", 0) == 0 && name.size() > 10) {
      std::string column(name.substr(10));
      t.pieces_.push_back({Piece::Kind::partition, column});
      if (std::find(t.partition_names_.begin(), t.partition_names_.end(), column) == t.partition_names_.end())
        t.partition_names_.push_back(column);
    } else if (name == "key" || name == "name" || name == "path" || name == "run_id" || name == "attempt") {
      return fail(i, "'{" + std::string(name) +
                         "}' differs for every object, so each would be a group of its own: group by "
                         "{table}, {bucket} and {partition.NAME}");
    } else {
      return fail(i, "unknown placeholder '{" + std::string(name) +
                         "}' in the group template (known: {table}, {bucket}, {partition.NAME})");
    }
    any_placeholder = true;
    i = close;
  }
  if (!literal.empty()) t.pieces_.push_back({Piece::Kind::literal, literal});
  if (!any_placeholder)
    return fail(0, "the group template has no placeholder, so every object would join one endless group: "
                   "group by {table} or {partition.NAME}");
  return t;
}

std::optional<std::string> GroupTemplate::render(const ObjectKey& key, std::string_view bucket) const {
  std::string out;
  for (const auto& p : pieces_) {
    switch (p.kind) {
      case Piece::Kind::literal: out += p.text; break;
      case Piece::Kind::bucket: out += bucket; break;
      case Piece::Kind::table:
        if (key.table.empty()) return std::nullopt;
        out += key.table;
        break;
      case Piece::Kind::partition: {
        auto v = key.partition_value(p.text);
        if (!v) return std::nullopt;
        out += *v;
        break;
      }
    }
  }
  return out;
}

}  // namespace hivehook
