#include "pipeline/expectations.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "store/meta.h"

namespace hivehook {

Expectations::Expectations(const Config& config, Store& store, CommitBatch& batch, PipelineStats& stats,
                           Pipeline& pipeline, const Clock& clock, Timers& timers)
    : config_(config),
      store_(store),
      state_(store),
      batch_(batch),
      stats_(stats),
      pipeline_(pipeline),
      clock_(clock),
      timers_(timers),
      late_gauge_(stats.registry.gauge("hivehook_expectations_late",
                                       "Expected partitions whose deadline passed before they arrived.")) {}

void Expectations::start(std::shared_ptr<const RuleSet> rules) {
  rules_ = std::move(rules);
  timers_by_rule_.clear();
  forget_stale();
  const SystemTime now = clock_.now();
  for (const auto& r : rules_->rules) {
    if (!r.expect) continue;
    check(r.name, redefine(r, now));
  }
  refresh_gauge();
}

// The table an expectation's partitions belong to (DESIGN.md: the late event's detail names the
// table and the partition): the first segment of the rule's match prefix ("heartbeat/" →
// "heartbeat") or, without one, of its glob when that segment is literal; "" when neither names one.
namespace {
std::string expect_table(const Rule& r) {
  for (const auto* pattern : {r.match.prefix ? &*r.match.prefix : nullptr, r.match.glob ? &*r.match.glob : nullptr}) {
    if (!pattern) continue;
    const auto slash = pattern->find('/');
    if (slash == std::string::npos) continue;
    std::string first = pattern->substr(0, slash);
    if (first.find_first_of("*?[{\\") == std::string::npos) return first;
  }
  return "";
}
}  // namespace

namespace {
std::string definition_meta(const std::string& rule) { return "expect.definition:" + rule; }

// `every` as a rules file writes it: "1d", "6h", "15m".
std::string every_text(Duration every) {
  using namespace std::chrono;
  if (every % hours(24) == Duration{0}) return std::to_string(every / hours(24)) + "d";
  if (every % hours(1) == Duration{0}) return std::to_string(every / hours(1)) + "h";
  return std::to_string(duration_cast<minutes>(every).count()) + "m";
}

std::string by_text(Duration by) {
  std::chrono::hh_mm_ss<std::chrono::seconds> t{std::chrono::duration_cast<std::chrono::seconds>(by)};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02ld:%02ld:%02ld", static_cast<long>(t.hours().count()),
                static_cast<long>(t.minutes().count()), static_cast<long>(t.seconds().count()));
  return buf;
}
}  // namespace

// A rule edit (a reload, or an edit while the daemon was down) must not leave alerts nobody can
// clear: the expectations of rules removed or without `expect:` now are forgotten (`expect.removed`,
// each late partition `expect.cleared`). Seen again, an expectation starts from then (`expect.added`).
void Expectations::forget_stale() {
  for (const auto& name : state_.expectation_rules()) {
    const Rule* r = rules_->find(name);
    if (r && r->expect) continue;
    const std::string reason = r ? "the rule's expect: was removed" : "the rule was removed";
    auto late = state_.late(name);
    nlohmann::json partitions = nlohmann::json::array();
    for (const auto& p : late) partitions.push_back(p.partition);
    pipeline_.emit("expect.removed", std::nullopt, {{"reason", reason}, {"late", partitions}}, name);
    for (const auto& p : late) clear(name, p, reason);
    state_.forget_expectation(name);
    erase_meta(store_, definition_meta(name));
    spdlog::info("expect {}: forgotten ({}), {} late partition(s) cleared", name, reason, late.size());
  }
  batch_.request();
}

// Late alerts are judged by the definition in force, whatever raised them (idempotent: under an
// unchanged definition every late partition still holds). The stored definition tells a changed
// `every`/`by`/`timezone` — then the periods late under the new one since first sight are raised
// (by check). A changed `partition` alone raises only from the last check on: partitions named the
// new way never had arrivals recorded under that name, so looking back would raise every past one.
std::optional<int64_t> Expectations::redefine(const Rule& r, SystemTime now) {
  const ExpectationSchedule& s = r.expect->schedule;
  for (const auto& p : state_.late(r.name)) {
    std::string why;
    if (auto start = s.period_of(p.partition)) {
      if (s.deadline(*start) <= now) continue;  // still late
      why = "its deadline under the rule's expect now (every: " + every_text(s.every) + ", by: \"" + by_text(s.by) +
            "\") is " + format_rfc3339_ms(s.deadline(*start)) + ", not passed";
    } else if (auto key = parse_key("t/" + p.partition + "/f");
               !key || s.partition_of(*key) != p.partition) {
      why = "the rule's expect.partition changed to \"" + r.expect->partition_text + "\"";
    } else {
      why = "it is no period of the rule's expect now (every: " + every_text(s.every) + ")";
    }
    clear(r.name, p, why);
  }

  const nlohmann::json now_def = {{"every_ms", std::chrono::duration_cast<std::chrono::milliseconds>(s.every).count()},
                                  {"by_ms", std::chrono::duration_cast<std::chrono::milliseconds>(s.by).count()},
                                  {"timezone", s.zone.name()},
                                  {"partition", r.expect->partition_text}};
  nlohmann::json stored;
  if (auto text = get_meta(store_, definition_meta(r.name))) stored = nlohmann::json::parse(*text, nullptr, false);
  const bool known = stored.is_object() && stored.contains("since") && stored["since"].is_number_integer();
  std::optional<int64_t> raise_since;
  int64_t since = 0;
  if (known) {
    since = stored["since"].get<int64_t>();
    const bool same_partition = stored.value("partition", "") == now_def["partition"];
    const bool same_schedule = stored.value("every_ms", int64_t{-1}) == now_def["every_ms"] &&
                               stored.value("by_ms", int64_t{-1}) == now_def["by_ms"] &&
                               stored.value("timezone", "") == now_def["timezone"];
    if (same_partition && same_schedule) return std::nullopt;
    if (same_partition) raise_since = since;
    spdlog::info("expect {}: definition changed (every: {}, by: {}, partition: {}, timezone: {})", r.name,
                 every_text(s.every), by_text(s.by), r.expect->partition_text, s.zone.name());
  } else {
    // First sight, or state kept before definitions were stored: from the last check on.
    auto checked = state_.expect_checked_until(r.name);
    since = checked ? *checked : unix_ms(now);
  }
  nlohmann::json def = now_def;
  def["since"] = since;
  put_meta(store_, definition_meta(r.name), def.dump());
  return raise_since;
}

void Expectations::clear(const std::string& rule, const ExpectedPartition& p, const std::string& reason) {
  pipeline_.emit("expect.cleared", std::nullopt,
                 {{"partition", p.partition},
                  {"deadline", format_rfc3339_ms(SystemTime(std::chrono::milliseconds(p.deadline)))},
                  {"reason", reason},
                  {"alert_id", "expect:" + rule + ":" + p.partition}},
                 rule);
  state_.remove_expected(rule, p.partition);
  notify_resolved(rule, "expect.cleared", p, "", reason);
  spdlog::info("expect {}: late partition {} cleared ({})", rule, p.partition, reason);
}

// Deadlines in (checked_until, now]: each partition not arrived is late, once. The clock is read
// once: the same instant decides what is due and which deadline the next timer waits for (read
// twice, a timer firing a hair before a deadline found it not due, and the second reading, past
// it, armed for the next period's: the partition was raised a whole period late).
void Expectations::check(const std::string& name, std::optional<int64_t> raise_since) {
  const Rule* r = rules_->find(name);
  if (!r || !r->expect) return;
  const ExpectationSchedule& s = r->expect->schedule;
  const SystemTime now = clock_.now();
  auto checked = state_.expect_checked_until(name);
  if (!checked) {  // first sight: from now on, nothing raised for the past
    pipeline_.emit("expect.added", std::nullopt,
                   {{"partition", r->expect->partition_text}, {"next_deadline", format_rfc3339_ms(s.next_deadline_after(now))}},
                   name);
    state_.set_expect_checked_until(name, unix_ms(now));
  } else {
    bool raised = false;
    const int64_t from = raise_since ? std::min(*raise_since, *checked) : *checked;
    for (LocalSeconds start : s.due_between(SystemTime(std::chrono::milliseconds(from)), now)) {
      const std::string partition = s.render(start);
      if (state_.expected(name, partition)) continue;  // arrived in time (or raised already)
      ExpectedPartition p{name, partition, "late", unix_ms(s.deadline(start)), clock_.now_ms()};
      pipeline_.emit("expect.late", std::nullopt,
                     {{"table", expect_table(*r)}, {"partition", partition}, {"deadline", format_rfc3339_ms(s.deadline(start))},
                      {"alert_id", "expect:" + name + ":" + partition}},
                     name);
      state_.put_expected(p);
      raised = true;
      notify_late(*r, p);
      spdlog::warn("expect {}: partition {} is late (deadline {})", name, partition, format_rfc3339_ms(s.deadline(start)));
    }
    // Advanced only with an event of its own (the batch it commits in); otherwise the next check
    // looks at the same deadlines again and finds them settled.
    if (raised) state_.set_expect_checked_until(name, unix_ms(now));
  }
  batch_.request();
  refresh_gauge();
  arm(*r, now);
}

// The first deadline after `now` (a deadline not yet reached at `now` included: an early timer
// waits for it again). The wait is rounded up to whole milliseconds, so the timer does not fire
// before the deadline on the clock that measured it.
void Expectations::arm(const Rule& r, SystemTime now) {
  const SystemTime next = r.expect->schedule.next_deadline_after(now);
  const Duration wait = std::chrono::ceil<Duration>(next - now);
  timers_by_rule_[r.name] = timers_.after(std::max(wait, Duration(1)), [this, name = r.name] {
    timers_by_rule_.erase(name);
    check(name);
  });
}

void Expectations::on_admitted(const ObjectRecord& rec, const ObjectKey& key, const std::vector<const Rule*>& rules) {
  for (const Rule* r : rules) {
    if (!r->expect) continue;
    auto partition = r->expect->schedule.partition_of(key);
    if (!partition) continue;
    auto had = state_.expected(r->name, *partition);
    if (had && had->state == "arrived") continue;
    ExpectedPartition p{r->name, *partition, "arrived", had ? had->deadline : 0, clock_.now_ms()};
    if (had && had->state == "late") {
      pipeline_.emit("expect.arrived", rec.key,
                     {{"table", expect_table(*r)}, {"partition", *partition},
                      {"deadline", format_rfc3339_ms(SystemTime(std::chrono::milliseconds(had->deadline)))},
                      {"late_by_ms", clock_.now_ms() - had->deadline},
                      {"alert_id", "expect:" + r->name + ":" + *partition}},
                     r->name);
      state_.put_expected(p);
      notify_resolved(r->name, "expect.arrived", *had, rec.key, "");
      spdlog::info("expect {}: partition {} arrived ({})", r->name, *partition, rec.key);
    } else {
      state_.put_expected(p);  // in time: remembered, so its deadline passes quietly
    }
  }
  refresh_gauge();
}

// The body every expect.* notification shares (docs/notifications.md "Late partitions"): DESIGN.md's
// fields that apply (no run), and the alert's stable identifiers — `alert_id` (rule and partition:
// the same on late, arrived and cleared), `partition`, `deadline` (the late one's).
namespace {
nlohmann::json expect_body(const std::string& event, const std::string& rule, const std::string& bucket,
                           const std::string& key, const ExpectedPartition& p, const std::string& outcome,
                           SystemTime now) {
  return {{"event", event},
          {"time", format_rfc3339_ms(now)},
          {"rule", rule},
          {"bucket", bucket},
          {"key", key.empty() ? nlohmann::json(nullptr) : nlohmann::json(key)},
          {"partition", p.partition},
          {"deadline", format_rfc3339_ms(SystemTime(std::chrono::milliseconds(p.deadline)))},
          {"outcome", outcome},
          {"alert_id", "expect:" + rule + ":" + p.partition}};
}
}  // namespace

void Expectations::notify_late(const Rule& r, const ExpectedPartition& p) {
  for (const auto& target : r.expect->notify)
    enqueue(target, "expect.late", r.name, p.partition,
            expect_body("expect.late", r.name, config_.bucket, "", p, "late", clock_.now()));
}

void Expectations::notify_resolved(const std::string& rule, const std::string& event, const ExpectedPartition& p,
                                   const std::string& key, const std::string& reason) {
  const std::string outcome = event == "expect.arrived" ? "arrived" : "cleared";
  for (const auto& told : state_.late_notices(rule, p.partition, p.changed_at)) {
    nlohmann::json body = expect_body(event, rule, config_.bucket, key, p, outcome, clock_.now());
    body["late_delivery_id"] = told.delivery_id;
    if (!reason.empty()) body["reason"] = reason;
    if (event == "expect.arrived") body["late_by_ms"] = clock_.now_ms() - p.deadline;
    enqueue(told.target, event, rule, key.empty() ? p.partition : key, std::move(body));
  }
}

void Expectations::enqueue(const std::string& target, const std::string& event, const std::string& rule,
                           const std::string& key, nlohmann::json body) {
  store_.enqueue_outbox(outbox_row(target, event, key, rule, std::move(body), clock_.now_ms()));
}

void Expectations::refresh_gauge() { late_gauge_.set(static_cast<double>(state_.late().size())); }

}  // namespace hivehook
