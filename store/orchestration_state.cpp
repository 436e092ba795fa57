#include "store/orchestration_state.h"

#include <stdexcept>

namespace hivehook {

void OrchestrationState::require_batch() const {
  // The store opens its batch on the first write of a loop turn; every caller announces its change
  // with an audit event first, which opens it. A write outside one would commit on its own.
  if (!store_.in_batch()) throw std::logic_error("orchestration state written outside the store's batch");
}

std::optional<ScheduleRecord> OrchestrationState::schedule(const std::string& rule) {
  auto st = store_.db().cached(
      "SELECT rule, last_fired_for, open, open_for, catch_up, attempts, interrupted, next_at FROM schedules"
      " WHERE rule = ?");
  st->bind(1, rule);
  if (!st->step()) return std::nullopt;
  ScheduleRecord r;
  r.rule = st->text(0);
  r.last_fired_for = st->int64(1);
  r.open = st->int64(2) != 0;
  r.open_for = st->int64(3);
  r.catch_up = st->int64(4) != 0;
  r.attempts = static_cast<int>(st->int64(5));
  r.interrupted = static_cast<int>(st->int64(6));
  if (!st->is_null(7)) r.next_at = st->int64(7);
  return r;
}

void OrchestrationState::put_schedule(const ScheduleRecord& r) {
  require_batch();
  store_.write([this, r] {
    auto st = store_.db().cached(
        "INSERT INTO schedules(rule, last_fired_for, open, open_for, catch_up, attempts, interrupted, next_at)"
        " VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(rule) DO UPDATE SET last_fired_for=excluded.last_fired_for,"
        " open=excluded.open, open_for=excluded.open_for, catch_up=excluded.catch_up, attempts=excluded.attempts,"
        " interrupted=excluded.interrupted, next_at=excluded.next_at");
    st->bind(1, r.rule).bind(2, r.last_fired_for).bind(3, r.open ? 1 : 0).bind(4, r.open_for).bind(5, r.catch_up ? 1 : 0)
        .bind(6, r.attempts).bind(7, r.interrupted).bind(8, r.next_at);
    st->run();
  });
}

std::vector<ScheduleRecord> OrchestrationState::open_schedules() {
  std::vector<ScheduleRecord> out;
  std::vector<std::string> rules;
  {
    auto st = store_.db().cached("SELECT rule FROM schedules WHERE open = 1 ORDER BY rule");
    while (st->step()) rules.push_back(st->text(0));
  }
  for (const auto& r : rules)
    if (auto row = schedule(r)) out.push_back(std::move(*row));
  return out;
}

std::optional<int64_t> OrchestrationState::expect_checked_until(const std::string& rule) {
  auto st = store_.db().cached("SELECT checked_until FROM expectation_checks WHERE rule = ?");
  st->bind(1, rule);
  if (!st->step()) return std::nullopt;
  return st->int64(0);
}

void OrchestrationState::set_expect_checked_until(const std::string& rule, int64_t ms) {
  require_batch();
  store_.write([this, rule, ms] {
    auto st = store_.db().cached("INSERT INTO expectation_checks(rule, checked_until) VALUES(?,?)"
                                  " ON CONFLICT(rule) DO UPDATE SET checked_until=excluded.checked_until");
    st->bind(1, rule).bind(2, ms);
    st->run();
  });
}

namespace {
ExpectedPartition read_expected(sql::Statement& st) {
  return {st.text(0), st.text(1), st.text(2), st.int64(3), st.int64(4)};
}
}  // namespace

std::optional<ExpectedPartition> OrchestrationState::expected(const std::string& rule, const std::string& partition) {
  auto st = store_.db().cached(
      "SELECT rule, partition, state, deadline, changed_at FROM expected_partitions WHERE rule = ? AND partition = ?");
  st->bind(1, rule).bind(2, partition);
  if (!st->step()) return std::nullopt;
  return read_expected(*st);
}

void OrchestrationState::put_expected(const ExpectedPartition& p) {
  require_batch();
  store_.write([this, p] {
    auto st = store_.db().cached(
        "INSERT INTO expected_partitions(rule, partition, state, deadline, changed_at) VALUES(?,?,?,?,?)"
        " ON CONFLICT(rule, partition) DO UPDATE SET state=excluded.state, deadline=excluded.deadline,"
        " changed_at=excluded.changed_at");
    st->bind(1, p.rule).bind(2, p.partition).bind(3, p.state).bind(4, p.deadline).bind(5, p.changed_at);
    st->run();
  });
}

std::vector<ExpectedPartition> OrchestrationState::late(const std::string& rule) {
  auto st = store_.db().cached(
      "SELECT rule, partition, state, deadline, changed_at FROM expected_partitions WHERE state = 'late'"
      " AND (? = '' OR rule = ?) ORDER BY deadline, rule, partition");
  st->bind(1, rule).bind(2, rule);
  std::vector<ExpectedPartition> out;
  while (st->step()) out.push_back(read_expected(*st));
  return out;
}

std::vector<std::string> OrchestrationState::expectation_rules() {
  auto st = store_.db().cached(
      "SELECT rule FROM expectation_checks UNION SELECT rule FROM expected_partitions ORDER BY 1");
  std::vector<std::string> out;
  while (st->step()) out.push_back(st->text(0));
  return out;
}

std::vector<LateNotice> OrchestrationState::late_notices(const std::string& rule, const std::string& partition,
                                                         int64_t since_ms) {
  auto st = store_.db().cached(
      "SELECT target, delivery_id FROM outbox WHERE event = 'expect.late' AND rule = ? AND key = ?"
      " AND created_at >= ? ORDER BY target, id");
  st->bind(1, rule).bind(2, partition).bind(3, since_ms);
  std::vector<LateNotice> out;
  while (st->step()) {
    LateNotice n{st->text(0), st->text(1)};
    if (!out.empty() && out.back().target == n.target) out.back() = std::move(n);
    else out.push_back(std::move(n));
  }
  return out;
}

void OrchestrationState::remove_expected(const std::string& rule, const std::string& partition) {
  require_batch();
  store_.write([this, rule, partition] {
    auto st = store_.db().cached("DELETE FROM expected_partitions WHERE rule = ? AND partition = ?");
    st->bind(1, rule).bind(2, partition);
    st->run();
  });
}

void OrchestrationState::forget_expectation(const std::string& rule) {
  require_batch();
  store_.write([this, rule] {
    {
      auto checks = store_.db().cached("DELETE FROM expectation_checks WHERE rule = ?");
      checks->bind(1, rule);
      checks->run();
    }
    auto parts = store_.db().cached("DELETE FROM expected_partitions WHERE rule = ?");
    parts->bind(1, rule);
    parts->run();
  });
}

}  // namespace hivehook
