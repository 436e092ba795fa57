// One execution environment's Runtime API endpoint: an HTTP/1.1 listener on 127.0.0.1 (an
// ephemeral port, handed to the environment as AWS_LAMBDA_RUNTIME_API) whose requests go to
// serve_runtime_api for that environment. One per environment, so a request's connection tells
// which environment sent it, and a stopped environment's port is closed with it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "lambda/execution_environment.h"

namespace hivehook::lambda {

class RuntimeApiServer {
 public:
  // Listens on 127.0.0.1:0 on `io` (the environment's loop). nullptr + *error when it cannot.
  static std::unique_ptr<RuntimeApiServer> listen(boost::asio::io_context& io, std::string* error);
  virtual ~RuntimeApiServer() = default;

  // From now on requests are answered for `env` (held weakly: a request after it is gone gets 500).
  virtual void serve(const std::shared_ptr<ExecutionEnvironment>& env) = 0;
  // "127.0.0.1:PORT"
  virtual std::string address() const = 0;
  // Stops listening and closes every connection (a held GET /next is dropped). Idempotent.
  virtual void close() = 0;
};

}  // namespace hivehook::lambda
