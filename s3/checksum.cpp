#include "s3/checksum.h"

#include <openssl/evp.h>

#include <boost/crc.hpp>
#include <variant>

namespace hivehook::s3 {

namespace {

using Crc32 = boost::crc_32_type;                                                         // ISO-HDLC (zlib)
using Crc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;     // Castagnoli
using Crc64Nvme = boost::crc_optimal<64, 0xAD93D23594C93659ULL, ~0ULL, ~0ULL, true, true>;  // NVMe

struct Md {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  explicit Md(const EVP_MD* md) { EVP_DigestInit_ex(ctx.get(), md, nullptr); }
};

template <class T>
std::string big_endian(T v) {
  std::string out(sizeof(T), '\0');
  for (std::size_t i = 0; i < sizeof(T); ++i) out[sizeof(T) - 1 - i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

}  // namespace

struct Checksum::Impl {
  std::variant<Crc32, Crc32c, Crc64Nvme, std::shared_ptr<Md>> state;
};

Checksum::Checksum(std::string name, std::unique_ptr<Impl> impl) : name_(std::move(name)), impl_(std::move(impl)) {}
Checksum::Checksum(Checksum&&) noexcept = default;
Checksum& Checksum::operator=(Checksum&&) noexcept = default;
Checksum::~Checksum() = default;

std::optional<Checksum> Checksum::for_name(std::string_view header_name) {
  std::string n(header_name);
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto impl = std::make_unique<Impl>();
  if (n == "x-amz-checksum-crc32") impl->state = Crc32();
  else if (n == "x-amz-checksum-crc32c") impl->state = Crc32c();
  else if (n == "x-amz-checksum-crc64nvme") impl->state = Crc64Nvme();
  else if (n == "x-amz-checksum-sha1") impl->state = std::make_shared<Md>(EVP_sha1());
  else if (n == "x-amz-checksum-sha256") impl->state = std::make_shared<Md>(EVP_sha256());
  else return std::nullopt;
  return Checksum(std::move(n), std::move(impl));
}

void Checksum::update(std::string_view data) {
  std::visit(
      [&](auto& s) {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, std::shared_ptr<Md>>)
          EVP_DigestUpdate(s->ctx.get(), data.data(), data.size());
        else
          s.process_bytes(data.data(), data.size());
      },
      impl_->state);
}

std::string Checksum::base64() {
  return base64_encode(std::visit(
      [](auto& s) -> std::string {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, std::shared_ptr<Md>>) {
          unsigned char md[EVP_MAX_MD_SIZE];
          unsigned int len = 0;
          EVP_DigestFinal_ex(s->ctx.get(), md, &len);
          return std::string(reinterpret_cast<char*>(md), len);
        } else {
          return big_endian(s.checksum());
        }
      },
      impl_->state));
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * (text.size() / 4) + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t len = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  if (!text.empty() && text.back() == '=') --len;
  if (text.size() > 1 && text[text.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

}  // namespace hivehook::s3
