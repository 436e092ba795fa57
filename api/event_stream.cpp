#include "api/event_stream.h"

namespace hivehook::api {

std::string sse_message(const AuditEvent& e) {
  // safe_dump escapes control characters, so the JSON holds no newline that would end the field.
  return "id: " + std::to_string(e.id) + "\ndata: " + safe_dump(e.to_json()) + "\n\n";
}

void EventHub::set_last_id(int64_t id) {
  std::lock_guard lock(mu_);
  last_id_ = std::max(last_id_, id);
}

int64_t EventHub::last_id() const {
  std::lock_guard lock(mu_);
  return last_id_;
}

void EventHub::publish(const std::vector<AuditEvent>& events) {
  std::lock_guard lock(mu_);
  for (const auto& e : events) {
    if (e.id <= last_id_) continue;
    last_id_ = e.id;
    ring_.push_back(e);
    if (ring_.size() > keep_) ring_.pop_front();
    for (auto it = sinks_.begin(); it != sinks_.end();) {
      if ((*it)(e)) ++it;
      else it = sinks_.erase(it);
    }
  }
}

bool EventHub::subscribe(int64_t after_id, Sink sink) {
  std::lock_guard lock(mu_);
  // Covered when nothing after `after_id` is missing from the ring: the ring starts right after it
  // (or earlier), or `after_id` is already the newest id.
  const bool covered = after_id >= last_id_ || (!ring_.empty() && ring_.front().id <= after_id + 1);
  if (!covered) return false;
  for (const auto& e : ring_)
    if (e.id > after_id && !sink(e)) return true;
  sinks_.push_back(std::move(sink));
  return true;
}

void EventHub::close() {
  std::vector<Sink> sinks;
  {
    std::lock_guard lock(mu_);
    sinks.swap(sinks_);
  }
  // The sinks are destroyed here, outside the lock.
}

std::size_t EventHub::subscribers() const {
  std::lock_guard lock(mu_);
  return sinks_.size();
}

}  // namespace hivehook::api
