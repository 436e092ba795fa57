// The `batch.group` template of a fan-in rule (DESIGN.md "Orchestration"): objects whose keys
// render the same text belong to one group, e.g. "{table}/{partition.year}/{partition.month}/
// {partition.day}" collects one day of a table, as a Glue job bookmark or an S3 Batch manifest
// would be cut by partition.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "landing/key.h"

namespace hivehook {

class GroupTemplate {
 public:
  // Placeholders: {table}, {bucket}, {partition.NAME}; "{{" is a literal '{'. Per-object
  // placeholders ({key}, {name}, {path}) are refused: each object would be a group of its own.
  // nullopt with *error set (and *offset, 0-based, where the problem starts) when malformed.
  static std::optional<GroupTemplate> parse(std::string_view text, std::string* error = nullptr,
                                            size_t* offset = nullptr);

  // The group a key belongs to; nullopt when the key lacks a partition column the template names
  // (or a table, when it names {table}).
  std::optional<std::string> render(const ObjectKey& key, std::string_view bucket) const;

  const std::string& text() const { return text_; }
  // The partition columns named, in order of first use.
  const std::vector<std::string>& partition_names() const { return partition_names_; }
  bool uses_table() const { return uses_table_; }

 private:
  struct Piece {
    enum class Kind { literal, table, bucket, partition } kind;
    std::string text;  // literal text, or the partition column
  };
  std::string text_;
  std::vector<Piece> pieces_;
  std::vector<std::string> partition_names_;
  bool uses_table_ = false;
};

}  // namespace hivehook
