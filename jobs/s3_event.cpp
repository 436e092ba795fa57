// The S3 event notification a job reads on stdin, shaped exactly like the one S3 sends to Lambda.
#include <openssl/evp.h>

#include <array>
#include <string>

#include "base/encoding.h"
#include "base/utf8.h"
#include "jobs/job_context.h"

namespace hivehook {
namespace {

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

// Stable per (run, attempt) so a replayed event carries the same ids, yet unique across runs.
std::array<unsigned char, 32> request_digest(const RunContext& ctx) {
  std::string seed = ctx.run_id + "#" + std::to_string(ctx.attempt);
  std::array<unsigned char, 32> md{};
  unsigned int len = 0;
  EVP_Digest(seed.data(), seed.size(), md.data(), &len, EVP_sha256(), nullptr);
  return md;
}

}  // namespace

std::string s3_encode_key(std::string_view key) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  out.reserve(key.size() * 3);
  for (char ch : key) {
    auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || c == '/') {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 0xF];
    }
  }
  return out;
}

nlohmann::json make_s3_event(const RunContext& ctx) {
  using nlohmann::json;
  const auto digest = request_digest(ctx);
  // Strings that come from file names are bytes, not necessarily UTF-8: sanitize them so the JSON
  // can always be dumped. s3.object.key needs no sanitizing and stays exact: it is %XX-encoded.
  const std::string bucket = utf8_sanitize(ctx.bucket);
  json partition = json::object();
  for (const auto& [name, value] : ctx.key.partition) partition[utf8_sanitize(name)] = utf8_sanitize(value);

  json record = {
      {"eventVersion", "2.1"},
      {"eventSource", "aws:s3"},
      {"awsRegion", utf8_sanitize(ctx.region)},
      {"eventTime", format_rfc3339_ms(ctx.event_time)},
      {"eventName", ctx.upload ? utf8_sanitize(ctx.upload->event_name) : std::string("ObjectCreated:Put")},
      {"userIdentity", {{"principalId", "hivehook"}}},
      {"requestParameters", {{"sourceIPAddress", "127.0.0.1"}}},
      {"responseElements",
       // An upload's: the ids its client got in the response, as S3's event carries them.
       {{"x-amz-request-id",
         ctx.upload ? utf8_sanitize(ctx.upload->request_id) : hex_upper(digest.data(), 8)},
        {"x-amz-id-2", ctx.upload ? utf8_sanitize(ctx.upload->id2)
                                  : base64({reinterpret_cast<const char*>(digest.data()), digest.size()})}}},
      {"s3",
       {{"s3SchemaVersion", "1.0"},
        {"configurationId", utf8_sanitize(ctx.rule)},
        {"bucket",
         {{"name", bucket}, {"ownerIdentity", {{"principalId", "hivehook"}}}, {"arn", "arn:aws:s3:::" + bucket}}},
        {"object",
         {{"key", s3_encode_key(ctx.key.key)},
          {"size", ctx.size},
          {"eTag", utf8_sanitize(ctx.etag)},
          {"sequencer", utf8_sanitize(ctx.sequencer)}}}}},
  };
  json hivehook = {
      {"path", utf8_sanitize(ctx.path.string())},
      {"key", utf8_sanitize(ctx.key.key)},
      {"table", utf8_sanitize(ctx.key.table)},
      {"partition", std::move(partition)},
      {"rule", utf8_sanitize(ctx.rule)},
      {"run_id", utf8_sanitize(ctx.run_id)},
      {"attempt", ctx.attempt},
  };
  return json{{"Records", json::array({std::move(record)})}, {"hivehook", std::move(hivehook)}};
}

std::string s3_event_json(const RunContext& ctx) {
  // make_s3_event already holds valid UTF-8 only; `replace` is the second line of defence.
  return make_s3_event(ctx).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace hivehook
