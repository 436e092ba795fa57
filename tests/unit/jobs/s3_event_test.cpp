#include <gtest/gtest.h>

#include "jobs/job_context.h"
#include "base/utf8.h"
#include "support.h"

namespace hivehook {
namespace {

TEST(S3EncodeKey, EncodesAsS3DoesInEventNotifications) {
  EXPECT_EQ(s3_encode_key("a/b/c.csv"), "a/b/c.csv");
  EXPECT_EQ(s3_encode_key("AZaz09-_.~/"), "AZaz09-_.~/");
  EXPECT_EQ(s3_encode_key("my file.csv"), "my+file.csv");
  EXPECT_EQ(s3_encode_key("a+b"), "a%2Bb");
  EXPECT_EQ(s3_encode_key("100%"), "100%25");
  EXPECT_EQ(s3_encode_key("year=2023/x"), "year%3D2023/x");
  EXPECT_EQ(s3_encode_key("caf\xC3\xA9"), "caf%C3%A9");
  EXPECT_EQ(s3_encode_key("\xE6\x97\xA5\xE6\x9C\xAC"), "%E6%97%A5%E6%9C%AC");
  EXPECT_EQ(s3_encode_key("bad\xFF\xFE"), "bad%FF%FE");
  EXPECT_EQ(s3_encode_key("$(x);'\"\n"), "%24%28x%29%3B%27%22%0A");
  EXPECT_EQ(s3_encode_key("*!@#&,:?"), "%2A%21%40%23%26%2C%3A%3F");
}

TEST(S3Event, HasTheShapeOfAnS3Notification) {
  auto ctx = test::sample_context("transactions/year=2023/month=03/day=15/t 1.csv");
  nlohmann::json e = make_s3_event(ctx);
  ASSERT_EQ(e["Records"].size(), 1u);
  const auto& r = e["Records"][0];
  EXPECT_EQ(r["eventVersion"], "2.1");
  EXPECT_EQ(r["eventSource"], "aws:s3");
  EXPECT_EQ(r["awsRegion"], "local");
  EXPECT_EQ(r["eventTime"], "2023-03-15T13:45:12.345Z");
  EXPECT_EQ(r["eventName"], "ObjectCreated:Put");
  EXPECT_EQ(r["userIdentity"]["principalId"], "hivehook");
  EXPECT_EQ(r["requestParameters"]["sourceIPAddress"], "127.0.0.1");
  EXPECT_EQ(r["responseElements"]["x-amz-request-id"].get<std::string>().size(), 16u);
  EXPECT_FALSE(r["responseElements"]["x-amz-id-2"].get<std::string>().empty());
  const auto& s3 = r["s3"];
  EXPECT_EQ(s3["s3SchemaVersion"], "1.0");
  EXPECT_EQ(s3["configurationId"], "transactions-etl");
  EXPECT_EQ(s3["bucket"]["name"], "landing");
  EXPECT_EQ(s3["bucket"]["ownerIdentity"]["principalId"], "hivehook");
  EXPECT_EQ(s3["bucket"]["arn"], "arn:aws:s3:::landing");
  EXPECT_EQ(s3["object"]["key"], "transactions/year%3D2023/month%3D03/day%3D15/t+1.csv");
  EXPECT_EQ(s3["object"]["size"], 1234);
  EXPECT_EQ(s3["object"]["eTag"], "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(s3["object"]["sequencer"], "0055AED6DCD90281E5");

  const auto& h = e["hivehook"];
  EXPECT_EQ(h["path"], "/srv/landing/transactions/year=2023/month=03/day=15/t 1.csv");
  EXPECT_EQ(h["key"], "transactions/year=2023/month=03/day=15/t 1.csv");
  EXPECT_EQ(h["table"], "transactions");
  EXPECT_EQ(h["partition"], (nlohmann::json{{"year", "2023"}, {"month", "03"}, {"day", "15"}}));
  EXPECT_EQ(h["rule"], "transactions-etl");
  EXPECT_EQ(h["run_id"], "run-0001");
  EXPECT_EQ(h["attempt"], 2);
}

TEST(S3Event, AnUploadNamesItsOperationAndCarriesTheRequestIdsItsClientGot) {
  auto ctx = test::sample_context();
  ctx.upload = UploadEvent{"ObjectCreated:Copy", "4442587FB7D0A2F9", "aWQtMi1vZi10aGUtY29weQ=="};
  const nlohmann::json e = make_s3_event(ctx);
  const auto& r = e["Records"][0];
  EXPECT_EQ(r["eventName"], "ObjectCreated:Copy");
  EXPECT_EQ(r["responseElements"]["x-amz-request-id"], "4442587FB7D0A2F9");
  EXPECT_EQ(r["responseElements"]["x-amz-id-2"], "aWQtMi1vZi10aGUtY29weQ==");
  // Every attempt of the run is told the same upload.
  ctx.attempt = 3;
  EXPECT_EQ(make_s3_event(ctx)["Records"][0]["responseElements"]["x-amz-request-id"], "4442587FB7D0A2F9");
}

TEST(S3Event, RequestIdsAreStablePerAttemptAndDifferAcrossAttempts) {
  auto ctx = test::sample_context();
  auto a = make_s3_event(ctx), b = make_s3_event(ctx);
  ctx.attempt = 3;
  auto c = make_s3_event(ctx);
  const auto id = [](const nlohmann::json& e) { return e["Records"][0]["responseElements"]["x-amz-request-id"]; };
  EXPECT_EQ(id(a), id(b));
  EXPECT_NE(id(a), id(c));
}

TEST(S3Event, NonUtf8NamesNeverThrowAndTheEncodedKeyStaysExact) {
  auto ctx = test::sample_context("raw/day=\xFF/bad\xC3(\xFE.csv");
  nlohmann::json e;
  ASSERT_NO_THROW(e = make_s3_event(ctx));
  std::string dumped;
  ASSERT_NO_THROW(dumped = e.dump());  // even the default (strict) dump is safe
  EXPECT_EQ(dumped, s3_event_json(ctx));
  EXPECT_EQ(e["Records"][0]["s3"]["object"]["key"], "raw/day%3D%FF/bad%C3%28%FE.csv");
  EXPECT_EQ(e["hivehook"]["key"], "raw/day=\xEF\xBF\xBD/bad\xEF\xBF\xBD(\xEF\xBF\xBD.csv");
  EXPECT_EQ(e["hivehook"]["partition"]["day"], "\xEF\xBF\xBD");
  EXPECT_TRUE(nlohmann::json::accept(dumped));
}

TEST(S3Event, Utf8NamesPassThroughUnchanged) {
  auto ctx = test::sample_context("t/caf\xC3\xA9 \xE6\x97\xA5.csv");
  auto e = nlohmann::json::parse(s3_event_json(ctx));
  EXPECT_EQ(e["hivehook"]["key"], "t/caf\xC3\xA9 \xE6\x97\xA5.csv");
  EXPECT_EQ(e["Records"][0]["s3"]["object"]["key"], "t/caf%C3%A9+%E6%97%A5.csv");
}

TEST(Utf8, ValidatesAndReplaces) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("\xF0\x9F\x98\x80"));       // emoji
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));               // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));           // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));       // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE6\x97"));               // truncated
  EXPECT_EQ(utf8_sanitize("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(utf8_sanitize("\xE6\x97"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(utf8_sanitize("ok \xC3\xA9"), "ok \xC3\xA9");
}

}  // namespace
}  // namespace hivehook
