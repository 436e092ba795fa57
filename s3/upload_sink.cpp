#include "s3/upload_sink.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hivehook::s3 {

namespace {

namespace bhttp = boost::beast::http;

EVP_MD_CTX* ctx(void* p) { return static_cast<EVP_MD_CTX*>(p); }

std::string_view header(const bhttp::fields& h, std::string_view name) {
  auto it = h.find(boost::beast::string_view(name.data(), name.size()));
  if (it == h.end()) return {};
  return {it->value().data(), it->value().size()};
}

std::optional<std::uint64_t> parse_size(std::string_view v) {
  if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  return std::stoull(std::string(v));
}

std::string digest(void* c) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx(c), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

}  // namespace

std::variant<std::unique_ptr<UploadSink>, S3Error> UploadSink::create(const Authorized& auth, const bhttp::fields& h,
                                                                     TempFile file, std::uint64_t max_bytes) {
  std::unique_ptr<UploadSink> s(new UploadSink(std::move(file)));
  s->max_bytes_ = max_bytes;
  s->md5_ = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx(s->md5_), EVP_md5(), nullptr);

  const bool streaming = is_streaming(auth.payload);
  if (streaming) {
    auto decoded = parse_size(header(h, "x-amz-decoded-content-length"));
    if (!decoded) return errors::missing_content_length().with("Detail", "x-amz-decoded-content-length is required for aws-chunked uploads");
    s->expected_size_ = *decoded;
    std::optional<AwsChunkedDecoder::Signing> signing;
    if (auth.payload != Payload::streaming_unsigned_trailer)
      signing = AwsChunkedDecoder::Signing{auth.signing_key, auth.amz_date, auth.scope, auth.seed_signature};
    s->chunked_ = std::make_unique<AwsChunkedDecoder>(std::move(signing), auth.payload != Payload::streaming_signed);
  } else {
    const std::string_view cl = header(h, "content-length");
    if (!cl.empty()) {
      auto n = parse_size(cl);
      if (!n) return errors::invalid_argument("Content-Length must be a number", "Content-Length", std::string(cl));
      s->expected_size_ = *n;
    } else if (!boost::beast::iequals(header(h, "transfer-encoding"), "chunked")) {
      return errors::missing_content_length();
    }
  }
  if (s->expected_size_ && *s->expected_size_ > max_bytes) return errors::entity_too_large(max_bytes);

  if (auth.payload == Payload::sha256) {
    s->expected_sha256_ = auth.payload_sha256;
    s->sha256_ = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx(s->sha256_), EVP_sha256(), nullptr);
  }
  if (const std::string_view md5 = header(h, "content-md5"); !md5.empty()) {
    auto raw = base64_decode(md5);
    if (!raw || raw->size() != 16)
      return S3Error{400, "InvalidDigest", "The Content-MD5 you specified was invalid.", {}};
    s->content_md5_ = std::string(md5);
  }
  for (const auto& f : h) {
    std::string_view name{f.name_string().data(), f.name_string().size()};
    if (auto c = Checksum::for_name(name)) {
      s->checksum_ = std::move(c);
      s->checksum_value_ = std::string(f.value());
    }
  }
  if (const std::string_view t = header(h, "x-amz-trailer"); !t.empty() && s->chunked_) {
    s->trailer_sum_ = Checksum::for_name(t);
    if (!s->trailer_sum_) return errors::invalid_argument("x-amz-trailer names an unknown checksum", "x-amz-trailer", std::string(t));
    s->trailer_checksum_ = s->trailer_sum_->name();
  }
  return s;
}

UploadSink::~UploadSink() {
  if (md5_) EVP_MD_CTX_free(ctx(md5_));
  if (sha256_) EVP_MD_CTX_free(ctx(sha256_));
}

bool UploadSink::fail(S3Error e) {
  if (!error_) error_ = std::move(e);
  return false;
}

bool UploadSink::write(std::string_view payload) {
  size_ += payload.size();
  if (size_ > max_bytes_) return fail(errors::entity_too_large(max_bytes_));
  if (expected_size_ && size_ > *expected_size_)
    return fail(errors::incomplete_body("the body is longer than its declared length"));
  EVP_DigestUpdate(ctx(md5_), payload.data(), payload.size());
  if (sha256_) EVP_DigestUpdate(ctx(sha256_), payload.data(), payload.size());
  if (checksum_) checksum_->update(payload);
  if (trailer_sum_) trailer_sum_->update(payload);
  while (!payload.empty()) {
    const ssize_t n = ::write(file_.fd(), payload.data(), payload.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      if (err == ENOSPC || err == EDQUOT)
        return fail(S3Error{507, "InsufficientStorage", "No space left to store the object: " + std::string(std::strerror(err)), {}});
      return fail(errors::internal_error("cannot write " + file_.path() + ": " + std::strerror(err)));
    }
    payload.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool UploadSink::on_data(std::string_view raw) {
  if (error_) return false;
  if (!chunked_) return write(raw);
  if (!chunked_->feed(raw, [this](std::string_view p) { return write(p); })) {
    if (chunked_->error()) return fail(*chunked_->error());
    return false;
  }
  return true;
}

std::optional<S3Error> UploadSink::finish() {
  if (error_) return error_;
  if (chunked_ && !chunked_->done()) return errors::incomplete_body("the aws-chunked body ended before its final chunk");
  if (expected_size_ && size_ != *expected_size_)
    return errors::incomplete_body("You did not provide the number of bytes specified by the Content-Length HTTP header");
  md5_bin_ = digest(md5_);
  md5_hex_ = hex_encode(md5_bin_);
  if (sha256_) {
    const std::string got = hex_encode(digest(sha256_));
    if (got != expected_sha256_) return errors::content_sha256_mismatch(expected_sha256_, got);
  }
  if (content_md5_ && base64_encode(md5_bin_) != *content_md5_)
    return errors::bad_digest("The Content-MD5 you specified did not match what we received.");
  if (checksum_) {
    if (checksum_->base64() != *checksum_value_)
      return errors::bad_digest("The " + checksum_->name() + " you specified did not match the calculated checksum.");
    verified_ = std::make_pair(checksum_->name(), *checksum_value_);
  }
  if (trailer_sum_) {
    std::optional<std::string> sent;
    for (const auto& [n, v] : chunked_->trailers())
      if (n == trailer_checksum_) sent = v;
    if (!sent) return errors::invalid_request("the trailer announced in x-amz-trailer was not sent");
    if (trailer_sum_->base64() != *sent)
      return errors::bad_digest("The " + trailer_checksum_ + " you specified did not match the calculated checksum.");
    verified_ = std::make_pair(trailer_checksum_, *sent);
  }
  return std::nullopt;
}

std::string UploadSink::md5_raw() const { return md5_bin_; }

std::optional<std::pair<std::string, std::string>> UploadSink::verified_checksum() const { return verified_; }

}  // namespace hivehook::s3
