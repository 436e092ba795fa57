// Authenticating an S3 request: AWS Signature Version 4 in the Authorization header or in a
// presigned URL's query, the access key, the credential scope, the clock-skew and expiry checks
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html).
// No anonymous access: a request without a signature is AccessDenied.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/beast/http/fields.hpp>

#include "s3/errors.h"
#include "s3/sigv4.h"

namespace hivehook::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string region = "us-east-1";
};

// How the body is protected (the x-amz-content-sha256 value).
enum class Payload {
  sha256,                      // a hex SHA-256 of the body, checked once it has arrived
  unsigned_payload,            // UNSIGNED-PAYLOAD (and every presigned URL)
  streaming_signed,            // STREAMING-AWS4-HMAC-SHA256-PAYLOAD: aws-chunked, each chunk signed
  streaming_signed_trailer,    // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
  streaming_unsigned_trailer,  // STREAMING-UNSIGNED-PAYLOAD-TRAILER: aws-chunked, unsigned chunks
};

bool is_streaming(Payload p);

// What a verified signature allows the body decoder to check.
struct Authorized {
  Payload payload = Payload::unsigned_payload;
  std::string payload_sha256;  // hex, for Payload::sha256
  // For the streaming kinds: the chain the chunk signatures continue.
  std::string signing_key;     // raw
  Scope scope;
  std::string amz_date;        // YYYYMMDDTHHMMSSZ
  std::string seed_signature;  // the request's signature (hex)
  bool presigned = false;
};

struct AuthRequest {
  std::string_view method;  // "GET"
  std::string_view target;  // "/bucket/key?query" as received
  const boost::beast::http::fields& headers;
};

inline constexpr std::chrono::minutes kMaxClockSkew{15};  // S3's limit
inline constexpr std::int64_t kMaxPresignSeconds = 604800;  // 7 days

// Verifies the request's signature with `creds` at time `now`. The error is S3's: AccessDenied
// (anonymous, expired presigned URL), InvalidAccessKeyId, SignatureDoesNotMatch,
// RequestTimeTooSkewed, AuthorizationHeaderMalformed (bad syntax, wrong region or date in the
// scope), AuthorizationQueryParametersError, InvalidRequest (SigV2, missing x-amz-content-sha256),
// InvalidArgument (an unknown x-amz-content-sha256 value).
std::variant<Authorized, S3Error> authenticate(const AuthRequest& request, const Credentials& creds,
                                               std::chrono::system_clock::time_point now);

// "20130524T000000Z" <-> time.
std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view text);
std::string format_amz_date(std::chrono::system_clock::time_point t);

}  // namespace hivehook::s3
