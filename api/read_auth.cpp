#include "api/read_auth.h"

#include "api/params.h"

namespace hivehook::api {

bool read_auth_guards(std::string_view target) { return target.substr(0, 5) == "/api/"; }

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const std::size_t end = header.find(';');
    std::string_view pair = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    while (!pair.empty() && (pair.back() == ' ' || pair.back() == '\t')) pair.remove_suffix(1);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
    std::string_view value = pair.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return form_decode(value);
  }
  return std::nullopt;
}

std::optional<std::string> presented_token(const http::Exchange& ex, bool cookie_allowed) {
  std::optional<std::string> presented = bearer_token(ex.header("Authorization"));
  if (!presented && cookie_allowed) presented = cookie_value(ex.header("Cookie"), kTokenCookie);
  return presented;
}

bool presents_token(const http::Exchange& ex, const std::string& token, const std::string& local_token,
                    bool cookie_allowed) {
  const std::optional<std::string> presented = presented_token(ex, cookie_allowed);
  if (!presented) return false;
  return token_matches(*presented, token) || token_matches(*presented, local_token);
}

}  // namespace hivehook::api
