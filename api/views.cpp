#include "api/views.h"

#include "base/clock.h"
#include "jobs/output_excerpt.h"
#include "base/utf8.h"

namespace hivehook::api {

namespace {
nlohmann::json opt(const std::optional<int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }
nlohmann::json text_or_null(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(utf8_sanitize(s)); }
}  // namespace

std::string time_json(int64_t unix_ms) { return format_rfc3339_ms(SystemTime(std::chrono::milliseconds(unix_ms))); }

nlohmann::json object_json(const ObjectRecord& o) {
  return {{"id", o.id},
          {"key", utf8_sanitize(o.key)},
          {"table", utf8_sanitize(key_table(o.key))},
          {"partition", utf8_sanitize(key_partition(o.key))},
          {"state", to_string(o.state)},
          {"size", o.size},
          {"etag", o.etag},
          {"discovered", time_json(o.discovered_at)},
          {"updated", time_json(o.updated_at)},
          {"final_path", text_or_null(o.final_path)},
          {"error", text_or_null(o.error)}};
}

namespace {
// The last `cap` bytes of `text`: from the first line start in the kept part when there is one
// (else from the first whole UTF-8 character). Sets `cut` when anything was dropped.
std::string tail_of(const std::string& text, std::size_t cap, bool& cut) {
  if (text.size() <= cap) return text;
  cut = true;
  std::size_t from = text.size() - cap;
  if (auto nl = text.find('\n', from); nl != std::string::npos && nl + 1 < text.size()) from = nl + 1;
  else
    while (from < text.size() && (static_cast<unsigned char>(text[from]) & 0xC0) == 0x80) ++from;
  return text.substr(from);
}
}  // namespace

nlohmann::json run_json(const RunRecord& r, bool output, const Redactor& redact, std::size_t tail_cap) {
  nlohmann::json j = {{"run_id", r.run_id},
                      {"object_id", r.object_id},
                      {"key", utf8_sanitize(r.key)},
                      {"rule", r.rule},
                      {"attempt", r.attempt},
                      {"state", to_string(r.state)},
                      {"started", time_json(r.started_at)},
                      {"ended", r.ended_at ? nlohmann::json(time_json(*r.ended_at)) : nlohmann::json(nullptr)},
                      {"duration_ms", opt(r.duration_ms)},
                      {"exit_code", opt(r.exit_code)},
                      {"signal", opt(r.signal)},
                      {"error", text_or_null(redact(r.error))}};
  // Cluster mode: the node that ran it, present when the store has it (PostgreSQL), as an event's.
  if (!r.node.empty()) j["node"] = r.node;
  const std::string result = redact(r.result);
  j["result"] = result.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(result, nullptr, false);
  if (j["result"].is_discarded()) j["result"] = utf8_sanitize(result);
  if (output) {
    bool cut = false;
    j["stdout_tail"] = utf8_sanitize(tail_of(redact(r.stdout_tail), tail_cap, cut));
    j["stderr_tail"] = utf8_sanitize(tail_of(redact(r.stderr_tail), tail_cap, cut));
    if (cut) j["output_truncated"] = true;
    j["stderr_excerpt"] = output_excerpt(r.stderr_tail, kExcerptLines, kExcerptBytes, redact);
  }
  return j;
}

nlohmann::json partition_json(const PartitionCell& c) {
  nlohmann::json objects = nlohmann::json::object();
  int64_t total = 0;
  for (const auto& [state, n] : c.objects) {
    objects[state] = n;
    total += n;
  }
  nlohmann::json j = {{"table", utf8_sanitize(c.table)},
                      {"partition", utf8_sanitize(c.partition)},
                      {"day", c.day.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.day)},
                      {"objects", objects},
                      {"total", total},
                      {"updated", c.last_update_ms ? nlohmann::json(time_json(c.last_update_ms)) : nlohmann::json(nullptr)},
                      {"waiting_rules", c.waiting_rules},
                      {"late", c.late},
                      {"arrived_late", c.arrived_late},
                      {"missing", c.missing}};
  nlohmann::json failed = nlohmann::json::array();
  for (const auto& f : c.failed)
    failed.push_back({{"object_id", f.object_id}, {"key", utf8_sanitize(f.key)}, {"state", f.state},
                      {"error", f.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(utf8_sanitize(f.error))}});
  j["failed"] = failed;
  nlohmann::json batches = nlohmann::json::array();
  for (const auto& b : c.batches)
    batches.push_back({{"rule", b.rule}, {"group", utf8_sanitize(b.group)}, {"generation", b.generation},
                       {"state", b.state}, {"attempts", b.attempts}});
  j["batches"] = batches;
  if (c.last_run) {
    const auto& r = *c.last_run;
    j["last_run"] = {{"run_id", r.run_id}, {"rule", r.rule}, {"key", utf8_sanitize(r.key)}, {"state", r.state},
                     {"started", time_json(r.started_at)},
                     {"ended", r.ended_at ? nlohmann::json(time_json(*r.ended_at)) : nlohmann::json(nullptr)}};
  } else {
    j["last_run"] = nullptr;
  }
  return j;
}

nlohmann::json activity_json(const std::vector<ActivityMinute>& minutes) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& m : minutes)
    arr.push_back({{"minute", time_json(m.minute_ms)}, {"files", m.files}, {"runs", m.runs}, {"failures", m.failures},
                   {"latency_p50_ms", m.latency_p50_ms}, {"latency_max_ms", m.latency_max_ms}});
  return arr;
}

nlohmann::json task_json(const TaskRecord& t) {
  return {{"rule", t.rule}, {"state", to_string(t.state)}, {"attempts", t.attempts}, {"interrupted", t.interrupted},
          {"next_at", t.next_at ? nlohmann::json(time_json(*t.next_at)) : nlohmann::json(nullptr)}};
}

nlohmann::json rule_json(const Rule& r, const Redactor& redact) {
  nlohmann::json match = nlohmann::json::object();
  if (r.match.prefix) match["prefix"] = utf8_sanitize(*r.match.prefix);
  if (r.match.suffix) match["suffix"] = utf8_sanitize(*r.match.suffix);
  if (r.match.glob) match["glob"] = utf8_sanitize(*r.match.glob);
  for (const auto& [name, value] : r.match.partition) match["partition"][name] = utf8_sanitize(value);
  std::string job;
  if (const auto* c = std::get_if<CommandJob>(&r.job.kind)) {
    for (const auto& a : c->argv) job += (job.empty() ? "" : " ") + a;
  } else if (const auto* l = std::get_if<LambdaJob>(&r.job.kind)) {
    job = "lambda " + l->handler + " (" + l->runtime + ")";
  } else if (const auto* b = std::get_if<BuiltinJob>(&r.job.kind)) {
    job = "builtin " + b->name;
  }
  const char* success = r.on_success == SuccessAction::archive ? "archive" : r.on_success == SuccessAction::remove ? "delete" : "keep";
  return {{"name", r.name}, {"description", utf8_sanitize(redact(r.description))}, {"match", match},
          {"job", utf8_sanitize(redact(job))},
          {"on_success", success}, {"on_failure", r.on_failure == FailureAction::quarantine ? "quarantine" : "keep"},
          {"source", utf8_sanitize(r.source)}};
}

}  // namespace hivehook::api
