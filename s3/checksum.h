// The additional checksums S3 clients may send with an upload (x-amz-checksum-crc32, -crc32c,
// -crc64nvme, -sha1, -sha256: base64 of the big-endian digest), as a header or an aws-chunked
// trailer (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace hivehook::s3 {

class Checksum {
 public:
  // For a header or trailer name ("x-amz-checksum-crc32", any case); nullopt when it is not one
  // of S3's checksum names.
  static std::optional<Checksum> for_name(std::string_view header_name);
  Checksum(Checksum&&) noexcept;
  Checksum& operator=(Checksum&&) noexcept;
  ~Checksum();

  void update(std::string_view data);
  std::string base64();         // the digest of everything so far, as S3 writes it (once)
  const std::string& name() const { return name_; }  // "x-amz-checksum-crc32"

 private:
  struct Impl;
  explicit Checksum(std::string name, std::unique_ptr<Impl> impl);
  std::string name_;
  std::unique_ptr<Impl> impl_;
};

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace hivehook::s3
