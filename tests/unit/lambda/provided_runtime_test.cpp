// A custom runtime: the `bootstrap` of AWS's custom-runtime tutorial (bash and curl), unchanged.
#include <unistd.h>

#include "support.h"

namespace hivehook::test {
namespace {

using nlohmann::json;

class ProvidedRuntime : public ::testing::Test, public PoolHarness {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/curl", X_OK) != 0 || ::access("/bin/bash", X_OK) != 0)
      GTEST_SKIP() << "needs bash and curl (scripts/install-deps)";
  }
};

TEST_F(ProvidedRuntime, TheAwsTutorialBootstrapRunsWarm) {
  auto pool = make_pool("provided", "function.handler", "provided.al2023");
  for (int i = 0; i < 3; ++i) {
    auto r = invoke(*pool, json{{"n", i}});
    ASSERT_EQ(r.exit_code, 0) << r.error << r.stderr_tail;
    EXPECT_EQ(result(), "Echoing request: '{\"n\":" + std::to_string(i) + "}'") << "not JSON: kept as a string";
    EXPECT_NE(r.stderr_tail.find("{\"n\":" + std::to_string(i) + "}"), std::string::npos) << r.stderr_tail;
  }
  EXPECT_EQ(pool->counters().cold_starts, 1u);
}

TEST_F(ProvidedRuntime, AMissingBootstrapIsAClearFailure) {
  auto pool = make_pool("python", "x.handler", "provided");
  auto r = invoke(*pool, json::object());
  EXPECT_FALSE(r.spawned);
  EXPECT_NE(r.error.find("bootstrap"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace hivehook::test
