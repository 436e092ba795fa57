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
  if (c.s3) add(c.s3->secret_access_key);  // jobs and Lambda functions are handed it (docs/lambda.md)
  if (is_postgres_state(c.state.string())) add(url_password(c.state.string()));
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

std::string url_password(std::string_view url) {
  auto decode = [](std::string_view in) {  // RFC 3986 section 2.1 percent-decoding
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '%' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
          std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
        out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        out += in[i];
      }
    }
    return out;
  };
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  const std::string_view rest = url.substr(scheme + 3);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    if (const auto colon = userinfo.find(':'); colon != std::string_view::npos)
      return decode(userinfo.substr(colon + 1));
  }
  // libpq also takes the password as a query parameter (PostgreSQL docs, "Connection URIs").
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    std::string_view query = rest.substr(q + 1);
    while (!query.empty()) {
      const std::string_view pair = query.substr(0, query.find('&'));
      if (pair.substr(0, 9) == "password=") return decode(pair.substr(9));
      query.remove_prefix(std::min(query.size(), pair.size() + 1));
    }
  }
  return {};
}

}  // namespace hivehook
