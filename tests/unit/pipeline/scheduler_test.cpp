// The scheduler: workers in total, concurrency per rule, FIFO within a rule, oldest first across.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pipeline/scheduler.h"

namespace hivehook {
namespace {

TEST(Scheduler, RespectsWorkersInTotal) {
  Scheduler s(2);
  for (int i = 0; i < 5; ++i) s.push(i, "r");
  auto none = [](const std::string&) { return 0; };
  EXPECT_TRUE(s.pop(none));
  EXPECT_TRUE(s.pop(none));
  EXPECT_FALSE(s.pop(none));
  EXPECT_EQ(s.running(), 2u);
  EXPECT_EQ(s.queued(), 3u);
  s.finished("r");
  EXPECT_TRUE(s.pop(none));
}

TEST(Scheduler, RespectsConcurrencyPerRuleAndLetsOthersPass) {
  Scheduler s(10);
  s.push(1, "slow");
  s.push(2, "slow");
  s.push(3, "fast");
  auto limit = [](const std::string& rule) { return rule == "slow" ? 1 : 0; };
  auto a = s.pop(limit);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->object_id, 1);
  auto b = s.pop(limit);  // slow is at its limit: the fast rule's task goes ahead
  ASSERT_TRUE(b);
  EXPECT_EQ(b->object_id, 3);
  EXPECT_FALSE(s.pop(limit));
  EXPECT_EQ(s.running("slow"), 1);
  s.finished("slow");
  auto c = s.pop(limit);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->object_id, 2);
}

TEST(Scheduler, FifoWithinARuleOldestFirstAcross) {
  Scheduler s(1);
  s.push(10, "b");
  s.push(20, "a");
  s.push(11, "b");
  s.push(21, "a");
  auto none = [](const std::string&) { return 0; };
  std::vector<int64_t> order;
  while (auto t = s.pop(none)) {
    order.push_back(t->object_id);
    s.finished(t->rule);
  }
  EXPECT_EQ(order, (std::vector<int64_t>{10, 20, 11, 21}));
}

TEST(Scheduler, FinishedForAnUnknownRuleIsHarmless) {
  Scheduler s(1);
  s.finished("nobody");
  EXPECT_EQ(s.running(), 0u);
}

// Cluster mode: a limited rule's task starts only with a cluster-wide slot, given back when it ends;
// a rule whose slots other nodes hold lets the others pass and says the queue waits for slots.
TEST(Scheduler, ALimitedRuleStartsOnlyWithAClusterSlotAndGivesItBackWhenItEnds) {
  Scheduler s(10);
  int free_slots = 1;
  std::vector<std::string> released;
  s.claim = [&](const std::string& rule, int limit) {
    EXPECT_EQ(rule, "slow");
    EXPECT_EQ(limit, 2);
    if (free_slots == 0) return false;
    --free_slots;
    return true;
  };
  s.release = [&](const std::string& rule) {
    released.push_back(rule);
    ++free_slots;
  };
  s.push(1, "slow");
  s.push(2, "slow");
  s.push(3, "fast");
  auto limit = [](const std::string& rule) { return rule == "slow" ? 2 : 0; };
  auto a = s.pop(limit);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->object_id, 1);
  auto b = s.pop(limit);  // slow is below its limit here, but the cluster's other slot is taken
  ASSERT_TRUE(b);
  EXPECT_EQ(b->object_id, 3);
  EXPECT_FALSE(s.pop(limit));
  EXPECT_TRUE(s.waiting_for_slots());
  s.finished("fast");  // no slot to give back
  EXPECT_TRUE(released.empty());
  s.finished("slow");
  EXPECT_EQ(released, std::vector<std::string>{"slow"});
  auto c = s.pop(limit);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->object_id, 2);
  EXPECT_FALSE(s.waiting_for_slots());
}

}  // namespace
}  // namespace hivehook
