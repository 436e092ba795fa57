#include <gtest/gtest.h>
#include <stdlib.h>

#include "jobs/job_context.h"
#include "support.h"

namespace hivehook {
namespace {

TEST(Placeholders, SubstitutesEachKnownName) {
  auto ctx = test::sample_context("transactions/year=2023/month=03/x.csv");
  EXPECT_EQ(substitute_placeholders("{path}", ctx), "/srv/landing/transactions/year=2023/month=03/x.csv");
  EXPECT_EQ(substitute_placeholders("{key}", ctx), "transactions/year=2023/month=03/x.csv");
  EXPECT_EQ(substitute_placeholders("{bucket}", ctx), "landing");
  EXPECT_EQ(substitute_placeholders("{name}", ctx), "x.csv");
  EXPECT_EQ(substitute_placeholders("{table}", ctx), "transactions");
  EXPECT_EQ(substitute_placeholders("{partition.year}-{partition.month}", ctx), "2023-03");
  EXPECT_EQ(substitute_placeholders("--run={run_id}#{attempt}", ctx), "--run=run-0001#2");
}

TEST(Placeholders, BracesEscapesAndUnknownNames) {
  auto ctx = test::sample_context();
  EXPECT_EQ(substitute_placeholders("{{path}}", ctx), "{path}");
  EXPECT_EQ(substitute_placeholders("{{{table}}}", ctx), "{transactions}");
  EXPECT_EQ(substitute_placeholders("{nope}", ctx), "{nope}");
  EXPECT_EQ(substitute_placeholders("{partition.day}", ctx), "{partition.day}");
  EXPECT_EQ(substitute_placeholders("{ unclosed", ctx), "{ unclosed");
  EXPECT_EQ(substitute_placeholders("a}b", ctx), "a}b");
  EXPECT_EQ(substitute_placeholders("{x{table}", ctx), "{xtransactions");
  EXPECT_EQ(substitute_placeholders("", ctx), "");
}

TEST(Placeholders, ValuesAreNeverScannedAgain) {
  auto ctx = test::sample_context("t/{path} $(id) {{x}}.csv");
  EXPECT_EQ(substitute_placeholders("{name}", ctx), "{path} $(id) {{x}}.csv");
}

TEST(JobEnvironment, HasEveryContractVariable) {
  auto ctx = test::sample_context("sales/event-date=2023-03-15/x.y=1/f.csv");
  auto env = job_environment(ctx);
  EXPECT_EQ(env["HIVEHOOK_PATH"], "/srv/landing/sales/event-date=2023-03-15/x.y=1/f.csv");
  EXPECT_EQ(env["HIVEHOOK_KEY"], "sales/event-date=2023-03-15/x.y=1/f.csv");
  EXPECT_EQ(env["HIVEHOOK_BUCKET"], "landing");
  EXPECT_EQ(env["HIVEHOOK_TABLE"], "sales");
  EXPECT_EQ(env["HIVEHOOK_RULE"], "transactions-etl");
  EXPECT_EQ(env["HIVEHOOK_RUN_ID"], "run-0001");
  EXPECT_EQ(env["HIVEHOOK_ATTEMPT"], "2");
  EXPECT_EQ(env["HIVEHOOK_RESULT"], "/tmp/result.json");
  EXPECT_EQ(env["HIVEHOOK_PART_EVENT_DATE"], "2023-03-15");
  EXPECT_EQ(env["HIVEHOOK_PART_X_Y"], "1");
  EXPECT_EQ(env.size(), 10u);
  EXPECT_EQ(partition_env_name("caf\xC3\xA9"), "HIVEHOOK_PART_CAF__");
}

TEST(JobArgv, CommandSubstitutesPerElement) {
  auto ctx = test::sample_context("t/my file; rm -rf.csv");
  JobSpec job{CommandJob{{"etl", "--in", "{path}", "{name}", "literal"}}};
  auto argv = job_argv(job, ctx);
  ASSERT_EQ(argv.size(), 5u);  // a space in a value never splits an element
  EXPECT_EQ(argv[2], "/srv/landing/t/my file; rm -rf.csv");
  EXPECT_EQ(argv[3], "my file; rm -rf.csv");
}

TEST(JobArgv, LambdaRunsTheBootstrap) {
  auto ctx = test::sample_context();
  JobSpec job{LambdaJob{"etl.handler", "/srv/code", "python3", 256}};
  job.timeout = std::chrono::seconds(90);
  auto argv = job_argv(job, ctx);
  ASSERT_EQ(argv.size(), 12u);
  EXPECT_EQ(argv[0], ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3");
  EXPECT_EQ(argv[1], lambda_bootstrap_path().string());
  EXPECT_EQ(std::vector<std::string>(argv.begin() + 2, argv.end()),
            (std::vector<std::string>{"--handler", "etl.handler", "--code", "/srv/code", "--function-name",
                                      "transactions-etl", "--timeout-ms", "90000", "--memory-mb", "256"}));
  JobSpec other{LambdaJob{"m.f", "/c", "python3.11", 128}};
  EXPECT_EQ(job_argv(other, ctx)[0], "python3.11");
}

TEST(JobArgv, BuiltinHasNoProcess) {
  JobSpec job{BuiltinJob{"noop"}};
  EXPECT_TRUE(job_argv(job, test::sample_context()).empty());
}

TEST(LambdaBootstrapPath, EnvOverridesElseSourceTree) {
  ::unsetenv("HIVEHOOK_LAMBDA_BOOTSTRAP");
  auto p = lambda_bootstrap_path();
  EXPECT_TRUE(std::filesystem::exists(p)) << p;
  EXPECT_EQ(p.filename(), "lambda_bootstrap.py");
  ::setenv("HIVEHOOK_LAMBDA_BOOTSTRAP", "/opt/x/boot.py", 1);
  EXPECT_EQ(lambda_bootstrap_path(), "/opt/x/boot.py");
  ::unsetenv("HIVEHOOK_LAMBDA_BOOTSTRAP");
}

}  // namespace
}  // namespace hivehook
