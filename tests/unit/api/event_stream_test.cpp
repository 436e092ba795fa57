// The SSE hub: ordered delivery, resume from the ring, and the hand-over to the store when a
// resume id is older than the ring.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "api/event_stream.h"

using namespace hivehook;
using namespace hivehook::api;

namespace {
std::vector<AuditEvent> events(int64_t from, int64_t to) {
  std::vector<AuditEvent> out;
  for (int64_t i = from; i <= to; ++i) {
    AuditEvent e;
    e.id = i;
    e.event = "object.discovered";
    e.key = "k" + std::to_string(i);
    out.push_back(e);
  }
  return out;
}
// The fan-out's executor, run by hand: tasks wait in `tasks` until run_all().
struct ManualPost {
  std::vector<std::function<void()>> tasks;
  EventHub::Post post() {
    return [this](std::function<void()> t) { tasks.push_back(std::move(t)); };
  }
  void run_all() {
    while (!tasks.empty()) {
      auto t = std::move(tasks.front());
      tasks.erase(tasks.begin());
      t();
    }
  }
};
// The ids of the SSE messages in one hand-over (the fan-out hands several events as one message).
std::vector<int64_t> ids_of(const SseEvent& e) {
  std::vector<int64_t> out;
  for (std::size_t at = 0; (at = e.message->find("id: ", at)) != std::string::npos; at += 4)
    if (at == 0 || (*e.message)[at - 1] == '\n') out.push_back(std::stoll(e.message->substr(at + 4)));
  return out;
}
void append(std::vector<int64_t>& to, const SseEvent& e) {
  auto ids = ids_of(e);
  EXPECT_FALSE(ids.empty());
  if (!ids.empty()) EXPECT_EQ(ids.back(), e.id) << "the hand-over's id is its last event's";
  to.insert(to.end(), ids.begin(), ids.end());
}
}  // namespace

TEST(EventHub, SubscribersGetNewEventsInOrderAndResumeFromTheRing) {
  ManualPost fan;
  EventHub hub(5, fan.post());
  hub.set_last_id(10);
  std::vector<int64_t> got;
  ASSERT_TRUE(hub.subscribe(10, [&](const SseEvent& e) { append(got, e); return true; }));
  hub.publish(events(11, 13));
  fan.run_all();
  hub.publish(events(12, 14));  // already-seen ids are not published twice
  fan.run_all();
  EXPECT_EQ(got, (std::vector<int64_t>{11, 12, 13, 14}));
  std::vector<int64_t> resumed;
  ASSERT_TRUE(hub.subscribe(12, [&](const SseEvent& e) { append(resumed, e); return true; }));
  EXPECT_EQ(resumed, (std::vector<int64_t>{13, 14}));
  EXPECT_EQ(hub.subscribers(), 2u);
}

TEST(EventHub, AResumeOlderThanTheRingIsRefusedSoTheCallerReadsTheStore) {
  EventHub hub(3);
  hub.set_last_id(0);
  hub.publish(events(1, 10));  // the ring holds 8..10
  EXPECT_FALSE(hub.subscribe(5, [](const SseEvent&) { return true; }));
  std::vector<int64_t> got;
  EXPECT_TRUE(hub.subscribe(7, [&](const SseEvent& e) { append(got, e); return true; }));
  EXPECT_EQ(got, (std::vector<int64_t>{8, 9, 10}));
}

TEST(EventHub, ASinkThatRefusesIsDropped) {
  ManualPost fan;
  EventHub hub(4096, fan.post());
  int calls = 0;
  hub.subscribe(0, [&](const SseEvent&) { ++calls; return false; });
  hub.publish(events(1, 3));
  fan.run_all();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(hub.subscribers(), 0u);
}

TEST(EventHub, CloseDropsEverySubscriberAndWhatItsSinkHolds) {
  EventHub hub;
  auto held = std::make_shared<int>(0);
  std::weak_ptr<int> watch = held;
  hub.subscribe(0, [held = std::move(held)](const SseEvent&) { return true; });
  ASSERT_EQ(hub.subscribers(), 1u);
  hub.close();
  EXPECT_EQ(hub.subscribers(), 0u);
  EXPECT_TRUE(watch.expired());
}

TEST(EventHub, MessagesAreOneSseEventEach) {
  AuditEvent e;
  e.id = 42;
  e.event = "run.failed";
  e.key = "a\nb";  // a newline inside data would split the SSE field
  e.detail = {{"stderr", "line1\nline2\r\n"}};
  std::string m = sse_message(e);
  EXPECT_EQ(m.rfind("id: 42\ndata: {", 0), 0u);
  EXPECT_EQ(m.substr(m.size() - 2), "\n\n");
  EXPECT_EQ(std::count(m.begin(), m.end(), '\n'), 3);
}

// Issue 15 finding C5: publish() ran every subscriber's sink (each formatting its own SSE message)
// on the daemon's loop, under the hub's lock: 100 open streams stalled the loop for ~15 s in a
// burst. Now the caller's work does not depend on the number of subscribers: no sink runs on it,
// at most one fan-out is posted however many batches and subscribers there are, and the fan-out
// hands every subscriber the whole backlog as one message, the same shared string for all of them
// (measured before: one message, copy and write per event per stream -- 100 streams took 20 s to
// be handed a 3,000-event burst).
TEST(EventHub, C5PublishNeverRunsSubscribersOnTheCallersThread) {
  ManualPost fan;
  EventHub hub(4096, fan.post());
  hub.set_last_id(0);
  constexpr int kSubscribers = 500;
  int calls = 0;
  std::vector<std::vector<const std::string*>> seen(kSubscribers);
  std::vector<std::vector<int64_t>> ids(kSubscribers);
  for (int i = 0; i < kSubscribers; ++i)
    ASSERT_TRUE(hub.subscribe(0, [&, i](const SseEvent& e) {
      ++calls;
      seen[i].push_back(e.message.get());
      append(ids[i], e);
      return true;
    }));
  for (int b = 0; b < 20; ++b) hub.publish(events(b * 100 + 1, b * 100 + 100));
  EXPECT_EQ(calls, 0) << "a sink ran on the publisher's thread";
  EXPECT_EQ(fan.tasks.size(), 1u) << "fan-outs are coalesced: one pending per hub, not per batch or subscriber";
  fan.run_all();
  EXPECT_EQ(calls, kSubscribers) << "one hand-over per subscriber, not one per event";
  std::vector<int64_t> all;
  for (int64_t i = 1; i <= 2000; ++i) all.push_back(i);
  for (int i = 0; i < kSubscribers; ++i) {
    ASSERT_EQ(seen[i].size(), 1u);
    EXPECT_EQ(seen[i], seen[0]) << "the backlog is concatenated once and shared";
    EXPECT_EQ(ids[i], all);
  }
}

// Subscribers at different places when the fan-out runs (one joined before a publish, others
// after it, from the ring) each get exactly the events after their own last one; those at the
// same place share one message.
TEST(EventHub, SubscribersAtDifferentPlacesGetTheirOwnSuffixOnceEach) {
  ManualPost fan;
  EventHub hub(100, fan.post());
  hub.set_last_id(0);
  std::vector<std::vector<int64_t>> got(3);
  std::vector<const std::string*> msg(3, nullptr);
  auto sink = [&](int i) {
    return [&, i](const SseEvent& e) {
      append(got[i], e);
      msg[i] = e.message.get();
      return true;
    };
  };
  ASSERT_TRUE(hub.subscribe(0, sink(0)));
  hub.publish(events(1, 5));  // fan-out pending
  ASSERT_TRUE(hub.subscribe(0, sink(1)));  // handed 1..5 from the ring now
  ASSERT_TRUE(hub.subscribe(0, sink(2)));
  hub.publish(events(6, 7));
  fan.run_all();
  EXPECT_EQ(got[0], (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(got[1], (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(got[2], got[1]);
  EXPECT_EQ(msg[1], msg[2]) << "one string for the subscribers at the same place";
  EXPECT_NE(msg[0], msg[1]);
}

// A subscriber more than the ring behind when the fan-out runs is dropped (its stream ends; the
// client resumes with Last-Event-ID from the store) rather than handed a gap.
TEST(EventHub, ASubscriberThatFellBehindTheRingIsDroppedNotHandedAGap) {
  ManualPost fan;
  EventHub hub(10, fan.post());
  hub.set_last_id(0);
  std::vector<int64_t> got;
  ASSERT_TRUE(hub.subscribe(0, [&](const SseEvent& e) { append(got, e); return true; }));
  hub.publish(events(1, 30));  // the ring keeps 21..30 only
  fan.run_all();
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(hub.subscribers(), 0u);
}

// A subscriber that joins between a publish and its fan-out gets the ring's events once, not twice.
TEST(EventHub, ASubscriberJoiningBeforeThePendingFanOutGetsEachEventOnce) {
  ManualPost fan;
  EventHub hub(100, fan.post());
  hub.set_last_id(0);
  hub.publish(events(1, 5));
  std::vector<int64_t> got;
  ASSERT_TRUE(hub.subscribe(2, [&](const SseEvent& e) { append(got, e); return true; }));
  fan.run_all();
  hub.publish(events(6, 7));
  fan.run_all();
  EXPECT_EQ(got, (std::vector<int64_t>{3, 4, 5, 6, 7}));
}
