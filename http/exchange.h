// One HTTP/1.1 request and its response, as a handler sees it (see http/server.h).
//
// A handler receives a std::shared_ptr<Exchange>, may read the body (streamed in pieces to a sink,
// never held whole in memory unless asked for with a limit), and must send exactly one response,
// at once or later, from any thread. All callbacks run on the connection's strand (one at a time
// per connection, on one of the server's io threads): they must not block for long; post slow work
// elsewhere and respond from there.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/unique_fd.h"

namespace hivehook::http {

namespace bhttp = boost::beast::http;
using RequestHead = bhttp::request_header<>;  // method, target, version and fields (case-insensitive)

struct Response {
  bhttp::status status = bhttp::status::ok;
  bhttp::fields headers;  // Content-Length, Connection and Server are set by the server
  std::string body;
  // The Content-Length to announce when no body is sent: for HEAD (default: body.size()) and 304.
  std::optional<std::uint64_t> content_length;
};

// How reading a request body ended.
enum class BodyEnd {
  complete,       // every byte was delivered to the sink
  client_closed,  // the connection closed or reset before the end
  timed_out,      // no byte arrived for Options::idle_timeout, or under Options::min_body_bytes_per_second
  too_large,      // over Options::max_body_bytes or the limit given to read_body
  malformed,      // bad chunked framing
  stopped,        // the sink returned false, or the server is stopping
};

struct BodyResult {
  BodyEnd end = BodyEnd::complete;
  std::string message;  // a sentence for logs and error bodies; "" when complete
  bool ok() const { return end == BodyEnd::complete; }
};

class Connection;  // the server's side of one TCP connection (http/connection.cpp)

// The producing side of a response whose body is made over time and whose length is not known in
// advance (Server-Sent Events, https://html.spec.whatwg.org/multipage/server-sent-events.html):
// HTTP/1.1 sends each write() as one chunk (Transfer-Encoding: chunked, RFC 9112 section 7.1);
// an HTTP/1.0 client gets the bytes as they are and the end by connection close. Thread-safe.
// The writer keeps its connection alive: a producer drops it once write() returns false. A client
// that leaves is noticed at the next write (so write something, e.g. an SSE comment, now and then).
class BodyWriter {
 public:
  // Queues `data` after what was queued before. False when the response is over (ended, the client
  // left, the server stops) or when the unsent backlog would pass `max_backlog` bytes: a reader
  // that cannot keep up is cut off rather than buffered without bound (an SSE client then resumes
  // with Last-Event-ID).
  bool write(std::string data);
  // The last chunk; after it the connection serves the client's next request. Idempotent.
  void end();
  // From now until the response ends, queues `filler` whenever nothing was written for `every`
  // (timed on the connection's strand, so it goes on while the producer's thread is busy): keeps a
  // client's read timeout from firing while the body is being made. S3's CompleteMultipartUpload
  // does this with white space (AWS S3 API reference, "CompleteMultipartUpload").
  void keep_alive(std::string filler, std::chrono::milliseconds every);
  bool closed() const { return closed_->load(); }
  std::size_t max_backlog = 1 << 20;

 private:
  friend class Connection;
  friend class Exchange;
  std::shared_ptr<Connection> conn_;  // the connection lives while its producer holds the writer
  std::uint64_t seq_ = 0;
  std::shared_ptr<std::atomic<bool>> closed_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<std::atomic<std::size_t>> backlog_ = std::make_shared<std::atomic<std::size_t>>(0);
};

class Exchange {
 public:
  ~Exchange();  // an exchange dropped without a response is answered 500 and its connection closed
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  const RequestHead& request() const { return head_; }
  bhttp::verb method() const { return head_.method(); }
  std::string_view target() const { return {head_.target().data(), head_.target().size()}; }
  // A header's value ("" when absent); names are case-insensitive.
  std::string_view header(std::string_view name) const;
  const boost::asio::ip::tcp::endpoint& remote() const { return remote_; }
  // True when the request announces a body: Content-Length > 0 or Transfer-Encoding: chunked.
  bool body_expected() const { return body_expected_; }
  std::optional<std::uint64_t> content_length() const { return content_length_; }

  // Streams the body to `on_data` in pieces of at most Options::body_chunk_bytes (chunked framing
  // already removed), in order; a `false` return stops reading. `done` is called once, after the
  // last piece or at the first problem. "100 Continue" is sent first when the client asked for it
  // (so a handler that answers without reading, e.g. an auth failure, saves the client the upload).
  // `limit` lowers Options::max_body_bytes for this request. At most once per exchange.
  using DataFn = std::function<bool(std::string_view piece)>;
  using DoneFn = std::function<void(const BodyResult&)>;
  void read_body(DataFn on_data, DoneFn done, std::optional<std::uint64_t> limit = std::nullopt);
  // Reads the whole body into memory, refusing more than `limit` bytes (BodyEnd::too_large).
  void read_body_to_string(std::size_t limit, std::function<void(const BodyResult&, std::string body)> done);

  // Sends the response. Exactly one response per exchange; later calls are ignored. Thread-safe.
  // A response sent before the body was read in full closes the connection afterwards (lingering,
  // so the client still reads the response rather than a reset).
  void respond(Response response);
  // Sends `length` bytes produced by `source` as the body: `source(buf, cap)` fills up to `cap`
  // bytes and returns how many (> 0), or <= 0 on an error, which cuts the connection (the client
  // sees a short body, as HTTP/1.1 allows no other signal). Called on the strand.
  using Source = std::function<std::ptrdiff_t(char* buf, std::size_t capacity)>;
  void respond_stream(Response head, std::uint64_t length, Source source);
  // Sends `length` bytes of `fd` from `offset` (pread; the fd is closed afterwards).
  void respond_file(Response head, UniqueFd fd, std::uint64_t offset, std::uint64_t length);
  // Sends the head now and the body later, piece by piece, through the returned writer (see
  // BodyWriter). `on_close` (optional) is called once, on the connection's strand, when the response
  // ends for any reason: end(), the client leaving, a write stalling past Options::idle_timeout, a
  // backlog over the limit, or the server stopping. Returns nullptr when a response was already sent.
  std::shared_ptr<BodyWriter> respond_open(Response head, std::function<void()> on_close = nullptr);
  bool responded() const;

 private:
  friend class Connection;
  Exchange(std::shared_ptr<Connection> conn, RequestHead head, boost::asio::ip::tcp::endpoint remote,
           bool body_expected, std::optional<std::uint64_t> content_length);
  std::shared_ptr<Connection> conn_;
  RequestHead head_;
  boost::asio::ip::tcp::endpoint remote_;
  bool body_expected_;
  std::optional<std::uint64_t> content_length_;
  std::uint64_t seq_ = 0;  // the request's number on its connection
  std::atomic<bool> responded_{false};
};

using Handler = std::function<void(std::shared_ptr<Exchange>)>;

}  // namespace hivehook::http
