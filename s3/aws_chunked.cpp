#include "s3/aws_chunked.h"

#include <openssl/evp.h>

namespace hivehook::s3 {

namespace {

EVP_MD_CTX* ctx_of(void* p) { return static_cast<EVP_MD_CTX*>(p); }

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

S3Error malformed(const std::string& why) { return errors::incomplete_body("malformed aws-chunked body: " + why); }

}  // namespace

AwsChunkedDecoder::AwsChunkedDecoder(std::optional<Signing> signing, bool trailer)
    : signing_(std::move(signing)), trailer_(trailer) {
  if (signing_) {
    previous_ = signing_->seed;
    chunk_hash_ = EVP_MD_CTX_new();
  }
}

AwsChunkedDecoder::~AwsChunkedDecoder() {
  if (chunk_hash_) EVP_MD_CTX_free(ctx_of(chunk_hash_));
}

bool AwsChunkedDecoder::fail(S3Error e) {
  if (!error_) error_ = std::move(e);
  state_ = State::done;
  return false;
}

bool AwsChunkedDecoder::header_line(std::string_view line) {
  // "<hex>[;name=value]*"
  const std::size_t semi = line.find(';');
  const std::string_view size = line.substr(0, semi);
  if (size.empty() || size.size() > 16) return fail(malformed("bad chunk size"));
  std::uint64_t n = 0;
  for (char c : size) {
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (v < 0) return fail(malformed("bad chunk size"));
    n = n * 16 + static_cast<std::uint64_t>(v);
  }
  chunk_signature_.clear();
  std::string_view ext = semi == std::string_view::npos ? std::string_view() : line.substr(semi + 1);
  while (!ext.empty()) {
    const std::size_t next = ext.find(';');
    std::string_view item = ext.substr(0, next);
    ext = next == std::string_view::npos ? std::string_view() : ext.substr(next + 1);
    const std::size_t eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq) == "chunk-signature") chunk_signature_ = std::string(item.substr(eq + 1));
  }
  if (signing_ && !is_hex64(chunk_signature_)) return fail(errors::signature_does_not_match("a chunk has no valid chunk-signature"));
  chunk_size_ = remaining_ = n;
  if (signing_) EVP_DigestInit_ex(ctx_of(chunk_hash_), EVP_sha256(), nullptr);
  if (n == 0) {
    if (!chunk_complete()) return false;
    state_ = trailer_ ? State::trailer : State::final_crlf;
    return true;
  }
  state_ = State::data;
  return true;
}

// A chunk's data has fully arrived: check its signature against the chain.
bool AwsChunkedDecoder::chunk_complete() {
  ++chunks_;
  if (!signing_) return true;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_of(chunk_hash_), md, &len);
  const std::string hash = hex_encode(std::string_view(reinterpret_cast<char*>(md), len));
  const std::string expected =
      sign(signing_->key, chunk_string_to_sign(signing_->amz_date, signing_->scope, previous_, hash));
  if (!constant_time_equal(expected, chunk_signature_))
    return fail(errors::signature_does_not_match("chunk " + std::to_string(chunks_) + " has a wrong chunk-signature"));
  previous_ = expected;
  return true;
}

bool AwsChunkedDecoder::trailer_line(std::string_view line) {
  if (line.empty()) {  // the end of the trailer
    if (signing_ && !trailer_verified_)
      return fail(errors::signature_does_not_match("the trailer has no x-amz-trailer-signature"));
    state_ = State::done;
    return true;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return fail(malformed("bad trailer line"));
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (name == "x-amz-trailer-signature") {
    if (!signing_) return true;  // an unsigned trailer has nothing to check it against
    const std::string expected = sign(
        signing_->key, trailer_string_to_sign(signing_->amz_date, signing_->scope, previous_, sha256_hex(trailer_canonical_)));
    if (!constant_time_equal(expected, value)) return fail(errors::signature_does_not_match("wrong x-amz-trailer-signature"));
    trailer_verified_ = true;
    return true;
  }
  if (trailer_verified_) return fail(malformed("trailer fields after the trailer signature"));
  trailer_canonical_ += name + ":" + std::string(value) + "\n";
  trailers_.emplace_back(std::move(name), std::string(value));
  return true;
}

bool AwsChunkedDecoder::feed(std::string_view in, const Sink& out) {
  while (!in.empty()) {
    switch (state_) {
      case State::done:
        if (error_) return false;
        return fail(malformed("data after the final chunk"));
      case State::final_crlf: {
        // The CRLF after the final chunk's header; tolerated when absent at the very end.
        crlf_.push_back(in.front());
        in.remove_prefix(1);
        if (crlf_ == "\r") break;
        if (crlf_ != "\r\n") return fail(malformed("data after the final chunk"));
        crlf_.clear();
        state_ = State::done;
        break;
      }
      case State::header:
      case State::trailer: {
        const std::size_t nl = in.find('\n');
        const std::string_view part = in.substr(0, nl == std::string_view::npos ? in.size() : nl + 1);
        if (line_.size() + part.size() > kMaxLine) return fail(malformed("a chunk header or trailer line is too long"));
        line_.append(part);
        in.remove_prefix(part.size());
        if (nl == std::string_view::npos) break;
        if (line_.size() < 2 || line_[line_.size() - 2] != '\r') return fail(malformed("lines must end with CRLF"));
        std::string line = std::move(line_);
        line_.clear();
        line.resize(line.size() - 2);
        if (state_ == State::header ? !header_line(line) : !trailer_line(line)) return false;
        break;
      }
      case State::data: {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
        const std::string_view piece = in.substr(0, n);
        if (signing_) EVP_DigestUpdate(ctx_of(chunk_hash_), piece.data(), piece.size());
        remaining_ -= n;
        decoded_ += n;
        in.remove_prefix(n);
        if (!out(piece)) return false;
        if (remaining_ == 0) state_ = State::data_crlf;
        break;
      }
      case State::data_crlf: {
        crlf_.push_back(in.front());
        in.remove_prefix(1);
        if (crlf_ == "\r") break;
        if (crlf_ != "\r\n") return fail(malformed("a chunk's data is longer than its size"));
        crlf_.clear();
        if (!chunk_complete()) return false;
        state_ = State::header;
        break;
      }
    }
  }
  return !error_;
}

}  // namespace hivehook::s3
