// The Lambda functions of the rules in force: one warm pool per rule with a `lambda:` job, made on
// the rule's first invocation, replaced (the old pool retired: idle environments stop, busy ones
// finish) when the rule's function changes on a rules reload, dropped when the rule is gone.
// It is the pipeline's JobRunner for `lambda:` jobs (PipelineSeams::lambda_runner): a JobRequest
// becomes an Invocation of the function named by the request's rule, instead of a process per run.
#pragma once

#include <boost/asio/io_context.hpp>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "jobs/job_runner.h"
#include "lambda/function_environment.h"
#include "lambda/invocation.h"
#include "lambda/warm_pool.h"
#include "rules/rule.h"

namespace hivehook::lambda {

class Invoker final : public JobRunner {
 public:
  struct Totals {
    std::uint64_t cold_starts = 0;
    std::uint64_t warm_starts = 0;
    std::size_t environments = 0;  // alive now
  };

  // `workers`: the config's workers, the pool size of rules without warm.max.
  Invoker(boost::asio::io_context& io, LocalAws aws, int workers);
  ~Invoker() override;  // every environment is killed
  Invoker(const Invoker&) = delete;
  Invoker& operator=(const Invoker&) = delete;

  // JobRunner: runs `request` as an invocation of function `request.rule` running `request.job`
  // (a LambdaJob; anything else ends at once with spawned = false). The event is the request's
  // stdin_data, the timeout its process.timeout, the request id its run_id, and the response (or
  // error document) is written to the file its env names as HIVEHOOK_RESULT. Returns no identity
  // (pid 0): the invocation may wait for an environment, and environments outlive runs.
  ChildIdentity start(JobRequest request, std::function<void(ProcessResult)> on_exit) override;
  std::size_t running() const override { return in_flight(); }

  // Runs `invocation` in the pool of function `name` (a rule's name) running `job` (whose kind must
  // hold a LambdaJob); a pool running another version of the function is retired first.
  void invoke(const std::string& name, const JobSpec& job, Invocation invocation);
  // The rules in force now: pools of rules that are gone or whose function changed are retired.
  void set_rules(const RuleSet& rules);
  void set_workers(int workers) { workers_ = workers; }
  // The local AWS environments started from now on see (pools made before keep theirs).
  void set_aws(LocalAws aws) { aws_ = std::move(aws); }

  // Invocations not yet ended (in environments or waiting for one).
  std::size_t in_flight() const;
  Totals totals() const;
  // Shutdown: see WarmPool::terminate_all.
  void terminate_all(Duration grace) override;

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
