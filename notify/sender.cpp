#include "notify/sender.h"

#include "notify/smtp.h"
#include "notify/webhook.h"

namespace hivehook {

DeliveryAttempt deliver(const NotifyTarget& target, const Notification& n) {
  // Never throws: a failure of any kind is an attempt that was not delivered, retried by the outbox.
  try {
    if (const auto* w = std::get_if<WebhookTarget>(&target.kind))
      return notify_detail::deliver_webhook(*w, target.timeout, n);
    return notify_detail::deliver_smtp(std::get<SmtpTarget>(target.kind), target.timeout, n);
  } catch (const std::exception& e) {
    DeliveryAttempt a;
    a.detail = std::string("internal error: ") + e.what();
    return a;
  } catch (...) {
    DeliveryAttempt a;
    a.detail = "internal error";
    return a;
  }
}

std::string delivery_detail_excerpt(std::string masked) {
  if (masked.size() <= kDeliveryDetailBytes) return masked;
  std::size_t cut = kDeliveryDetailBytes;
  while (cut > 0 && (static_cast<unsigned char>(masked[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
  masked.resize(cut);
  return masked + "...";
}

}  // namespace hivehook
