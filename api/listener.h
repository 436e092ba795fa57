// The daemon's HTTP listener (config `http:`, or its short form `metrics: HOST:PORT`), on the
// shared server core in http/: Prometheus /metrics, /healthz, the web console at /, and the JSON
// API under /api/v1/ (DESIGN.md "Replay, partitions and the console"; docs/console.md lists it).
//
// Reads go to the store through a read-only connection on the listener's own query thread, so
// neither the daemon's loop nor the io threads wait on SQLite. Replay and retry are POSTs that need
// `Authorization: Bearer <http.token>` (or the daemon's local token, for the CLI on this machine);
// without either they are refused (403); refused tokens are counted, logged and, past a limit,
// lock their address out for a while (api/token_guard.h).
// Limits: the io threads never block; a client waiting too long for its request head is cut off
// (header_timeout), idle connections close (idle_timeout), and when the connection limits are
// reached the connection that has waited longest without a request makes room for a new one (when
// none waits, the oldest event stream: its client resumes with Last-Event-ID), so slow or idle
// clients and open console tabs cannot lock out /healthz; a closed connection frees its slot at once.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "api/event_stream.h"
#include "api/token_guard.h"
#include "base/redactor.h"
#include "http/router.h"
#include "http/server.h"
#include "store/replay_query.h"

namespace hivehook {
class Store;
}

namespace hivehook::api {

// What the daemon does when asked (each may be unset: the API then answers 503).
struct Actions {
  // Replays or retries (ReplayRequest::retry); `reply(status, body)` is called once, from any thread.
  using Reply = std::function<void(int status, nlohmann::json body)>;
  std::function<void(ReplayRequest, Reply)> replay;
};

struct ListenerOptions {
  std::string listen;                        // "HOST:PORT"
  std::string token;                         // http.token; "" = read-only API (unless local_token)
  // The daemon's local token (daemon/http_listener.h, http_local_token_file): accepted as well as
  // http.token for replay and retry, from the CLI of a user who may read the state folder; "" = none.
  std::string local_token;
  // http.read_auth: token — GETs below /api/ need `token` or `local_token` too (api/read_auth.h).
  bool read_needs_token = false;
  std::filesystem::path state;               // the store (opened read-only here)
  std::function<std::string()> metrics;      // the Prometheus exposition text
  std::function<std::pair<bool, std::string>()> health;  // (ok, why not)
  std::function<nlohmann::json()> rules;     // the rules in force: [{name, match, job, ...}]
  // Batches and schedules for GET /api/v1/status, read from `store` (the query thread's):
  // {batches, abandoned_batches, batch_offers, schedules, schedule_times} as daemon/status_report.h makes them;
  // unset: those four are empty lists.
  std::function<nlohmann::json(Store& store)> orchestration;
  // The masking in force (base/redactor.h; the daemon's: built when the config or rules load),
  // applied to job output, results and errors served by the API; null: the patterns only.
  std::function<Redactor()> redactor;
  Actions actions;
  http::Options http = default_http_options();

  static http::Options default_http_options();
};

class Listener {
 public:
  explicit Listener(ListenerOptions options);
  ~Listener();  // stop()
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  http::StartError start();  // empty, or a sentence (bad address, port in use) and whether it is in use
  void stop();
  unsigned short port() const;
  // The daemon publishes committed events here (thread-safe).
  EventHub& events() { return hub_; }

 private:
  void routes();
  // Where a read runs: `light` (status, lists, the grid: milliseconds) or `heavy` (job output,
  // an object's page, the quarantine, an event stream's history from the store), each on its own
  // thread and read-only store connection, so no number of heavy reads queued by one client makes
  // the console's small reads wait behind them (issue 15 finding C4).
  enum class Lane { light, heavy };
  // Runs `fn(store)` on `lane`'s thread and answers with its (status, JSON).
  void query(std::shared_ptr<http::Exchange> ex,
             std::function<std::pair<int, nlohmann::json>(Store&, const std::string& target)> fn,
             Lane lane = Lane::light);
  void serve_events(std::shared_ptr<http::Exchange> ex);
  // Subscribes `writer` to the events after `after`; those older than the hub's ring are read
  // from the store first, one page per task on the heavy lane (so a stream reading history takes
  // turns with the other heavy reads). `rounds`: pages read so far (at most 1000 per attach).
  void attach(std::shared_ptr<http::BodyWriter> writer, int64_t after, int rounds = 0);
  void keepalive();
  // What check_token found: the local token or http.token (`accepted`); the client locked out
  // (`left` set); a credential that is not the token (counted against the client); none.
  enum class TokenCheck { accepted, locked, refused, absent };
  TokenCheck check_token(const http::Exchange& ex, bool cookie_allowed, std::chrono::seconds* left);
  http::Handler guard_reads(http::Handler inner);
  void post_action(std::shared_ptr<http::Exchange> ex, bool retry);
  // 429 Too Many Requests with Retry-After: `left` (TokenGuard::locked).
  static void respond_locked_out(const std::shared_ptr<http::Exchange>& ex, std::chrono::seconds left);
  // 401 with `message` and WWW-Authenticate: Bearer (RFC 6750 section 3).
  static void respond_unauthorized(const std::shared_ptr<http::Exchange>& ex, const std::string& message);
  Store& reader(Lane lane);
  // options_.redactor(), or the patterns only.
  Redactor redactor_in_force() const;

  ListenerOptions options_;
  EventHub hub_;
  TokenGuard tokens_;  // refused bearer tokens per client address (issue 15 finding C10)
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  boost::asio::thread_pool pool_{1};
  // The event fan-out's own thread (EventHub::Post): neither the daemon's loop nor the query thread
  // pays for the open streams (issue 15 finding C5).
  boost::asio::thread_pool fanout_{1};
  boost::asio::thread_pool heavy_{1};  // Lane::heavy
  std::unique_ptr<Store> reader_;        // used on pool_ only
  std::unique_ptr<Store> heavy_reader_;  // used on heavy_ only
  boost::asio::steady_timer keepalive_timer_;
  std::mutex streams_mu_;
  std::vector<std::weak_ptr<http::BodyWriter>> streams_;
  bool stopped_ = false;
};

}  // namespace hivehook::api
