// Parsing an HTTP/1.x request head (request line + header fields): a pure function, fuzzed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hivehook::metrics {

inline constexpr std::size_t kMaxRequestHead = 8 * 1024;  // bytes, including the blank line
inline constexpr std::size_t kMaxHeaderFields = 100;

struct HttpRequestHead {
  std::string method;   // "GET"
  std::string target;   // "/metrics?x=1"
  std::string path;     // "/metrics" (target without the query)
  int version_minor = 1;  // HTTP/1.<minor>
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed

  // The first header with this (lower-case) name, if any.
  std::optional<std::string_view> header(std::string_view lower_name) const;
};

struct HttpParseResult {
  std::optional<HttpRequestHead> head;  // set on success
  int status = 0;                       // on error: 400, 431 or 505
  std::string error;                    // on error: why, for the response body
  bool ok() const { return head.has_value(); }
};

// Where the head ends in `buf`: the offset just past the first empty line ("\r\n\r\n" or a bare
// "\n\n"), or npos when it has not arrived yet.
std::size_t find_head_end(std::string_view buf);

// Parses the bytes of one request head (everything up to and including its empty line; a missing
// final empty line is tolerated). Line ends are CRLF or a bare LF (RFC 9112 2.2). Rejects obsolete
// line folding, whitespace before a colon, control characters, a missing Host on HTTP/1.1, and heads
// larger than kMaxRequestHead or with more than kMaxHeaderFields fields (431).
HttpParseResult parse_http_request_head(std::string_view text);

}  // namespace hivehook::metrics
