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
}  // namespace

TEST(EventHub, SubscribersGetNewEventsInOrderAndResumeFromTheRing) {
  ManualPost fan;
  EventHub hub(5, fan.post());
  hub.set_last_id(10);
  std::vector<int64_t> got;
  ASSERT_TRUE(hub.subscribe(10, [&](const SseEvent& e) { got.push_back(e.id); return true; }));
  hub.publish(events(11, 13));
  fan.run_all();
  hub.publish(events(12, 14));  // already-seen ids are not published twice
  fan.run_all();
  EXPECT_EQ(got, (std::vector<int64_t>{11, 12, 13, 14}));
  std::vector<int64_t> resumed;
  ASSERT_TRUE(hub.subscribe(12, [&](const SseEvent& e) { resumed.push_back(e.id); return true; }));
  EXPECT_EQ(resumed, (std::vector<int64_t>{13, 14}));
  EXPECT_EQ(hub.subscribers(), 2u);
}

TEST(EventHub, AResumeOlderThanTheRingIsRefusedSoTheCallerReadsTheStore) {
  EventHub hub(3);
  hub.set_last_id(0);
  hub.publish(events(1, 10));  // the ring holds 8..10
  EXPECT_FALSE(hub.subscribe(5, [](const SseEvent&) { return true; }));
  std::vector<int64_t> got;
  EXPECT_TRUE(hub.subscribe(7, [&](const SseEvent& e) { got.push_back(e.id); return true; }));
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
// at most one fan-out is posted however many batches and subscribers there are, and every
// subscriber gets the same shared message.
TEST(EventHub, C5PublishNeverRunsSubscribersOnTheCallersThread) {
  ManualPost fan;
  EventHub hub(4096, fan.post());
  hub.set_last_id(0);
  constexpr int kSubscribers = 500;
  int calls = 0;
  std::vector<std::vector<const std::string*>> seen(kSubscribers);
  for (int i = 0; i < kSubscribers; ++i)
    ASSERT_TRUE(hub.subscribe(0, [&, i](const SseEvent& e) {
      ++calls;
      seen[i].push_back(e.message.get());
      return true;
    }));
  for (int b = 0; b < 20; ++b) hub.publish(events(b * 100 + 1, b * 100 + 100));
  EXPECT_EQ(calls, 0) << "a sink ran on the publisher's thread";
  EXPECT_EQ(fan.tasks.size(), 1u) << "fan-outs are coalesced: one pending per hub, not per batch or subscriber";
  fan.run_all();
  EXPECT_EQ(calls, kSubscribers * 2000);
  for (const auto& s : seen) {
    ASSERT_EQ(s.size(), 2000u);
    EXPECT_EQ(s, seen[0]) << "each event is serialised once and shared";
  }
}

// A subscriber more than the ring behind when the fan-out runs is dropped (its stream ends; the
// client resumes with Last-Event-ID from the store) rather than handed a gap.
TEST(EventHub, ASubscriberThatFellBehindTheRingIsDroppedNotHandedAGap) {
  ManualPost fan;
  EventHub hub(10, fan.post());
  hub.set_last_id(0);
  std::vector<int64_t> got;
  ASSERT_TRUE(hub.subscribe(0, [&](const SseEvent& e) { got.push_back(e.id); return true; }));
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
  ASSERT_TRUE(hub.subscribe(2, [&](const SseEvent& e) { got.push_back(e.id); return true; }));
  fan.run_all();
  hub.publish(events(6, 7));
  fan.run_all();
  EXPECT_EQ(got, (std::vector<int64_t>{3, 4, 5, 6, 7}));
}
