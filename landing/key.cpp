#include "landing/key.h"

#include <fnmatch.h>

#include "base/encoding.h"

namespace hivehook {

namespace {

bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

std::optional<ObjectKey> reject(std::string* error, std::string message) {
  fail(error, std::move(message));
  return std::nullopt;
}

// Checks one '/'-separated segment of a key.
bool valid_segment(std::string_view seg, std::string_view key, std::string* error) {
  if (seg.empty()) {
    if (key.back() == '/') return fail(error, "key ends with '/' (a key names a file, not a folder)");
    return fail(error, "key has an empty segment ('//')");
  }
  if (seg == "." || seg == "..") return fail(error, "key has a '" + std::string(seg) + "' segment (keys must stay inside landing)");
  return true;
}

}  // namespace

std::optional<std::string> ObjectKey::partition_value(std::string_view column) const {
  for (const auto& [n, v] : partition)
    if (n == column) return v;
  return std::nullopt;
}

std::string hive_unescape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '%' && i + 2 < value.size()) {
      int hi = hex_digit(value[i + 1]), lo = hex_digit(value[i + 2]);
      // "%00" stays literal: a NUL inside a value would be cut short in argv and the environment.
      if (hi >= 0 && lo >= 0 && (hi | lo) != 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(value[i]);
  }
  return out;
}

std::optional<ObjectKey> parse_key(std::string_view key, std::string* error) {
  if (key.empty()) return reject(error, "key is empty");
  if (key.find('\0') != std::string_view::npos) return reject(error, "key contains a NUL byte");
  if (key.front() == '/') return reject(error, "key is absolute (keys are relative to landing)");

  std::vector<std::string_view> segments;
  size_t start = 0;
  for (;;) {
    size_t slash = key.find('/', start);
    std::string_view seg = key.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!valid_segment(seg, key, error)) return std::nullopt;
    segments.push_back(seg);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }

  ObjectKey out;
  out.key = std::string(key);
  out.name = std::string(segments.back());
  if (segments.size() > 1) out.table = std::string(segments.front());
  // Partition columns are the "name=value" folders below the table; the first '=' splits, so
  // "a=b=c" is column "a" with value "b=c". A folder like "=x" (no name) is not a partition.
  for (size_t i = 1; i + 1 < segments.size(); ++i) {
    std::string_view seg = segments[i];
    size_t eq = seg.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    out.partition.emplace_back(hive_unescape(seg.substr(0, eq)), hive_unescape(seg.substr(eq + 1)));
  }
  return out;
}

bool basename_glob_match(std::string_view pattern, std::string_view name) {
  // fnmatch(3) needs NUL-terminated strings; a name with a NUL cannot exist on disk.
  if (pattern.find('\0') != std::string_view::npos || name.find('\0') != std::string_view::npos) return false;
  return ::fnmatch(std::string(pattern).c_str(), std::string(name).c_str(), 0) == 0;
}

bool is_ignored(std::string_view basename, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns)
    if (basename_glob_match(p, basename)) return true;
  return false;
}

}  // namespace hivehook
