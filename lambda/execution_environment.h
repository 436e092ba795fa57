// One execution environment: a runtime process (its own process group) that hivehook starts once,
// that initialises the function once and then takes invocations one at a time over the Lambda
// Runtime API until it is stopped, crashes or times out
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
//
// Life: starting (spawned, init running) -> waiting in GET /next -> busy with one invocation ->
// waiting ... -> exited. The invocation timeout, an init error, stop() or terminate() kill the whole
// process group; whatever ends the process ends the invocation it had. Everything runs on one
// io_context: no threads, no signal handlers.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lambda/function_error.h"
#include "lambda/invocation.h"

namespace hivehook::lambda {

// What GET /2018-06-01/runtime/invocation/next returns: the event as the body, the rest as headers.
struct NextInvocation {
  std::string request_id;    // Lambda-Runtime-Aws-Request-Id
  std::int64_t deadline_ms;  // Lambda-Runtime-Deadline-Ms (Unix time, ms)
  std::string function_arn;  // Lambda-Runtime-Invoked-Function-Arn
  std::string trace_id;      // Lambda-Runtime-Trace-Id (X-Ray format, Sampled=0)
  std::string payload;       // the event
};

// A Runtime API answer other than an invocation: HTTP status and AWS's JSON body
// ({"status":"OK"} on 202, {"errorMessage","errorType"} on errors).
struct ApiReply {
  int status = 202;
  std::string body = R"({"status":"OK"})";
};

struct EnvironmentSpec {
  std::vector<std::string> argv;           // the runtime (see runtime.h)
  std::map<std::string, std::string> env;  // see function_environment.h
  std::filesystem::path cwd;               // LAMBDA_TASK_ROOT
  std::string function_arn;
  std::size_t tail_bytes = 64 * 1024;      // per invocation, of stdout and of stderr
};

class ExecutionEnvironment : public std::enable_shared_from_this<ExecutionEnvironment> {
 public:
  struct Hooks {
    std::function<void(ExecutionEnvironment&)> on_free;  // an invocation ended and the process lives on
    std::function<void(ExecutionEnvironment&)> on_exit;  // the process is gone (its invocation already ended)
  };

  ExecutionEnvironment(boost::asio::io_context& io, EnvironmentSpec spec, Hooks hooks);
  ~ExecutionEnvironment();  // kills the process group if it still runs
  ExecutionEnvironment(const ExecutionEnvironment&) = delete;
  ExecutionEnvironment& operator=(const ExecutionEnvironment&) = delete;

  // Spawns the runtime. false + *error when it cannot start (not found, not executable...).
  bool start(std::string* error);

  // Gives the environment its next invocation; it must be free (just started, or on_free was called).
  // The invocation's timeout starts when the runtime receives it (GET /next); before that, a cold
  // environment's init is limited to max(10 s, timeout), as Lambda's Init phase is.
  void assign(Invocation invocation);
  bool free() const { return !current_ && !exited_ && !stopping_; }
  bool exited() const { return exited_; }
  bool has_invocation() const { return current_.has_value(); }
  int pid() const { return pid_; }
  std::uint64_t invocations() const { return invocations_; }  // ended, any outcome

  // Kills the process group now (idle timeout, rules changed); on_exit follows.
  void stop();
  // Shutdown: SIGTERM to the group, SIGKILL after `grace`; an invocation in flight ends as
  // "terminated at shutdown".
  void terminate(Duration grace);
  // Runs `fire` once after `after` unless assign()/stop() comes first (the pool's idle timeout).
  void arm_idle_timer(Duration after, std::function<void()> fire);

  // --- the Runtime API (runtime_api.cpp calls these) ---
  // GET /next: `deliver` is called (now or when an invocation is assigned) with the invocation;
  // an environment that already has one in flight is refused (403 InvalidStateTransition).
  std::optional<ApiReply> next(std::function<void(const NextInvocation&)> deliver);
  ApiReply response(std::string_view request_id, std::string body);
  ApiReply error(std::string_view request_id, std::string_view body, std::string_view error_type_header);
  ApiReply init_error(std::string_view body, std::string_view error_type_header);

 private:
  struct Pipes;
  void read(int which);
  void drain_now();
  void wait_exit();
  void on_exited();
  void kill_group(int sig);
  void deliver();
  void arm_timeout(Duration limit);  // 0: none
  // Ends the current invocation: drains output, writes the result file, posts on_done.
  void finish(ProcessResult r, const nlohmann::json* document, const std::string* payload);

  boost::asio::io_context& io_;
  EnvironmentSpec spec_;
  Hooks hooks_;
  std::unique_ptr<Pipes> pipes_;
  int pid_ = 0;
  bool exited_ = false;
  bool stopping_ = false;     // stop() or terminate() was called
  bool terminating_ = false;  // terminate(): at shutdown
  bool timed_out_ = false;
  bool delivered_ = false;    // the current invocation went out through /next
  bool initialised_ = false;  // the runtime called /next at least once
  std::optional<FunctionError> init_error_;
  std::optional<Invocation> current_;
  SteadyTime assigned_at_;
  Duration timeout_limit_{0};  // of the timer armed last: what a timeout reports
  std::function<void(const NextInvocation&)> held_next_;
  std::uint64_t invocations_ = 0;
};

}  // namespace hivehook::lambda
