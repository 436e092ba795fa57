#include "metrics/http_server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <thread>

#include "metrics/http_request.h"

namespace hivehook::metrics {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

}  // namespace

struct HttpServer::Impl {
  MetricsFn metrics;
  HealthFn health;
  Options options;
  std::unique_ptr<asio::io_context> io;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> accept_backoff;
  std::thread thread;
  std::atomic<unsigned short> port{0};
  std::atomic<bool> running{false};
  std::size_t connections = 0;  // touched only on the server thread

  void accept();
  std::string respond(const HttpParseResult& req);
};

namespace {

// One connection: read one request head, write one response, close (Connection: close).
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, HttpServer::Impl& server)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), server_(server) {
    ++server_.connections;
  }
  ~Connection() { --server_.connections; }

  void start() {
    timer_.expires_after(server_.options.read_timeout);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->close();  // too slow: drop it
    });
    read();
  }

 private:
  void read() {
    socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](error_code ec, std::size_t n) {
      self->on_read(ec, n);
    });
  }

  void on_read(error_code ec, std::size_t n) {
    if (ec) return close();  // EOF before a full head, reset, or closed by the timer
    buf_.append(chunk_.data(), n);
    std::size_t end = find_head_end(buf_);
    if (end == std::string::npos) {
      if (buf_.size() > kMaxRequestHead) return write(server_.respond(too_large()));
      return read();
    }
    if (end > kMaxRequestHead) return write(server_.respond(too_large()));
    write(server_.respond(parse_http_request_head(std::string_view(buf_).substr(0, end))));
  }

  static HttpParseResult too_large() {
    HttpParseResult r;
    r.status = 431;
    r.error = "request head larger than 8 KiB";
    return r;
  }

  void write(std::string response) {
    response_ = std::move(response);
    asio::async_write(socket_, asio::buffer(response_), [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec) return self->close();
      // Half-close, then drain what the client still sends: closing with unread bytes would
      // make the kernel send RST, and the client could lose the response.
      error_code ignored;
      self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
      self->timer_.expires_after(std::chrono::seconds(1));
      self->timer_.async_wait([self](error_code tec) {
        if (!tec) self->close();
      });
      self->drain();
    });
  }

  void drain() {
    socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec) return self->close();
      self->drain();
    });
  }

  void close() {
    error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  HttpServer::Impl& server_;
  std::array<char, 4096> chunk_{};
  std::string buf_;
  std::string response_;
};

std::string make_response(int status, std::string_view content_type, const std::string& body, bool head_only,
                          std::string_view extra_headers = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + ' ' + reason(status) + "\r\n";
  out += "Content-Type: ";
  out += content_type;
  out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  out += extra_headers;
  out += "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

constexpr std::string_view kText = "text/plain; charset=utf-8";

// A health detail goes into a one-line body: no control characters.
std::string one_line(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return s;
}

}  // namespace

void HttpServer::Impl::accept() {
  acceptor->async_accept([this](error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (ec) {
      // EMFILE and friends: back off instead of spinning on the failing accept.
      spdlog::warn("metrics: accept failed: {}", ec.message());
      accept_backoff->expires_after(std::chrono::milliseconds(200));
      accept_backoff->async_wait([this](error_code tec) {
        if (!tec) accept();
      });
      return;
    }
    if (connections >= options.max_connections) {
      error_code ignored;
      socket.close(ignored);
    } else {
      std::make_shared<Connection>(std::move(socket), *this)->start();
    }
    accept();
  });
}

std::string HttpServer::Impl::respond(const HttpParseResult& req) {
  if (!req.ok()) return make_response(req.status, kText, req.error + "\n", false);
  const HttpRequestHead& h = *req.head;
  bool head_only = h.method == "HEAD";
  if (h.method != "GET" && !head_only)
    return make_response(405, kText, "method not allowed\n", false, "Allow: GET, HEAD\r\n");
  try {
    if (h.path == "/metrics")
      return make_response(200, "text/plain; version=0.0.4; charset=utf-8", metrics(), head_only);
    if (h.path == "/healthz") {
      auto [ok, detail] = health();
      if (ok) return make_response(200, kText, detail.empty() ? "ok\n" : one_line(detail) + "\n", head_only);
      return make_response(503, kText, one_line(detail.empty() ? "unhealthy" : detail) + "\n", head_only);
    }
  } catch (const std::exception& e) {
    spdlog::error("metrics: {} handler failed: {}", h.path, e.what());
    return make_response(500, kText, "internal error\n", head_only);
  }
  return make_response(404, kText, "not found\n", head_only);
}

HttpServer::HttpServer(MetricsFn metrics, HealthFn health) : HttpServer(std::move(metrics), std::move(health), Options{}) {}

HttpServer::HttpServer(MetricsFn metrics, HealthFn health, Options options) : impl_(std::make_unique<Impl>()) {
  impl_->metrics = std::move(metrics);
  impl_->health = std::move(health);
  impl_->options = options;
}

HttpServer::~HttpServer() { stop(); }

std::string HttpServer::start(const std::string& host_port) {
  if (impl_->running) return "metrics server already running";
  std::string error;
  auto hp = parse_host_port(host_port, &error);
  if (!hp) return error;
  auto io = std::make_unique<asio::io_context>(1);
  auto acceptor = std::make_unique<tcp::acceptor>(*io);
  try {
    tcp::resolver resolver(*io);
    auto results = resolver.resolve(hp->host, std::to_string(hp->port),
                                    tcp::resolver::numeric_service | tcp::resolver::passive);
    if (results.empty()) return "cannot resolve " + hp->host;
    tcp::endpoint ep = results.begin()->endpoint();
    acceptor->open(ep.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    acceptor->bind(ep);
    acceptor->listen(asio::socket_base::max_listen_connections);
    impl_->port = acceptor->local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    return "cannot listen on " + host_port + ": " + e.code().message();
  }
  impl_->io = std::move(io);
  impl_->acceptor = std::move(acceptor);
  impl_->accept_backoff = std::make_unique<asio::steady_timer>(*impl_->io);
  impl_->accept();
  impl_->running = true;
  impl_->thread = std::thread([io = impl_->io.get()] {
    try {
      io->run();
    } catch (const std::exception& e) {
      spdlog::error("metrics: server thread stopped: {}", e.what());
    }
  });
  return {};
}

void HttpServer::stop() {
  if (!impl_ || !impl_->running.exchange(false)) return;
  impl_->io->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  // Destroying the io_context destroys the pending handlers, which own (and close) the connections.
  impl_->accept_backoff.reset();
  impl_->acceptor.reset();
  impl_->io.reset();
}

unsigned short HttpServer::port() const { return impl_->port; }
bool HttpServer::running() const { return impl_->running; }

}  // namespace hivehook::metrics
