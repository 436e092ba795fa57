// The warm execution environments of one function (one rule's `lambda:` job): up to `max` at once,
// each initialised once and reused one invocation at a time, stopped after `idle` without work
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html). Invocations beyond
// `max` wait, in order, for an environment to come free.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lambda/execution_environment.h"
#include "lambda/function_environment.h"
#include "lambda/invocation.h"
#include "rules/rule.h"

namespace hivehook::lambda {

class RuntimeApiServer;

struct PoolSettings {
  JobSpec job;                 // kind must be LambdaJob
  std::string function_name;   // the rule's name
  LocalAws aws;
  int max = 1;                 // environments at once (>= 1)
  Duration idle = std::chrono::minutes(5);  // 0: stop an environment after every invocation
};

class WarmPool {
 public:
  struct Counters {
    std::uint64_t cold_starts = 0;   // environments started
    std::uint64_t warm_starts = 0;   // invocations given to an environment that had run one before
    std::uint64_t invocations = 0;   // invocations ended
  };

  WarmPool(boost::asio::io_context& io, PoolSettings settings);
  ~WarmPool();  // kills every environment
  WarmPool(const WarmPool&) = delete;
  WarmPool& operator=(const WarmPool&) = delete;

  // Runs the invocation in a free environment, a new one (up to max), or after those ahead of it.
  // An environment that cannot be started ends the invocation at once with spawned = false.
  void invoke(Invocation invocation);

  std::size_t environments() const { return envs_.size(); }
  std::size_t busy() const;    // invocations in an environment
  std::size_t queued() const { return queue_.size(); }
  const Counters& counters() const { return counters_; }
  std::vector<int> pids() const;  // of the environments' runtimes (process group ids)
  const PoolSettings& settings() const { return settings_; }

  // The rules changed: idle environments stop now, busy ones when their invocation ends, and no new
  // ones start (queued invocations still run). `on_empty` is called once nothing is left.
  void retire(std::function<void()> on_empty);
  // Shutdown: queued invocations end as "terminated at shutdown", busy environments get SIGTERM and
  // SIGKILL after `grace`, idle ones are killed.
  void terminate_all(Duration grace);

 private:
  struct Slot;
  void start_environment(Invocation invocation);
  void give(Slot& slot, Invocation invocation);
  void on_free(ExecutionEnvironment& env);
  void on_exit(ExecutionEnvironment& env);
  Slot* slot_of(const ExecutionEnvironment& env);
  void check_empty();

  boost::asio::io_context& io_;
  PoolSettings settings_;
  std::vector<std::unique_ptr<Slot>> envs_;
  std::deque<Invocation> queue_;
  Counters counters_;
  bool retired_ = false;
  bool terminating_ = false;
  std::function<void()> on_empty_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // hooks outliving the pool do nothing
};

}  // namespace hivehook::lambda
