#include "pipeline/outbox_sender.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "jobs/backoff.h"

namespace hivehook {

namespace {
constexpr int kBatch = 32;
constexpr auto kPollEvery = std::chrono::milliseconds(1000);
}  // namespace

OutboxSender::OutboxSender(boost::asio::io_context& io, Store& store, CommitBatch& batch, PipelineStats& stats,
                           std::map<std::string, NotifyTarget> targets, Seams seams)
    : io_(io), store_(store), batch_(batch), stats_(stats), targets_(std::move(targets)), seams_(std::move(seams)) {
  if (!seams_.deliver) seams_.deliver = [](const NotifyTarget& t, const Notification& n) { return deliver(t, n); };
  if (!seams_.offload) seams_.offload = [this](std::function<void()> fn) { boost::asio::post(pool_, std::move(fn)); };
}

OutboxSender::~OutboxSender() {
  stopped_ = true;
  pool_.join();
}

void OutboxSender::start() {
  refresh_counts();
  poke();
}

void OutboxSender::stop() {
  stopped_ = true;
  timer_.reset();
  pool_.join();
}

void OutboxSender::refresh_counts() {
  auto c = store_.outbox_counts();
  stats_.m.outbox_pending.set(static_cast<double>(c.pending));
  last_refresh_ = seams_.clock.steady_now();
}

bool OutboxSender::idle() { return in_flight_.empty() && store_.outbox_counts().pending == 0; }

void OutboxSender::poke() {
  if (stopped_ || poll_posted_) return;
  poll_posted_ = true;
  boost::asio::post(io_, [this] {
    poll_posted_ = false;
    poll();
  });
}

void OutboxSender::poll() {
  if (stopped_) return;
  // Only committed entries may be sent. Flushing here used to split every batch in two (each commit
  // pokes a poll, each poll committed again): leave the open batch to its scheduled flush, whose
  // commit pokes us again.
  if (store_.in_batch()) {
    batch_.request();
    return;
  }
  auto due = store_.pending_outbox(seams_.clock.now_ms(), kBatch + static_cast<int>(in_flight_.size()));
  for (auto& o : due) {
    if (in_flight_.count(o.id)) continue;
    auto t = targets_.find(o.target);
    if (t == targets_.end()) record_dead_target(o);
    else send(o, t->second);
  }
  // The counts scan the outbox: refresh them when there was work, else at most once a second
  // (not on every commit's poke).
  if (!due.empty() || seams_.clock.steady_now() - last_refresh_ >= kPollEvery) refresh_counts();
  // Next look in a second at the latest (new entries also poke()).
  timer_ = seams_.timers.after(kPollEvery, [this] { poll(); });
}

void OutboxSender::record_dead_target(const OutboxRecord& o) {
  store_.record_delivery(o.id, o.attempts + 1, false, 0, "notify target '" + o.target + "' is not configured", "dead",
                         o.next_at);
  AuditEvent e;
  e.event = "notify.dead";
  e.key = o.key;
  e.rule = o.rule;
  e.detail = {{"delivery_id", o.delivery_id}, {"target", o.target}, {"error", "target not configured"}};
  store_.add_event(std::move(e));
  batch_.request();
}

void OutboxSender::send(const OutboxRecord& o, const NotifyTarget& target) {
  in_flight_.insert(o.id);
  Notification n;
  n.delivery_id = o.delivery_id;
  n.event = o.event;
  n.body = nlohmann::json::parse(o.body, nullptr, false);
  seams_.offload([this, target, n = std::move(n), o]() {
    auto t0 = seams_.clock.steady_now();
    DeliveryAttempt res = seams_.deliver(target, n);
    stats_.m.notify_duration.labels({o.target})
        .observe(std::chrono::duration<double>(seams_.clock.steady_now() - t0).count());
    boost::asio::post(io_, [this, target, o, res]() { record(o, target, res); });
  });
}

// One attempt's outcome, on the loop: sent, retried with backoff, or given up (dead).
void OutboxSender::record(const OutboxRecord& o, const NotifyTarget& target, const DeliveryAttempt& attempted) {
  in_flight_.erase(o.id);
  // Masked with every secret first, then cut (F3 of issue 10's third retest: a token cut at the
  // excerpt's end left its first bytes in the log and the store).
  DeliveryAttempt res = attempted;
  res.detail = delivery_detail_excerpt(store_.mask(std::move(res.detail)));
  const int attempt = o.attempts + 1;
  const int64_t now = seams_.clock.now_ms();
  AuditEvent e;
  e.key = o.key;
  e.rule = o.rule;
  e.detail = {{"delivery_id", o.delivery_id}, {"target", o.target}, {"attempt", attempt}};
  if (res.status) e.detail["status"] = res.status;
  if (!res.detail.empty() && !res.delivered) e.detail["error"] = res.detail;
  if (res.delivered) {
    store_.record_delivery(o.id, attempt, true, res.status, res.detail, "sent", now);
    e.event = "notify.sent";
    stats_.m.notifications.labels({o.target, "sent"}).inc();
    if (attempt > 1) spdlog::info("notification {} to {} delivered on attempt {}", o.delivery_id, o.target, attempt);
  } else if (res.give_up || attempt >= target.max_attempts || now - o.created_at >= target.max_age.count()) {
    store_.record_delivery(o.id, attempt, false, res.status, res.detail, "dead", now);
    e.event = "notify.dead";
    stats_.m.notifications.labels({o.target, "dead"}).inc();
    spdlog::warn("notification {} to {} given up after {} attempt(s): {}", o.delivery_id, o.target, attempt,
                 res.detail);
  } else {
    Duration delay = backoff_delay(target.backoff, attempt, rng_);
    store_.record_delivery(o.id, attempt, false, res.status, res.detail, "pending", now + delay.count());
    e.event = "notify.retry_scheduled";
    stats_.m.notifications.labels({o.target, "retry"}).inc();
    e.detail["at"] = format_rfc3339_ms(SystemTime(std::chrono::milliseconds(now + delay.count())));
    // Issue 16 N5: failed deliveries were only in the audit log. The first failure of a delivery is
    // a warning (journalctl -p warning shows it), later ones info; giving up is a warning above.
    std::string why = res.detail.size() > 200 ? res.detail.substr(0, 200) + "..." : res.detail;
    if (attempt == 1)
      spdlog::warn("notification {} to {} failed: {}; retried with backoff (up to {} attempts; the audit log has each)",
                   o.delivery_id, o.target, why, target.max_attempts);
    else
      spdlog::info("notification {} to {} failed again (attempt {}): {}", o.delivery_id, o.target, attempt, why);
  }
  store_.add_event(std::move(e));
  batch_.request();
  refresh_counts();
  poke();
}

}  // namespace hivehook
