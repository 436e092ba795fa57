// SigV4 against the worked examples of the AWS documentation ("Examples: Signature Calculations"
// in sig-v4-header-based-auth.html, sigv4-query-string-auth.html and sigv4-streaming.html).
#include <gtest/gtest.h>

#include "s3/auth.h"
#include "s3/aws_chunked.h"
#include "s3/sigv4.h"

using namespace hivehook::s3;
using hivehook::percent_decode;
namespace bhttp = boost::beast::http;

namespace {

const Credentials kDocCreds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1"};
const auto kDocTime = *parse_amz_date("20130524T000000Z");
const std::string kEmptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::variant<Authorized, S3Error> check(std::string_view method, std::string_view target, const bhttp::fields& h,
                                        std::chrono::system_clock::time_point now = kDocTime,
                                        const Credentials& creds = kDocCreds) {
  return authenticate(AuthRequest{method, target, h}, creds, now);
}
std::string code(const std::variant<Authorized, S3Error>& r) {
  return std::holds_alternative<S3Error>(r) ? std::get<S3Error>(r).code : "OK";
}

bhttp::fields get_object_example(const std::string& signature) {
  bhttp::fields h;
  h.set("Host", "examplebucket.s3.amazonaws.com");
  h.set("Range", "bytes=0-9");
  h.set("x-amz-content-sha256", kEmptySha);
  h.set("x-amz-date", "20130524T000000Z");
  h.set("Authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=" + signature);
  return h;
}

TEST(SigV4, Primitives) {
  EXPECT_EQ(sha256_hex(""), kEmptySha);
  EXPECT_EQ(uri_encode("a b/c~d$e+f", false), "a%20b/c~d%24e%2Bf");
  EXPECT_EQ(uri_encode("a/b", true), "a%2Fb");
  EXPECT_EQ(percent_decode("a%2Fb%20c+"), "a/b c+");
  EXPECT_EQ(percent_decode("bad%2"), std::nullopt);
  EXPECT_EQ(percent_decode("bad%zz"), std::nullopt);
  EXPECT_EQ(canonical_uri("/test%24file.text"), "/test%24file.text");
  EXPECT_EQ(canonical_uri("/a$b"), "/a%24b");  // the same key, escaped the canonical way
  EXPECT_EQ(canonical_query("prefix=J&max-keys=2"), "max-keys=2&prefix=J");
  EXPECT_EQ(canonical_query("uploads"), "uploads=");
  EXPECT_EQ(canonical_query("a=1&X-Amz-Signature=zz", "X-Amz-Signature"), "a=1");
  EXPECT_EQ(trim_header_value("  a   b  c "), "a b c");
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

TEST(SigV4, HeaderAuthGetObjectDocExample) {
  auto r = check("GET", "/test.txt",
                 get_object_example("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"));
  ASSERT_EQ(code(r), "OK");
  EXPECT_EQ(std::get<Authorized>(r).payload, Payload::sha256);
  EXPECT_EQ(std::get<Authorized>(r).payload_sha256, kEmptySha);
}

TEST(SigV4, HeaderAuthPutObjectDocExample) {
  bhttp::fields h;
  h.set("Host", "examplebucket.s3.amazonaws.com");
  h.set("Date", "Fri, 24 May 2013 00:00:00 GMT");
  h.set("x-amz-date", "20130524T000000Z");
  h.set("x-amz-storage-class", "REDUCED_REDUNDANCY");
  h.set("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  h.set("Authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
        "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  EXPECT_EQ(code(check("PUT", "/test%24file.text", h)), "OK");
  EXPECT_EQ(code(check("PUT", "/test$file.text", h)), "OK");  // the same path, escaped otherwise
  EXPECT_EQ(code(check("PUT", "/test%24file.txt", h)), "SignatureDoesNotMatch");
}

TEST(SigV4, HeaderAuthListObjectsDocExample) {
  bhttp::fields h;
  h.set("Host", "examplebucket.s3.amazonaws.com");
  h.set("x-amz-date", "20130524T000000Z");
  h.set("x-amz-content-sha256", kEmptySha);
  h.set("Authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
        "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  EXPECT_EQ(code(check("GET", "/?max-keys=2&prefix=J", h)), "OK");
  EXPECT_EQ(code(check("GET", "/?prefix=J&max-keys=2", h)), "OK");  // the order of parameters is not signed
  EXPECT_EQ(code(check("GET", "/?max-keys=3&prefix=J", h)), "SignatureDoesNotMatch");
}

TEST(SigV4, PresignedDocExampleAndExpiry) {
  bhttp::fields h;
  h.set("Host", "examplebucket.s3.amazonaws.com");
  const std::string target =
      "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
      "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
      "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
  auto ok = check("GET", target, h, kDocTime + std::chrono::hours(23));
  ASSERT_EQ(code(ok), "OK");
  EXPECT_TRUE(std::get<Authorized>(ok).presigned);
  auto expired = check("GET", target, h, kDocTime + std::chrono::hours(24) + std::chrono::seconds(1));
  EXPECT_EQ(code(expired), "AccessDenied");
  EXPECT_EQ(std::get<S3Error>(expired).message, "Request has expired");
  EXPECT_EQ(code(check("GET", target.substr(0, target.size() - 1) + "5", h)), "SignatureDoesNotMatch");
}

TEST(SigV4, RefusalsHaveS3sCodes) {
  const std::string sig = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
  // Wrong secret: the signature no longer matches.
  Credentials wrong = kDocCreds;
  wrong.secret_access_key = "not-the-secret";
  auto mismatch = check("GET", "/test.txt", get_object_example(sig), kDocTime, wrong);
  ASSERT_EQ(code(mismatch), "SignatureDoesNotMatch");
  EXPECT_EQ(std::get<S3Error>(mismatch).status, 403u);
  // Unknown access key.
  Credentials other = kDocCreds;
  other.access_key_id = "SOMEONEELSE";
  EXPECT_EQ(code(check("GET", "/test.txt", get_object_example(sig), kDocTime, other)), "InvalidAccessKeyId");
  // Clock skew beyond 15 minutes either way.
  EXPECT_EQ(code(check("GET", "/test.txt", get_object_example(sig), kDocTime + std::chrono::minutes(16))),
            "RequestTimeTooSkewed");
  EXPECT_EQ(code(check("GET", "/test.txt", get_object_example(sig), kDocTime - std::chrono::minutes(16))),
            "RequestTimeTooSkewed");
  EXPECT_EQ(code(check("GET", "/test.txt", get_object_example(sig), kDocTime + std::chrono::minutes(14))), "OK");
  // Another region in the scope.
  Credentials eu = kDocCreds;
  eu.region = "eu-west-1";
  auto region = check("GET", "/test.txt", get_object_example(sig), kDocTime, eu);
  ASSERT_EQ(code(region), "AuthorizationHeaderMalformed");
  EXPECT_EQ(std::get<S3Error>(region).details.front(), (std::pair<std::string, std::string>{"Region", "eu-west-1"}));
  // Anonymous, SigV2, and no x-amz-content-sha256.
  bhttp::fields none;
  none.set("Host", "h");
  EXPECT_EQ(code(check("GET", "/b/k", none)), "AccessDenied");
  bhttp::fields v2;
  v2.set("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=");
  EXPECT_EQ(code(check("GET", "/b/k", v2)), "InvalidRequest");
  auto h = get_object_example(sig);
  h.erase("x-amz-content-sha256");
  EXPECT_EQ(code(check("GET", "/test.txt", h)), "InvalidRequest");
  // Garbage.
  bhttp::fields junk;
  junk.set("Authorization", "AWS4-HMAC-SHA256 nonsense");
  EXPECT_EQ(code(check("GET", "/b/k", junk)), "AuthorizationHeaderMalformed");
}

AwsChunkedDecoder::Signing doc_signing() {
  const Scope scope{"20130524", "us-east-1", "s3"};
  return {signing_key(kDocCreds.secret_access_key, scope), "20130524T000000Z", scope,
          "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"};
}

std::string doc_chunked_body(const std::string& sig1, const std::string& sig2, const std::string& sig3) {
  return "10000;chunk-signature=" + sig1 + "\r\n" + std::string(65536, 'a') + "\r\n400;chunk-signature=" + sig2 +
         "\r\n" + std::string(1024, 'a') + "\r\n0;chunk-signature=" + sig3 + "\r\n\r\n";
}
const std::string kSig1 = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
const std::string kSig2 = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";
const std::string kSig3 = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";

TEST(SigV4, StreamingSeedSignatureDocExample) {
  bhttp::fields h;
  h.set("Host", "s3.amazonaws.com");
  h.set("x-amz-date", "20130524T000000Z");
  h.set("x-amz-storage-class", "REDUCED_REDUNDANCY");
  h.set("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
  h.set("Content-Encoding", "aws-chunked");
  h.set("x-amz-decoded-content-length", "66560");
  h.set("Content-Length", "66824");
  h.set("Authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
        "x-amz-decoded-content-length;x-amz-storage-class,"
        "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  auto r = check("PUT", "/examplebucket/chunkObject.txt", h);
  ASSERT_EQ(code(r), "OK");
  const auto& a = std::get<Authorized>(r);
  EXPECT_EQ(a.payload, Payload::streaming_signed);
  EXPECT_EQ(a.seed_signature, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  EXPECT_EQ(a.signing_key, doc_signing().key);
}

// Fed in every split (one byte at a time included), the documented body decodes to 66,560 'a's.
TEST(AwsChunked, DocExampleDecodesAndVerifiesInAnySplit) {
  const std::string body = doc_chunked_body(kSig1, kSig2, kSig3);
  ASSERT_EQ(body.size(), 66824u);
  for (std::size_t step : {body.size(), std::size_t{1}, std::size_t{7}, std::size_t{4096}, std::size_t{65536}}) {
    AwsChunkedDecoder d(doc_signing(), false);
    std::string out;
    for (std::size_t i = 0; i < body.size(); i += step)
      ASSERT_TRUE(d.feed(std::string_view(body).substr(i, step), [&](std::string_view p) {
        out.append(p);
        return true;
      })) << (d.error() ? d.error()->message : "sink") << " step " << step;
    EXPECT_TRUE(d.done());
    EXPECT_EQ(out, std::string(66560, 'a'));
    EXPECT_EQ(d.decoded_bytes(), 66560u);
  }
}

TEST(AwsChunked, ForgedChunkIsRefusedBeforeTheNextOne) {
  std::string body = doc_chunked_body(kSig1, kSig2, kSig3);
  body[100] = 'b';  // one byte of chunk 1 changed in transit
  AwsChunkedDecoder d(doc_signing(), false);
  EXPECT_FALSE(d.feed(body, [](std::string_view) { return true; }));
  ASSERT_TRUE(d.error());
  EXPECT_EQ(d.error()->code, "SignatureDoesNotMatch");
  EXPECT_NE(d.error()->message.find("chunk 1"), std::string::npos);
  // Chunks swapped or a chunk signature from another chain.
  AwsChunkedDecoder d2(doc_signing(), false);
  EXPECT_FALSE(d2.feed(doc_chunked_body(kSig2, kSig1, kSig3), [](std::string_view) { return true; }));
  EXPECT_EQ(d2.error()->code, "SignatureDoesNotMatch");
  // A body cut before its final chunk never reports done().
  AwsChunkedDecoder d3(doc_signing(), false);
  const std::string full = doc_chunked_body(kSig1, kSig2, kSig3);
  EXPECT_TRUE(d3.feed(std::string_view(full).substr(0, 66000), [](std::string_view) { return true; }));
  EXPECT_FALSE(d3.done());
}

TEST(AwsChunked, UnsignedTrailerBody) {
  AwsChunkedDecoder d(std::nullopt, true);
  std::string out;
  const std::string body = "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
  ASSERT_TRUE(d.feed(body, [&](std::string_view p) {
    out.append(p);
    return true;
  }));
  EXPECT_TRUE(d.done());
  EXPECT_EQ(out, "hello world");
  ASSERT_EQ(d.trailers().size(), 1u);
  EXPECT_EQ(d.trailers()[0].first, "x-amz-checksum-crc32");
}

TEST(AwsChunked, MalformedFramingIsIncompleteBody) {
  for (std::string bad : {std::string("zz\r\nabc"), std::string("3\r\nabcdef\r\n"), std::string("3\nabc"),
                          std::string("11111111111111111\r\n"), "5\r\n" + std::string(3, 'a') + "\r\n\r\n0\r\n\r\nx"}) {
    AwsChunkedDecoder d(std::nullopt, false);
    EXPECT_FALSE(d.feed(bad, [](std::string_view) { return true; })) << bad;
    ASSERT_TRUE(d.error()) << bad;
    EXPECT_EQ(d.error()->code, "IncompleteBody");
  }
}

}  // namespace
