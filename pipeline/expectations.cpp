#include "pipeline/expectations.h"

#include <spdlog/spdlog.h>

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
  for (const auto& r : rules_->rules) {
    if (!r.expect) continue;
    check(r.name);
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

// A rule edit (a reload, or an edit while the daemon was down) must not leave alerts nobody can
// clear: the expectations of rules removed or without `expect:` now are forgotten (`expect.removed`,
// each late partition `expect.cleared`); a late partition the rule's current template cannot name
// (its partition changed) is cleared. Seen again, an expectation starts from then (`expect.added`).
void Expectations::forget_stale() {
  for (const auto& name : state_.expectation_rules()) {
    const Rule* r = rules_->find(name);
    if (r && r->expect) {
      for (const auto& p : state_.late(name)) {
        auto key = parse_key("t/" + p.partition + "/f");
        if (key && r->expect->schedule.partition_of(*key) == p.partition) continue;
        clear(name, p, "the rule's expect.partition changed to \"" + r->expect->partition_text + "\"");
      }
      continue;
    }
    const std::string reason = r ? "the rule's expect: was removed" : "the rule was removed";
    auto late = state_.late(name);
    nlohmann::json partitions = nlohmann::json::array();
    for (const auto& p : late) partitions.push_back(p.partition);
    pipeline_.emit("expect.removed", std::nullopt, {{"reason", reason}, {"late", partitions}}, name);
    for (const auto& p : late) clear(name, p, reason);
    state_.forget_expectation(name);
    spdlog::info("expect {}: forgotten ({}), {} late partition(s) cleared", name, reason, late.size());
  }
  batch_.request();
}

void Expectations::clear(const std::string& rule, const ExpectedPartition& p, const std::string& reason) {
  pipeline_.emit("expect.cleared", std::nullopt,
                 {{"partition", p.partition},
                  {"deadline", format_rfc3339_ms(SystemTime(std::chrono::milliseconds(p.deadline)))},
                  {"reason", reason}},
                 rule);
  state_.remove_expected(rule, p.partition);
}

// Deadlines in (checked_until, now]: each partition not arrived is late, once. The clock is read
// once: the same instant decides what is due and which deadline the next timer waits for (read
// twice, a timer firing a hair before a deadline found it not due, and the second reading, past
// it, armed for the next period's: the partition was raised a whole period late).
void Expectations::check(const std::string& name) {
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
    for (LocalSeconds start : s.due_between(SystemTime(std::chrono::milliseconds(*checked)), now)) {
      const std::string partition = s.render(start);
      if (state_.expected(name, partition)) continue;  // arrived in time (or raised already)
      ExpectedPartition p{name, partition, "late", unix_ms(s.deadline(start)), clock_.now_ms()};
      pipeline_.emit("expect.late", std::nullopt,
                     {{"table", expect_table(*r)}, {"partition", partition}, {"deadline", format_rfc3339_ms(s.deadline(start))}},
                     name);
      state_.put_expected(p);
      raised = true;
      notify(*r, "expect.late", p, "");
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
                      {"late_by_ms", clock_.now_ms() - had->deadline}},
                     r->name);
      state_.put_expected(p);
      notify(*r, "expect.arrived", p, rec.key);
      spdlog::info("expect {}: partition {} arrived ({})", r->name, *partition, rec.key);
    } else {
      state_.put_expected(p);  // in time: remembered, so its deadline passes quietly
    }
  }
  refresh_gauge();
}

void Expectations::notify(const Rule& r, const std::string& event, const ExpectedPartition& p, const std::string& key) {
  for (const auto& target : r.expect->notify) {
    OutboxRecord o;
    o.delivery_id = new_uuid();
    o.target = target;
    o.event = event;
    o.key = key.empty() ? p.partition : key;
    o.rule = r.name;
    nlohmann::json body = {{"event", event},
                           {"delivery_id", o.delivery_id},
                           {"time", format_rfc3339_ms(clock_.now())},
                           {"rule", r.name},
                           {"bucket", config_.bucket},
                           {"key", key.empty() ? nlohmann::json(nullptr) : nlohmann::json(key)},
                           {"partition", p.partition},
                           {"deadline", format_rfc3339_ms(SystemTime(std::chrono::milliseconds(p.deadline)))},
                           {"outcome", p.state}};
    o.body = safe_dump(body);
    o.next_at = clock_.now_ms();
    store_.enqueue_outbox(o);
  }
}

void Expectations::refresh_gauge() { late_gauge_.set(static_cast<double>(state_.late().size())); }

}  // namespace hivehook
