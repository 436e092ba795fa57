#include "pipeline/commit_batch.h"

#include <boost/asio/post.hpp>

#include <algorithm>

#include "store/audit_log.h"
#include "store/store.h"

namespace hivehook {

CommitBatch::CommitBatch(boost::asio::io_context& io, Store& store, AuditLog* audit)
    : io_(io), store_(store), audit_(audit) {}

void CommitBatch::request() {
  if (scheduled_) return;
  scheduled_ = true;
  boost::asio::post(io_, [this] { flush(); });
}

void CommitBatch::after_commit(std::function<void()> fn) {
  effects_.push_back(std::move(fn));
  request();
}

void CommitBatch::flush() {
  scheduled_ = false;
  const bool was_faulty = store_.fault().has_value();
  auto events = store_.commit();
  if (store_.fault()) {
    if (!was_faulty && on_fault) on_fault(*store_.fault());
    return;
  }
  if (was_faulty && on_recovered) on_recovered();
  if (audit_) audit_->append(events);
  if (on_committed) on_committed(events.size());
  if (on_events && !events.empty()) on_events(events);
  for (auto& fn : effects_) ready_.push_back(std::move(fn));
  effects_.clear();
  if (!continuing_) run_ready();
}

// Posts its own continuation before running its share, so that a flush the effects request (they
// record transitions) comes after the remaining effects and commits all of them at once.
void CommitBatch::run_ready() {
  continuing_ = false;
  std::size_t n = std::min(ready_.size(), kEffectsPerTurn);
  if (ready_.size() > n) {
    continuing_ = true;
    boost::asio::post(io_, [this] { run_ready(); });
  }
  while (n-- > 0 && !ready_.empty()) {
    auto fn = std::move(ready_.front());
    ready_.pop_front();
    fn();
  }
}

void CommitBatch::flush_all() {
  flush();
  if (store_.fault()) return;
  while (!ready_.empty()) {
    auto fn = std::move(ready_.front());
    ready_.pop_front();
    fn();
  }
}

void CommitBatch::drain(int max_rounds) {
  for (int round = 0; round < max_rounds; ++round) {
    flush_all();
    if (store_.fault() || effects_.empty()) return;
  }
}

}  // namespace hivehook
