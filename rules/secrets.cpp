#include "rules/secrets.h"

#include "base/encoding.h"
#include "base/redactor.h"
#include "base/url_password.h"

#include <algorithm>
#include <cctype>
#include <variant>

extern char** environ;

namespace hivehook {

bool credential_name(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  // An identifier names a credential, it does not unlock anything: AWS_ACCESS_KEY_ID is printed in
  // AWS's own logs and carried in every S3 event (principalId), and is often a common word.
  if (upper.ends_with("_ID") || upper.ends_with("KEYID")) return false;
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
      add(url_password(w->url));
      add(url_basic_credentials(w->url));  // the Authorization: Basic header curl sends for it
      for (const auto& [_, v] : w->headers) add(v);
    } else if (const auto* m = std::get_if<SmtpTarget>(&t.kind)) {
      add(m->password);
      add(url_password(m->url));
      // What SMTP AUTH carries for them (RFC 4616 PLAIN, and LOGIN's password line), base64'd.
      if (!m->password.empty()) {
        add(base64(m->password));
        add(base64(std::string(1, '\0') + m->username + std::string(1, '\0') + m->password));
      }
    }
  }
  if (c.http) add(c.http->token);
  if (c.s3) add(c.s3->secret_access_key);  // jobs and Lambda functions are handed it (docs/lambda.md)
  if (is_postgres_state(c.state.string())) add(url_password(c.state.string()));
  for (const auto& v : c.secret_values) add(v);  // every ${VAR} of a notify target
  return out;
}

std::vector<std::string> environment_secrets(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  for (const auto& [name, value] : env)
    if (credential_name(name) && maskable_secret(value)) out.push_back(value);
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
