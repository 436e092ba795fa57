// The password a URL carries, for masking (base/redactor.h): the one reading of it for notify
// targets (smtp://user:PASS@host, https://user:PASS@host) and a postgresql:// state URL.
#pragma once

#include <string>
#include <string_view>

namespace hivehook {

// The password of a URL: its userinfo's ("scheme://user:PASS@host", RFC 3986 section 3.2.1) or,
// when there is none, libpq's "?password=PASS" query parameter (PostgreSQL docs, "Connection
// URIs"), percent-decoded (RFC 3986 section 2.1); "" when it has none.
std::string url_password(std::string_view url);

// What an HTTP client sends for a URL's userinfo ("scheme://user:PASS@host"): the base64 of
// "user:PASS", percent-decoded, as in "Authorization: Basic ..." (RFC 7617); "" when the URL has no
// userinfo password. Masked as a literal secret too: a receiver may echo the header in any form
// (issue 10 retest 3, F2).
std::string url_basic_credentials(std::string_view url);

}  // namespace hivehook
