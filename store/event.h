// One audit event: a row of the events table and a line of audit.jsonl.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace hivehook {

struct AuditEvent {
  int64_t id = 0;        // assigned by the store
  int64_t time_ms = 0;   // unix ms
  std::string event;     // "object.discovered", "run.started", ... (DESIGN.md "Audit events")
  std::optional<std::string> key, rule, run_id;
  std::optional<int> attempt;
  nlohmann::json detail;  // null when none
  // Cluster mode (PostgreSQL state with nodes, docs/cluster.md): the node that wrote the event.
  // Unset on SQLite, whose single daemon is the writer of every event.
  std::optional<std::string> node;

  // {"id","time","event","key","node","rule","run_id","attempt","detail"}, absent fields left out.
  nlohmann::json to_json() const;
  // One line for audit.jsonl (invalid UTF-8 in keys replaced, never throws).
  std::string to_line() const;
};

// json.dump() that never throws on invalid UTF-8 (bytes replaced with U+FFFD).
std::string safe_dump(const nlohmann::json& j, int indent = -1);

}  // namespace hivehook
