// One function's warm environments (see warm_pool.h).
#include "lambda/warm_pool.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <ctime>
#include <random>

#include "lambda/runtime.h"
#include "lambda/runtime_api_server.h"

namespace hivehook::lambda {
namespace asio = boost::asio;

struct WarmPool::Slot {
  std::shared_ptr<ExecutionEnvironment> env;
  std::unique_ptr<RuntimeApiServer> server;  // this environment's AWS_LAMBDA_RUNTIME_API
};

namespace {

void fail_now(asio::io_context& io, Invocation& inv, std::string error, bool spawned) {
  ProcessResult r;
  r.spawned = spawned;
  r.error = std::move(error);
  asio::post(io, [cb = std::move(inv.on_done), r = std::move(r)]() mutable { cb(std::move(r)); });
}

// AWS's log stream name of an environment: "YYYY/MM/DD/[$LATEST]<32 hex>".
std::string log_stream_name() {
  static std::mt19937_64 rng{std::random_device{}()};
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d/%02d/%02d/[$LATEST]%016llx%016llx", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, static_cast<unsigned long long>(rng()), static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

WarmPool::WarmPool(asio::io_context& io, PoolSettings settings) : io_(io), settings_(std::move(settings)) {
  if (settings_.max < 1) settings_.max = 1;
}

WarmPool::~WarmPool() {
  *alive_ = false;
  for (auto& s : envs_) s->env->stop();
}

std::size_t WarmPool::busy() const {
  std::size_t n = 0;
  for (const auto& s : envs_)
    if (s->env->has_invocation()) ++n;
  return n;
}

std::vector<int> WarmPool::pids() const {
  std::vector<int> out;
  for (const auto& s : envs_)
    if (!s->env->exited()) out.push_back(s->env->pid());
  return out;
}

WarmPool::Slot* WarmPool::slot_of(const ExecutionEnvironment& env) {
  for (auto& s : envs_)
    if (s->env.get() == &env) return s.get();
  return nullptr;
}

void WarmPool::invoke(Invocation invocation) {
  if (terminating_) return fail_now(io_, invocation, "terminated at shutdown", true);
  for (auto& s : envs_) {
    if (s->env->free()) {
      ++counters_.warm_starts;
      return give(*s, std::move(invocation));
    }
  }
  if (!retired_ && envs_.size() < static_cast<std::size_t>(settings_.max))
    return start_environment(std::move(invocation));
  queue_.push_back(std::move(invocation));
}

void WarmPool::give(Slot& slot, Invocation invocation) { slot.env->assign(std::move(invocation)); }

void WarmPool::start_environment(Invocation invocation) {
  std::string error;
  auto argv = environment_argv(std::get<LambdaJob>(settings_.job.kind), &error);
  if (!argv) return fail_now(io_, invocation, error, false);

  auto slot = std::make_unique<Slot>();
  std::weak_ptr<bool> alive = alive_;
  ExecutionEnvironment::Hooks hooks{
      .on_free = [this, alive](ExecutionEnvironment& env) { if (!alive.expired() && *alive.lock()) on_free(env); },
      .on_exit = [this, alive](ExecutionEnvironment& env) { if (!alive.expired() && *alive.lock()) on_exit(env); },
  };
  slot->server = RuntimeApiServer::listen(io_, &error);
  if (!slot->server) return fail_now(io_, invocation, "cannot serve the Lambda Runtime API: " + error, false);

  const auto& fn = std::get<LambdaJob>(settings_.job.kind);
  EnvironmentSpec spec;
  spec.argv = std::move(*argv);
  spec.cwd = fn.code;
  spec.function_arn = function_arn(settings_.aws.region, settings_.function_name);
  spec.env = function_environment(settings_.job, settings_.function_name, slot->server->address(), settings_.aws,
                                  log_stream_name());
  slot->env = std::make_shared<ExecutionEnvironment>(io_, std::move(spec), std::move(hooks));
  slot->server->serve(slot->env);
  if (!slot->env->start(&error)) return fail_now(io_, invocation, error, false);
  ++counters_.cold_starts;
  spdlog::debug("lambda {}: environment pid {} on {} ({} of at most {})", settings_.function_name, slot->env->pid(),
                slot->server->address(), envs_.size() + 1, settings_.max);
  slot->env->assign(std::move(invocation));
  envs_.push_back(std::move(slot));
}

void WarmPool::on_free(ExecutionEnvironment& env) {
  ++counters_.invocations;
  Slot* slot = slot_of(env);
  if (!slot) return;
  if (!queue_.empty()) {
    Invocation next = std::move(queue_.front());
    queue_.pop_front();
    ++counters_.warm_starts;
    return give(*slot, std::move(next));
  }
  if (retired_ || terminating_ || settings_.idle.count() == 0) return env.stop();
  env.arm_idle_timer(settings_.idle, [this, alive = std::weak_ptr<bool>(alive_), &env] {
    if (alive.expired() || !*alive.lock()) return;
    spdlog::debug("lambda {}: environment pid {} idle for {} ms: stopping it", settings_.function_name, env.pid(),
                  settings_.idle.count());
    env.stop();
  });
}

void WarmPool::on_exit(ExecutionEnvironment& env) {
  for (auto it = envs_.begin(); it != envs_.end(); ++it) {
    if ((*it)->env.get() != &env) continue;
    (*it)->server->close();
    // The slot may be referenced by the handler calling us: destroy it after this handler returns.
    asio::post(io_, [slot = std::shared_ptr<Slot>(std::move(*it))] {});
    envs_.erase(it);
    break;
  }
  // A crash, timeout or idle stop frees a place: the next waiting invocation gets a new environment.
  if (!queue_.empty() && !terminating_ && envs_.size() < static_cast<std::size_t>(settings_.max)) {
    Invocation next = std::move(queue_.front());
    queue_.pop_front();
    start_environment(std::move(next));
  }
  check_empty();
}

void WarmPool::check_empty() {
  if (on_empty_ && envs_.empty() && queue_.empty()) {
    auto cb = std::move(on_empty_);
    on_empty_ = nullptr;
    cb();
  }
}

void WarmPool::retire(std::function<void()> on_empty) {
  retired_ = true;
  on_empty_ = std::move(on_empty);
  for (auto& s : envs_)
    if (s->env->free()) s->env->stop();
  check_empty();
}

void WarmPool::terminate_all(Duration grace) {
  terminating_ = true;
  while (!queue_.empty()) {
    fail_now(io_, queue_.front(), "terminated at shutdown", true);
    queue_.pop_front();
  }
  for (auto& s : envs_) s->env->terminate(grace);
}

}  // namespace hivehook::lambda
