// AWS Signature Version 4: the canonicalisation and the keyed hashes (OpenSSL), as S3 uses them
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html and
// .../sigv4-query-string-auth.html, .../sigv4-streaming.html, .../sigv4-streaming-trailers.html).
// Verifying a request against these is s3/auth.h.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/encoding.h"

namespace hivehook::s3 {

std::string hex_encode(std::string_view bytes);             // lower-case
std::string sha256(std::string_view data);                  // 32 raw bytes
std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // 32 raw bytes
// Equal contents, compared in time independent of where they differ (CRYPTO_memcmp).
bool constant_time_equal(std::string_view a, std::string_view b);

// SigV4's UriEncode: A-Z a-z 0-9 - _ . ~ are kept, every other byte becomes %XX (upper-case hex);
// '/' is kept when !encode_slash (object paths).
std::string uri_encode(std::string_view s, bool encode_slash);
// %XX decoding of a URL component: hivehook::percent_decode (base/encoding.h).

// The canonical URI of a raw (still percent-encoded) request path, as S3 forms it: each byte
// decoded once and UriEncode'd again, '/' kept. nullopt when the path has a malformed escape.
std::optional<std::string> canonical_uri(std::string_view raw_path);
// The canonical query string of a raw query: parameters decoded, UriEncode'd (names and values),
// sorted by name then value, joined "n=v&...". `drop` names a parameter to leave out
// (X-Amz-Signature, for presigned URLs). nullopt on a malformed escape.
std::optional<std::string> canonical_query(std::string_view raw_query, std::string_view drop = "");
// A header value as signed: leading/trailing whitespace trimmed, inner runs of spaces collapsed.
std::string trim_header_value(std::string_view value);

struct CanonicalRequest {
  std::string method;          // "PUT"
  std::string uri;             // canonical_uri(...)
  std::string query;           // canonical_query(...)
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case name, trimmed value, in signed order
  std::string signed_headers;  // "host;x-amz-date"
  std::string payload_hash;    // hex SHA-256, UNSIGNED-PAYLOAD, STREAMING-...
  std::string str() const;     // the six lines joined by '\n'
};

// The credential scope "YYYYMMDD/region/service/aws4_request".
struct Scope {
  std::string date;     // YYYYMMDD
  std::string region;   // us-east-1
  std::string service;  // s3
  std::string str() const { return date + "/" + region + "/" + service + "/aws4_request"; }
};

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
std::string signing_key(std::string_view secret, const Scope& scope);
// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex(sha256(canonical request))>"
std::string string_to_sign(std::string_view amz_date, const Scope& scope, std::string_view canonical_request);
// A chunk of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body:
// "AWS4-HMAC-SHA256-PAYLOAD\n<amz_date>\n<scope>\n<previous signature>\n<hex sha256("")>\n<hex sha256(chunk)>"
std::string chunk_string_to_sign(std::string_view amz_date, const Scope& scope, std::string_view previous_signature,
                                 std::string_view chunk_sha256_hex);
// The trailer of a ...-PAYLOAD-TRAILER body:
// "AWS4-HMAC-SHA256-TRAILER\n<amz_date>\n<scope>\n<previous signature>\n<hex sha256(trailer lines)>"
std::string trailer_string_to_sign(std::string_view amz_date, const Scope& scope, std::string_view previous_signature,
                                   std::string_view trailer_sha256_hex);
// hex(HMAC(signing key, string to sign))
std::string sign(std::string_view signing_key, std::string_view string_to_sign);

}  // namespace hivehook::s3
