// The SSE hub: ordered delivery, resume from the ring, and the hand-over to the store when a
// resume id is older than the ring.
#include <memory>

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
}  // namespace

TEST(EventHub, SubscribersGetNewEventsInOrderAndResumeFromTheRing) {
  EventHub hub(5);
  hub.set_last_id(10);
  std::vector<int64_t> got;
  ASSERT_TRUE(hub.subscribe(10, [&](const AuditEvent& e) { got.push_back(e.id); return true; }));
  hub.publish(events(11, 13));
  hub.publish(events(12, 14));  // already-seen ids are not published twice
  EXPECT_EQ(got, (std::vector<int64_t>{11, 12, 13, 14}));
  std::vector<int64_t> resumed;
  ASSERT_TRUE(hub.subscribe(12, [&](const AuditEvent& e) { resumed.push_back(e.id); return true; }));
  EXPECT_EQ(resumed, (std::vector<int64_t>{13, 14}));
  EXPECT_EQ(hub.subscribers(), 2u);
}

TEST(EventHub, AResumeOlderThanTheRingIsRefusedSoTheCallerReadsTheStore) {
  EventHub hub(3);
  hub.set_last_id(0);
  hub.publish(events(1, 10));  // the ring holds 8..10
  EXPECT_FALSE(hub.subscribe(5, [](const AuditEvent&) { return true; }));
  std::vector<int64_t> got;
  EXPECT_TRUE(hub.subscribe(7, [&](const AuditEvent& e) { got.push_back(e.id); return true; }));
  EXPECT_EQ(got, (std::vector<int64_t>{8, 9, 10}));
}

TEST(EventHub, ASinkThatRefusesIsDropped) {
  EventHub hub;
  int calls = 0;
  hub.subscribe(0, [&](const AuditEvent&) { ++calls; return false; });
  hub.publish(events(1, 3));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(hub.subscribers(), 0u);
}

TEST(EventHub, CloseDropsEverySubscriberAndWhatItsSinkHolds) {
  EventHub hub;
  auto held = std::make_shared<int>(0);
  std::weak_ptr<int> watch = held;
  hub.subscribe(0, [held = std::move(held)](const AuditEvent&) { return true; });
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
