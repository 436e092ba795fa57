// Routing of Runtime API paths, as AWS's runtimes call them.
#include <gtest/gtest.h>

#include "lambda/runtime_api_route.h"

namespace hivehook::lambda {
namespace {

TEST(RuntimeApiRoute, TheFourPathsOfTheApi) {
  EXPECT_EQ(route_runtime_api("GET", "/2018-06-01/runtime/invocation/next").route, RuntimeApiRoute::next);
  auto r = route_runtime_api("POST", "/2018-06-01/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/response");
  EXPECT_EQ(r.route, RuntimeApiRoute::invocation_response);
  EXPECT_EQ(r.request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
  r = route_runtime_api("POST", "/2018-06-01/runtime/invocation/abc/error");
  EXPECT_EQ(r.route, RuntimeApiRoute::invocation_error);
  EXPECT_EQ(r.request_id, "abc");
  EXPECT_EQ(route_runtime_api("POST", "/2018-06-01/runtime/init/error").route, RuntimeApiRoute::init_error);
}

TEST(RuntimeApiRoute, QueryIgnoredAndIdPercentDecoded) {
  EXPECT_EQ(route_runtime_api("GET", "/2018-06-01/runtime/invocation/next?x=1").route, RuntimeApiRoute::next);
  EXPECT_EQ(route_runtime_api("POST", "/2018-06-01/runtime/invocation/a%2Db/response").request_id, "a-b");
}

TEST(RuntimeApiRoute, WrongMethodIs405AndUnknownPathsAre404) {
  EXPECT_EQ(route_runtime_api("POST", "/2018-06-01/runtime/invocation/next").route, RuntimeApiRoute::method_not_allowed);
  EXPECT_EQ(route_runtime_api("GET", "/2018-06-01/runtime/invocation/x/response").route,
            RuntimeApiRoute::method_not_allowed);
  EXPECT_EQ(route_runtime_api("GET", "/2018-06-01/runtime/init/error").route, RuntimeApiRoute::method_not_allowed);
  for (const char* bad : {"/", "", "/2018-06-01/runtime/invocation/", "/2018-06-01/runtime/invocation/x",
                          "/2018-06-01/runtime/invocation//response", "/2018-06-01/runtime/invocation/x/result",
                          "/2020-01-01/extension/register", "/2018-06-01/runtime/invocation/a/b/response",
                          "/2018-06-01/runtime/invocation/a%2Fb/response", "/2018-06-01/runtime/invocation/%00/error",
                          "/2018-06-01/runtime/invocation/%4/error", "/2018-06-01/runtime/invocation/%zz/error",
                          "/2018-06-01/runtime/invocation/abc%/error"})
    EXPECT_EQ(route_runtime_api("POST", bad).route, RuntimeApiRoute::not_found) << bad;
}

}  // namespace
}  // namespace hivehook::lambda
