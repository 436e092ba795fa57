// X-Hivehook-Signature: HMAC-SHA256 over "<t>.<body>", as Stripe-style receivers verify it.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/encoding.h"
#include "notify/sender.h"

namespace hivehook {

std::string webhook_signature(const std::string& secret, long long unix_seconds, const std::string& body) {
  std::string t = std::to_string(unix_seconds);
  std::string message = t + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len))
    return {};
  std::string out = "t=" + t + ",v1=" + hex_lower(mac, len);
  return out;
}

}  // namespace hivehook
