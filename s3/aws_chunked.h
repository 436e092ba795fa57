// The aws-chunked body coding S3 clients use for streaming uploads: each chunk is
// "<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n", the last one has size 0, and the -TRAILER
// kinds end with trailer lines (x-amz-checksum-*, x-amz-trailer-signature). With a signing chain
// every chunk signature is verified as it completes, so a forged chunk is refused before a byte of
// it is trusted (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html,
// .../sigv4-streaming-trailers.html).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "s3/errors.h"
#include "s3/sigv4.h"

namespace hivehook::s3 {

class AwsChunkedDecoder {
 public:
  struct Signing {
    std::string key;        // the request's signing key (raw)
    std::string amz_date;   // YYYYMMDDTHHMMSSZ
    Scope scope;
    std::string seed;       // the request's own signature (hex): the first chunk's "previous"
  };
  // `signing`: chunks carry signatures and each is checked; nullopt for unsigned chunks.
  // `trailer`: trailer lines follow the final chunk.
  AwsChunkedDecoder(std::optional<Signing> signing, bool trailer);

  using Sink = std::function<bool(std::string_view)>;
  // Decodes `in` (any split of the body), passing payload bytes to `out` in order. Returns false
  // at the first error (error() says which, in S3's terms) or when `out` returns false.
  bool feed(std::string_view in, const Sink& out);
  // True once the final chunk (and the trailer, when announced) has been read.
  bool done() const { return state_ == State::done || state_ == State::final_crlf; }
  const std::optional<S3Error>& error() const { return error_; }
  std::uint64_t decoded_bytes() const { return decoded_; }
  // The trailer's fields in order (lower-case names), x-amz-trailer-signature excluded.
  const std::vector<std::pair<std::string, std::string>>& trailers() const { return trailers_; }

  static constexpr std::size_t kMaxLine = 4096;

 private:
  enum class State { header, data, data_crlf, trailer, final_crlf, done };
  bool fail(S3Error e);
  bool header_line(std::string_view line);
  bool trailer_line(std::string_view line);
  bool chunk_complete();

  std::optional<Signing> signing_;
  bool trailer_;
  State state_ = State::header;
  std::string line_;
  std::uint64_t remaining_ = 0;
  std::uint64_t chunk_size_ = 0;
  std::string chunk_signature_;
  std::string previous_;
  std::string crlf_;  // bytes of the CRLF after a chunk's data seen so far
  void* chunk_hash_ = nullptr;  // EVP_MD_CTX* of the chunk in progress
  std::uint64_t decoded_ = 0;
  std::uint64_t chunks_ = 0;
  std::vector<std::pair<std::string, std::string>> trailers_;
  std::string trailer_canonical_;
  bool trailer_verified_ = false;
  std::optional<S3Error> error_;

 public:
  ~AwsChunkedDecoder();
  AwsChunkedDecoder(const AwsChunkedDecoder&) = delete;
  AwsChunkedDecoder& operator=(const AwsChunkedDecoder&) = delete;
};

}  // namespace hivehook::s3
