#include "pipeline/batches.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "landing/etag.h"
#include "pipeline/run_outcome.h"

namespace hivehook {

namespace {
constexpr auto kRecheckDiscovery = std::chrono::seconds(1);

SystemTime from_ms(int64_t ms) { return SystemTime(std::chrono::milliseconds(ms)); }

// A member's own rules ended well: it was archived, deleted or kept (or left landing by itself
// after succeeding, or a newer file at its key took its place). A member whose final move is
// failing (move_failed, retried with backoff) has not ended yet.
bool member_succeeded(const std::string& state) {
  return state == "archived" || state == "deleted" || state == "kept" || state == "vanished" ||
         state == "duplicate" || state == "superseded" || state == "ignored";
}
bool member_failed(const std::string& state) { return state == "quarantined" || state == "failed_kept"; }
bool member_ended(const std::string& state) { return member_succeeded(state) || member_failed(state); }

// A member rewritten before its batch's job started (issue 14, F5 and G2 of the new-user tests):
// the file now at its key is a new object, which joins the same batch in the old version's place
// (Batches::join) — the old one superseded while it ran, or already archived. The batch is over the
// members' current versions: a member a newer member of the same key replaced is left out.
// `members` in object id order.
std::vector<BatchMember> current_members(std::vector<BatchMember> members) {
  std::vector<BatchMember> out;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const auto& m = members[i];
    const bool replaced = std::any_of(members.begin() + static_cast<std::ptrdiff_t>(i) + 1, members.end(),
                                      [&](const BatchMember& n) { return n.key == m.key && n.marker == m.marker; });
    if (!replaced) out.push_back(m);
  }
  return out;
}

const char* when_name(BatchSpec::When w) {
  switch (w) {
    case BatchSpec::When::marker: return "marker";
    case BatchSpec::When::count: return "count";
    case BatchSpec::When::quiet: return "quiet";
  }
  return "";
}
}  // namespace

Batches::Batches(const Config& config, Store& store, CommitBatch& batch, PipelineStats& stats, Pipeline& pipeline,
                 Seams seams)
    : jobs_(config, store, batch, stats, pipeline, seams), state_(store) {}

const Rule* Batches::rule(const std::string& name) const {
  const Rule* r = rules_ ? rules_->find(name) : nullptr;
  return r && r->batch ? r : nullptr;
}

std::optional<BatchRecord> Batches::load(const Id& id) {
  return state_.get(std::get<0>(id), std::get<1>(id), std::get<2>(id));
}

nlohmann::json Batches::describe(const BatchRecord& b) const {
  return {{"group", b.group}, {"generation", b.generation}, {"members", b.members}};
}

// docs/decisions.md "A batch whose rule changed". Batches not yet running whose rule is gone, or
// lost `batch:`, are abandoned: nothing would ever complete or run them. Those whose members render
// another group under the rule's `batch.group` now are abandoned too, and their members join the
// groups they render now (a member the rule no longer matches, or whose key lacks a column the new
// template names, joins none and is named in `left_out`). Running batches end as they are (a retry
// finds the rule gone: `batch.failed`). Members are objects with their own rules: abandoning their
// batch holds or fails none of them.
void Batches::reconcile() {
  if (!rules_) return;
  for (auto b : state_.unfinished()) {
    if (b.state == "running") continue;
    const Rule* r = rule(b.rule);
    auto members = state_.members(b);
    if (!r) {
      const Rule* plain = rules_->find(b.rule);
      abandon(b, members, plain ? "the rule no longer has batch:" : "the rule was removed", nullptr);
      continue;
    }
    // Every member renders the batch's group (they joined it by rendering it): one tells.
    std::optional<std::string> now_group;
    if (!members.empty())
      if (auto k = parse_key(members.front().key)) now_group = r->batch->group.render(*k, jobs_.config.bucket);
    if (members.empty() || now_group == b.group) continue;
    abandon(b, members, "batch.group changed to \"" + r->batch->group.text() + "\"", r);
  }
}

void Batches::abandon(BatchRecord& b, const std::vector<BatchMember>& members, const std::string& reason,
                      const Rule* regroup_by) {
  quiet_.erase(id_of(b));
  nlohmann::json keys = nlohmann::json::array(), groups = nlohmann::json::array(), left_out = nlohmann::json::array();
  struct Move {
    std::string group;
    ObjectRecord rec;
    bool marker;
  };
  std::vector<Move> moves;
  for (const auto& m : members) {
    keys.push_back(m.key);
    if (!regroup_by) continue;
    auto k = parse_key(m.key);
    auto g = k && rule_matches(regroup_by->match, *k) ? regroup_by->batch->group.render(*k, jobs_.config.bucket)
                                                       : std::nullopt;
    if (!g) {
      left_out.push_back(m.key);
      continue;
    }
    if (std::find(groups.begin(), groups.end(), *g) == groups.end()) groups.push_back(*g);
    ObjectRecord rec;
    rec.id = m.object_id;
    rec.key = m.key;
    const bool marker = regroup_by->batch->when == BatchSpec::When::marker && k->name == regroup_by->batch->marker;
    moves.push_back({*g, std::move(rec), marker});
  }
  nlohmann::json detail = {{"group", b.group}, {"generation", b.generation}, {"state", b.state},
                           {"members", b.members}, {"keys", keys}, {"reason", reason}};
  if (regroup_by) detail["regrouped_to"] = groups, detail["left_out"] = left_out;
  jobs_.pipeline.emit("batch.abandoned", std::nullopt, std::move(detail), b.rule);
  jobs_.stats.m.batches_finished.labels({b.rule, "abandoned"}).inc();
  b.state = "abandoned";
  b.reason = reason;
  b.completed_at = jobs_.clock.now_ms();
  state_.put(b);
  spdlog::warn("batch {} {}: abandoned ({}), {} member(s){}", b.rule, b.group, reason, members.size(),
               regroup_by ? " moved to " + std::to_string(groups.size()) + " group(s)" : "");
  for (auto& m : moves) join(*regroup_by, m.group, m.rec, m.marker);
  jobs_.batch.request();
}

void Batches::start(std::shared_ptr<const RuleSet> rules, bool run_jobs) {
  rules_ = std::move(rules);
  stopping_ = false;
  started_ = true;
  run_jobs_wanted_ = run_jobs;
  if (leading_) take_up();
}

void Batches::join_cluster() {
  cluster_ = true;
  leading_ = false;
}

void Batches::set_leading(bool leading) {
  if (!cluster_ || leading == leading_) return;
  leading_ = leading;
  if (leading) {
    if (started_ && !stopping_) take_up();
    return;
  }
  quiet_.clear();
  retry_.clear();
  waiting_.clear();
  run_jobs_ = false;
}

void Batches::sweep() {
  if (!cluster_ || !leading_ || !started_ || stopping_) return;
  take_offers();
  for (auto b : state_.unfinished())
    if (b.state == "complete") maybe_run(b);  // its last members may have ended on other nodes
  jobs_.batch.request();
}

void Batches::take_offers() {
  for (const auto& o : state_.offers()) {
    ObjectRecord rec;
    rec.id = o.object_id;
    rec.key = o.key;
    const Rule* r = rule(o.rule);
    auto key = parse_key(o.key);
    if (r && key && rule_matches(r->match, *key)) {
      if (auto group = group_of(*r, rec, *key)) {
        const bool marker = r->batch->when == BatchSpec::When::marker && key->name == r->batch->marker;
        join(*r, *group, rec, marker);
      }
    } else {
      // The rules changed between the offer and now (a reload reaches nodes at different times).
      const std::string why = "the rule no longer batches this key here (rules changed since the offer)";
      jobs_.pipeline.emit("batch.left_out", rec.key, {{"group", o.group}, {"reason", why}}, o.rule);
      spdlog::warn("batch {}: {} offered by node {} joins no group: {}", o.rule, o.key, o.node, why);
    }
    state_.remove_offer(o);
  }
}

void Batches::take_up() {
  run_jobs_ = false;  // members moved by reconcile() complete batches; the loop below runs them, once
  reconcile();
  run_jobs_ = run_jobs_wanted_;
  const int64_t now = jobs_.clock.now_ms();
  for (auto b : state_.unfinished()) {
    const Rule* r = rule(b.rule);
    if (!r) continue;  // a running batch whose rule is gone: its run finds it gone (batch.failed)
    if (b.state == "open") {
      arm_quiet(*r, b);  // a quiet time that passed while down completes it now
      if (b.state == "open" && r->batch->when == BatchSpec::When::count && b.members >= r->batch->count) {
        jobs_.pipeline.emit("batch.completed", std::nullopt, {{"group", b.group}, {"generation", b.generation},
                                                         {"members", b.members}, {"reason", "count"}}, b.rule);
        complete(b, "count");
      }
    } else if (b.state == "complete") {
      maybe_run(b);
    } else if (b.state == "running" && run_jobs_ && !in_flight_.count(id_of(b))) {
      // A run not ended before the daemon stopped, or cut off with a leader that died: it runs
      // again (a new attempt). One still in flight here (leadership left and came back) ends as it is.
      jobs_.pipeline.emit("batch.resumed", std::nullopt,
                     {{"group", b.group}, {"generation", b.generation}, {"attempts", b.attempts}}, b.rule);
      if (!b.next_at) b.interrupted += 1;  // cut off, not failed: not held against retries
      state_.put(b);
      const int64_t at = b.next_at.value_or(0);
      if (at <= now) {
        start_run(id_of(b));
      } else {
        retry_[id_of(b)] = jobs_.timers.after(Duration(at - now), [this, id = id_of(b)] {
          retry_.erase(id);
          start_run(id);
        });
      }
    }
  }
  if (cluster_) take_offers();
  jobs_.batch.request();
}

void Batches::set_rules(std::shared_ptr<const RuleSet> rules) {
  rules_ = std::move(rules);
  if (!leading_) return;  // the leader reconciles the batches with its rules
  quiet_.clear();
  reconcile();
  for (auto b : state_.unfinished()) {
    const Rule* r = rule(b.rule);
    if (r && b.state == "complete") maybe_run(b);  // its requires: may have changed
    if (!r || b.state != "open") continue;
    arm_quiet(*r, b);
    // `when:` may have changed to a count this batch already has.
    if (b.state == "open" && r->batch->when == BatchSpec::When::count && b.members >= r->batch->count) {
      jobs_.pipeline.emit("batch.completed", std::nullopt, {{"group", b.group}, {"generation", b.generation},
                                                       {"members", b.members}, {"reason", "count"}}, b.rule);
      complete(b, "count");
    }
  }
  jobs_.batch.request();
}

void Batches::stop() {
  stopping_ = true;
  quiet_.clear();
  retry_.clear();
}

void Batches::on_admitted(const ObjectRecord& rec, const ObjectKey& key) {
  if (!rules_) return;
  for (const Rule* r : match_batch_rules(*rules_, key)) {
    auto group = group_of(*r, rec, key);
    if (!group) continue;
    const bool marker = r->batch->when == BatchSpec::When::marker && key.name == r->batch->marker;
    if (leading_) {
      join(*r, *group, rec, marker);
      continue;
    }
    jobs_.pipeline.emit("batch.offered", rec.key, {{"group", *group}, {"marker", marker}}, r->name);
    state_.offer({.rule = r->name, .group = *group, .object_id = rec.id, .key = rec.key, .marker = marker,
                  .node = jobs_.store.node(), .offered_at = jobs_.clock.now_ms()});
    jobs_.batch.request();
  }
}

std::optional<std::string> Batches::group_of(const Rule& r, const ObjectRecord& rec, const ObjectKey& key) {
  auto group = r.batch->group.render(key, jobs_.config.bucket);
  if (group) return group;
  // The key lacks a column the group names: no group to join. Said, never silent (issue 14, F3
  // of the new-user test: such files were archived with no event; `check` now refuses a match
  // that can accept them, so this is a rules file loaded before that check, or a regroup).
  const std::string why = "the key lacks a column of '" + r.batch->group.text() + "'";
  jobs_.pipeline.emit("batch.left_out", rec.key, {{"group", r.batch->group.text()}, {"reason", why}}, r.name);
  spdlog::warn("batch {}: {} joins no group: {}", r.name, rec.key, why);
  return std::nullopt;
}

void Batches::join(const Rule& r, const std::string& group, const ObjectRecord& rec, bool marker) {
  bool replaces = false;
  BatchRecord b = batch_taking(r, group, rec, marker, &replaces);
  nlohmann::json joined = {{"group", group}, {"generation", b.generation}, {"marker", marker}};
  if (replaces) joined["replaces"] = "the superseded version of this key";
  jobs_.pipeline.emit("batch.joined", rec.key, std::move(joined), r.name);
  state_.add_member(b, rec.id, rec.key, marker);
  b.last_member_at = jobs_.clock.now_ms();
  if (marker) b.marker_seen = true;
  else if (!replaces) b.members += 1;  // a replacement is counted once, as the member it replaces
  state_.put(b);
  // A replacement's place in a complete batch: the batch waits for it (maybe_run).
  if (!replaces && b.state == "open") complete_if_due(r, b, rec, marker);
  jobs_.batch.request();
}

BatchRecord Batches::batch_taking(const Rule& r, const std::string& group, const ObjectRecord& rec, bool marker,
                                  bool* replaces) {
  auto b = state_.latest(r.name, group);
  // The new version of a member rewritten before its batch ran takes that member's place, whatever
  // completed the batch (issue 14, F5 of the new-user test: it opened the next generation, which
  // waited forever for a marker that had already come, and the batch ran over the old version).
  // "Before its batch ran" means before the job started, not before it was queued for a worker
  // (G2 of the retest: a rewrite while the batch waited for a worker opened a generation that
  // collected forever, and the job ran over the old version): run_admitted() checks again.
  *replaces = false;
  const bool not_started =
      b && (b->state == "open" || b->state == "complete" || (b->state == "running" && b->attempts == 0));
  if (not_started)
    for (const auto& m : state_.members(*b))
      if (m.key == rec.key && m.marker == marker && m.object_id < rec.id) *replaces = true;
  // A group's open batch takes new objects; so does one its marker completed, until it runs (a
  // data file discovered after the marker: hashed off the loop, still settling, or later in a scan).
  const bool takes =
      b && (*replaces || b->state == "open" || (b->state == "complete" && b->reason == "marker" && !marker));
  if (takes) return *b;
  BatchRecord n;
  n.rule = r.name;
  n.group = group;
  n.generation = b ? b->generation + 1 : 1;
  n.opened_at = jobs_.clock.now_ms();
  n.last_member_at = n.opened_at;
  jobs_.pipeline.emit("batch.opened", std::nullopt,
                      {{"group", group}, {"generation", n.generation}, {"when", when_name(r.batch->when)}}, r.name);
  return n;
}

void Batches::complete_if_due(const Rule& r, BatchRecord& b, const ObjectRecord& rec, bool marker) {
  const BatchSpec& spec = *r.batch;
  if ((spec.when == BatchSpec::When::marker && marker) ||
      (spec.when == BatchSpec::When::count && b.members >= spec.count)) {
    const std::string reason = marker ? "marker" : "count";
    jobs_.pipeline.emit("batch.completed", std::nullopt,
                        {{"group", b.group}, {"generation", b.generation}, {"members", b.members}, {"reason", reason}},
                        r.name);
    // Info, not a warning (G6 of the retest): a scan walks keys in byte order, and `_SUCCESS`
    // sorts before `a.csv`, so every day of every scan would warn of an ordinary order.
    if (b.members == 0)
      spdlog::info("batch {} {}: its marker {} arrived before any data file: the batch waits for its first member",
                   r.name, b.group, rec.key);
    complete(b, reason);
  } else if (spec.when == BatchSpec::When::quiet) {
    arm_quiet(r, b);
  }
}

// Completes the batch `quiet` after its latest member (at once when that time has passed).
void Batches::arm_quiet(const Rule& r, const BatchRecord& b) {
  if (r.batch->when != BatchSpec::When::quiet) return;
  const int64_t due = b.last_member_at + r.batch->quiet.count();
  const int64_t now = jobs_.clock.now_ms();
  auto fire = [this, id = id_of(b)] {
    quiet_.erase(id);
    auto cur = load(id);
    const Rule* r = cur ? rule(cur->rule) : nullptr;
    if (!cur || cur->state != "open" || !r || r->batch->when != BatchSpec::When::quiet) return;
    if (jobs_.clock.now_ms() < cur->last_member_at + r->batch->quiet.count()) return arm_quiet(*r, *cur);
    jobs_.pipeline.emit("batch.completed", std::nullopt,
                   {{"group", cur->group}, {"generation", cur->generation}, {"members", cur->members},
                    {"reason", "quiet"}, {"quiet_ms", r->batch->quiet.count()}},
                   cur->rule);
    complete(*cur, "quiet");
    jobs_.batch.request();
  };
  if (due <= now) return fire();
  quiet_[id_of(b)] = jobs_.timers.after(Duration(due - now), std::move(fire));
}

void Batches::complete(BatchRecord& b, const std::string& reason) {
  quiet_.erase(id_of(b));
  b.state = "complete";
  b.reason = reason;
  b.completed_at = jobs_.clock.now_ms();
  state_.put(b);
  spdlog::info("batch {} {}: complete ({}, {} object(s))", b.rule, b.group, reason, b.members);
  maybe_run(b);
}

bool Batches::awaits_marker(const ObjectKey& key) {
  if (!rules_) return false;
  for (const Rule* r : match_batch_rules(*rules_, key)) {
    if (r->batch->when != BatchSpec::When::marker || key.name != r->batch->marker) continue;
    auto group = r->batch->group.render(key, jobs_.config.bucket);
    if (!group) continue;
    auto b = state_.latest(r->name, *group);
    if (b && b->state == "open" && !b->marker_seen) return true;
  }
  return false;
}

void Batches::on_ended(const ObjectRecord& rec) {
  for (auto& b : state_.of_object(rec.id)) {
    if (b.state != "complete") continue;
    if (leading_) {
      maybe_run(b);
    } else if (jobs_.store.in_batch()) {  // (outside one, the leader's sweep within a second)
      state_.wake_leader();  // the leader runs it once every member ended
      return;
    }
  }
}

void Batches::maybe_run(BatchRecord b) {
  if (b.state != "complete" || !run_jobs_ || stopping_ || !leading_) return;
  // Never an empty batch: a marker that arrived before the group's data files (real-time arrival
  // order is not write order) completes the group, and the data files joining it run it.
  if (b.members == 0) return;
  const Rule* r = rule(b.rule);
  if (!r) return;
  auto members = current_members(state_.members(b));
  std::vector<std::string> failed;
  for (const auto& m : members) {
    if (!member_ended(m.object_state)) return;  // its own rules have not ended: on_ended comes back
    if (!m.marker && member_failed(m.object_state)) failed.push_back(m.key);
  }
  // A member superseded by a file not admitted yet (end_early offers it on a later loop turn, and
  // it may settle or hash first): the batch waits for that version to join and end (F5).
  for (const auto& m : members) {
    if (m.object_state != "superseded" || !replacement_coming(m)) continue;
    retry_[id_of(b)] = jobs_.timers.after(kRecheckDiscovery, [this, id = id_of(b)] {
      retry_.erase(id);
      if (auto cur = load(id)) maybe_run(*cur);
    });
    return;
  }
  // A file of the group still being discovered (settling, or hashed off the loop) may join a
  // batch its marker completed yet.
  for (const auto& key : b.reason == "marker" ? jobs_.pipeline.keys_in_discovery() : std::vector<std::string>{}) {
    auto parsed = parse_key(key);
    if (!parsed || !rule_matches(r->match, *parsed)) continue;
    if (r->batch->group.render(*parsed, jobs_.config.bucket) != b.group) continue;
    retry_[id_of(b)] = jobs_.timers.after(kRecheckDiscovery, [this, id = id_of(b)] {
      retry_.erase(id);
      if (auto cur = load(id)) maybe_run(*cur);
    });
    return;
  }
  if (!failed.empty()) {
    // Airflow's default trigger rule, all_success: a member failed, so the job does not run.
    b.state = "skipped";
    nlohmann::json keys = failed;
    jobs_.stats.m.batches_finished.labels({b.rule, "skipped"}).inc();
    jobs_.pipeline.emit("batch.skipped", std::nullopt,
                   {{"group", b.group}, {"generation", b.generation}, {"members", b.members},
                    {"failed", keys}, {"reason", "a member failed (trigger rule all_success)"}},
                   b.rule);
    state_.put(b);
    notify(*r, "batch.skipped", b, nullptr, {{"failed", keys}});
    spdlog::warn("batch {} {}: skipped, {} member(s) failed", b.rule, b.group, failed.size());
    jobs_.batch.request();
    return;
  }
  if (held_by_requires(*r, b)) return;  // on_first_success comes back
  b.state = "running";
  b.attempts = 0;
  b.interrupted = 0;
  b.next_at.reset();
  jobs_.pipeline.emit("batch.started", std::nullopt, describe(b), b.rule);
  state_.put(b);
  start_run(id_of(b));
}

// Each attempt waits for a worker as object runs do (`workers`, the rule's `concurrency`).
// A superseded member's key holds a file that no object newer than the member is recorded for yet:
// its new version is on its way (offered, settling or hashing) and will take the member's place.
bool Batches::replacement_coming(const BatchMember& m) {
  if (auto last = jobs_.store.last_object(m.key); last && last->id > m.object_id) return false;  // recorded: joined or not ours
  std::error_code ec;
  return std::filesystem::exists(jobs_.config.landing / m.key, ec);
}

bool Batches::held_by_requires(const Rule& r, const BatchRecord& b) {
  nlohmann::json unmet = nlohmann::json::array();
  for (const auto& name : r.required_rules)
    if (!jobs_.pipeline.rule_has_succeeded(name)) unmet.push_back(name);
  if (unmet.empty()) {
    waiting_.erase(id_of(b));
    return false;
  }
  if (waiting_.insert(id_of(b)).second) {
    jobs_.pipeline.emit("batch.waiting", std::nullopt,
                        {{"group", b.group}, {"generation", b.generation}, {"requires", unmet}}, b.rule);
    spdlog::info("batch {} {}: complete, waits for {} to succeed once (requires:)", b.rule, b.group, unmet.dump());
  }
  return true;
}

void Batches::on_first_success(const std::string& name) {
  if (!leading_) return;
  for (auto b : state_.unfinished()) {
    const Rule* r = rule(b.rule);
    if (b.state != "complete" || !r) continue;
    if (std::find(r->required_rules.begin(), r->required_rules.end(), name) != r->required_rules.end()) maybe_run(b);
  }
}

bool Batches::still_ready(BatchRecord& b) {
  for (const auto& m : current_members(state_.members(b))) {
    const bool ready = member_ended(m.object_state) && (m.marker || !member_failed(m.object_state)) &&
                       !(m.object_state == "superseded" && replacement_coming(m));
    if (ready) continue;
    spdlog::info("batch {} {}: {} changed while the batch waited for a worker: it waits for it again", b.rule,
                 b.group, m.key);
    b.state = "complete";
    state_.put(b);
    jobs_.batch.request();
    maybe_run(b);  // waits for the member (on_ended comes back), or skips the batch
    return false;
  }
  return true;
}

void Batches::start_run(const Id& id) {
  jobs_.when_admitted(std::get<0>(id), [this, id] { run_admitted(id); });
}

void Batches::run_admitted(const Id& id) {
  auto b = load(id);
  if (stopping_ || !b || b->state != "running") return;
  const Rule* r = rule(b->rule);
  if (!r && b->attempts == 0) {  // removed while its batch waited for a worker: never ran (G11 of the retest)
    const Rule* plain = rules_ ? rules_->find(b->rule) : nullptr;
    abandon(*b, state_.members(*b), plain ? "the rule no longer has batch:" : "the rule was removed", nullptr);
    return;
  }
  if (!r) {  // the rule was removed while its batch was running: the batch ends
    b->state = "failed";
    jobs_.stats.m.batches_finished.labels({b->rule, "failed"}).inc();
    jobs_.pipeline.emit("batch.failed", std::nullopt, {{"group", b->group}, {"generation", b->generation},
                                                  {"reason", "the rule was removed"}}, b->rule);
    state_.put(*b);
    jobs_.batch.request();
    return;
  }
  if (b->attempts == 0 && !still_ready(*b)) return;  // its slot is given back: nothing launched
  RunRecord run = jobs_.begin_run(b->rule, b->group, b->attempts + 1, {{"group", b->group}, {"generation", b->generation}});
  b->attempts = run.attempt;
  b->next_at.reset();
  state_.put(*b);
  jobs_.batch.request();
  const auto members = current_members(state_.members(*b));
  const std::filesystem::path result = jobs_.result_file(run);
  // The group's values — its table and the group template's partition columns — are every
  // member's (the marker's too): they render the same group.
  RunContext ctx;
  if (!members.empty()) {
    if (auto k = parse_key(members.front().key)) {
      ctx.key.table = r->batch->group.uses_table() ? k->table : "";
      for (const auto& name : r->batch->group.partition_names())
        if (auto v = k->partition_value(name)) ctx.key.partition.emplace_back(name, *v);
    }
  }
  ctx.bucket = jobs_.config.bucket;
  if (jobs_.config.s3) ctx.region = jobs_.config.s3->region;
  ctx.rule = b->rule;
  ctx.run_id = run.run_id;
  ctx.attempt = run.attempt;
  ctx.event_time = from_ms(b->completed_at);
  ctx.result_file = result;
  ctx.group = b->group;
  std::map<std::string, std::string> env;
  for (const auto& [k, v] : job_environment(ctx))
    if (k != "HIVEHOOK_PATH" && k != "HIVEHOOK_KEY") env[k] = v;
  env["HIVEHOOK_GROUP"] = b->group;
  auto req = jobs_.request(*r, run, ctx, env, safe_dump(batch_event(jobs_.config, *b, members, run.run_id, run.attempt)));
  in_flight_.insert(id);
  jobs_.launch(*r, std::move(req), result, [this, id, run](ProcessResult pr, std::filesystem::path file) {
    in_flight_.erase(id);
    on_exit(id, run, file, std::move(pr));
  });
}

void Batches::on_exit(const Id& id, RunRecord run, const std::filesystem::path& result_file, ProcessResult r) {
  jobs_.read_outcome(run, r, result_file);
  const std::string& name = std::get<0>(id);
  const std::string what = "batch " + name + " " + std::get<1>(id);
  auto finish = [&](RunState to, nlohmann::json detail) {
    detail["group"] = std::get<1>(id);
    jobs_.end_run(run, to, std::move(detail), what);
  };
  auto b = load(id);
  // A row gone cannot happen (a running batch's row is never removed). Another attempt begun
  // meanwhile: cluster mode, where this node stopped leading while the job ran and the next leader
  // ran the batch again (at least once, as after a crash) — the run is recorded, the batch's state
  // is that attempt's to write.
  if (!b || b->state != "running" || b->attempts != run.attempt) {
    if (b)
      spdlog::warn("{}: attempt {} ended after attempt {} of the batch began elsewhere: its run is recorded, the "
                   "batch's state left to the later attempt",
                   what, run.attempt, b->attempts);
    finish(succeeded(r) ? RunState::succeeded : RunState::failed, run_detail(run));
    jobs_.batch.request();
    return;
  }
  if (stopping_ && !succeeded(r)) {
    finish(RunState::interrupted, {{"reason", "daemon stopping"}});
    b->interrupted += 1;
    b->next_at = jobs_.clock.now_ms();  // counted here: the next start runs it again at once
    state_.put(*b);
    jobs_.batch.request();
    return;
  }
  const Rule* rule_now = rule(name);
  if (succeeded(r)) {
    finish(RunState::succeeded, run_detail(run));
    b->state = "succeeded";
    jobs_.pipeline.emit("batch.succeeded", std::nullopt, describe(*b), name, run.run_id, run.attempt);
    jobs_.stats.m.batches_finished.labels({name, "succeeded"}).inc();
    state_.put(*b);
    if (rule_now) notify(*rule_now, "batch.succeeded", *b, &run, nlohmann::json::object());
    jobs_.pipeline.note_rule_success(name, 0);  // `requires:` may name a batch rule
  } else {
    if (!r.spawned && run.error.empty()) run.error = "could not start the job";
    finish(r.timed_out ? RunState::timed_out : RunState::failed, run_detail(run));
    if (auto delay = jobs_.retry_after(rule_now, r, run, b->attempts - b->interrupted, {{"group", b->group}})) {
      b->next_at = jobs_.clock.now_ms() + delay->count();
      state_.put(*b);
      retry_[id] = jobs_.timers.after(*delay, [this, id] {
        retry_.erase(id);
        start_run(id);
      });
    } else {
      b->state = "failed";
      jobs_.pipeline.emit("batch.failed", std::nullopt, describe(*b), name, run.run_id, run.attempt);
      jobs_.stats.m.batches_finished.labels({name, "failed"}).inc();
      state_.put(*b);
      if (rule_now) notify(*rule_now, "batch.failed", *b, &run, nlohmann::json::object());
    }
  }
  jobs_.batch.request();
}

// The rule's on_success / on_failure targets, told of a batch's outcome (an object notification's
// fields; `key` null, `group` says which batch).
void Batches::notify(const Rule& r, const std::string& event, const BatchRecord& b, const RunRecord* run,
                     const nlohmann::json& extra) {
  nlohmann::json fields = {{"group", b.group}, {"members", b.members}, {"outcome", event.substr(6)}};
  for (auto it = extra.begin(); it != extra.end(); ++it) fields[it.key()] = it.value();
  jobs_.notify(event == "batch.succeeded" ? r.notify_success : r.notify_failure, r.name, event, b.group, fields, run);
}

nlohmann::json Batches::batch_event(const Config& config, const BatchRecord& b, const std::vector<BatchMember>& members,
                                    const std::string& run_id, int attempt) {
  nlohmann::json records = nlohmann::json::array();
  nlohmann::json objects = nlohmann::json::array();
  for (const auto& m : members) {
    if (m.marker) continue;
    RunContext ctx;
    if (auto k = parse_key(m.key)) ctx.key = *k;
    else ctx.key.key = m.key;
    ctx.path = m.final_path;
    ctx.bucket = config.bucket;
    if (config.s3) ctx.region = config.s3->region;
    // How the S3 API created the member (PutObject, CopyObject, CompleteMultipartUpload and the
    // ids its client got), recorded on the file and carried where it ended; a dropped file: Put.
    ctx.upload = file_upload_event(m.final_path.empty() ? config.landing / m.key : std::filesystem::path(m.final_path),
                                   m.etag);
    ctx.size = static_cast<std::uint64_t>(m.size);
    ctx.etag = m.etag;
    ctx.sequencer = m.sequencer;
    ctx.event_time = from_ms(m.discovered_at);
    ctx.rule = b.rule;
    ctx.run_id = run_id;
    ctx.attempt = attempt;
    auto one = make_s3_event(ctx);
    records.push_back(std::move(one["Records"][0]));
    objects.push_back({{"key", one["hivehook"]["key"]},
                       {"path", one["hivehook"]["path"]},
                       {"state", m.object_state},
                       {"size", m.size}});
  }
  return {{"Records", std::move(records)},
          {"hivehook",
           {{"rule", b.rule},
            {"run_id", run_id},
            {"attempt", attempt},
            {"group", b.group},
            {"generation", b.generation},
            {"reason", b.reason},
            {"objects", std::move(objects)}}}};
}

}  // namespace hivehook
