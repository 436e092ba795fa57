// Secrets (webhook signing keys, SMTP passwords, URL credentials) never reach details or logs.
#pragma once

#include <string>
#include <vector>

namespace hivehook::notify_detail {

// Replaces every occurrence of each non-empty secret in `text` with "***".
std::string redact(std::string text, const std::vector<std::string>& secrets);

// The password part of a URL's userinfo ("scheme://user:PASS@host"), or "".
std::string url_password(const std::string& url);

// Control characters (CR, LF, NUL ...) replaced by spaces: safe inside one header line or log line.
std::string one_line(std::string text);

}  // namespace hivehook::notify_detail
