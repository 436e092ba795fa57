// One warm pool per rule, kept across invocations and replaced when the rule's function changes.
#include <unistd.h>

#include "lambda/invoker.h"
#include "support.h"

namespace hivehook::test {
namespace {

using nlohmann::json;

class InvokerTest : public ::testing::Test, public PoolHarness {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/python3";
  }
  Rule rule(const std::string& name, const std::string& handler) {
    LambdaJob l;
    l.handler = handler;
    l.code = lambda_data("python");
    Rule r;
    r.name = name;
    r.job.kind = l;
    return r;
  }
  int run(lambda::Invoker& inv, const Rule& r) {
    std::optional<ProcessResult> out;
    lambda::Invocation i;
    i.request_id = "r";
    i.payload = "{}";
    i.result_file = tmp / "res.json";
    i.on_done = [&](ProcessResult p) { out = std::move(p); };
    inv.invoke(r.name, r.job, std::move(i));
    EXPECT_TRUE(pump_until(io, [&] { return out.has_value(); }));
    EXPECT_EQ(out->exit_code, 0) << out->error << out->stderr_tail;
    return nlohmann::json::parse(read_file(tmp / "res.json"))["count"];
  }
};

TEST_F(InvokerTest, PoolSizeFromWarmMaxElseWorkers) {
  Rule r = rule("a", "lifecycle.count");
  EXPECT_EQ(lambda::Invoker::pool_size(r.job, 4), 4);
  std::get<LambdaJob>(r.job.kind).warm_max = 7;
  EXPECT_EQ(lambda::Invoker::pool_size(r.job, 4), 7);
}

TEST_F(InvokerTest, EachRuleKeepsItsEnvironmentAndAChangedFunctionStartsAfresh) {
  lambda::Invoker inv(io, {}, 4);
  Rule a = rule("a", "lifecycle.count"), b = rule("b", "lifecycle.count");
  EXPECT_EQ(run(inv, a), 1);
  EXPECT_EQ(run(inv, a), 2);
  EXPECT_EQ(run(inv, b), 1) << "rules never share an environment";
  RuleSet same;
  same.rules = {a, b};
  inv.set_rules(same);
  EXPECT_EQ(run(inv, a), 3) << "an unchanged rule keeps its warm environment across a reload";
  a.job.env["NEW_SETTING"] = "1";
  RuleSet changed;
  changed.rules = {a};
  inv.set_rules(changed);
  EXPECT_TRUE(pump_until(io, [&] { return inv.totals().environments == 0; })) << "retired pools stop";
  EXPECT_EQ(run(inv, a), 1) << "a changed function gets a new environment";
  EXPECT_EQ(inv.totals().cold_starts, 3u);
  EXPECT_EQ(inv.in_flight(), 0u);
}

}  // namespace
}  // namespace hivehook::test
