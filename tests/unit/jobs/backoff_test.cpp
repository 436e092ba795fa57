#include "jobs/backoff.h"

#include <gtest/gtest.h>

#include <set>

namespace hivehook {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(Backoff, EqualJitterStaysWithinHalfToFullOfTheExponentialBase) {
  BackoffPolicy p{seconds(1), minutes(5)};
  std::mt19937_64 rng(42);
  for (int n = 1; n <= 15; ++n) {
    long long base = std::min<long long>(1000LL << (n - 1), 300000);
    for (int i = 0; i < 200; ++i) {
      Duration d = backoff_delay(p, n, rng);
      ASSERT_GE(d.count(), base / 2) << "attempt " << n;
      ASSERT_LE(d.count(), base) << "attempt " << n;
    }
  }
}

TEST(Backoff, NeverExceedsMaxEvenForHugeAttemptCounts) {
  BackoffPolicy p{milliseconds(250), seconds(10)};
  std::mt19937_64 rng(1);
  for (int n : {30, 63, 64, 1000, 1 << 30}) {
    Duration d = backoff_delay(p, n, rng);
    EXPECT_GE(d.count(), 5000);
    EXPECT_LE(d.count(), 10000);
  }
}

TEST(Backoff, IsActuallyRandomised) {
  BackoffPolicy p{seconds(10), minutes(5)};
  std::mt19937_64 rng(3);
  std::set<long long> seen;
  for (int i = 0; i < 50; ++i) seen.insert(backoff_delay(p, 1, rng).count());
  EXPECT_GT(seen.size(), 10u);
}

TEST(Backoff, SameSeedSameSequence) {
  BackoffPolicy p;
  std::mt19937_64 a(9), b(9);
  for (int n = 1; n < 10; ++n) EXPECT_EQ(backoff_delay(p, n, a), backoff_delay(p, n, b));
}

TEST(Backoff, DegenerateInputs) {
  std::mt19937_64 rng(5);
  EXPECT_EQ(backoff_delay({milliseconds(0), seconds(5)}, 3, rng).count(), 0);
  // initial above max: capped at max.
  Duration d = backoff_delay({minutes(10), minutes(1)}, 1, rng);
  EXPECT_LE(d.count(), 60000);
  EXPECT_GE(d.count(), 30000);
  // 0 or negative attempt counts behave like the first failure.
  Duration first = backoff_delay({seconds(1), minutes(1)}, 0, rng);
  EXPECT_LE(first.count(), 1000);
}

}  // namespace
}  // namespace hivehook
