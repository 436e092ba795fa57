// Error documents as runtimes post them and as hivehook reports its own.
#include <gtest/gtest.h>

#include "lambda/function_error.h"

namespace hivehook::lambda {
namespace {

TEST(FunctionError, PythonRuntimeDocumentKeptWhole) {
  auto e = parse_function_error(
      R"({"errorMessage": "boom", "errorType": "ValueError", "requestId": "r1", "stackTrace": ["  File \"x.py\", line 1\n"]})",
      "Unhandled");
  EXPECT_EQ(e.type, "ValueError");
  EXPECT_EQ(e.message, "boom");
  EXPECT_EQ(e.summary(), "ValueError: boom");
  EXPECT_EQ(e.document["stackTrace"][0], "  File \"x.py\", line 1\n");
  EXPECT_EQ(e.document["requestId"], "r1");
}

TEST(FunctionError, NodeTraceAndMissingTypeFromHeader) {
  auto e = parse_function_error(R"({"errorMessage":"x","trace":["Error: x","    at f"]})", "Runtime.Custom");
  EXPECT_EQ(e.type, "Runtime.Custom");
  EXPECT_EQ(e.document["errorType"], "Runtime.Custom");
  EXPECT_EQ(e.document["trace"][1], "    at f");
}

TEST(FunctionError, NotJsonBecomesTheMessageEvenWithBadBytes) {
  auto e = parse_function_error("plain \xff text", "");
  EXPECT_EQ(e.type, "Unhandled");
  EXPECT_EQ(e.message, "plain \xEF\xBF\xBD text");
  EXPECT_NO_THROW(e.document.dump());
  auto arr = parse_function_error("[1,2]", "T");
  EXPECT_EQ(arr.message, "[1,2]");
  auto num = parse_function_error(R"({"errorType": 5, "errorMessage": {"a": 1}})", "");
  EXPECT_EQ(num.type, "5");
  EXPECT_EQ(num.message, R"({"a":1})");
}

TEST(FunctionError, LongMessagesAreCutInTheSummaryOnly) {
  std::string big(5000, 'x');
  auto e = parse_function_error(nlohmann::json{{"errorType", "E"}, {"errorMessage", big}}.dump(), "");
  EXPECT_EQ(e.summary().size(), 3 + 1000 + 3);
  EXPECT_EQ(e.document["errorMessage"].get<std::string>().size(), 5000u);
}

TEST(FunctionError, ExitAndTimeoutInAwsWords) {
  EXPECT_EQ(exit_error("r", 65, 0).summary(), "Runtime.ExitError: RequestId: r Error: Runtime exited with error: exit status 65");
  EXPECT_EQ(exit_error("r", 0, 9).message, "RequestId: r Error: Runtime exited with error: signal: killed");
  EXPECT_EQ(timeout_error("r", 3).summary(), "Sandbox.Timedout: RequestId: r Error: Task timed out after 3.00 seconds");
}

}  // namespace
}  // namespace hivehook::lambda
