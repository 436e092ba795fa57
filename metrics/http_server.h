// The /metrics and /healthz HTTP endpoint: a tiny HTTP/1.1 server on its own thread and io_context,
// so a slow or hostile scraper never touches the daemon's event loop.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "base/host_port.h"

namespace hivehook::metrics {

using hivehook::HostPort;
using hivehook::parse_host_port;

class HttpServer {
 public:
  using MetricsFn = std::function<std::string()>;                   // the exposition text
  // (ok, detail): 200 "ok", or 200 with the detail when ok but degraded, or 503 with the detail.
  using HealthFn = std::function<std::pair<bool, std::string>()>;

  struct Options {
    std::chrono::milliseconds read_timeout{5000};  // per connection, for the whole request head
    std::size_t max_connections = 64;              // beyond this new connections are closed at once
  };

  // The callbacks run on the server's thread: they must be thread-safe.
  HttpServer(MetricsFn metrics, HealthFn health);
  HttpServer(MetricsFn metrics, HealthFn health, Options options);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds "HOST:PORT" (port 0 picks a free one) and starts the server thread. Returns an error
  // message (bad address, port in use, ...) instead of throwing; empty on success.
  std::string start(const std::string& host_port);
  // Closes the listener and every connection, and joins the thread. Idempotent.
  void stop();

  unsigned short port() const;  // the bound port (after a successful start)
  bool running() const;

  struct Impl;  // implementation detail (public only so the .cpp's connection type can name it)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace hivehook::metrics
