// One SMTP delivery attempt with libcurl (plain, STARTTLS or implicit TLS).
#pragma once

#include "notify/sender.h"

namespace hivehook::notify_detail {

// The CA bundle SMTP TLS trusts instead of the system store, when set (e.g. a test certificate).
inline constexpr const char* kSmtpCaInfoEnv = "HIVEHOOK_SMTP_CAINFO";

DeliveryAttempt deliver_smtp(const SmtpTarget& target, Duration timeout, const Notification& n);

// The URL libcurl is given: tls → smtps://, otherwise smtp:// as configured.
std::string smtp_curl_url(const SmtpTarget& target);

}  // namespace hivehook::notify_detail
