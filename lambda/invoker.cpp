// One warm pool per Lambda rule (see invoker.h).
#include "lambda/invoker.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace hivehook::lambda {
namespace {

// Does `pool` run the function `job` describes (same code, runtime, settings, environment)?
bool same_function(const WarmPool& pool, const JobSpec& job, int size) {
  const PoolSettings& s = pool.settings();
  const auto& a = std::get<LambdaJob>(s.job.kind);
  const auto* b = std::get_if<LambdaJob>(&job.kind);
  return b && a.handler == b->handler && a.code == b->code && a.runtime == b->runtime && a.python == b->python &&
         a.memory_mb == b->memory_mb && a.warm_idle == b->warm_idle && s.max == size && s.job.env == job.env;
}

}  // namespace

Invoker::Invoker(boost::asio::io_context& io, LocalAws aws, int workers)
    : io_(io), aws_(std::move(aws)), workers_(workers) {}

Invoker::~Invoker() { *alive_ = false; }

int Invoker::pool_size(const JobSpec& job, int workers) {
  const auto* l = std::get_if<LambdaJob>(&job.kind);
  if (l && l->warm_max > 0) return l->warm_max;
  return std::max(1, workers);  // a rule's concurrency bounds it too: environments start only when all are busy
}

std::unique_ptr<WarmPool> Invoker::make_pool(const std::string& name, const JobSpec& job) {
  PoolSettings s;
  s.job = job;
  s.function_name = name;
  s.aws = aws_;
  s.max = pool_size(job, workers_);
  s.idle = std::get<LambdaJob>(job.kind).warm_idle;
  return std::make_unique<WarmPool>(io_, std::move(s));
}

void Invoker::retire(std::unique_ptr<WarmPool> pool) {
  spdlog::debug("lambda {}: retiring its warm pool ({} environments)", pool->settings().function_name,
                pool->environments());
  retired_.push_back(std::move(pool));
  auto it = std::prev(retired_.end());
  (*it)->retire([this, it, alive = std::weak_ptr<bool>(alive_)] {
    // Called from inside the pool: destroy it after this handler returns.
    boost::asio::post(io_, [this, it, alive] {
      if (alive.expired() || !*alive.lock()) return;
      retired_totals_.cold_starts += (*it)->counters().cold_starts;
      retired_totals_.warm_starts += (*it)->counters().warm_starts;
      retired_.erase(it);
    });
  });
}

void Invoker::invoke(const std::string& name, const JobSpec& job, Invocation invocation) {
  if (!std::holds_alternative<LambdaJob>(job.kind)) {
    ProcessResult r;
    r.error = "not a lambda job";
    boost::asio::post(io_, [cb = std::move(invocation.on_done), r]() mutable { cb(std::move(r)); });
    return;
  }
  auto& pool = pools_[name];
  if (pool && !same_function(*pool, job, pool_size(job, workers_))) retire(std::move(pool));
  if (!pool) pool = make_pool(name, job);
  pool->invoke(std::move(invocation));
}

ChildIdentity Invoker::start(JobRequest request, std::function<void(ProcessResult)> on_exit) {
  Invocation inv;
  inv.request_id = request.run_id;
  inv.payload = std::move(request.process.stdin_data);
  inv.timeout = request.process.timeout;
  if (auto it = request.process.env.find("HIVEHOOK_RESULT"); it != request.process.env.end()) inv.result_file = it->second;
  inv.on_done = std::move(on_exit);
  invoke(request.rule, request.job, std::move(inv));
  return {};
}

void Invoker::set_rules(const RuleSet& rules) {
  for (auto it = pools_.begin(); it != pools_.end();) {
    const Rule* rule = rules.find(it->first);
    if (rule && same_function(*it->second, rule->job, pool_size(rule->job, workers_))) {
      ++it;
      continue;
    }
    retire(std::move(it->second));
    it = pools_.erase(it);
  }
}

std::size_t Invoker::in_flight() const {
  std::size_t n = 0;
  for (const auto& [_, p] : pools_) n += p->busy() + p->queued();
  for (const auto& p : retired_) n += p->busy() + p->queued();
  return n;
}

Invoker::Totals Invoker::totals() const {
  Totals t = retired_totals_;
  auto add = [&](const WarmPool& p) {
    t.cold_starts += p.counters().cold_starts;
    t.warm_starts += p.counters().warm_starts;
    t.environments += p.environments();
  };
  for (const auto& [_, p] : pools_) add(*p);
  for (const auto& p : retired_) add(*p);
  return t;
}

void Invoker::terminate_all(Duration grace) {
  for (auto& [_, p] : pools_) p->terminate_all(grace);
  for (auto& p : retired_) p->terminate_all(grace);
}

}  // namespace hivehook::lambda
