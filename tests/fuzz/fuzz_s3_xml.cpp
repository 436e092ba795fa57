// libFuzzer entry point for S3's request documents (s3/xml.h): the whole input is a body, parsed as
// a DeleteObjects and as a CompleteMultipartUpload document. Never crashes (a deep body was a stack
// overflow); a refusal always says why.
// fuzz-link: hivehook_s3
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "s3/xml.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  std::string error;
  if (!hivehook::s3::parse_delete(in, &error) && error.empty()) std::abort();
  error.clear();
  if (!hivehook::s3::parse_complete_multipart(in, &error) && error.empty()) std::abort();
  return 0;
}
