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
  const Redactor redact({"a b/c"});
  const std::string masked = redact(
      "DB_PASSWORD is x token=tok-abcdef-123456 --api-key=k-42 Authorization: Bearer eyJ.x-y "
      "https://h/?q=a%20b%2Fc and a b/c");
  for (const char* leaked : {"tok-abcdef", "k-42", "eyJ", "a%20b%2Fc", "a b/c"})
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

}  // namespace hivehook
