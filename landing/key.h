// Object keys: a file's path relative to landing, its table and hive partition.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hivehook {

using Partition = std::vector<std::pair<std::string, std::string>>;  // ordered name=value, decoded

struct ObjectKey {
  std::string key;        // "transactions/year=2023/month=03/day=15/x.csv" ('/'-separated, as on disk)
  std::string table;      // first segment ("transactions"); for a top-level file, "" (no table)
  Partition partition;    // every "name=value" directory segment, %XX-decoded, in order
  std::string name;       // basename ("x.csv")

  // Value of a partition column, or nullopt.
  std::optional<std::string> partition_value(std::string_view name) const;
};

// Parses and validates a key. Rejects: empty keys, absolute keys, empty segments ("a//b", trailing
// '/'), "." or ".." segments, NUL bytes. On rejection returns nullopt and sets *error to a sentence.
std::optional<ObjectKey> parse_key(std::string_view key, std::string* error = nullptr);

// Hive-style %XX decoding of a partition value (invalid escapes are kept literally).
std::string hive_unescape(std::string_view value);

// Shell-style glob (fnmatch semantics without FNM_PATHNAME) over a basename: `*`, `?`, `[...]`.
bool basename_glob_match(std::string_view pattern, std::string_view name);
// True when a basename matches any of the ignore patterns.
bool is_ignored(std::string_view basename, const std::vector<std::string>& patterns);

}  // namespace hivehook
