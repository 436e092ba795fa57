// End to end through real processes: what a job actually receives in argv, env and stdin.
#include <gtest/gtest.h>

#include "jobs/job_context.h"
#include "jobs/process_runner.h"
#include "support.h"

namespace hivehook {
namespace {

using namespace std::chrono_literals;

class JobPayloadTest : public ::testing::Test {
 protected:
  ProcessResult run_job(const JobSpec& job, const RunContext& ctx) {
    ProcessSpec spec{.argv = job_argv(job, ctx), .env = job_environment(ctx), .stdin_data = s3_event_json(ctx)};
    for (const auto& [k, v] : job.env) spec.env[k] = v;
    spec.timeout = 30s;
    return test::run_process(io, runner, std::move(spec));
  }

  boost::asio::io_context io;
  ProcessRunner runner{io};
  test::TempDir tmp;
};

TEST_F(JobPayloadTest, HostileNamesReachTheJobAsOneArgvElementAndNothingRuns) {
  const std::string pwned = "/tmp/pwned-" + std::to_string(::getpid());
  std::filesystem::remove(pwned);
  const std::vector<std::string> names = {
      "$(touch " + pwned + ").csv", "`touch " + pwned + "`", "x; touch " + pwned + ";.csv", "a'b\"c.csv",
      "line\nbreak.csv",           "-rf",                    " spaced  out ",                "*.csv",
      "{path}.csv",                "a|b&c>d<e.csv"};
  const std::string script =
      "import sys, json, os\n"
      "event = json.loads(sys.stdin.buffer.read())\n"
      "json.dump({'argv': sys.argv[1:], 'env': os.environ['HIVEHOOK_KEY'],\n"
      "           'stdin': event['hivehook']['key']}, sys.stdout)\n";
  for (const auto& name : names) {
    auto ctx = test::sample_context("in/" + name);
    JobSpec job{CommandJob{{"/usr/bin/python3", "-c", script, "{key}", "{name}", "--path={path}"}}};
    auto r = run_job(job, ctx);
    ASSERT_EQ(r.exit_code, 0) << r.stderr_tail;
    auto out = nlohmann::json::parse(r.stdout_tail);
    EXPECT_EQ(out["argv"], (nlohmann::json{"in/" + name, ctx.key.name, "--path=/srv/landing/in/" + name})) << name;
    EXPECT_EQ(out["env"], "in/" + name);
    EXPECT_EQ(out["stdin"], "in/" + name);

    // A rule that does call a shell, the safe way ("$1"), still gets the exact bytes.
    JobSpec sh{CommandJob{{"sh", "-c", "printf '%s' \"$1\"", "sh", "{key}"}}};
    auto r2 = run_job(sh, ctx);
    EXPECT_EQ(r2.stdout_tail, "in/" + name);
  }
  EXPECT_FALSE(std::filesystem::exists(pwned)) << "a name was executed";
}

TEST_F(JobPayloadTest, EnvironmentCarriesPartitionsAndRuleEnv) {
  auto ctx = test::sample_context("sales/event-date=2023-03-15/region=eu west/f.csv");
  JobSpec job{CommandJob{{"sh", "-c", "printf '%s|%s|%s' \"$HIVEHOOK_PART_EVENT_DATE\" \"$HIVEHOOK_PART_REGION\" \"$LEVEL\""}}};
  job.env = {{"LEVEL", "debug"}};
  auto r = run_job(job, ctx);
  EXPECT_EQ(r.stdout_tail, "2023-03-15|eu west|debug");
}

}  // namespace
}  // namespace hivehook
