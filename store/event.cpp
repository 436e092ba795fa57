#include "store/event.h"

#include <chrono>

#include "base/clock.h"

namespace hivehook {

std::string safe_dump(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json AuditEvent::to_json() const {
  nlohmann::json j;
  j["id"] = id;
  j["time"] = format_rfc3339_ms(SystemTime(std::chrono::milliseconds(time_ms)));
  j["event"] = event;
  if (key) j["key"] = *key;
  if (rule) j["rule"] = *rule;
  if (run_id) j["run_id"] = *run_id;
  if (attempt) j["attempt"] = *attempt;
  if (!detail.is_null()) j["detail"] = detail;
  return j;
}

std::string AuditEvent::to_line() const { return safe_dump(to_json()) + "\n"; }

}  // namespace hivehook
