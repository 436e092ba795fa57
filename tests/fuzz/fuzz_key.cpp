// Fuzzes key parsing and matching: input is "PATTERN\nKEY" (no newline: the whole input is both).
#include <cstdint>
#include <string>
#include <string_view>

#include "landing/key.h"
#include "rules/config.h"
#include "rules/glob.h"
#include "rules/rule.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view pattern = in.substr(0, nl);
  std::string_view raw_key = nl == std::string_view::npos ? in : in.substr(nl + 1);

  (void)hivehook::key_glob_problem(pattern);
  (void)hivehook::hive_unescape(pattern);
  (void)hivehook::parse_duration(pattern);
  std::string err;
  (void)hivehook::expand_env(pattern, &err);

  auto key = hivehook::parse_key(raw_key, &err);
  if (!key) {
    if (err.empty()) __builtin_trap();  // a rejection always says why
    return 0;
  }
  // Invariants of a parsed key.
  if (key->key != raw_key || key->name.empty() || key->name.find('/') != std::string::npos) __builtin_trap();
  if (!key->table.empty() && raw_key.substr(0, key->table.size() + 1) != key->table + "/") __builtin_trap();

  bool glob = hivehook::key_glob_match(pattern, raw_key);
  // A pattern without wildcards or escapes matches exactly itself.
  if (pattern.find_first_of("*?[\\") == std::string_view::npos && glob != (pattern == raw_key)) __builtin_trap();
  // "**" matches every key.
  if (!hivehook::key_glob_match("**", raw_key)) __builtin_trap();

  hivehook::MatchSpec m;
  m.glob = std::string(pattern);
  if (hivehook::rule_matches(m, *key) != glob) __builtin_trap();
  m = {};
  m.prefix = std::string(pattern);
  m.suffix = std::string(pattern);
  (void)hivehook::rule_matches(m, *key);
  m = {};
  // A key matches its own partition; with a repeated column ("a=1/a=2") the first one counts.
  for (const auto& [name, value] : key->partition) m.partition.emplace_back(name, *key->partition_value(name));
  if (!hivehook::rule_matches(m, *key)) __builtin_trap();

  (void)hivehook::is_ignored(key->name, {".*", "*.tmp", "*.part", "*~", "_COPYING_"});
  return 0;
}
