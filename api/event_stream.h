// Audit events as Server-Sent Events (https://html.spec.whatwg.org/multipage/server-sent-events.html):
// the daemon publishes every batch of committed events; each subscriber gets them in id order,
// resuming after a Last-Event-ID from a ring of recent events (older ones come from the store).
//
// The publisher (the daemon's loop) never pays per subscriber (issue 15 finding C5): publish()
// serialises each event once into a shared SSE message, appends it to the ring and posts at most one
// fan-out to the hub's executor (the listener's own thread); the fan-out hands the shared messages to
// every subscriber there. A subscriber that falls more than the ring behind is dropped (its client
// reconnects with Last-Event-ID and resumes from the store).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/event.h"

namespace hivehook::api {

// One event as an SSE message: "id: <store id>\ndata: <event JSON>\n\n" (the JSON is one line).
std::string sse_message(const AuditEvent& e);

// One published event: its store id and its SSE text, built once and shared by every subscriber.
struct SseEvent {
  int64_t id = 0;
  std::shared_ptr<const std::string> message;
};

class EventHub {
 public:
  // Runs a task later on another thread, in the order posted (a single-threaded executor).
  using Post = std::function<void(std::function<void()>)>;
  // `keep`: how many of the newest events stay in memory for resuming subscribers.
  // `post`: where the fan-out to the subscribers runs (the listener's thread); must be set before
  // events are published with subscribers present.
  explicit EventHub(std::size_t keep = 4096, Post post = nullptr) : keep_(keep), post_(std::move(post)) {}
  void set_post(Post post);

  // The store's newest event id when the daemon starts (events after it will be published).
  void set_last_id(int64_t id);
  int64_t last_id() const;

  // Events just committed, in id order (the daemon's loop thread calls this after each commit).
  // Cost on the caller: one sse_message per new event and a ring append; never a subscriber's
  // sink (they run in the posted fan-out). Ids already published are skipped.
  void publish(const std::vector<AuditEvent>& events);

  // A subscriber: called with the events in id order, on the fan-out's thread (or, for the ring's
  // events, on subscribe's caller); it must only queue. Returning false unsubscribes it. The
  // fan-out hands it several events at once as one SseEvent: `message` the SSE messages of every
  // event after the subscriber's last, concatenated (shared by the subscribers at the same place),
  // `id` the last one's.
  using Sink = std::function<bool(const SseEvent&)>;
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
  struct Subscriber {
    Sink sink;
    int64_t last = 0;  // the newest id it was handed
  };
  // Hands every subscriber the ring's events after its `last` (posted by publish).
  void fan_out();

  std::size_t keep_;
  Post post_;
  // Lock order: subs_mu_ before mu_. publish() takes mu_ only, briefly.
  mutable std::mutex subs_mu_;  // subs_; held while sinks run (fan-out, subscribe's replay)
  std::vector<Subscriber> subs_;
  mutable std::mutex mu_;  // ring_, last_id_, pending_, post_
  std::deque<SseEvent> ring_;
  int64_t last_id_ = 0;
  bool pending_ = false;  // a fan-out is posted and has not yet taken the ring
};

}  // namespace hivehook::api
