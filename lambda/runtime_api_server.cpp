// One environment's Runtime API listener on the shared HTTP server (see runtime_api_server.h).
#include "lambda/runtime_api_server.h"

#include "http/server.h"
#include "lambda/runtime_api.h"

namespace hivehook::lambda {
namespace {

class Listener final : public RuntimeApiServer {
 public:
  explicit Listener(http::Options options)
      : server_([target = target_](std::shared_ptr<http::Exchange> ex) { serve_runtime_api(target->lock(), std::move(ex)); },
                std::move(options)) {}
  ~Listener() override { close(); }

  std::string start(boost::asio::io_context& io) { return server_.start(io, "127.0.0.1:0").message; }
  void serve(const std::shared_ptr<ExecutionEnvironment>& env) override { *target_ = env; }
  std::string address() const override { return "127.0.0.1:" + std::to_string(server_.port()); }
  void close() override { server_.stop(); }

 private:
  // Shared with the handler, which may run after serve() is called again or the listener is closing.
  std::shared_ptr<std::weak_ptr<ExecutionEnvironment>> target_ = std::make_shared<std::weak_ptr<ExecutionEnvironment>>();
  http::Server server_;
};

}  // namespace

std::unique_ptr<RuntimeApiServer> RuntimeApiServer::listen(boost::asio::io_context& io, std::string* error) {
  http::Options options;
  options.max_body_bytes = kMaxRuntimePayload;
  // A runtime holds GET /next open for as long as its environment waits for work (minutes), and
  // only its own environment talks to this port.
  options.idle_timeout = std::chrono::hours(24);
  options.max_connections = 16;
  options.max_connections_per_client = 16;
  auto listener = std::make_unique<Listener>(std::move(options));
  if (auto e = listener->start(io); !e.empty()) {
    *error = e;
    return nullptr;
  }
  return listener;
}

}  // namespace hivehook::lambda
