#include "http/connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <boost/asio/dispatch.hpp>
#include <deque>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

namespace hivehook::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using error_code = beast::error_code;

namespace {

constexpr std::chrono::seconds kLingerTotal{5};
constexpr std::chrono::seconds kLingerRead{2};

bool is_disconnect(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == bhttp::error::partial_message || ec == asio::error::operation_aborted ||
         ec == asio::error::bad_descriptor;
}

}  // namespace

Response Server::State::error(bhttp::status status, const std::string& message) const {
  if (options.error_response) return options.error_response(status, message);
  Response r;
  r.status = status;
  r.headers.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  r.body = message + "\n";
  return r;
}

// ---- Exchange -----------------------------------------------------------------------------------

Exchange::Exchange(std::shared_ptr<Connection> conn, RequestHead head, asio::ip::tcp::endpoint remote,
                   bool body_expected, std::optional<std::uint64_t> content_length)
    : conn_(std::move(conn)),
      head_(std::move(head)),
      remote_(std::move(remote)),
      body_expected_(body_expected),
      content_length_(content_length) {}

Exchange::~Exchange() {
  if (!responded_.exchange(true)) {
    Response r;
    r.status = bhttp::status::internal_server_error;
    r.headers.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    r.body = "the request was dropped without a response\n";
    conn_->respond(seq_, std::move(r));
  }
}

std::string_view Exchange::header(std::string_view name) const {
  auto it = head_.find(beast::string_view(name.data(), name.size()));
  if (it == head_.end()) return {};
  return {it->value().data(), it->value().size()};
}

void Exchange::read_body(DataFn on_data, DoneFn done, std::optional<std::uint64_t> limit) {
  conn_->read_body(seq_, std::move(on_data), std::move(done), limit);
}

void Exchange::read_body_to_string(std::size_t limit, std::function<void(const BodyResult&, std::string)> done) {
  auto body = std::make_shared<std::string>();
  read_body(
      [body](std::string_view piece) {
        body->append(piece);
        return true;
      },
      [body, done = std::move(done)](const BodyResult& r) { done(r, r.ok() ? std::move(*body) : std::string()); },
      static_cast<std::uint64_t>(limit));
}

void Exchange::respond(Response response) {
  if (responded_.exchange(true)) return;
  conn_->respond(seq_, std::move(response));
}

void Exchange::respond_stream(Response head, std::uint64_t length, Source source) {
  if (responded_.exchange(true)) return;
  conn_->respond_stream(seq_, std::move(head), length, std::move(source));
}

void Exchange::respond_file(Response head, UniqueFd fd, std::uint64_t offset, std::uint64_t length) {
  auto file = std::make_shared<UniqueFd>(std::move(fd));
  auto pos = std::make_shared<std::uint64_t>(offset);
  respond_stream(std::move(head), length, [file, pos](char* buf, std::size_t cap) -> std::ptrdiff_t {
    while (true) {
      ssize_t n = ::pread(file->get(), buf, cap, static_cast<off_t>(*pos));
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) *pos += static_cast<std::uint64_t>(n);
      return n;  // 0: the file shrank under us, which cuts the response
    }
  });
}

std::shared_ptr<BodyWriter> Exchange::respond_open(Response head, std::function<void()> on_close) {
  if (responded_.exchange(true)) return nullptr;
  auto writer = std::make_shared<BodyWriter>();
  writer->conn_ = conn_;
  writer->seq_ = seq_;
  conn_->respond_open(seq_, std::move(head), std::move(on_close), writer);
  return writer;
}

bool Exchange::responded() const { return responded_.load(); }

// ---- BodyWriter ---------------------------------------------------------------------------------

bool BodyWriter::write(std::string data) {
  if (closed_->load()) return false;
  const auto& conn = conn_;
  if (data.empty()) return true;
  if (backlog_->fetch_add(data.size()) + data.size() > max_backlog) {
    spdlog::info("http: cutting off {}: more than {} bytes of a response are waiting to be read",
                 conn->client().to_string(), max_backlog);
    closed_->store(true);
    conn->end_open(seq_, true);
    return false;
  }
  conn->write_open(seq_, std::move(data));
  return true;
}

void BodyWriter::end() {
  if (closed_->exchange(true)) return;
  conn_->end_open(seq_, false);
}

void BodyWriter::keep_alive(std::string filler, std::chrono::milliseconds every) {
  if (closed_->load() || filler.empty()) return;
  conn_->keep_open_alive(seq_, std::move(filler), every);
}

// ---- Connection ---------------------------------------------------------------------------------

Connection::Connection(asio::ip::tcp::socket socket, std::shared_ptr<Server::State> state, ClientId client)
    : stream_(std::move(socket)), state_(std::move(state)), client_(std::move(client)) {
  error_code ec;
  remote_ = stream_.socket().remote_endpoint(ec);
  std::lock_guard lock(state_->mu);
  ++state_->per_client[client_];
  if (client_.uid != static_cast<uid_t>(-1)) ++state_->per_user[client_.uid];
  ++state_->total;
  counted_ = true;
}

Connection::~Connection() { release_slot(); }

void Connection::release_slot() {
  if (!counted_.exchange(false)) return;
  std::lock_guard lock(state_->mu);
  auto it = state_->per_client.find(client_);
  if (it != state_->per_client.end() && --it->second == 0) state_->per_client.erase(it);
  if (client_.uid != static_cast<uid_t>(-1))
    if (auto u = state_->per_user.find(client_.uid); u != state_->per_user.end() && --u->second == 0)
      state_->per_user.erase(u);
  --state_->total;
  state_->live.erase(this);
}

void Connection::start() {
  {
    std::lock_guard lock(state_->mu);
    state_->live[this] = weak_from_this();
  }
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->wait_request(); });
}

void Connection::refuse(bhttp::status status, std::string message) {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this(), status, message = std::move(message)] {
    self->seq_ = 1;
    self->send(self->state_->error(status, message), true);
  });
}

void Connection::shut() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->close_now(); });
}

bool Connection::evict(std::int64_t since) {
  if (since == 0 || !waiting_since_.compare_exchange_strong(since, 0)) return false;
  shut();
  return true;
}

bool Connection::evict_stream(std::int64_t since) {
  if (since == 0 || !streaming_since_.compare_exchange_strong(since, 0)) return false;
  spdlog::info("http: closing the oldest event stream of {} to make room for a new connection (it resumes "
               "with Last-Event-ID)", remote_.address().to_string());
  shut();
  return true;
}

void Connection::mark_waiting() {
  std::int64_t none = 0;
  const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  waiting_since_.compare_exchange_strong(none, now == 0 ? 1 : now);
}

void Connection::close_now() {
  waiting_since_ = 0;
  close_open();
  if (closed_) return;
  closed_ = true;
  error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  stream_.close();
  // The slot goes with the socket (fault: a closed event stream, its connection still held by the
  // event hub's subscriber until the next audit event, kept counting against the limits; 256 console
  // loads on a quiet pipeline locked /healthz out with 503).
  release_slot();
}

// Waiting for a request: idle_timeout applies until its first byte, header_timeout after.
void Connection::wait_request() {
  if (state_->stopping || closed_) return close_now();
  mark_waiting();
  if (buffer_.size() > 0) return read_head();
  stream_.expires_after(state_->options.idle_timeout);
  stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](error_code ec, std::size_t n) {
    self->buffer_.commit(n);
    if (ec) return self->close_now();
    self->read_head();
  });
}

void Connection::read_head() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(state_->options.max_header_bytes));
  parser_->body_limit(state_->options.max_body_bytes);
  stream_.expires_after(state_->options.header_timeout);
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           [self = shared_from_this()](error_code ec, std::size_t) { self->on_head(ec); });
}

void Connection::on_head(error_code ec) {
  waiting_since_ = 0;
  ++seq_;
  responding_ = false;
  pending_.reset();
  pending_stream_.reset();
  continue_sent_ = false;
  body_read_ = 0;
  if (ec) {
    body_ = Body::failed;
    if (ec == bhttp::error::header_limit)
      return send(state_->error(bhttp::status::request_header_fields_too_large,
                                "the request head is larger than " + std::to_string(state_->options.max_header_bytes) +
                                    " bytes"),
                  true);
    // A timeout closes the socket (beast::tcp_stream): nothing more can be said to that client.
    if (ec == bhttp::error::body_limit)
      return send(state_->error(bhttp::status::payload_too_large,
                                "the request body is larger than " + std::to_string(state_->options.max_body_bytes) +
                                    " bytes"),
                  true);
    if (is_disconnect(ec)) return close_now();
    return send(state_->error(bhttp::status::bad_request, "malformed request: " + ec.message()), true);
  }
  auto& req = parser_->get();
  head_request_ = req.method() == bhttp::verb::head;
  std::optional<std::uint64_t> length;
  if (auto cl = parser_->content_length()) length = *cl;
  const bool expects_body = parser_->chunked() || (length && *length > 0);
  body_ = expects_body ? Body::unread : Body::done;
  body_limit_ = state_->options.max_body_bytes;

  RequestHead head(static_cast<const RequestHead&>(req));
  auto ex = std::shared_ptr<Exchange>(new Exchange(shared_from_this(), std::move(head), remote_, expects_body, length));
  ex->seq_ = seq_;
  try {
    state_->handler(ex);
  } catch (const std::exception& e) {
    spdlog::error("http: handler for {} {} failed: {}", std::string(req.method_string()), std::string(req.target()),
                  e.what());
    ex->respond(state_->error(bhttp::status::internal_server_error, "internal error"));
  }
  // A body announced and nobody reading it: the request is not all here, and the client may be
  // trickling it. Evictable like a head still arriving, until a handler reads the body (fault: GETs
  // announcing a 60000-byte body, sent a byte a second and reopened when closed, held every slot
  // while their answers waited, and /healthz got 503).
  if (body_ == Body::unread) mark_waiting();
}

void Connection::read_body(std::uint64_t seq, Exchange::DataFn on_data, Exchange::DoneFn done,
                           std::optional<std::uint64_t> limit) {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this(), seq, on_data = std::move(on_data),
                                          done = std::move(done), limit]() mutable {
    if (seq != self->seq_ || self->closed_) {
      if (done) done(BodyResult{BodyEnd::stopped, "the connection is closed"});
      return;
    }
    if (self->body_ == Body::done && !self->on_done_) {  // no body at all
      if (done) done(BodyResult{});
      return;
    }
    if (self->body_ != Body::unread || self->responding_) {
      if (done) done(BodyResult{BodyEnd::stopped, "the body was already read or answered"});
      return;
    }
    // Read now: the request is in hand (an eviction meanwhile closes it anyway) -- or, with
    // evict_reading_bodies_when_full, only once the body is complete (finish_body).
    if (self->state_->options.evict_reading_bodies_when_full) self->mark_waiting();
    else self->waiting_since_ = 0;
    self->on_data_ = std::move(on_data);
    self->on_done_ = std::move(done);
    if (limit) self->body_limit_ = std::min(self->body_limit_, *limit);
    if (auto cl = self->parser_->content_length(); cl && *cl > self->body_limit_)
      return self->finish_body(BodyResult{BodyEnd::too_large, "the request body (" + std::to_string(*cl) +
                                                                  " bytes) is larger than the limit of " +
                                                                  std::to_string(self->body_limit_) + " bytes"});
    self->body_ = Body::reading;
    self->start_body();
  });
}

bool Connection::body_rate_ok(std::uint64_t got, std::string* why) {
  const auto& o = state_->options;
  rate_bytes_ += got;
  if (o.min_body_bytes_per_second == 0) return true;
  const auto now = std::chrono::steady_clock::now();
  const auto elapsed = now - rate_since_;
  if (elapsed < o.body_rate_window) return true;
  const double seconds = std::chrono::duration<double>(elapsed).count();
  if (static_cast<double>(rate_bytes_) >= static_cast<double>(o.min_body_bytes_per_second) * seconds) {
    rate_since_ = now;
    rate_bytes_ = 0;
    return true;
  }
  *why = "the request body arrived at " + std::to_string(static_cast<std::uint64_t>(static_cast<double>(rate_bytes_) / seconds)) +
         " bytes/s over the last " + std::to_string(static_cast<long long>(seconds)) + " s, under the minimum of " +
         std::to_string(o.min_body_bytes_per_second) + " bytes/s";
  return false;
}

void Connection::start_body() {
  rate_since_ = std::chrono::steady_clock::now();
  rate_bytes_ = 0;
  const auto& req = parser_->get();
  const bool expect = req.version() >= 11 && beast::iequals(req[bhttp::field::expect], "100-continue");
  if (expect && !continue_sent_ && buffer_.size() == 0) {
    continue_sent_ = true;
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(state_->options.idle_timeout);
    asio::async_write(stream_, asio::buffer(kContinue), [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec) return self->finish_body(BodyResult{BodyEnd::client_closed, "the client went away: " + ec.message()});
      self->read_piece();
    });
    return;
  }
  read_piece();
}

void Connection::read_piece() {
  if (state_->stopping || closed_) return finish_body(BodyResult{BodyEnd::stopped, "the server is stopping"});
  if (pending_ || pending_stream_) return finish_body(BodyResult{BodyEnd::stopped, "answered before the body ended"});
  if (in_.empty()) in_.resize(state_->options.body_chunk_bytes);
  auto& body = parser_->get().body();
  body.data = in_.data();
  body.size = in_.size();
  stream_.expires_after(state_->options.idle_timeout);
  bhttp::async_read_some(stream_, buffer_, *parser_, [self = shared_from_this()](error_code ec, std::size_t) {
    auto& b = self->parser_->get().body();
    const std::size_t got = self->in_.size() - b.size;
    b.data = nullptr;
    if (ec == bhttp::error::need_buffer) ec = {};
    if (got > 0) {
      self->body_read_ += got;
      if (self->body_read_ > self->body_limit_)
        return self->finish_body(BodyResult{BodyEnd::too_large, "the request body is larger than the limit of " +
                                                                    std::to_string(self->body_limit_) + " bytes"});
      if (!self->on_data_(std::string_view(self->in_.data(), got)))
        return self->finish_body(BodyResult{BodyEnd::stopped, "the handler stopped reading the body"});
      if (std::string why; !ec && !self->parser_->is_done() && !self->body_rate_ok(got, &why)) {
        spdlog::info("http: closing a connection from {}: {}", self->remote_.address().to_string(), why);
        return self->finish_body(BodyResult{BodyEnd::timed_out, why});
      }
    }
    if (ec) {
      if (ec == beast::error::timeout)
        return self->finish_body(BodyResult{BodyEnd::timed_out, "no body data for " +
                                                                    std::to_string(self->state_->options.idle_timeout.count()) +
                                                                    " ms"});
      if (ec == bhttp::error::body_limit)
        return self->finish_body(BodyResult{BodyEnd::too_large, "the request body is larger than the limit of " +
                                                                    std::to_string(self->body_limit_) + " bytes"});
      if (is_disconnect(ec))
        return self->finish_body(BodyResult{BodyEnd::client_closed, "the client went away mid-body"});
      return self->finish_body(BodyResult{BodyEnd::malformed, "malformed request body: " + ec.message()});
    }
    if (self->parser_->is_done()) return self->finish_body(BodyResult{});
    self->read_piece();
  });
}

void Connection::finish_body(BodyResult result) {
  body_ = result.ok() ? Body::done : Body::failed;
  if (result.ok()) waiting_since_ = 0;  // the whole request is in hand (evict_reading_bodies_when_full)
  if (result.end == BodyEnd::timed_out && state_->options.on_turned_away)
    state_->options.on_turned_away("request_timeout", client_.to_string(), result.message);
  auto done = std::move(on_done_);
  on_done_ = nullptr;
  on_data_ = nullptr;
  if (done) done(result);
  // A response that arrived while the body was still coming goes out now.
  if (pending_) {
    Response r = std::move(*pending_);
    pending_.reset();
    send(std::move(r), false);
  } else if (pending_stream_) {
    auto p = std::move(*pending_stream_);
    pending_stream_.reset();
    send_stream(std::move(p.first), p.second.first, std::move(p.second.second));
  } else if (!result.ok() && result.end == BodyEnd::client_closed) {
    // Nothing more can be said to a client that left; the handler's response (if any) is dropped.
  }
}

void Connection::respond(std::uint64_t seq, Response response) {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this(), seq, response = std::move(response)]() mutable {
    if (seq != self->seq_ || self->responding_ || self->closed_) return;
    if (self->body_ == Body::reading) {  // sent once the read in flight returns
      self->pending_ = std::move(response);
      return;
    }
    self->send(std::move(response), false);
  });
}

void Connection::respond_stream(std::uint64_t seq, Response head, std::uint64_t length, Exchange::Source source) {
  asio::dispatch(stream_.get_executor(),
                 [self = shared_from_this(), seq, head = std::move(head), length, source = std::move(source)]() mutable {
                   if (seq != self->seq_ || self->responding_ || self->closed_) return;
                   if (self->body_ == Body::reading) {
                     self->pending_stream_.emplace(std::move(head), std::make_pair(length, std::move(source)));
                     return;
                   }
                   self->send_stream(std::move(head), length, std::move(source));
                 });
}

bool Connection::keep_alive_now() const {
  return parser_ && parser_->is_header_done() && parser_->get().keep_alive() && body_ == Body::done &&
         !state_->stopping;
}

template <class Message>
void Connection::finish_headers(Message& m, bool keep_alive) const {
  m.set(bhttp::field::server, state_->options.server_name);
  m.keep_alive(keep_alive);
}

void Connection::send(Response r, bool force_close) {
  if (closed_) return;
  responding_ = true;
  const bool keep = !force_close && keep_alive_now();
  const unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
  stream_.expires_after(state_->options.idle_timeout);
  const bool no_body = head_request_ || r.status == bhttp::status::not_modified || r.status == bhttp::status::no_content;
  if (no_body) {
    auto msg = std::make_shared<bhttp::response<bhttp::empty_body>>(r.status, version);
    for (const auto& f : r.headers) msg->set(f.name_string(), f.value());
    if (r.status != bhttp::status::no_content) msg->content_length(r.content_length.value_or(r.body.size()));
    finish_headers(*msg, keep);
    bhttp::async_write(stream_, *msg, [self = shared_from_this(), msg, keep](error_code ec, std::size_t) {
      if (ec) return self->close_now();
      self->after_response(keep);
    });
    return;
  }
  auto msg = std::make_shared<bhttp::response<bhttp::string_body>>(r.status, version, std::move(r.body));
  for (const auto& f : r.headers) msg->set(f.name_string(), f.value());
  msg->content_length(msg->body().size());
  finish_headers(*msg, keep);
  bhttp::async_write(stream_, *msg, [self = shared_from_this(), msg, keep](error_code ec, std::size_t) {
    if (ec) return self->close_now();
    self->after_response(keep);
  });
}

struct Connection::Streaming {
  bhttp::response<bhttp::buffer_body> msg;
  std::optional<bhttp::response_serializer<bhttp::buffer_body>> ser;
  bool keep = false;
  Exchange::Source source;
};

void Connection::send_stream(Response head, std::uint64_t length, Exchange::Source source) {
  if (closed_) return;
  if (head_request_) {
    head.content_length = length;
    return send(std::move(head), false);
  }
  responding_ = true;
  auto s = std::make_shared<Streaming>();
  s->keep = keep_alive_now();
  s->source = std::move(source);
  s->msg.result(head.status);
  s->msg.version(parser_->get().version());
  for (const auto& f : head.headers) s->msg.set(f.name_string(), f.value());
  s->msg.content_length(length);
  finish_headers(s->msg, s->keep);
  s->msg.body().data = nullptr;
  s->msg.body().more = true;
  s->ser.emplace(s->msg);
  stream_.expires_after(state_->options.idle_timeout);
  bhttp::async_write_header(stream_, *s->ser, [self = shared_from_this(), s, length](error_code ec, std::size_t) {
    if (ec) return self->close_now();
    self->pump(s, length);
  });
}

void Connection::pump(std::shared_ptr<Streaming> s, std::uint64_t remaining) {
  if (state_->stopping || closed_) return close_now();
  if (out_.empty()) out_.resize(state_->options.body_chunk_bytes);
  auto& body = s->msg.body();
  if (remaining == 0) {
    body.data = nullptr;
    body.size = 0;
    body.more = false;
  } else {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, out_.size()));
    const std::ptrdiff_t n = s->source(out_.data(), want);
    if (n <= 0) {
      spdlog::warn("http: a response body to {} ended {} bytes early", remote_.address().to_string(), remaining);
      return close_now();
    }
    remaining -= static_cast<std::uint64_t>(n);
    body.data = out_.data();
    body.size = static_cast<std::size_t>(n);
    body.more = remaining > 0;
  }
  stream_.expires_after(state_->options.idle_timeout);
  bhttp::async_write(stream_, *s->ser, [self = shared_from_this(), s, remaining](error_code ec, std::size_t) {
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) return self->close_now();
    if (s->ser->is_done()) return self->after_response(s->keep);
    self->pump(s, remaining);
  });
}

void Connection::after_response(bool keep_alive) {
  if (keep_alive) return wait_request();
  if (body_ == Body::unread || body_ == Body::failed || body_ == Body::reading) {
    // The client may still be sending a body we never read: stop writing, drain for a moment so it
    // reads our response instead of a reset, then close.
    error_code ec;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    // Answered, only draining for the client's sake: the first to make room when the limits are
    // reached (fault: GETs with a trickled body, answered at once, lingered unevictable and a
    // reopening flood of them kept /healthz at 503).
    mark_waiting();
    return linger(std::chrono::steady_clock::now() + kLingerTotal);
  }
  close_now();
}

void Connection::linger(std::chrono::steady_clock::time_point until) {
  if (closed_ || std::chrono::steady_clock::now() >= until) return close_now();
  if (in_.empty()) in_.resize(state_->options.body_chunk_bytes);
  stream_.expires_after(kLingerRead);
  stream_.async_read_some(asio::buffer(in_), [self = shared_from_this(), until](error_code ec, std::size_t) {
    if (ec) return self->close_now();
    self->linger(until);
  });
}

}  // namespace hivehook::http

namespace hivehook::http {

// ---- responses produced over time (respond_open) -------------------------------------------------

struct Connection::Open {
  bhttp::response<bhttp::buffer_body> msg;
  std::optional<bhttp::response_serializer<bhttp::buffer_body>> ser;
  std::deque<std::string> queue;
  std::string current;
  bool head_sent = false, writing = false, ending = false, keep = false;
  std::uint64_t seq = 0;
  std::function<void()> on_close;
  std::shared_ptr<std::atomic<bool>> closed;
  std::shared_ptr<std::atomic<std::size_t>> backlog;
  // keep_alive: the filler, its period, and the writes counted since the timer was last armed.
  std::string filler;
  std::chrono::milliseconds every{0};
  std::uint64_t writes = 0, writes_at_arm = 0;
  std::unique_ptr<asio::steady_timer> keep_alive;
};

void Connection::respond_open(std::uint64_t seq, Response head, std::function<void()> on_close,
                              std::shared_ptr<BodyWriter> writer) {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this(), seq, head = std::move(head),
                                          on_close = std::move(on_close), writer = std::move(writer)]() mutable {
    auto refuse = [&] {
      writer->closed_->store(true);
      if (on_close) on_close();
    };
    if (seq != self->seq_ || self->responding_ || self->closed_) return refuse();
    if (self->body_ == Body::reading || self->head_request_) {
      // A body still arriving, or HEAD (no body may follow): answer with the head alone.
      refuse();
      return self->send(std::move(head), self->body_ == Body::reading);
    }
    self->responding_ = true;
    auto o = std::make_shared<Open>();
    o->seq = seq;
    o->on_close = std::move(on_close);
    o->closed = writer->closed_;
    o->backlog = writer->backlog_;
    const unsigned version = self->parser_->get().version();
    o->keep = version >= 11 && self->keep_alive_now();
    o->msg.result(head.status);
    o->msg.version(version);
    for (const auto& f : head.headers) o->msg.set(f.name_string(), f.value());
    self->finish_headers(o->msg, o->keep);
    if (version >= 11) o->msg.chunked(true);
    o->msg.body().data = nullptr;
    o->msg.body().more = true;
    o->ser.emplace(o->msg);
    self->open_ = std::move(o);
    const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
    self->streaming_since_ = now == 0 ? 1 : now;
    self->watch_peer();
    self->send_open();
  });
}

void Connection::watch_peer() {
  stream_.socket().async_wait(asio::ip::tcp::socket::wait_read, [self = shared_from_this()](error_code ec) {
    if (ec || self->closed_ || !self->open_) return;  // closed, or the response is over: nothing to watch
    char c;
    const ssize_t n = ::recv(self->stream_.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return self->watch_peer();
    if (n <= 0) {  // the client closed (EOF) or reset: the response has nobody to go to
      spdlog::debug("http: {} left an open response", self->remote_.address().to_string());
      return self->close_now();
    }
    // A pipelined request: it stays in the socket and is read once this response ends.
  });
}

void Connection::write_open(std::uint64_t seq, std::string data) {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this(), seq, data = std::move(data)]() mutable {
    if (!self->open_ || self->open_->seq != seq || self->open_->ending) return;
    self->open_->queue.push_back(std::move(data));
    self->send_open();
  });
}

void Connection::keep_open_alive(std::uint64_t seq, std::string filler, std::chrono::milliseconds every) {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this(), seq, filler = std::move(filler), every]() mutable {
    if (!self->open_ || self->open_->seq != seq || self->open_->ending) return;
    auto o = self->open_;
    o->filler = std::move(filler);
    o->every = std::max(every, std::chrono::milliseconds(1));
    if (!o->keep_alive) o->keep_alive = std::make_unique<asio::steady_timer>(self->stream_.get_executor());
    self->arm_keep_alive(o);
  });
}

void Connection::arm_keep_alive(std::shared_ptr<Open> o) {
  o->writes_at_arm = o->writes;
  o->keep_alive->expires_after(o->every);
  o->keep_alive->async_wait([self = shared_from_this(), o](error_code ec) {
    if (ec || self->open_ != o || o->ending || self->closed_) return;  // cancelled, or the response is over
    if (o->writes == o->writes_at_arm && o->queue.empty()) {
      o->queue.push_back(o->filler);
      o->backlog->fetch_add(o->filler.size());
      self->send_open();
    }
    self->arm_keep_alive(o);
  });
}

void Connection::end_open(std::uint64_t seq, bool cut) {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this(), seq, cut] {
    if (!self->open_ || self->open_->seq != seq) return;
    if (cut) return self->close_now();
    self->open_->ending = true;
    self->send_open();
  });
}

void Connection::send_open() {
  auto o = open_;
  if (!o || closed_ || o->writing) return;
  auto& body = o->msg.body();
  auto written = [self = shared_from_this(), o](error_code ec, std::size_t) {
    if (ec == bhttp::error::need_buffer) ec = {};
    o->writing = false;
    if (ec) return self->close_now();
    self->send_open();
  };
  stream_.expires_after(state_->options.idle_timeout);
  if (!o->head_sent) {
    o->writing = true;
    o->head_sent = true;
    return bhttp::async_write_header(stream_, *o->ser, std::move(written));
  }
  if (!o->queue.empty()) {
    // Everything queued goes out as one chunk, one write: a stream fed many small pieces (SSE
    // events) while the last write was in flight costs one write, not one per piece.
    o->current = std::move(o->queue.front());
    o->queue.pop_front();
    for (; !o->queue.empty(); o->queue.pop_front()) o->current += o->queue.front();
    ++o->writes;
    o->backlog->fetch_sub(o->current.size());
    body.data = o->current.data();
    body.size = o->current.size();
    body.more = true;
    o->writing = true;
    return bhttp::async_write(stream_, *o->ser, std::move(written));
  }
  if (!o->ending) return;
  body.data = nullptr;
  body.size = 0;
  body.more = false;
  o->writing = true;
  bhttp::async_write(stream_, *o->ser, [self = shared_from_this(), o](error_code ec, std::size_t) {
    if (ec == bhttp::error::need_buffer) ec = {};
    o->writing = false;
    if (ec) return self->close_now();
    self->close_open();
    self->after_response(o->keep);
  });
}

void Connection::close_open() {
  streaming_since_ = 0;
  auto o = std::move(open_);
  open_.reset();
  if (!o) return;
  if (o->keep_alive) o->keep_alive->cancel();
  o->closed->store(true);
  if (auto fn = std::move(o->on_close)) fn();
}

}  // namespace hivehook::http
