// Audit events as Server-Sent Events (https://html.spec.whatwg.org/multipage/server-sent-events.html):
// the daemon publishes every batch of committed events; each subscriber gets them in id order,
// resuming after a Last-Event-ID from a ring of recent events (older ones come from the store).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/event.h"

namespace hivehook::api {

// One event as an SSE message: "id: <store id>\ndata: <event JSON>\n\n" (the JSON is one line).
std::string sse_message(const AuditEvent& e);

class EventHub {
 public:
  // `keep`: how many of the newest events stay in memory for resuming subscribers.
  explicit EventHub(std::size_t keep = 4096) : keep_(keep) {}

  // The store's newest event id when the daemon starts (events after it will be published).
  void set_last_id(int64_t id);
  int64_t last_id() const;

  // Events just committed, in id order (the daemon's loop thread calls this after each commit).
  void publish(const std::vector<AuditEvent>& events);

  // A subscriber: called with each event (in order, under the hub's lock: it must only queue);
  // returning false unsubscribes it.
  using Sink = std::function<bool(const AuditEvent&)>;
  // Subscribes to the events after `after_id`: those still in the ring are handed to `sink` first.
  // Returns false (and does not subscribe) when events after `after_id` have already left the ring:
  // the caller reads them from the store and subscribes again from the last one it sent.
  bool subscribe(int64_t after_id, Sink sink);
  std::size_t subscribers() const;
  // Drops every subscriber (and what its sink holds: a stream's connection). The listener calls it
  // while its HTTP server's io_context still exists: a connection outliving that io_context would
  // cancel its timer on a destroyed timer service at destruction (found by ASan in
  // ListenerTest.EventsStreamLiveAndResumeAfterLastEventId).
  void close();

 private:
  std::size_t keep_;
  mutable std::mutex mu_;
  std::deque<AuditEvent> ring_;
  int64_t last_id_ = 0;
  std::vector<Sink> sinks_;
};

}  // namespace hivehook::api
