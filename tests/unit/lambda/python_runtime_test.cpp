// hivehook's Python runtime in warm execution environments: real handlers, real interpreter,
// the real Runtime API on loopback.
#include <signal.h>
#include <unistd.h>
#include <set>

#include "support.h"

namespace hivehook::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class PythonRuntime : public ::testing::Test, public PoolHarness {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/python3";
  }
};

TEST_F(PythonRuntime, ModuleStateSurvivesBetweenInvocationsOfAWarmEnvironment) {
  auto pool = make_pool("python", "lifecycle.count");
  std::vector<int> counts, pids;
  for (int i = 0; i < 3; ++i) {
    auto r = invoke(*pool, json{{"n", i}});
    ASSERT_EQ(r.exit_code, 0) << r.error << r.stderr_tail;
    counts.push_back(result()["count"]);
    pids.push_back(result()["pid"]);
  }
  EXPECT_EQ(counts, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(pids[0], pids[2]);
  EXPECT_EQ(pool->counters().cold_starts, 1u);
  EXPECT_EQ(pool->environments(), 1u);
}

TEST_F(PythonRuntime, PrintAndLoggingGoWithTheirInvocationInitOutputWithTheFirst) {
  auto pool = make_pool("python", "lifecycle.count");
  auto first = invoke(*pool, json{{"hivehook", {{"key", "a/one.csv"}}}});
  ASSERT_EQ(first.exit_code, 0) << first.stderr_tail;
  EXPECT_NE(first.stdout_tail.find("Loading function"), std::string::npos) << first.stdout_tail;
  EXPECT_NE(first.stdout_tail.find("count handler saw a/one.csv"), std::string::npos) << first.stdout_tail;
  EXPECT_NE(first.stderr_tail.find("[INFO]\t"), std::string::npos) << first.stderr_tail;
  EXPECT_NE(first.stderr_tail.find("\treq-0\tinvocation 1 of environment"), std::string::npos) << first.stderr_tail;
  auto second = invoke(*pool, json{{"hivehook", {{"key", "a/two.csv"}}}});
  EXPECT_EQ(second.stdout_tail.find("Loading function"), std::string::npos) << second.stdout_tail;
  EXPECT_EQ(second.stdout_tail.find("a/one.csv"), std::string::npos);
  EXPECT_NE(second.stdout_tail.find("count handler saw a/two.csv"), std::string::npos) << second.stdout_tail;
  EXPECT_NE(second.stderr_tail.find("\treq-1\tinvocation 2 of environment"), std::string::npos) << second.stderr_tail;
}

TEST_F(PythonRuntime, AnExceptionFailsTheInvocationAsLambdaReportsItAndTheEnvironmentLivesOn) {
  auto pool = make_pool("python", "lifecycle.boom");
  auto r = invoke(*pool, json{{"what", "x.csv"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.error, "ValueError: cannot parse x.csv");
  auto doc = result();
  EXPECT_EQ(doc["errorType"], "ValueError");
  EXPECT_EQ(doc["errorMessage"], "cannot parse x.csv");
  ASSERT_TRUE(doc["stackTrace"].is_array());
  ASSERT_FALSE(doc["stackTrace"].empty());
  EXPECT_NE(doc["stackTrace"].back().get<std::string>().find("lifecycle.py"), std::string::npos) << doc.dump();
  EXPECT_EQ(doc.dump().find("bootstrap.py"), std::string::npos) << "the runtime's own frames are left out";
  EXPECT_NE(r.stderr_tail.find("[ERROR] ValueError: cannot parse x.csv\nTraceback (most recent call last):"),
            std::string::npos) << r.stderr_tail;
  const int pid = r.pid;
  auto again = invoke(*pool, json{{"what", "y.csv"}});
  EXPECT_EQ(again.pid, pid) << "an error is not a crash: the environment is reused";
  EXPECT_EQ(pool->counters().cold_starts, 1u);
}

TEST_F(PythonRuntime, TheTimeoutKillsTheEnvironmentsProcessGroupAndTheNextInvocationStartsANewOne) {
  auto pool = make_pool("python", "lifecycle.sleep");
  auto r = invoke(*pool, json{{"seconds", 60}}, 1s);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.error, "Sandbox.Timedout: RequestId: req-0 Error: Task timed out after 1.00 seconds");
  EXPECT_NE(r.stdout_tail.find("going to sleep"), std::string::npos) << r.stdout_tail;
  EXPECT_EQ(result()["errorType"], "Sandbox.Timedout");
  EXPECT_TRUE(pump_until(io, [&] { return process_gone(r.pid); }));
  EXPECT_TRUE(pump_until(io, [&] { return pool->environments() == 0; }));
  auto next = invoke(*pool, json{{"seconds", 0}}, 10s);
  EXPECT_EQ(next.exit_code, 0) << next.error << next.stderr_tail;
  EXPECT_NE(next.pid, r.pid);
  EXPECT_EQ(result(), "woke up");
  EXPECT_EQ(pool->counters().cold_starts, 2u);
}

TEST_F(PythonRuntime, InitLongerThanTheTimeoutIsNotCountedAgainstTheInvocation) {
  // Lambda's function timeout covers the Invoke phase; Init has its own limit (10 s).
  auto pool = make_pool("python", "slow_init.handler");
  auto r = invoke(*pool, json::object(), 1s);
  EXPECT_FALSE(r.timed_out) << r.error;
  ASSERT_EQ(r.exit_code, 0) << r.error << r.stderr_tail;
  EXPECT_NE(r.stdout_tail.find("slow init starting"), std::string::npos) << r.stdout_tail;
  const int remaining = result()["remaining_ms"];
  EXPECT_GT(remaining, 0) << "the deadline counts from the event's delivery, not from the environment's start";
  EXPECT_LE(remaining, 1000);
}

TEST_F(PythonRuntime, AHandlerExitingTheProcessFailsWithItsCodeAndACrashRestartsTheEnvironment) {
  auto pool = make_pool("python", "lifecycle.exit_process");
  auto r = invoke(*pool, json{{"code", 65}});
  EXPECT_EQ(r.exit_code, 65) << "sys.exit(65) keeps meaning 'bad input, no retry'";
  EXPECT_EQ(r.error, "Runtime.ExitError: RequestId: req-0 Error: Runtime exited with error: exit status 65");
  EXPECT_NE(r.stdout_tail.find("exiting with 65"), std::string::npos) << r.stdout_tail;
  auto zero = invoke(*pool, json{{"code", 0}});
  EXPECT_EQ(zero.exit_code, 1) << "exiting without an answer is a failure even with status 0";
  EXPECT_NE(zero.error.find("Runtime exited without providing a reason"), std::string::npos) << zero.error;
  EXPECT_NE(zero.pid, r.pid);
  EXPECT_EQ(pool->counters().cold_starts, 2u);
}

TEST_F(PythonRuntime, AnEnvironmentKilledFromOutsideFailsItsInvocationBySignal) {
  auto pool = make_pool("python", "lifecycle.sleep");
  std::size_t i = start(*pool, json{{"seconds", 60}});
  ASSERT_TRUE(pump_until(io, [&] { return pool->pids().size() == 1; }));
  ::kill(pool->pids().front(), SIGKILL);  // as the OOM killer would
  ASSERT_TRUE(wait_all(10s));
  EXPECT_EQ(results[i]->term_signal, SIGKILL);
  EXPECT_EQ(results[i]->error, "Runtime.ExitError: RequestId: req-0 Error: Runtime exited with error: signal: killed");
}

TEST_F(PythonRuntime, ModuleInitThatFailsIsAnInitErrorAndIsTriedAgainOnTheNextInvocation) {
  auto pool = make_pool("python_broken", "broken_init.handler");
  auto r = invoke(*pool, json::object());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.error.rfind("JSONDecodeError: Expecting property name enclosed in double quotes", 0), 0) << r.error;
  EXPECT_NE(r.stdout_tail.find("initialising, about to fail"), std::string::npos) << r.stdout_tail;
  EXPECT_NE(r.stderr_tail.find("[ERROR] JSONDecodeError"), std::string::npos) << r.stderr_tail;
  EXPECT_EQ(result()["errorType"], "JSONDecodeError");
  auto again = invoke(*pool, json::object());
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.pid, r.pid);
  EXPECT_EQ(pool->counters().cold_starts, 2u);

  auto missing = make_pool("python_broken", "missing_dep.handler");
  auto m = invoke(*missing, json::object());
  EXPECT_EQ(m.error, "Runtime.ImportModuleError: Unable to import module 'missing_dep': No module named "
                     "'surely_not_an_installed_module'");
  auto nofn = make_pool("python", "lifecycle.no_such_function");
  EXPECT_EQ(invoke(*nofn, json::object()).error,
            "Runtime.HandlerNotFound: Handler 'no_such_function' missing on module 'lifecycle'");
}

TEST_F(PythonRuntime, SamHandlerStringsWithFolderPaths) {
  for (const char* handler : {"src/hello_world/app.lambda_handler", "src/hello_world.app.lambda_handler"}) {
    auto pool = make_pool("python", handler);
    auto r = invoke(*pool, json::object());
    ASSERT_EQ(r.exit_code, 0) << handler << ": " << r.error << r.stderr_tail;
    EXPECT_EQ(result()["statusCode"], 200);
    EXPECT_EQ(result()["module"], "src.hello_world.app");
  }
}

TEST_F(PythonRuntime, TheContextAndEnvironmentAreLambdas) {
  auto pool = make_pool("python", "lifecycle.context_fields");
  auto r = invoke(*pool, json::object(), 60s);
  ASSERT_EQ(r.exit_code, 0) << r.error << r.stderr_tail;
  auto c = result();
  EXPECT_EQ(c["function_name"], "test-fn");
  EXPECT_EQ(c["function_version"], "$LATEST");
  EXPECT_EQ(c["invoked_function_arn"], "arn:aws:lambda:us-east-1:000000000000:function:test-fn");
  EXPECT_EQ(c["memory_limit_in_mb"], "128") << "a string, as in AWS's runtime";
  EXPECT_EQ(c["aws_request_id"], "req-0");
  EXPECT_EQ(c["log_group_name"], "/aws/lambda/test-fn");
  EXPECT_NE(c["log_stream_name"].get<std::string>().find("/[$LATEST]"), std::string::npos);
  EXPECT_GT(c["remaining"].get<long>(), 50000);
  EXPECT_LE(c["remaining"].get<long>(), 60000);
  EXPECT_EQ(c["trace"].get<std::string>().rfind("Root=1-", 0), 0u);
  EXPECT_EQ(c["env"]["_HANDLER"], "lifecycle.context_fields");
  EXPECT_EQ(c["env"]["LAMBDA_TASK_ROOT"], lambda_data("python").string());
  EXPECT_EQ(c["cwd"], lambda_data("python").string());
  EXPECT_EQ(c["env"]["AWS_LAMBDA_RUNTIME_API"].get<std::string>().rfind("127.0.0.1:", 0), 0u);
}

TEST_F(PythonRuntime, ReturnValuesAsTheRunsResult) {
  auto pool = make_pool("python", "lifecycle.not_serialisable");
  auto r = invoke(*pool, json::object());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.error.rfind("Runtime.MarshalError: Unable to marshal response:", 0), 0u) << r.error;
  auto none = make_pool("python", "lifecycle.returns_none");
  EXPECT_EQ(invoke(*none, json::object()).exit_code, 0);
  EXPECT_TRUE(result().is_null()) << "None writes no result, as before";
  auto echo = make_pool("python", "lifecycle.echo");
  json event = {{"Records", {{{"s3", {{"object", {{"key", "caf\xC3\xA9+x.csv"}}}}}}}}};
  EXPECT_EQ(invoke(*echo, event).exit_code, 0);
  EXPECT_EQ(result(), event);
}

TEST_F(PythonRuntime, UpToMaxEnvironmentsAtOnceTheRestWaitInOrder) {
  auto pool = make_pool("python", "lifecycle.count", "python3", /*max=*/2);
  for (int i = 0; i < 6; ++i) start(*pool, json{{"n", i}});
  EXPECT_LE(pool->environments(), 2u);
  ASSERT_TRUE(wait_all());
  std::set<int> pids;
  int total = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    ASSERT_EQ(results[i]->exit_code, 0) << results[i]->error;
    pids.insert(result(i)["pid"].get<int>());
    total += result(i)["count"].get<int>();
  }
  EXPECT_EQ(pids.size(), 2u);
  EXPECT_EQ(pool->counters().cold_starts, 2u);
  EXPECT_GE(total, 1 + 2 + 3 + 1 + 2 + 3 - 3);  // two environments share the six invocations
}

TEST_F(PythonRuntime, AnIdleEnvironmentIsStoppedAndIdleZeroMeansOneProcessPerInvocation) {
  auto pool = make_pool("python", "lifecycle.count", "python3", 1, 200ms);
  auto first = invoke(*pool, json::object());
  ASSERT_EQ(first.exit_code, 0) << first.error;
  EXPECT_TRUE(pump_until(io, [&] { return pool->environments() == 0; }, 10s));
  EXPECT_TRUE(process_gone(first.pid));
  auto second = invoke(*pool, json::object());
  EXPECT_EQ(result()["count"], 1) << "a new environment starts from scratch";

  auto cold = make_pool("python", "lifecycle.count", "python3", 1, 0ms);
  for (int i = 0; i < 3; ++i) {
    invoke(*cold, json::object());
    EXPECT_EQ(result()["count"], 1);
  }
  EXPECT_EQ(cold->counters().cold_starts, 3u);
}

TEST_F(PythonRuntime, RetireStopsIdleEnvironmentsAndShutdownTerminatesBusyOnes) {
  auto pool = make_pool("python", "lifecycle.count");
  auto r = invoke(*pool, json::object());
  bool empty = false;
  pool->retire([&] { empty = true; });
  EXPECT_TRUE(pump_until(io, [&] { return empty; }, 10s));
  EXPECT_TRUE(process_gone(r.pid));

  auto sleeper = make_pool("python", "lifecycle.sleep");
  std::size_t i = start(*sleeper, json{{"seconds", 60}});
  std::size_t queued = start(*sleeper, json{{"seconds", 0}});
  ASSERT_TRUE(pump_until(io, [&] { return sleeper->busy() == 1; }));
  sleeper->terminate_all(200ms);
  ASSERT_TRUE(wait_all(10s));
  EXPECT_NE(results[i]->error.find("terminated at shutdown"), std::string::npos) << results[i]->error;
  EXPECT_EQ(results[queued]->error, "terminated at shutdown");
}

}  // namespace
}  // namespace hivehook::test

namespace hivehook::test {
namespace {

// `python: VENV/bin/python` runs the function with that interpreter, so the virtualenv's packages
// import; the default interpreter does not see them.
TEST_F(PythonRuntime, AVirtualenvsInterpreterSeesItsPackages) {
  const auto venv = tmp / "venv";
  const std::string make = "/usr/bin/python3 -m venv --without-pip '" + venv.string() + "'";
  ASSERT_EQ(std::system(make.c_str()), 0) << make;
  std::filesystem::path site;
  for (auto& e : std::filesystem::recursive_directory_iterator(venv / "lib"))
    if (e.path().filename() == "site-packages") site = e.path();
  ASSERT_FALSE(site.empty());
  write_file(site / "venv_only_pkg.py", "WHERE = 'inside the venv'\n");
  std::filesystem::create_directory(tmp / "code");
  write_file(tmp / "code" / "uses_pkg.py",
             "import sys\nimport venv_only_pkg\n\ndef handler(event, context):\n"
             "    return {'where': venv_only_pkg.WHERE, 'prefix': sys.prefix}\n");

  LambdaJob l;
  l.handler = "uses_pkg.handler";
  l.code = tmp / "code";
  l.python = venv / "bin" / "python";
  lambda::WarmPool pool(io, {.job = JobSpec{l}, .function_name = "venv-fn", .aws = {}, .max = 1});
  auto r = invoke(pool, json::object());
  ASSERT_EQ(r.exit_code, 0) << r.error << r.stderr_tail;
  EXPECT_EQ(result()["where"], "inside the venv");
  EXPECT_EQ(result()["prefix"], venv.string());

  l.python.clear();
  lambda::WarmPool system(io, {.job = JobSpec{l}, .function_name = "system-fn", .aws = {}, .max = 1});
  auto s = invoke(system, json::object());
  EXPECT_EQ(s.error, "Runtime.ImportModuleError: Unable to import module 'uses_pkg': No module named 'venv_only_pkg'");
}

}  // namespace
}  // namespace hivehook::test

namespace hivehook::test {
namespace {

// Debian 12's python3-boto3 (botocore 1.29) predates AWS_ENDPOINT_URL_S3; the runtime makes it
// honour the variable, so an unchanged `boto3.client("s3")` talks to hivehook's S3 API.
TEST_F(PythonRuntime, Boto3ClientsMadeAtInitUseTheLocalS3Endpoint) {
  if (std::system("/usr/bin/python3 -c 'import boto3' 2>/dev/null") != 0) GTEST_SKIP() << "needs python3-boto3";
  LambdaJob l;
  l.handler = "endpoint.handler";
  l.code = lambda_data("python");
  lambda::LocalAws aws{.region = "eu-central-1", .access_key_id = "AKIDLOCAL", .secret_access_key = "s3cr3t",
                       .s3_endpoint = "http://127.0.0.1:9"};
  lambda::WarmPool pool(io, {.job = JobSpec{l}, .function_name = "s3-fn", .aws = aws, .max = 1});
  auto r = invoke(pool, json::object());
  ASSERT_EQ(r.exit_code, 0) << r.error << r.stderr_tail;
  EXPECT_EQ(result()["endpoint"], "http://127.0.0.1:9") << result()["botocore"];
  EXPECT_EQ(result()["region"], "eu-central-1");
}

}  // namespace
}  // namespace hivehook::test
