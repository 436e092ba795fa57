// Driving a WarmPool in tests: real runtimes from tests/data/lambda, the loop pumped to a condition.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lambda/warm_pool.h"
#include "unit/jobs/support.h"

namespace hivehook::test {

inline std::filesystem::path lambda_data(const std::string& name) {
  return std::filesystem::path(HIVEHOOK_TEST_DATA) / "lambda" / name;
}

class PoolHarness {
 public:
  // A pool for `handler` in tests/data/lambda/<code>.
  std::unique_ptr<lambda::WarmPool> make_pool(const std::string& code, const std::string& handler,
                                              const std::string& runtime = "python3", int max = 1,
                                              Duration idle = std::chrono::minutes(5)) {
    LambdaJob l;
    l.handler = handler;
    l.code = lambda_data(code);
    l.runtime = runtime;
    JobSpec job{l};
    lambda::PoolSettings s{.job = job, .function_name = "test-fn", .aws = {}, .max = max, .idle = idle};
    return std::make_unique<lambda::WarmPool>(io, std::move(s));
  }

  // Starts one invocation; its outcome lands in results[index].
  std::size_t start(lambda::WarmPool& pool, const nlohmann::json& event, Duration timeout = std::chrono::seconds(30)) {
    std::size_t index = results.size();
    results.emplace_back();
    lambda::Invocation inv;
    inv.request_id = "req-" + std::to_string(index);
    inv.payload = event.dump();
    inv.timeout = timeout;
    inv.result_file = tmp / ("result-" + std::to_string(index) + ".json");
    inv.on_done = [this, index](ProcessResult r) { results[index] = std::move(r); };
    pool.invoke(std::move(inv));
    return index;
  }

  bool wait_all(std::chrono::milliseconds deadline = std::chrono::seconds(30)) {
    return pump_until(io, [&] {
      for (auto& r : results)
        if (!r) return false;
      return true;
    }, deadline);
  }

  // One invocation, run to its end.
  ProcessResult invoke(lambda::WarmPool& pool, const nlohmann::json& event, Duration timeout = std::chrono::seconds(30)) {
    std::size_t i = start(pool, event, timeout);
    EXPECT_TRUE(pump_until(io, [&] { return results[i].has_value(); })) << "invocation did not end in time";
    last = i;
    return results[i].value_or(ProcessResult{});
  }

  // The result file of the last invocation (JSON), or null when none was written.
  nlohmann::json result(std::optional<std::size_t> index = std::nullopt) {
    auto path = tmp / ("result-" + std::to_string(index.value_or(last)) + ".json");
    if (!std::filesystem::exists(path)) return nullptr;
    return nlohmann::json::parse(read_file(path));
  }

  boost::asio::io_context io;
  TempDir tmp;
  std::vector<std::optional<ProcessResult>> results;
  std::size_t last = 0;
};

}  // namespace hivehook::test
