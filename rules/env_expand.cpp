// "${VAR}" expansion from the environment, "$$" for a literal '$'. A lone '$' stays as written
// (so regex-like arguments such as "^a$" need no escaping).
#include <cstdlib>

#include "rules/config.h"

namespace hivehook {

namespace {
bool valid_var_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name)
    if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return true;
}
}  // namespace

std::optional<std::string> expand_env(std::string_view text, std::string* error) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '$' || i + 1 >= text.size()) {
      out.push_back(c);
      continue;
    }
    if (text[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    if (text[i + 1] != '{') {
      out.push_back(c);
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      if (error) *error = "unterminated '${' (write '$$' for a literal '$')";
      return std::nullopt;
    }
    std::string name(text.substr(i + 2, close - i - 2));
    if (!valid_var_name(name)) {
      if (error) *error = "invalid environment variable name '" + name + "' in '${...}'";
      return std::nullopt;
    }
    const char* value = std::getenv(name.c_str());
    if (!value) {
      if (error) *error = "environment variable '" + name + "' is not set";
      return std::nullopt;
    }
    out += value;
    i = close;
  }
  return out;
}

}  // namespace hivehook
