// base/redactor: the one masking of secrets at every outlet (issue 15, fault 2: two mechanisms,
// each outlet with one, the other or none).
#include "base/redactor.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace hivehook {

TEST(Redactor, SecretsInAJobResultAreMaskedAndTheResultStaysJson) {
  const Redactor redact({"hunter2-very-secret"});
  const std::string result =
      R"({"pw":"hunter2-very-secret","warehouse":"postgresql://etl:pg-pass-778899@127.0.0.1:5432/wh","rows":3})";
  const std::string masked = redact(result);
  EXPECT_EQ(masked.find("hunter2"), std::string::npos) << masked;
  EXPECT_EQ(masked.find("pg-pass-778899"), std::string::npos) << masked;
  auto j = nlohmann::json::parse(masked, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << masked;
  EXPECT_EQ(j["pw"], "***");
  EXPECT_EQ(j["warehouse"], "postgresql://etl:***@127.0.0.1:5432/wh");
  EXPECT_EQ(j["rows"], 3);
}

TEST(Redactor, CredentialNamedValuesBearerTokensAndPercentEncodedSecretsAreMasked) {
  const Redactor redact({"a b/c-9"});
  const std::string masked = redact(
      "DB_PASSWORD is x token=tok-abcdef-123456 --api-key=k-42 Authorization: Bearer eyJ.x-y "
      "https://h/?q=a%20b%2Fc-9 and a b/c-9");
  for (const char* leaked : {"tok-abcdef", "k-42", "eyJ", "a%20b%2Fc-9", "a b/c-9"})
    EXPECT_EQ(masked.find(leaked), std::string::npos) << leaked << " in " << masked;
}

TEST(Redactor, MaskingTwiceChangesNothingAndPlainTextIsLeftAlone) {
  const Redactor redact({"S3CR3T"});
  const std::string once = redact("password=S3CR3T and token: abc");
  EXPECT_EQ(redact(once), once);
  const std::string plain = "loaded 42 rows into sales/year=2024/day=01\n";
  EXPECT_EQ(redact(plain), plain);
  EXPECT_EQ(Redactor({"ab"})("ab cd"), "ab cd");  // a 2-byte "secret" would shred the text
}

TEST(Redactor, R1AccessKeyIdsShortValuesAndPlainWordsAreNeverMasked) {
  // R1: an access key id (or any plain word) masked as a secret made every path holding it
  // unreadable (/var/lib/***/archive/...) and gave the value away.
  const Redactor redact({"hivehook", "minioadmin", "admin", "abcde", "hunter2", "S3cr3t/Key+40"});
  EXPECT_EQ(redact("/var/lib/hivehook/archive/up/hivehook-report.csv minioadmin admin abcde"),
            "/var/lib/hivehook/archive/up/hivehook-report.csv minioadmin admin abcde");
  EXPECT_EQ(redact("pw hunter2 key S3cr3t/Key+40"), "pw *** key ***");
  EXPECT_EQ(redact("AWS_ACCESS_KEY_ID=AKIDR1EXAMPLE access_key_id: AKIDR1EXAMPLE"),
            "AWS_ACCESS_KEY_ID=AKIDR1EXAMPLE access_key_id: AKIDR1EXAMPLE");
  EXPECT_EQ(redact("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI secret_access_key: wJalrXUtnFEMI"),
            "AWS_SECRET_ACCESS_KEY=*** secret_access_key: ***");
  EXPECT_FALSE(maskable_secret("hivehook"));
  EXPECT_FALSE(maskable_secret("short"));
  EXPECT_TRUE(maskable_secret("Hivehook"));
  EXPECT_TRUE(maskable_secret("correcthorsebattery"));  // a pass phrase longer than a plain word
}

TEST(Redactor, F2AnAuthorizationHeadersCredentialsAreMaskedWhateverTheScheme) {
  // Issue 10 retest 3, F2: a receiver echoing the request in its 401 body gave away a webhook URL's
  // user:password as "Authorization: Basic <base64>".
  const Redactor redact;
  EXPECT_EQ(redact("you sent: POST /h Host: x Authorization: Basic aG9va3VzZXI6YnBhcy1VdTY2ZGQ3OHl6Ug== User-Agent: hivehook"),
            "you sent: POST /h Host: x Authorization: Basic *** User-Agent: hivehook");
  EXPECT_EQ(redact(R"({"authorization":"Digest abc123def"})"), R"({"authorization":"Digest ***"})");
  EXPECT_EQ(redact("proxy-authorization: rawtoken-1234 next"), "proxy-authorization: *** next");
  EXPECT_EQ(redact("Authorization: Bearer eyJhbGciOi.x"), "Authorization: Bearer ***");
  const std::string once = redact("Authorization: Basic aG9va3VzZXI6cGFzcw==");
  EXPECT_EQ(redact(once), once) << "masking twice changes nothing";
  const std::string plain = "a basic rule: authorization is needed for uploads";
  EXPECT_EQ(redact(plain), plain);
}

}  // namespace hivehook
