#include "rules/secrets.h"

#include <algorithm>
#include <cctype>
#include <variant>

extern char** environ;

namespace hivehook {

bool credential_name(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  for (const char* word : {"PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE_KEY", "ACCESS_KEY",
                           "API_KEY", "APIKEY", "AUTH"})
    if (upper.find(word) != std::string::npos) return true;
  return false;
}

std::vector<std::string> config_secrets(const Config& c) {
  std::vector<std::string> out;
  auto add = [&](const std::string& s) {
    if (!s.empty()) out.push_back(s);
  };
  for (const auto& [_, t] : c.notify) {
    if (const auto* w = std::get_if<WebhookTarget>(&t.kind)) {
      add(w->secret);
      for (const auto& [_, v] : w->headers) add(v);
    } else if (const auto* m = std::get_if<SmtpTarget>(&t.kind)) {
      add(m->password);
    }
  }
  if (c.http) add(c.http->token);
  for (const auto& v : c.secret_values) add(v);  // every ${VAR} of a notify target
  return out;
}

std::vector<std::string> environment_secrets(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  for (const auto& [name, value] : env)
    if (value.size() >= 4 && credential_name(name)) out.push_back(value);
  return out;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return out;
}

}  // namespace hivehook
