// The server's side of one TCP connection (internal to http/: handlers see http/exchange.h).
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "http/peer_process.h"
#include "http/server.h"

namespace hivehook::http {

struct Server::State {
  Handler handler;
  Options options;

  std::mutex mu;  // guards the maps below
  std::map<ClientId, std::size_t> per_client;
  std::map<uid_t, std::size_t> per_user;  // connections of local peers, by their uid
  SocketOwners socket_owners;  // for Options::local_clients_by_process
  std::map<Connection*, std::weak_ptr<Connection>> live;
  std::atomic<std::size_t> total{0};
  std::atomic<bool> stopping{false};
  std::atomic<unsigned short> port{0};

  std::unique_ptr<boost::asio::io_context> own_io;  // when the server runs its own threads
  std::vector<std::thread> threads;
  std::atomic<int> running_threads{0};
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor;
  std::unique_ptr<boost::asio::steady_timer> accept_backoff;

  Response error(bhttp::status status, const std::string& message) const;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `client`: whose budget the connection counts against (http/peer_process.h).
  Connection(boost::asio::ip::tcp::socket socket, std::shared_ptr<Server::State> state, ClientId client);
  ~Connection();

  void start();                                // serve requests
  void refuse(bhttp::status status, std::string message);  // answer once and close (over a limit)
  void shut();                                 // from Server::stop(): close now

  // The Exchange's operations; each posts itself to the connection's strand.
  void read_body(std::uint64_t seq, Exchange::DataFn on_data, Exchange::DoneFn done,
                 std::optional<std::uint64_t> limit);
  void respond(std::uint64_t seq, Response response);
  void respond_stream(std::uint64_t seq, Response head, std::uint64_t length, Exchange::Source source);
  void respond_open(std::uint64_t seq, Response head, std::function<void()> on_close,
                    std::shared_ptr<BodyWriter> writer);
  void write_open(std::uint64_t seq, std::string data);
  void end_open(std::uint64_t seq, bool cut);  // cut: close the connection, no last chunk
  void keep_open_alive(std::uint64_t seq, std::string filler, std::chrono::milliseconds every);

  // Since when (steady clock, ns) the connection waits for a request: its head, a body no handler
  // reads (yet), or, answered, lingers to drain one; 0 while a request is in hand. For
  // Options::evict_waiting_when_full.
  std::int64_t waiting_since() const { return waiting_since_.load(); }
  const ClientId& client() const { return client_; }
  // Claims this connection for eviction if it still waits since `since`; then closes it.
  bool evict(std::int64_t since);
  // Since when (steady clock, ns) an open-ended response (respond_open) streams; 0 when none does.
  // For Options::evict_open_responses_when_full.
  std::int64_t streaming_since() const { return streaming_since_.load(); }
  // Claims this connection for eviction if its open-ended response still streams since `since`.
  bool evict_stream(std::int64_t since);

 private:
  enum class Body { none, unread, reading, done, failed };

  void wait_request();
  void read_head();
  void on_head(boost::beast::error_code ec);
  void start_body();
  void read_piece();
  void finish_body(BodyResult result);
  void send(Response response, bool force_close);
  void send_stream(Response head, std::uint64_t length, Exchange::Source source);
  struct Streaming;  // a streamed response in flight
  struct Open;       // a response produced over time (respond_open) in flight
  void send_open();
  void close_open();
  void arm_keep_alive(std::shared_ptr<Open> o);
  void mark_waiting();
  void pump(std::shared_ptr<Streaming> s, std::uint64_t remaining);
  void after_response(bool keep_alive);
  void linger(std::chrono::steady_clock::time_point until);
  void close_now();
  // Gives back the connection's slot in the server's counts (at close, or at destruction at the
  // latest): a closed connection no longer counts against the limits, whoever still holds it.
  void release_slot();
  // While an open-ended response streams, nothing reads the socket: wait for it to turn readable,
  // so a client that leaves (EOF, reset) closes the connection at once, not at the next write.
  void watch_peer();
  bool keep_alive_now() const;
  template <class Message>
  void finish_headers(Message& m, bool keep_alive) const;

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::shared_ptr<Server::State> state_;
  boost::asio::ip::tcp::endpoint remote_;
  ClientId client_;
  std::atomic<bool> counted_{false};

  std::optional<bhttp::request_parser<bhttp::buffer_body>> parser_;
  std::uint64_t seq_ = 0;  // the current request's number on this connection
  bool head_request_ = false;
  Body body_ = Body::none;
  bool continue_sent_ = false;
  bool responding_ = false;
  bool closed_ = false;
  std::optional<Response> pending_;  // a response that arrived while the body was being read
  std::optional<std::pair<Response, std::pair<std::uint64_t, Exchange::Source>>> pending_stream_;
  Exchange::DataFn on_data_;
  Exchange::DoneFn on_done_;
  std::uint64_t body_limit_ = 0;
  std::uint64_t body_read_ = 0;
  // Options::min_body_bytes_per_second: the current window's start and the body bytes since.
  std::chrono::steady_clock::time_point rate_since_{};
  std::uint64_t rate_bytes_ = 0;
  // Counts `got` body bytes; false when a full window has passed below the floor (*why says so).
  bool body_rate_ok(std::uint64_t got, std::string* why);
  std::vector<char> in_;   // body pieces
  std::vector<char> out_;  // streamed response pieces
  std::shared_ptr<Open> open_;
  std::atomic<std::int64_t> waiting_since_{0};
  std::atomic<std::int64_t> streaming_since_{0};
};

}  // namespace hivehook::http
