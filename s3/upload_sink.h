// The body of a PutObject or UploadPart on its way to disk: aws-chunked decoding (with chunk
// signatures checked), MD5 (the eTag), SHA-256 (when the signature covers the payload), an
// optional x-amz-checksum-*, and a bounded write into a temporary file beside its final name.
// Nothing is published here: the caller renames the file into place once finish() found it whole.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/beast/http/fields.hpp>

#include "landing/beneath.h"
#include "s3/auth.h"
#include "s3/aws_chunked.h"
#include "s3/checksum.h"
#include "s3/errors.h"

namespace hivehook::s3 {

inline constexpr std::uint64_t kMaxObjectBytes = 5ULL << 30;  // S3's limit for one PUT or one part

class UploadSink {
 public:
  // Checks the request's upload headers (Content-Length or x-amz-decoded-content-length within
  // `max_bytes`, Content-MD5, x-amz-checksum-*, x-amz-trailer) and takes `file` to write into.
  static std::variant<std::unique_ptr<UploadSink>, S3Error> create(const Authorized& auth,
                                                                   const boost::beast::http::fields& headers,
                                                                   TempFile file, std::uint64_t max_bytes = kMaxObjectBytes);
  ~UploadSink();

  // One piece of the raw request body. False at the first problem (error() says which).
  bool on_data(std::string_view raw);
  // After the last piece: the body is complete and every digest matches, else the S3 error.
  std::optional<S3Error> finish();

  const std::optional<S3Error>& error() const { return error_; }
  // The body's length as the request declares it (Content-Length, or x-amz-decoded-content-length
  // for aws-chunked), in bytes; nullopt for a chunked body of unknown length.
  std::optional<std::uint64_t> declared_size() const { return expected_size_; }
  std::uint64_t size() const { return size_; }
  const std::string& md5_hex() const { return md5_hex_; }  // after finish()
  std::string md5_raw() const;                            // 16 bytes, after finish()
  // The x-amz-checksum-* the client sent (header or trailer) and that finish() verified: its
  // header name and base64 value, for the response (S3 echoes it); nullopt when none was sent.
  std::optional<std::pair<std::string, std::string>> verified_checksum() const;
  TempFile& file() { return file_; }

 private:
  UploadSink(TempFile file) : file_(std::move(file)) {}
  bool write(std::string_view payload);
  bool fail(S3Error e);

  TempFile file_;
  std::unique_ptr<AwsChunkedDecoder> chunked_;
  void* md5_ = nullptr;     // EVP_MD_CTX*
  void* sha256_ = nullptr;  // EVP_MD_CTX*, when the payload hash is signed
  std::string expected_sha256_;
  std::optional<std::string> content_md5_;  // base64, as sent
  std::optional<Checksum> checksum_;        // from a header
  std::optional<std::string> checksum_value_;
  std::string trailer_checksum_;            // the trailer's checksum name announced in x-amz-trailer
  std::optional<Checksum> trailer_sum_;
  std::optional<std::uint64_t> expected_size_;
  std::uint64_t max_bytes_ = 0;
  std::uint64_t size_ = 0;
  std::string md5_hex_;
  std::string md5_bin_;
  std::optional<S3Error> error_;
  std::optional<std::pair<std::string, std::string>> verified_;
};

}  // namespace hivehook::s3
