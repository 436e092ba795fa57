// `hivehook audit [-f] [--since T] [--rule R] [--key PREFIX] [--json]`: print and follow audit events.
#include <algorithm>
#include <chrono>
#include <deque>
#include <iostream>
#include <set>
#include <thread>

#include "app/cli_support.h"
#include "store/queries.h"

namespace hivehook::cli {

namespace {
struct AuditOptions {
  bool follow = false;
  bool json = false;
  std::string since, rule, key;
};

void print(const AuditEvent& e, bool json) {
  if (json) {
    std::cout << e.to_line();
    return;
  }
  std::cout << time_text(e.time_ms) << "  " << e.event;
  if (e.key) std::cout << "  " << printable(*e.key);
  if (e.node) std::cout << "  node=" << *e.node;
  if (e.rule) std::cout << "  rule=" << *e.rule;
  if (e.attempt) std::cout << "  attempt=" << *e.attempt;
  if (e.run_id) std::cout << "  run=" << *e.run_id;
  if (!e.detail.is_null()) std::cout << "  " << safe_dump(e.detail);
  std::cout << "\n";
}

// Prints the events after f.after_id, then (-f) those committed since, every 100 ms. On PostgreSQL
// several nodes take event ids from one sequence and commit them in their own order, so an event
// can become visible below an id already printed: for kGapWindow the follower remembers the ids it
// printed and, every kGapLookEvery, reads again from the oldest id it still looks at, printing what
// it had not (late, after higher ids). No event is printed twice.
void follow_events(Store& store, EventFilter f, const AuditOptions& o) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kGapWindow = std::chrono::seconds(30);
  constexpr auto kGapLookEvery = std::chrono::seconds(1);
  constexpr std::size_t kMaxRemembered = 100000;
  const bool gaps = o.follow && store.is_postgres();
  int64_t high = f.after_id, floor = f.after_id;
  std::set<int64_t> printed;                                // ids in (floor, high] printed
  std::deque<std::pair<Clock::time_point, int64_t>> marks;  // (when, high then)
  auto next_look = Clock::now() + kGapLookEvery;
  auto print_after = [&](int64_t after) {  // every page after `after`, unprinted events only
    for (f.after_id = after;;) {
      auto events = list_events(store, f);
      for (const auto& e : events) {
        if (e.id <= floor || printed.count(e.id)) continue;
        print(e, o.json);
        if (gaps) printed.insert(e.id);
        high = std::max(high, e.id);
      }
      if (events.size() < static_cast<size_t>(f.limit)) return;
      f.after_id = events.back().id;
    }
  };
  for (;;) {
    const auto now = Clock::now();
    const bool look = gaps && now >= next_look;
    if (look) {
      next_look = now + kGapLookEvery;
      while (!marks.empty() && marks.front().first + kGapWindow <= now) {
        floor = std::max(floor, marks.front().second);
        marks.pop_front();
      }
      printed.erase(printed.begin(), printed.upper_bound(floor));
    }
    const int64_t before = high;
    print_after(look ? floor : high);
    if (gaps && high != before) marks.emplace_back(now, high);
    while (printed.size() > kMaxRemembered) {  // a long history printed at once: look only near its end
      floor = *printed.begin();
      printed.erase(printed.begin());
    }
    std::cout.flush();
    if (!o.follow) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

int run_audit(Globals& g, const AuditOptions& o) {
  auto config = load_config_or_report(g);
  if (!config) return kExitUsage;
  EventFilter f;
  if (!o.since.empty()) {
    auto t = parse_rfc3339(o.since);
    if (!t) {
      if (auto d = parse_duration(o.since)) t = std::chrono::system_clock::now() - *d;  // "--since 10m": ago
    }
    if (!t) {
      error(g) << "--since wants a time (2023-03-15T13:45:00Z, 2023-03-15) or an age (10m)\n";
      return kExitUsage;
    }
    f.since_ms = unix_ms(*t);
  }
  if (!o.rule.empty()) f.rule = o.rule;
  if (!o.key.empty()) f.key_prefix = o.key;
  std::unique_ptr<Store> store;
  // Following may start before the daemon has created its DB (but not wait on one it may not read).
  while (!(store = open_reader(*config, g))) {
    if (!o.follow || state_access(*config) != StateAccess::absent) return kExitUsage;
    g.exit_code = kExitOk;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  follow_events(*store, f, o);
  return kExitOk;
}
}  // namespace

void add_audit(CLI::App& app, Globals& g) {
  auto* cmd = add_command(
      app, g,
      {.name = "audit",
       .summary = "Print audit events, oldest first; -f follows new ones live",
       .details = "Every step hivehook takes is an audit event in the store (object.discovered, run.started, "
                  "run.succeeded, object.archived, notify.sent, rules.loaded, ...), the same events as the config's "
                  "audit_log mirror. Works while the daemon runs; with -f it waits for the state DB to appear.",
       .exit_status = "0 printed; 2 invalid config, no state DB yet (without -f), a state DB this user may not read, or an invalid --since.",
       .examples = "  hivehook audit --since 10m --rule transactions-etl\n"
                   "  hivehook audit -f --key transactions/ --json"});
  auto o = std::make_shared<AuditOptions>();
  cmd->add_flag("-f,--follow", o->follow, "keep printing new events as they are committed");
  cmd->add_option("--since", o->since, "from this time (RFC 3339 or YYYY-MM-DD) or this long ago (10m, 1h)")
      ->type_name("TIME");
  cmd->add_option("--rule", o->rule, "only events of this rule")->type_name("RULE");
  cmd->add_option("--key", o->key, "only events whose key starts with this prefix")->type_name("PREFIX");
  cmd->add_flag("--json", o->json, "one JSON object a line (as audit.jsonl)");
  cmd->callback([&g, o] { g.exit_code = run_audit(g, *o); });
}

}  // namespace hivehook::cli
