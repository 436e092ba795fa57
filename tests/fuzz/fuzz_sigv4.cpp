// fuzz-link: hivehook_s3
// Fuzzes SigV4 canonicalisation and the aws-chunked decoder with properties that must hold for
// every input: a canonical URI or query is a fixed point and only holds unreserved bytes and
// upper-case %XX escapes; UriEncode is undone by percent-decoding; the chunked decoder gives the
// same bytes and the same verdict whatever the split of its input.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "s3/aws_chunked.h"
#include "s3/sigv4.h"

using namespace hivehook::s3;
using hivehook::percent_decode;

namespace {

bool canonical_bytes_only(std::string_view s, bool allow_slash, bool allow_query) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '_' || c == '.' || c == '~';
    if (unreserved || (allow_slash && c == '/') || (allow_query && (c == '=' || c == '&'))) continue;
    if (c != '%' || i + 2 >= s.size()) return false;
    for (int k = 1; k <= 2; ++k) {
      const char h = s[i + k];
      if (!((h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'))) return false;
    }
    i += 2;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  if (auto uri = canonical_uri(in)) {
    if (!canonical_bytes_only(*uri, true, false)) std::abort();
    if (canonical_uri(*uri) != *uri) std::abort();
  }
  if (auto q = canonical_query(in)) {
    if (!canonical_bytes_only(*q, false, true)) std::abort();
    if (canonical_query(*q) != *q) std::abort();
  }
  if (percent_decode(uri_encode(in, true)) != std::string(in)) std::abort();
  if (percent_decode(uri_encode(in, false)) != std::string(in)) std::abort();
  const std::string trimmed = trim_header_value(in);
  if (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.back() == ' ' || trimmed.find("  ") != std::string::npos))
    std::abort();

  // The decoder, unsigned and signed with a fixed chain, whole and byte by byte.
  const Scope scope{"20130524", "us-east-1", "s3"};
  for (int signed_mode = 0; signed_mode < 2; ++signed_mode) {
    std::optional<AwsChunkedDecoder::Signing> signing;
    if (signed_mode)
      signing = AwsChunkedDecoder::Signing{signing_key("secret", scope), "20130524T000000Z", scope, std::string(64, 'a')};
    AwsChunkedDecoder whole(signing, (size & 1) != 0), bytes(signing, (size & 1) != 0);
    std::string a, b;
    const bool ok_whole = whole.feed(in, [&](std::string_view p) {
      a.append(p);
      return true;
    });
    bool ok_bytes = true;
    for (std::size_t i = 0; i < in.size() && ok_bytes; ++i)
      ok_bytes = bytes.feed(in.substr(i, 1), [&](std::string_view p) {
        b.append(p);
        return true;
      });
    if (ok_whole != ok_bytes || a != b || whole.done() != bytes.done()) std::abort();
    if (ok_whole && whole.decoded_bytes() != a.size()) std::abort();
  }
  return 0;
}
