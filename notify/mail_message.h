// The RFC 5322 message an SMTP notification sends (pure functions: no I/O).
#pragma once

#include <string>
#include <string_view>

#include "base/clock.h"
#include "notify/sender.h"

namespace hivehook::notify_detail {

// "[hivehook] SUCCEEDED <rule>: <key>" (or FAILED ...), UTF-8, control characters replaced by spaces.
// An expectation's notification names its partition instead: "[hivehook] LATE <rule>: <partition>"
// (ARRIVED, CLEARED), the same subject for the alert's raising and its resolution.
std::string mail_subject(const Notification& n);

// An unstructured header value: kept as-is when it is printable ASCII that fits a line, otherwise
// RFC 2047 encoded words ("=?UTF-8?B?...?=", folded, never splitting a UTF-8 character).
std::string encode_header_text(std::string_view text);

// "Sat, 21 Nov 2026 23:45:04 +0000" (RFC 5322 3.3, always UTC, locale-independent).
std::string rfc5322_date(SystemTime t);

// "<addr@example.com>" for the SMTP envelope, from "addr@example.com" or "Name <addr@example.com>".
std::string envelope_address(const std::string& address);

// The plain-text body: one "field: value" a line, result pretty-printed; LF line ends.
std::string mail_body_text(const Notification& n);

// The whole message, headers and body, CRLF line ends. A body with `late_delivery_id` (an
// expectation's alert resolved) gets In-Reply-To and References naming that mail's Message-ID. The body is 8bit when every line is valid
// UTF-8 and short enough, quoted-printable otherwise.
std::string compose_mail(const SmtpTarget& target, const Notification& n, SystemTime now);

// Quoted-printable (RFC 2045 6.7) of CRLF-separated text, soft line breaks at 76 characters.
std::string quoted_printable(std::string_view text);

}  // namespace hivehook::notify_detail
