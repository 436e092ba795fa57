// The parts of an HTTP request the API reads itself (Boost.Beast parses the request): query
// strings, the SSE resume id, bearer tokens, and replay parameters. Every function here takes
// untrusted bytes and never throws (fuzzed: tests/fuzz/fuzz_api_params.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "store/replay_query.h"

namespace hivehook::api {

// application/x-www-form-urlencoded decoding (WHATWG URL standard, "application/x-www-form-urlencoded
// parsing"): '+' is a space, %XX a byte; a malformed escape is kept literally. Bytes stay bytes
// (no UTF-8 validation here; JSON output replaces invalid sequences).
std::string form_decode(std::string_view text);

// A query string ("a=1&b=x%2Fy&a=2&flag") as ordered (name, value) pairs, decoded. Empty pieces
// are skipped; a name without '=' has the value "". At most `max_pairs` pairs are kept.
using Query = std::vector<std::pair<std::string, std::string>>;
Query parse_query(std::string_view query, std::size_t max_pairs = 64);
// The last value of `name`, or nullopt.
std::optional<std::string> query_value(const Query& q, std::string_view name);
// Every value of `name`, in order.
std::vector<std::string> query_values(const Query& q, std::string_view name);

// A decimal integer in [min, max] ("12", "-3"); nullopt for anything else (signs other than one
// leading '-', spaces, overflow, empty).
std::optional<int64_t> parse_int(std::string_view text, int64_t min, int64_t max);
// "1", "true", "yes", "" (a bare flag) → true; "0", "false", "no" → false; else nullopt.
std::optional<bool> parse_flag(std::string_view text);

// The Last-Event-ID header (or the `after` parameter) of a Server-Sent Events resume: our ids are
// the audit events' store ids, decimal, >= 0. nullopt when absent or not such a number (the stream
// then starts at the newest event).
std::optional<int64_t> parse_event_id(std::string_view text);

// The token of "Authorization: Bearer <token>" (RFC 6750 section 2.1; the scheme is
// case-insensitive, one or more spaces follow it). nullopt for any other form.
std::optional<std::string> bearer_token(std::string_view authorization);
// Constant-time equality of a presented token and the configured one (CRYPTO_memcmp).
bool token_matches(std::string_view presented, std::string_view expected);

// "NAME=VALUE" of `replay --partition` and the API's partition parameter: NAME is non-empty and
// has no '=' or '/'; VALUE may be empty. nullopt (and *error, a sentence) when malformed.
std::optional<std::pair<std::string, std::string>> parse_partition_filter(std::string_view text, std::string* error);
// Why a replay's partition filters can match nothing because they name one partition twice with
// two values ("day=02" and "day=03": a key has one value per name, and the filters all must
// hold), or nullopt. Issue 15 retest X8: such a replay planned 0 objects without a word.
std::optional<std::string> repeated_partition_name(const std::vector<std::pair<std::string, std::string>>& filters);

// A path parameter ("/api/v1/objects/42" → "42"): the rest of `path` after `prefix`, percent-decoded
// (RFC 3986; '+' stays '+'), nullopt when `path` does not start with it, the rest is empty or holds a '/'.
std::optional<std::string> path_parameter(std::string_view path, std::string_view prefix);

// `replay --since` and the API's "since": an RFC 3339 time or date ("2023-03-15T13:45:00Z",
// "2023-03-15"), or an age before `now` ("10m", "7d"), as unix ms; nullopt when neither.
std::optional<int64_t> parse_since(std::string_view text, SystemTime now = std::chrono::system_clock::now());

// The JSON body of POST /api/v1/replay:
//   {"rules": ["r"] | "rule": "r", "key": "prefix", "partition": ["day=15"] | {"day": "15"},
//    "from": "key", "to": "key", "failed": bool, "since": "RFC 3339 time or age (7d)", "all": bool,
//    "dry_run": bool}
// ("all": true is how a replay with no filter at all says it means the whole store)
// and of POST /api/v1/retry: {"keys": ["k", ...]} | {"all_failed": true} | {"schedules": ["rule", ...]}
// (schedule rules whose latest firing failed for good, run again; pipeline/schedule_retry.h),
// "dry_run": bool.
// Unknown fields and wrong types are errors (*error, a sentence); nothing throws.
std::optional<ReplayRequest> parse_replay_body(std::string_view body, bool retry, std::string* error);
// The body parse_replay_body reads back (what `hivehook replay`/`retry` send to a running daemon).
std::string replay_body(const ReplayRequest& request);

}  // namespace hivehook::api
