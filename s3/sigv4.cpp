#include "s3/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

namespace hivehook::s3 {

namespace {

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

}  // namespace

std::string hex_encode(std::string_view bytes) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string sha256_hex(std::string_view data) { return hex_encode(sha256(data)); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string uri_encode(std::string_view s, bool encode_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (unsigned char c : s) {
    if (unreserved(c) || (c == '/' && !encode_slash)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::optional<std::string> canonical_uri(std::string_view raw_path) {
  auto decoded = percent_decode(raw_path);
  if (!decoded) return std::nullopt;
  std::string uri = uri_encode(*decoded, false);
  if (uri.empty()) uri = "/";
  return uri;
}

std::optional<std::string> canonical_query(std::string_view raw_query, std::string_view drop) {
  std::vector<std::pair<std::string, std::string>> params;
  std::size_t start = 0;
  while (start <= raw_query.size() && !raw_query.empty()) {
    std::size_t end = raw_query.find('&', start);
    if (end == std::string_view::npos) end = raw_query.size();
    std::string_view part = raw_query.substr(start, end - start);
    start = end + 1;
    if (part.empty()) {
      if (end == raw_query.size()) break;
      continue;
    }
    const std::size_t eq = part.find('=');
    auto name = percent_decode(part.substr(0, eq));
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    if (!drop.empty() && *name == drop) continue;
    params.emplace_back(uri_encode(*name, true), uri_encode(*value, true));
    if (end == raw_query.size()) break;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [n, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += n;
    out.push_back('=');
    out += v;
  }
  return out;
}

std::string trim_header_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::string CanonicalRequest::str() const {
  std::string out = method + "\n" + uri + "\n" + query + "\n";
  for (const auto& [n, v] : headers) out += n + ":" + v + "\n";
  out += "\n" + signed_headers + "\n" + payload_hash;
  return out;
}

std::string signing_key(std::string_view secret, const Scope& scope) {
  std::string k = hmac_sha256("AWS4" + std::string(secret), scope.date);
  k = hmac_sha256(k, scope.region);
  k = hmac_sha256(k, scope.service);
  return hmac_sha256(k, "aws4_request");
}

std::string string_to_sign(std::string_view amz_date, const Scope& scope, std::string_view canonical_request) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope.str() + "\n" + sha256_hex(canonical_request);
}

std::string chunk_string_to_sign(std::string_view amz_date, const Scope& scope, std::string_view previous_signature,
                                 std::string_view chunk_sha256_hex) {
  static const std::string empty_hash = sha256_hex("");
  return "AWS4-HMAC-SHA256-PAYLOAD\n" + std::string(amz_date) + "\n" + scope.str() + "\n" +
         std::string(previous_signature) + "\n" + empty_hash + "\n" + std::string(chunk_sha256_hex);
}

std::string trailer_string_to_sign(std::string_view amz_date, const Scope& scope, std::string_view previous_signature,
                                   std::string_view trailer_sha256_hex) {
  return "AWS4-HMAC-SHA256-TRAILER\n" + std::string(amz_date) + "\n" + scope.str() + "\n" +
         std::string(previous_signature) + "\n" + std::string(trailer_sha256_hex);
}

std::string sign(std::string_view key, std::string_view sts) { return hex_encode(hmac_sha256(key, sts)); }

}  // namespace hivehook::s3
