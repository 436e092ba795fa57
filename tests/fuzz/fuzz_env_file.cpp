// Fuzzes the systemd EnvironmentFile= reader behind `hivehook check --env-file`: any bytes parse
// without crashing into valid names only, and a value written quoted reads back unchanged.
// fuzz-link: hivehook_app
#include <cstdint>
#include <string>
#include <string_view>

#include "app/env_file.h"

namespace {
bool valid_name(const std::string& s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s)
    if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto parsed = hivehook::cli::parse_env_file(in);
  for (const auto& [k, v] : parsed.vars)
    if (!valid_name(k)) __builtin_trap();
  for (const auto& w : parsed.warnings)
    if (w.line == 0 || w.text.empty()) __builtin_trap();

  // Round trips: the input as the value of K, single-quoted (when it holds no ') and double-quoted.
  std::string value(in);
  if (value.find('\'') == std::string::npos) {
    auto r = hivehook::cli::parse_env_file("K='" + value + "'\n");
    if (r.vars.size() != 1 || r.vars[0].first != "K" || r.vars[0].second != value) __builtin_trap();
  }
  std::string quoted = "K=\"";
  for (char c : value) {
    if (c == '"' || c == '\\' || c == '`' || c == '$') quoted += '\\';
    quoted += c;
  }
  auto r = hivehook::cli::parse_env_file(quoted + "\"\n");
  if (r.vars.size() != 1 || r.vars[0].second != value) __builtin_trap();
  return 0;
}
