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
  if (node) j["node"] = *node;
  if (rule) j["rule"] = *rule;
  if (run_id) j["run_id"] = *run_id;
  if (attempt) j["attempt"] = *attempt;
  if (!detail.is_null()) j["detail"] = detail;
  return j;
}

// The audit.jsonl line, written directly: building a json object per event (a std::map) cost about
// a tenth of the daemon's time in a noop burst. Byte for byte what safe_dump(to_json()) gives: the
// keys in nlohmann's (sorted) order, strings escaped by nlohmann.
std::string AuditEvent::to_line() const {
  auto str = [](std::string& out, const std::string& s) {
    bool plain = true;
    for (unsigned char c : s)
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) {
        plain = false;
        break;
      }
    if (plain) {
      out += '"';
      out += s;
      out += '"';
    } else {
      out += safe_dump(nlohmann::json(s));
    }
  };
  std::string out;
  out.reserve(160 + (key ? key->size() : 0));
  out += '{';
  if (attempt) {
    out += "\"attempt\":";
    out += std::to_string(*attempt);
    out += ',';
  }
  if (!detail.is_null()) {
    out += "\"detail\":";
    out += safe_dump(detail);
    out += ',';
  }
  out += "\"event\":";
  str(out, event);
  out += ",\"id\":";
  out += std::to_string(id);
  if (key) {
    out += ",\"key\":";
    str(out, *key);
  }
  if (node) {
    out += ",\"node\":";
    str(out, *node);
  }
  if (rule) {
    out += ",\"rule\":";
    str(out, *rule);
  }
  if (run_id) {
    out += ",\"run_id\":";
    str(out, *run_id);
  }
  out += ",\"time\":";
  str(out, format_rfc3339_ms(SystemTime(std::chrono::milliseconds(time_ms))));
  out += "}\n";
  return out;
}

}  // namespace hivehook
