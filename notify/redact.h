// Secrets (webhook signing keys, SMTP passwords, URL credentials, every ${VAR} of a notify target)
// never reach details, logs, the store or jobs: all masked by the one Redactor (base/redactor.h).
#pragma once

#include <string>
#include <vector>

#include "base/redactor.h"

namespace hivehook {

// Wraps every sink of spdlog's default logger so each log line passes through `redact` (a later
// call replaces the previous redactor).
void install_log_redaction(Redactor redact);

}  // namespace hivehook

namespace hivehook::notify_detail {

// `text` through Redactor(secrets) (base/redactor.h): the secrets and the credential patterns masked.
std::string redact(std::string text, const std::vector<std::string>& secrets);

// Control characters (CR, LF, NUL ...) replaced by spaces: safe inside one header line or log line.
std::string one_line(std::string text);

}  // namespace hivehook::notify_detail
