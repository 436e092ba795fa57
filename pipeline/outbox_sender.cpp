#include "pipeline/outbox_sender.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "jobs/backoff.h"
#include "notify/sender.h"

namespace hivehook {

namespace {
int64_t now_ms() { return unix_ms(std::chrono::system_clock::now()); }
constexpr int kBatch = 32;
}  // namespace

OutboxSender::OutboxSender(boost::asio::io_context& io, Store& store, CommitBatch& batch, PipelineStats& stats,
                           std::map<std::string, NotifyTarget> targets)
    : io_(io), store_(store), batch_(batch), stats_(stats), targets_(std::move(targets)), timer_(io) {}

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
  timer_.cancel();
  pool_.join();
}

void OutboxSender::refresh_counts() {
  auto st = store_.db().prepare("SELECT state, COUNT(*) FROM outbox WHERE state IN ('pending','dead') GROUP BY state");
  uint64_t pending = 0, dead = 0;
  while (st.step()) (st.text(0) == "pending" ? pending : dead) = static_cast<uint64_t>(st.int64(1));
  stats_.outbox_pending = pending;
  stats_.m.outbox_pending.set(static_cast<double>(pending));
  stats_.outbox_dead = dead;
}

bool OutboxSender::idle() {
  if (!in_flight_.empty()) return false;
  auto st = store_.db().prepare("SELECT COUNT(*) FROM outbox WHERE state='pending'");
  st.step();
  return st.int64(0) == 0;
}

void OutboxSender::poke() {
  if (stopped_ || poll_posted_) return;
  poll_posted_ = true;
  boost::asio::post(io_, [this] {
    poll_posted_ = false;
    poll();
  });
}

void OutboxSender::arm(std::chrono::milliseconds after) {
  if (stopped_) return;
  timer_.expires_after(after);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) poll();
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
  auto due = store_.pending_outbox(now_ms(), kBatch + static_cast<int>(in_flight_.size()));
  for (auto& o : due) {
    if (in_flight_.count(o.id)) continue;
    auto t = targets_.find(o.target);
    if (t == targets_.end()) {
      store_.record_delivery(o.id, o.attempts + 1, false, 0, "notify target '" + o.target + "' is not configured",
                             "dead", o.next_at);
      AuditEvent e;
      e.event = "notify.dead";
      e.key = o.key;
      e.rule = o.rule;
      e.detail = {{"delivery_id", o.delivery_id}, {"target", o.target}, {"error", "target not configured"}};
      store_.add_event(std::move(e));
      batch_.request();
      continue;
    }
    in_flight_.insert(o.id);
    Notification n;
    n.delivery_id = o.delivery_id;
    n.event = o.event;
    n.body = nlohmann::json::parse(o.body, nullptr, false);
    boost::asio::post(pool_, [this, target = t->second, n = std::move(n), o]() {
      auto t0 = std::chrono::steady_clock::now();
      DeliveryAttempt res = deliver(target, n);
      stats_.m.notify_duration.labels({o.target})
          .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      boost::asio::post(io_, [this, target, o, res]() {
        in_flight_.erase(o.id);
        int attempt = o.attempts + 1;
        int64_t now = now_ms();
        AuditEvent e;
        e.key = o.key;
        e.rule = o.rule;
        e.detail = {{"delivery_id", o.delivery_id}, {"target", o.target}, {"attempt", attempt}};
        if (res.status) e.detail["status"] = res.status;
        if (!res.detail.empty() && !res.delivered) e.detail["error"] = res.detail;
        if (res.delivered) {
          store_.record_delivery(o.id, attempt, true, res.status, res.detail, "sent", now);
          e.event = "notify.sent";
          ++stats_.notify_sent;
          stats_.m.notifications.labels({o.target, "sent"}).inc();
        } else {
          ++stats_.notify_failed_attempts;
          bool too_old = now - o.created_at >= target.max_age.count();
          if (res.give_up || attempt >= target.max_attempts || too_old) {
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
          }
        }
        store_.add_event(std::move(e));
        batch_.request();
        refresh_counts();
        poke();
      });
    });
  }
  // The counts scan the outbox: refresh them when there was work, else at most once a second
  // (not on every commit's poke).
  auto now = std::chrono::steady_clock::now();
  if (!due.empty() || now - last_refresh_ >= std::chrono::seconds(1)) {
    refresh_counts();
    last_refresh_ = now;
  }
  // Next look: at the earliest due entry, at most a second away (new entries also poke()).
  arm(std::chrono::milliseconds(1000));
}

}  // namespace hivehook
