// Delivering one notification to one target (blocking; runs off the event loop).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "rules/config.h"

namespace hivehook {

struct Notification {
  std::string delivery_id;  // stable across attempts
  std::string event;        // "object.succeeded" | "object.failed" | "run.failed" ...
  nlohmann::json body;      // {event, delivery_id, time, rule, bucket, key, run_id, attempts,
                            //  duration_ms, exit_code, error, result, destination}
};

struct DeliveryAttempt {
  bool delivered = false;
  bool give_up = false;   // permanent failure (e.g. HTTP 410): no more attempts
  long status = 0;        // HTTP status or SMTP reply code, 0 when none
  std::string detail;     // error text or the first bytes of the response body (up to 4 KiB, masked
                          // with the target's own secrets; cut by delivery_detail_excerpt once masked)
};

// The detail recorded, logged and shown for an attempt: at most kDeliveryDetailBytes of `masked`.
// Cut only after the whole text was masked with every secret: a secret cut first is no longer the
// literal the masking looks for, and its first bytes were stored and logged (issue 10 retest 3, F3).
inline constexpr std::size_t kDeliveryDetailBytes = 220;
std::string delivery_detail_excerpt(std::string masked);

// Webhook POST or SMTP mail, per the target's kind. Never throws.
DeliveryAttempt deliver(const NotifyTarget& target, const Notification& n);

// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>"
std::string webhook_signature(const std::string& secret, long long unix_seconds, const std::string& body);

}  // namespace hivehook
