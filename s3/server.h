// The S3 API endpoint as the daemon runs it: an http::Server with S3's limits and error documents,
// the Service, a small thread pool for slow work, and the periodic expiry of idle multipart
// uploads. One object with start/stop; it never touches the daemon's event loop.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <string>

#include "http/server.h"
#include "rules/config.h"
#include "s3/service.h"
#include "s3/turned_away_log.h"

namespace hivehook::s3 {

struct ServerSettings {
  std::string listen;      // "HOST:PORT"
  ServiceSettings service;
  http::Options http;      // S3's defaults: see settings_from
  unsigned pool_threads = 2;
  std::chrono::seconds sweep_every{60};  // how often idle multipart uploads are expired
  // Told of every client turned away (http::Options::on_turned_away; the daemon counts them:
  // hivehook_s3_requests_refused_total{reason}). Each is also logged, rate-limited (s3/turned_away_log.h).
  std::function<void(const char* reason, const std::string& client, const std::string& message)> on_turned_away;
};

// The slowest upload body the endpoint accepts, averaged over each 30 s (http::Options::
// min_body_bytes_per_second): slower is RequestTimeout. 1 KiB/s is a modem's pace, far below any
// real client (a loaded loopback moves MB/s), and far above a trickler's byte every few seconds.
inline constexpr std::uint64_t kMinUploadBytesPerSecond = 1024;

// The settings for the daemon's config (`s3:` section, trees, bucket; staging in the state folder,
// "<state dir>/s3-uploads").
ServerSettings settings_from(const Config& config);

class Server {
 public:
  explicit Server(ServerSettings settings);
  ~Server();  // stop()

  // Opens the trees, removes what a previous run left (temporary files in landing, multipart
  // parts), binds and serves. Empty on success, else a sentence (address in use, folder missing,
  // ...) and whether the address is in use (http::StartError).
  http::StartError start();
  // Stops accepting, ends the requests in flight (their temporary files vanish), joins the threads.
  void stop();

  unsigned short port() const;
  std::string endpoint_url() const;  // "http://127.0.0.1:PORT"
  Service* service() { return service_.get(); }

 private:
  void schedule_sweep();
  ServerSettings settings_;
  boost::asio::thread_pool pool_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<boost::asio::steady_timer> sweep_;
  std::shared_ptr<TurnedAwayLog> turned_away_ = std::make_shared<TurnedAwayLog>();
};

}  // namespace hivehook::s3
