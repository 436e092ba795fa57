#include "base/encoding.h"

#include <openssl/evp.h>

namespace hivehook {

namespace {
std::string hex_with(const char* digits, const unsigned char* data, std::size_t size) {
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0xf]);
  }
  return out;
}
}  // namespace

std::string hex_lower(const unsigned char* data, std::size_t size) { return hex_with("0123456789abcdef", data, size); }
std::string hex_upper(const unsigned char* data, std::size_t size) { return hex_with("0123456789ABCDEF", data, size); }

std::string base64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

}  // namespace hivehook
