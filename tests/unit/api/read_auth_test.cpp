// http.read_auth (issue 16 retest P11): the console's token cookie.
#include "api/read_auth.h"

#include <gtest/gtest.h>

namespace hivehook::api {

TEST(ReadAuth, CookieValueIsFoundAmongOthersAndPercentDecoded) {
  EXPECT_EQ(cookie_value("hivehook_token=abc", kTokenCookie), "abc");
  EXPECT_EQ(cookie_value("a=1; hivehook_token=a-long%21token%3B%20x; b=2", kTokenCookie), "a-long!token; x");
  EXPECT_EQ(cookie_value("a=1;hivehook_token=\"q\"", kTokenCookie), "q");
  EXPECT_EQ(cookie_value("x_hivehook_token=no; hivehook_tokens=no", kTokenCookie), std::nullopt);
  EXPECT_EQ(cookie_value("", kTokenCookie), std::nullopt);
  EXPECT_EQ(cookie_value("hivehook_token", kTokenCookie), std::nullopt);
}

TEST(ReadAuth, OnlyTheApiIsGuarded) {
  EXPECT_TRUE(read_auth_guards("/api/v1/runs?limit=2"));
  EXPECT_TRUE(read_auth_guards("/api/v1/events"));
  EXPECT_TRUE(read_auth_guards("/api/"));
  EXPECT_FALSE(read_auth_guards("/metrics"));
  EXPECT_FALSE(read_auth_guards("/healthz"));
  EXPECT_FALSE(read_auth_guards("/"));
  EXPECT_FALSE(read_auth_guards("/console/console.js"));
  EXPECT_FALSE(read_auth_guards("/apix"));
}

}  // namespace hivehook::api
