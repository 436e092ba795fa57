// The Lambda functions of the rules in force: one warm pool per rule with a `lambda:` job, made on
// the rule's first invocation, replaced (the old pool retired: idle environments stop, busy ones
// finish) when the rule's function changes on a rules reload, dropped when the rule is gone.
// This is what the pipeline dispatches lambda jobs to instead of starting a process per run.
#pragma once

#include <boost/asio/io_context.hpp>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "lambda/function_environment.h"
#include "lambda/invocation.h"
#include "lambda/warm_pool.h"
#include "rules/rule.h"

namespace hivehook::lambda {

class Invoker {
 public:
  struct Totals {
    std::uint64_t cold_starts = 0;
    std::uint64_t warm_starts = 0;
    std::size_t environments = 0;  // alive now
  };

  // `workers`: the config's workers, the pool size of rules without warm.max.
  Invoker(boost::asio::io_context& io, LocalAws aws, int workers);
  ~Invoker();  // every environment is killed
  Invoker(const Invoker&) = delete;
  Invoker& operator=(const Invoker&) = delete;

  // Runs `invocation` in the pool of function `name` (a rule's name) running `job` (whose kind must
  // hold a LambdaJob); a pool running another version of the function is retired first.
  void invoke(const std::string& name, const JobSpec& job, Invocation invocation);
  // The rules in force now: pools of rules that are gone or whose function changed are retired.
  void set_rules(const RuleSet& rules);
  void set_workers(int workers) { workers_ = workers; }

  // Invocations not yet ended (in environments or waiting for one).
  std::size_t in_flight() const;
  Totals totals() const;
  // Shutdown: see WarmPool::terminate_all.
  void terminate_all(Duration grace);

  // The warm.max a rule's pool gets: warm.max, else `workers`. (A rule's concurrency bounds the
  // environments it uses without being read: a pool starts one only when every other is busy.)
  static int pool_size(const JobSpec& job, int workers);

 private:
  std::unique_ptr<WarmPool> make_pool(const std::string& name, const JobSpec& job);
  void retire(std::unique_ptr<WarmPool> pool);

  boost::asio::io_context& io_;
  LocalAws aws_;
  int workers_;
  std::map<std::string, std::unique_ptr<WarmPool>> pools_;  // by rule name
  std::list<std::unique_ptr<WarmPool>> retired_;            // finishing their invocations
  Totals retired_totals_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hivehook::lambda
