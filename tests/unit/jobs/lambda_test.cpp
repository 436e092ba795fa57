// The lambda bootstrap: unchanged AWS-style handlers run through ProcessRunner with /usr/bin/python3.
#include <gtest/gtest.h>

#include "jobs/job_context.h"
#include "jobs/process_runner.h"
#include "support.h"

namespace hivehook {
namespace {

using namespace std::chrono_literals;

// Written exactly as the AWS S3-trigger tutorial's handler.
constexpr const char* kAwsTutorialHandler = R"PY(import json
import urllib.parse

print('Loading function')


def lambda_handler(event, context):
    bucket = event['Records'][0]['s3']['bucket']['name']
    key = urllib.parse.unquote_plus(event['Records'][0]['s3']['object']['key'], encoding='utf-8')
    print("CONTENT TYPE: " + key)
    return {"bucket": bucket, "key": key}


def context_handler(event, context):
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "attempt": event["hivehook"]["attempt"],
    }


def failing_handler(event, context):
    raise ValueError("boom in handler")


def unserialisable_handler(event, context):
    return {"when": object()}


def none_handler(event, context):
    return None


def bad_input_handler(event, context):
    import sys
    sys.exit(65)
)PY";

class LambdaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/python3";
    std::filesystem::create_directory(tmp / "code");
    test::write_file(tmp / "code" / "etl.py", kAwsTutorialHandler);
  }

  ProcessResult invoke(const std::string& handler, const std::string& key = "uploads/x.csv") {
    ctx = test::sample_context(key);
    ctx.result_file = tmp / "result.json";
    JobSpec job{LambdaJob{"etl." + handler, tmp / "code", "python3", 512}};
    job.timeout = 60s;
    ProcessSpec spec{.argv = job_argv(job, ctx), .env = job_environment(ctx), .stdin_data = s3_event_json(ctx)};
    spec.timeout = job.timeout;
    return test::run_process(io, runner, std::move(spec));
  }

  nlohmann::json result() { return nlohmann::json::parse(test::read_file(ctx.result_file)); }

  boost::asio::io_context io;
  ProcessRunner runner{io};
  test::TempDir tmp;
  RunContext ctx;
};

TEST_F(LambdaTest, AwsStyleHandlerDecodesTheKeyCorrectly) {
  for (const std::string key : {"uploads/my file.csv", "uploads/a+b.csv", "uploads/100%.csv", "uploads/x=1 y=2.csv",
                                "uploads/caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC.csv", "uploads/~tilde-_.csv"}) {
    std::filesystem::remove(tmp / "result.json");
    auto r = invoke("lambda_handler", key);
    ASSERT_EQ(r.exit_code, 0) << r.stderr_tail;
    EXPECT_EQ(result()["key"], key);
    EXPECT_EQ(result()["bucket"], "landing");
    EXPECT_NE(r.stdout_tail.find("Loading function"), std::string::npos);
  }
}

TEST_F(LambdaTest, NonUtf8NameStillRunsTheHandler) {
  auto r = invoke("lambda_handler", "uploads/bad\xFF.csv");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_tail;
  EXPECT_EQ(result()["key"], "uploads/bad\xEF\xBF\xBD.csv");  // unquote_plus's errors='replace'
}

TEST_F(LambdaTest, ContextHasTheAwsFields) {
  auto r = invoke("context_handler");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_tail;
  auto c = result();
  EXPECT_EQ(c["function_name"], "transactions-etl");
  EXPECT_EQ(c["function_version"], "$LATEST");
  EXPECT_EQ(c["invoked_function_arn"], "arn:aws:lambda:local:000000000000:function:transactions-etl");
  EXPECT_EQ(c["memory_limit_in_mb"], 512);
  EXPECT_EQ(c["aws_request_id"], "run-0001");
  EXPECT_EQ(c["log_group_name"], "/aws/lambda/transactions-etl");
  EXPECT_NE(c["log_stream_name"].get<std::string>().find("[$LATEST]run-0001"), std::string::npos);
  EXPECT_GT(c["remaining"].get<long>(), 0);
  EXPECT_LE(c["remaining"].get<long>(), 60000);
  EXPECT_EQ(c["attempt"], 2);
}

TEST_F(LambdaTest, ExceptionIsAFailureWithTracebackOnStderr) {
  auto r = invoke("failing_handler");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.stderr_tail.find("Traceback (most recent call last)"), std::string::npos) << r.stderr_tail;
  EXPECT_NE(r.stderr_tail.find("ValueError: boom in handler"), std::string::npos) << r.stderr_tail;
  EXPECT_FALSE(std::filesystem::exists(tmp / "result.json"));
}

TEST_F(LambdaTest, UnserialisableReturnIsAFailure) {
  auto r = invoke("unserialisable_handler");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_tail.find("Runtime.MarshalError"), std::string::npos) << r.stderr_tail;
  EXPECT_FALSE(std::filesystem::exists(tmp / "result.json"));
}

TEST_F(LambdaTest, NoneWritesNoResultAndSysExitPassesThrough) {
  auto r = invoke("none_handler");
  EXPECT_EQ(r.exit_code, 0) << r.stderr_tail;
  EXPECT_FALSE(std::filesystem::exists(tmp / "result.json"));
  auto r2 = invoke("bad_input_handler");
  EXPECT_EQ(r2.exit_code, 65);
}

TEST_F(LambdaTest, MissingModuleOrFunctionIsAClearFailure) {
  auto r = invoke("no_such_function");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_tail.find("Runtime.HandlerNotFound"), std::string::npos) << r.stderr_tail;
  ctx = test::sample_context();
  JobSpec job{LambdaJob{"nomodule.handler", tmp / "code", "python3", 128}};
  auto r2 = test::run_process(io, runner, {.argv = job_argv(job, ctx), .stdin_data = s3_event_json(ctx)});
  EXPECT_EQ(r2.exit_code, 1);
  EXPECT_NE(r2.stderr_tail.find("Runtime.ImportModuleError"), std::string::npos) << r2.stderr_tail;
}

}  // namespace
}  // namespace hivehook
