// Refused bearer tokens per client address, on a fake clock (issue 15 finding C10).
#include <gtest/gtest.h>

#include "api/token_guard.h"

using namespace hivehook::api;
using namespace std::chrono_literals;

namespace {
struct FakeClock {
  std::chrono::steady_clock::time_point t = std::chrono::steady_clock::time_point(1000h);
  TokenGuard::Clock fn() {
    return [this] { return t; };
  }
};
}  // namespace

TEST(TokenGuard, TenRefusedWithinAMinuteLockTheAddressOutForAMinuteThenDoubled) {
  FakeClock clock;
  TokenGuard g({}, clock.fn());
  for (int i = 0; i < 9; ++i) g.refused("127.0.0.1", "POST /api/v1/replay");
  EXPECT_FALSE(g.locked("127.0.0.1"));
  g.refused("127.0.0.1", "POST /api/v1/replay");
  ASSERT_TRUE(g.locked("127.0.0.1"));
  EXPECT_EQ(*g.locked("127.0.0.1"), 60s);
  EXPECT_FALSE(g.locked("127.0.0.2")) << "another address is not locked";
  clock.t += 59500ms;
  EXPECT_EQ(*g.locked("127.0.0.1"), 1s) << "rounded up";
  clock.t += 500ms;
  EXPECT_FALSE(g.locked("127.0.0.1"));
  for (int i = 0; i < 10; ++i) g.refused("127.0.0.1", "POST /api/v1/replay");
  EXPECT_EQ(*g.locked("127.0.0.1"), 120s) << "the next lockout within a day is twice as long";
  EXPECT_EQ(g.refused_total(), 20u);
  EXPECT_EQ(g.lockouts_total(), 2u);
  auto text = g.prometheus();
  EXPECT_NE(text.find("hivehook_http_refused_tokens_total 20\n"), std::string::npos) << text;
  EXPECT_NE(text.find("hivehook_http_token_lockouts_total 2\n"), std::string::npos) << text;
}

TEST(TokenGuard, FailuresSpreadOverMoreThanTheWindowDoNotLockOut) {
  FakeClock clock;
  TokenGuard g({}, clock.fn());
  for (int i = 0; i < 30; ++i) {
    g.refused("10.0.0.1", "POST /api/v1/retry");
    clock.t += 7s;  // 9 per minute
  }
  EXPECT_FALSE(g.locked("10.0.0.1"));
  EXPECT_EQ(g.lockouts_total(), 0u);
}

TEST(TokenGuard, LockoutsAreCappedAndTheMemoryOfAddressesIsBounded) {
  FakeClock clock;
  TokenGuardOptions o;
  o.max_addresses = 3;
  TokenGuard g(o, clock.fn());
  for (int round = 0; round < 8; ++round) {
    for (int i = 0; i < 10; ++i) g.refused("a", "x");
    auto left = g.locked("a");
    ASSERT_TRUE(left);
    EXPECT_LE(*left, 15min);
    clock.t += *left;
  }
  for (int i = 0; i < 10; ++i) g.refused("a", "x");
  EXPECT_EQ(*g.locked("a"), 15min);
  for (const char* other : {"b", "c", "d", "e"}) g.refused(other, "x");
  EXPECT_TRUE(g.locked("a")) << "a locked address is forgotten last";
}
