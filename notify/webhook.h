// One webhook delivery attempt: a signed JSON POST with libcurl.
#pragma once

#include "notify/sender.h"

namespace hivehook::notify_detail {

DeliveryAttempt deliver_webhook(const WebhookTarget& target, Duration timeout, const Notification& n);

// The JSON body exactly as sent (compact; invalid UTF-8 replaced rather than thrown on).
std::string webhook_body(const Notification& n);

}  // namespace hivehook::notify_detail
