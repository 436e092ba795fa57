// http.read_auth: token (issue 16 P11) — who may read the API. With it, a GET or HEAD below /api/
// needs one of the daemon's tokens, presented as `Authorization: Bearer <token>` (RFC 6750 section
// 2.1) or, for the console's EventSource (which cannot set headers), as the cookie
// `hivehook_token=<percent-encoded token>` the console sets when the token is entered (RFC 6265;
// SameSite=Strict). The cookie is accepted for reads only: a replay/retry POST needs the header, so
// another site cannot make a browser act with it. /metrics, /healthz and the console's own files
// (no data in them) stay open, for Prometheus and probes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/exchange.h"

namespace hivehook::api {

/// The cookie the console sets to carry the token on its reads.
inline constexpr std::string_view kTokenCookie = "hivehook_token";

/// True when `target` (a request target, "/api/v1/runs?limit=2") is one read_auth guards: below /api/.
bool read_auth_guards(std::string_view target);

/// The value of cookie `name` in a `Cookie:` header ("a=1; hivehook_token=x%21"), percent-decoded;
/// nullopt when absent. (RFC 6265 section 5.4: "; "-separated name=value pairs.)
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

/// The token the request presents: its `Authorization: Bearer` value or, when `cookie_allowed` and
/// there is no such header, the kTokenCookie cookie; nullopt when it presents none.
std::optional<std::string> presented_token(const http::Exchange& ex, bool cookie_allowed);

/// Whether the request presents `token` or `local_token` (either may be "" = none), by the
/// Authorization header or, when `cookie_allowed`, the kTokenCookie cookie. Constant-time compares.
bool presents_token(const http::Exchange& ex, const std::string& token, const std::string& local_token,
                    bool cookie_allowed);

}  // namespace hivehook::api
