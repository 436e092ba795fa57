// The variables an execution environment starts with, and the program it runs.
#include <gtest/gtest.h>
#include <unistd.h>

#include "lambda/function_environment.h"
#include "lambda/runtime.h"

namespace hivehook::lambda {
namespace {

JobSpec job_with(std::string runtime) {
  LambdaJob l;
  l.handler = "src/hello_world/app.lambda_handler";
  l.code = "/srv/fn";
  l.runtime = std::move(runtime);
  l.memory_mb = 256;
  JobSpec j{l};
  j.env = {{"LOG_LEVEL", "debug"}, {"AWS_REGION", "eu-west-1"}, {"_HANDLER", "overridden.by.hivehook"}};
  return j;
}

TEST(FunctionEnvironment, WhatLambdaSets) {
  LocalAws aws{.region = "us-east-1", .access_key_id = "AKID", .secret_access_key = "SECRET",
               .s3_endpoint = "http://127.0.0.1:9000"};
  auto env = function_environment(job_with("python3.11"), "etl", "127.0.0.1:4567", aws, "2024/01/01/[$LATEST]ab");
  EXPECT_EQ(env["_HANDLER"], "src/hello_world/app.lambda_handler");
  EXPECT_EQ(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:4567");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_NAME"], "etl");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
  EXPECT_EQ(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/etl");
  EXPECT_EQ(env["AWS_LAMBDA_LOG_STREAM_NAME"], "2024/01/01/[$LATEST]ab");
  EXPECT_EQ(env["AWS_EXECUTION_ENV"], "AWS_Lambda_python3.11");
  EXPECT_EQ(env["LAMBDA_TASK_ROOT"], "/srv/fn");
  EXPECT_EQ(env["AWS_ACCESS_KEY_ID"], "AKID");
  EXPECT_EQ(env["AWS_SECRET_ACCESS_KEY"], "SECRET");
  EXPECT_EQ(env["AWS_ENDPOINT_URL_S3"], "http://127.0.0.1:9000");
  EXPECT_EQ(env["AWS_DEFAULT_REGION"], "us-east-1");
  EXPECT_EQ(env["AWS_REGION"], "eu-west-1") << "the rule's own env: wins over defaults";
  EXPECT_EQ(env["LOG_LEVEL"], "debug");
  EXPECT_EQ(function_arn("us-east-1", "etl"), "arn:aws:lambda:us-east-1:000000000000:function:etl");
}

TEST(FunctionEnvironment, NoS3ApiNoEndpointNoKeys) {
  auto env = function_environment(job_with("provided.al2023"), "f", "127.0.0.1:1", LocalAws{}, "s");
  EXPECT_FALSE(env.count("AWS_ENDPOINT_URL_S3"));
  EXPECT_FALSE(env.count("AWS_ACCESS_KEY_ID"));
  EXPECT_FALSE(env.count("AWS_EXECUTION_ENV")) << "AWS leaves it unset for custom runtimes";
}

TEST(LambdaRuntime, ArgvPerFamily) {
  std::string error;
  LambdaJob l;
  l.code = "/srv/fn";
  l.runtime = "provided.al2023";
  EXPECT_EQ(*environment_argv(l, &error), std::vector<std::string>{"/srv/fn/bootstrap"});
  l.runtime = "nodejs20.x";
  auto node = *environment_argv(l, &error);
  EXPECT_EQ(node[0], "node");
  EXPECT_EQ(node[1], bootstrap_path(LambdaRuntimeFamily::nodejs).string());
  EXPECT_TRUE(std::filesystem::exists(node[1]));
  l.runtime = "python3";
  auto py = *environment_argv(l, &error);
  EXPECT_EQ(py[0], ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3");
  EXPECT_TRUE(std::filesystem::exists(py[1]));
  l.python = "/venv/bin/python";
  EXPECT_EQ(environment_argv(l, &error)->front(), "/venv/bin/python");
  l.runtime = "ruby3.2";
  EXPECT_FALSE(environment_argv(l, &error));
  EXPECT_EQ(error, "unknown Lambda runtime 'ruby3.2'");
}

}  // namespace
}  // namespace hivehook::lambda
