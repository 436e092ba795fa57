// A small HTTP/1.1 server on Boost.Beast, shared by the S3 API, the Lambda Runtime API and the
// console: a listener, per-connection limits, streaming request bodies and an async handler.
//
//   http::Router router;
//   router.add("GET", "/healthz", [](auto ex) { ex->respond({.body = "ok\n"}); });
//   http::Server server(router.handler(), {.threads = 2});
//   if (auto err = server.start("127.0.0.1:0"); !err.empty()) ...;   // own io threads
//   ... server.port() ...
//   server.stop();
//
// Limits (Options): the request head must arrive within header_timeout and fit max_header_bytes
// (431); a body over max_body_bytes is refused (413); a connection that stays silent for
// idle_timeout (waiting for a request, inside a body, or not reading a response) is closed, and so
// is one whose body arrives slower than min_body_bytes_per_second; at most
// max_connections connections, max_connections_per_client of them from one IP address, or with
// local_clients_by_process from one process on this machine, and max_connections_per_local_user
// from one user's processes together (beyond
// that a new connection gets 503 and is closed, or with evict_waiting_when_full takes the place of
// the connection that has waited longest without a request, and with evict_open_responses_when_full
// of the oldest open-ended response when none waits). A connection's slot is freed when its socket
// closes, whoever still holds the connection (a producer's BodyWriter); an open-ended response
// notices its client leaving at once. Sockets are asynchronous: a slow client holds a
// connection slot, never a thread. Keep-alive and pipelining per RFC 9112; Expect: 100-continue per
// RFC 9110 section 10.1.1.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "http/exchange.h"

namespace hivehook::http {

struct Options {
  std::size_t max_header_bytes = 16 * 1024;           // request line + fields
  std::chrono::milliseconds header_timeout{10'000};  // from the head's first byte to its end
  std::chrono::milliseconds idle_timeout{60'000};    // between requests, and the longest stall of a read or write
  std::uint64_t max_body_bytes = 6ULL << 30;          // per request, after chunked decoding
  // The slowest request body accepted: a body whose bytes arrive at under min_body_bytes_per_second,
  // averaged over each body_rate_window (checked as bytes arrive), ends with BodyEnd::timed_out and
  // the connection closes, so a client trickling a byte now and then (never silent for
  // idle_timeout) cannot hold a connection slot forever. The receive side of what S3 answers with
  // RequestTimeout, Apache's mod_reqtimeout MinRate, nginx's client_body_timeout. 0: no floor
  // (silence is still idle_timeout's). Responses need none: a write that has not finished within
  // idle_timeout closes the connection.
  std::uint64_t min_body_bytes_per_second = 0;
  std::chrono::milliseconds body_rate_window{30'000};
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_client = 128;      // per remote IP address
  // Over either connection limit, close the connection that has waited longest for a request
  // (idle between requests, still sending its head, sending a body no handler reads, or lingering
  // after its answer to drain one) to make room, instead of refusing the new
  // one; refuse (503) only when every connection is busy with a request. This keeps clients that
  // hold connections open without asking anything (slowloris; every local client shares 127.0.0.1)
  // from locking out a prompt one such as a health probe.
  bool evict_waiting_when_full = false;
  // With evict_waiting_when_full, when no connection waits for a request, close the one whose
  // open-ended response (Exchange::respond_open: an event stream) started longest ago instead of
  // refusing: an EventSource client reconnects and resumes with Last-Event-ID, while long-lived
  // streams (console tabs; every user behind one reverse proxy shares its address) would otherwise
  // fill the connection limits and lock out a health probe.
  bool evict_open_responses_when_full = false;
  // With evict_waiting_when_full, a connection whose body a handler is reading also counts as
  // waiting (since its head arrived) until the body is complete: for small request bodies (the
  // console's replay POSTs, sent at once), so that clients trickling bodies past an authorisation
  // check cannot hold every slot until min_body_bytes_per_second's window ends (issue 15 finding
  // C2: /healthz got 503 for 5 s). Not for uploads, which may take long and must not be cut off.
  bool evict_reading_bodies_when_full = false;
  // Count a client on this machine (a loopback connection: every local client has address
  // 127.0.0.1) per process, not per address, against max_connections_per_client: one local
  // process holding its maximum leaves the others theirs (http/peer_process.h: sock_diag and
  // /proc; by uid when the process's fds cannot be read).
  bool local_clients_by_process = false;
  // With local_clients_by_process: the most connections all the processes of one user (uid) on
  // this machine may hold together (0: no such cap). Below max_connections, so one user's busy
  // processes, however many, leave other users the rest, e.g. the service account's uploads or
  // root's checks. A process holding fewer than 32 connections (a probe, one CLI) may go past it
  // up to all but 64 of max_connections, so a user's greedy processes never lock out that user's
  // light ones (docs/decisions.md, "S3: the connection budget of a user").
  std::size_t max_connections_per_local_user = 0;
  std::size_t body_chunk_bytes = 256 * 1024;         // largest piece handed to a body sink
  unsigned threads = 2;                               // io threads (when the server runs its own io_context)
  std::string server_name = "hivehook";               // the Server header
  // How the answers the server gives by itself look (400, 408, 413, 431, 500, 503): default
  // text/plain with the message. The S3 API renders its XML error documents here.
  std::function<Response(bhttp::status, const std::string& message)> error_response;
  // Told of every client the server turns away by itself, for metrics and logs: `reason` is
  // "connections_per_client", "connections_per_user" or "connections" (a new connection refused
  // with 503 at a limit) or "request_timeout" (a body slower than min_body_bytes_per_second, or
  // silent for idle_timeout); `client` as ClientId::to_string() ("127.0.0.1 (pid 4242)"),
  // `message` the sentence the client was given. Called on an io thread: must not block.
  std::function<void(const char* reason, const std::string& client, const std::string& message)> on_turned_away;
};

// Why Server::start failed; an empty message on success. `address_in_use`: the address is valid
// but another socket holds it (EADDRINUSE) -- a condition of the moment (an old instance still
// closing, another service that started first) that a later start may not meet. Every other
// failure is the address's own (unparsable, unresolvable, a port it may not bind, an address that
// is not this machine's) and a later start would repeat it.
struct StartError {
  std::string message;  // "cannot listen on 127.0.0.1:9464: Address already in use"
  bool address_in_use = false;

  bool empty() const { return message.empty(); }
  friend bool operator==(const StartError& e, std::string_view s) { return e.message == s; }
  friend std::ostream& operator<<(std::ostream& o, const StartError& e) { return o << e.message; }
};

class Server {
 public:
  explicit Server(Handler handler, Options options = {});
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds "HOST:PORT" (port 0 picks a free one; see base/host_port.h) and serves on
  // Options::threads threads of the server's own io_context. Returns an empty StartError on
  // success, else a sentence (bad address, address in use, ...) and whether the address is in use.
  // Never throws.
  StartError start(const std::string& host_port);
  // The same on an io_context the caller runs (e.g. a component's own loop); stop() must be called
  // before that io_context is destroyed.
  StartError start(boost::asio::io_context& io, const std::string& host_port);
  // Closes the listener and every connection (bodies in flight end with BodyEnd::stopped) and joins
  // the server's own threads. Idempotent.
  void stop();

  unsigned short port() const;       // the bound port, after a successful start
  std::size_t connections() const;   // open connections now

  struct State;  // shared with the connections (http/connection.cpp)

 private:
  StartError listen(boost::asio::io_context& io, const std::string& host_port);
  std::shared_ptr<State> state_;
};

}  // namespace hivehook::http
