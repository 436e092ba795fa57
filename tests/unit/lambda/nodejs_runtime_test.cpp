// hivehook's Node.js runtime: ES-module and CommonJS handlers, async and callback styles, in warm
// environments on the real Runtime API.
#include <unistd.h>

#include <tuple>

#include "base/executable.h"
#include "jobs/spawn.h"
#include "support.h"

namespace hivehook::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class NodeRuntime : public ::testing::Test, public PoolHarness {
 protected:
  void SetUp() override {
    std::string error;
    const char* path = std::getenv("PATH");
    if (!find_executable("node", path ? path : "", &error)) GTEST_SKIP() << "needs node (scripts/install-deps)";
  }
};

TEST_F(NodeRuntime, AsyncHandlerInAnEsModuleKeepsModuleStateWarm) {
  auto pool = make_pool("nodejs", "async_handler.handler", "nodejs20.x");
  for (int i = 1; i <= 3; ++i) {
    auto r = invoke(*pool, json{{"n", i}});
    ASSERT_EQ(r.exit_code, 0) << r.error << r.stderr_tail;
    EXPECT_EQ(result()["count"], i);
    EXPECT_EQ(result()["requestId"], "req-" + std::to_string(i - 1));
    EXPECT_EQ(result()["remaining"], true);
    EXPECT_EQ(result()["fn"], "test-fn");
    if (i == 1) EXPECT_NE(r.stdout_tail.find("\tINFO\tLoading function"), std::string::npos) << r.stdout_tail;
    EXPECT_NE(r.stdout_tail.find("\treq-" + std::to_string(i - 1) + "\tINFO\tasync handler invocation " +
                                 std::to_string(i)),
              std::string::npos) << r.stdout_tail;
  }
  EXPECT_EQ(pool->counters().cold_starts, 1u);
}

TEST_F(NodeRuntime, CallbackHandlerInCommonJs) {
  auto pool = make_pool("nodejs", "callback_handler.handler", "nodejs");
  for (int i = 1; i <= 2; ++i) {
    auto r = invoke(*pool, json::object());
    ASSERT_EQ(r.exit_code, 0) << r.error << r.stderr_tail;
    EXPECT_EQ(result()["count"], i);
    EXPECT_EQ(result()["style"], "callback");
  }
  auto nested = make_pool("nodejs", "callback_handler.nested.handler", "nodejs");
  EXPECT_EQ(invoke(*nested, json::object()).exit_code, 0);
  EXPECT_EQ(result(), "nested ok");
}

TEST_F(NodeRuntime, PackageTypeModuleMakesAJsFileAnEsModule) {
  auto pool = make_pool("nodejs", "esm/index.handler", "nodejs");
  auto r = invoke(*pool, json{{"b", 1}, {"a", 2}});
  ASSERT_EQ(r.exit_code, 0) << r.error << r.stderr_tail;
  EXPECT_EQ(result(), (json{{"esm", true}, {"keys", {"a", "b"}}}));
}

TEST_F(NodeRuntime, ErrorsAreReportedWithTypeMessageAndTrace) {
  auto pool = make_pool("nodejs", "async_handler.fails", "nodejs");
  auto r = invoke(*pool, json{{"what", "x"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.error, "TypeError: bad event \"x\"");
  EXPECT_EQ(result()["errorType"], "TypeError");
  ASSERT_TRUE(result()["trace"].is_array());
  EXPECT_EQ(result()["trace"][0], "TypeError: bad event \"x\"");
  EXPECT_NE(r.stderr_tail.find("\tERROR\tInvoke Error {\"errorType\":\"TypeError\""), std::string::npos)
      << r.stderr_tail;
  auto cb = make_pool("nodejs", "callback_handler.failsViaCallback", "nodejs");
  auto c = invoke(*cb, json::object());
  EXPECT_EQ(c.error, "Error: callback error");
  EXPECT_NE(c.stderr_tail.find("\tERROR\tabout to fail"), std::string::npos) << c.stderr_tail;
}

TEST_F(NodeRuntime, AnUncaughtExceptionFailsTheInvocationAndEndsTheEnvironment) {
  auto pool = make_pool("nodejs", "callback_handler.crashes", "nodejs");
  auto r = invoke(*pool, json::object());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.error, "RangeError: thrown outside the handler");
  EXPECT_TRUE(pump_until(io, [&] { return process_gone(r.pid) && pool->environments() == 0; }));
}

// The job contract's per-run variables, for each invocation of the warm environment (Python and Node.js).
TEST_F(NodeRuntime, EachInvocationSeesItsRunsHivehookVariables) {
  auto event = [](const std::string& key, json partition) {
    return json{{"Records", {{{"s3", {{"bucket", {{"name", "landing"}}}}}}}},
                {"hivehook", {{"path", "/l/" + key}, {"key", key}, {"table", "t"}, {"partition", partition},
                              {"rule", "test-fn"}, {"run_id", "run-" + key}, {"attempt", 2}}}};
  };
  for (auto [code, handler, runtime] : {std::tuple{"nodejs", "callback_handler.runEnvironment", "nodejs"},
                                        std::tuple{"python", "lifecycle.run_environment", "python3"}}) {
    auto pool = make_pool(code, handler, runtime);
    ASSERT_EQ(invoke(*pool, event("t/day=1/a.csv", {{"day", "1"}, {"caf\xC3\xA9", "x"}})).exit_code, 0) << runtime;
    EXPECT_EQ(result(), (json{{"HIVEHOOK_PATH", "/l/t/day=1/a.csv"}, {"HIVEHOOK_KEY", "t/day=1/a.csv"},
                              {"HIVEHOOK_TABLE", "t"}, {"HIVEHOOK_RUN_ID", "run-t/day=1/a.csv"},
                              {"HIVEHOOK_ATTEMPT", "2"}, {"HIVEHOOK_BUCKET", "landing"}, {"HIVEHOOK_PART_DAY", "1"},
                              {"HIVEHOOK_PART_CAF__", "x"}, {"HIVEHOOK_RULE", "test-fn"}}))
        << runtime;
    ASSERT_EQ(invoke(*pool, event("t/b.csv", json::object())).exit_code, 0);
    EXPECT_FALSE(result().contains("HIVEHOOK_PART_DAY")) << runtime << ": the previous run's variables are gone";
    EXPECT_EQ(result()["HIVEHOOK_KEY"], "t/b.csv");
  }
}

TEST_F(NodeRuntime, TimeoutAndInitErrors) {
  auto pool = make_pool("nodejs", "async_handler.sleeps", "nodejs");
  auto r = invoke(*pool, json::object(), 1s);
  EXPECT_TRUE(r.timed_out);
  auto broken = make_pool("nodejs", "broken_init.handler", "nodejs");
  auto b = invoke(*broken, json::object());
  EXPECT_EQ(b.exit_code, 1);
  EXPECT_EQ(b.error, "Error: cannot load configuration");
  EXPECT_NE(b.stdout_tail.find("initialising, about to fail"), std::string::npos) << b.stdout_tail;
  auto missing = make_pool("nodejs", "nope.handler", "nodejs");
  auto m = invoke(*missing, json::object());
  EXPECT_EQ(m.error.rfind("Runtime.ImportModuleError: Error: Cannot find module", 0), 0u) << m.error;
  auto nofn = make_pool("nodejs", "async_handler.nothing", "nodejs");
  EXPECT_EQ(invoke(*nofn, json::object()).error,
            "Runtime.HandlerNotFound: async_handler.nothing is undefined or not exported");
}

}  // namespace
}  // namespace hivehook::test
