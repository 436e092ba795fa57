// rules/secrets: what is masked in job output, computed once when the config and rules are loaded.
#include "rules/secrets.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>

#include "rules/rule.h"
#include "rules_test_util.h"

using namespace hivehook;
using namespace hivehook::test;

namespace {

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

TEST(Secrets, CredentialNamesByTheirWords) {
  for (const char* n : {"DB_PASSWORD", "pgpasswd", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN",
                        "GOOGLE_APPLICATION_CREDENTIALS", "SSH_PRIVATE_KEY", "STRIPE_API_KEY", "OPENAI_APIKEY",
                        "HTTP_AUTH"})
    EXPECT_TRUE(credential_name(n)) << n;
  for (const char* n : {"PATH", "HOME", "LOG_LEVEL", "PARTITION_KEY", "HIVEHOOK_KEY", "LANG", "TZ",
                        "AWS_ACCESS_KEY_ID", "OAUTH_CLIENT_ID", "ACCESSKEYID"})
    EXPECT_FALSE(credential_name(n)) << n;
}

TEST(Secrets, EnvironmentValuesOfCredentialNamesOnlyAndNotTooShort) {
  auto s = environment_secrets({{"DB_PASSWORD", "hunter2-long"}, {"LOG_LEVEL", "debug-verbose"}, {"API_TOKEN", "abc"}});
  EXPECT_EQ(s, std::vector<std::string>{"hunter2-long"});  // "abc" would shred ordinary text
}

TEST(Secrets, R1AnAccessKeyIdAndAPlainWordInTheEnvironmentAreNotSecrets) {
  // R1: with AWS_ACCESS_KEY_ID=hivehook in the daemon's environment, every "hivehook" in log lines
  // and audit paths became "***" (/var/lib/***/archive/...).
  auto s = environment_secrets({{"AWS_ACCESS_KEY_ID", "AKIDR1EXAMPLE"}, {"AWS_SECRET_ACCESS_KEY", "minioadmin"},
                                {"AWS_SESSION_TOKEN", "FwoGZXIvYXdzEJr//token"}, {"DB_PASSWORD", "hunter2"}});
  EXPECT_EQ(s, (std::vector<std::string>{"FwoGZXIvYXdzEJr//token", "hunter2"}));
}

TEST(Secrets, ARuleSetCarriesTheConfigsTheJobEnvsAndTheProcessEnvironmentsSecrets) {
  TempDir dir;
  ::setenv("HH_TEST_HOOK_SECRET", "hook-secret-value", 1);
  ::setenv("HH_TEST_DB_PASSWORD", "db-password-from-env", 1);
  ::setenv("HH_TEST_INHERITED_TOKEN", "inherited-token-value", 1);
  Diagnostics d;
  auto c = load_config(minimal_config(dir,
                                      "  signed: {webhook: http://127.0.0.1:1/h, secret: \"${HH_TEST_HOOK_SECRET}\", "
                                      "headers: {X-Api-Key: header-value-1}}\n"
                                      "http: {listen: \"127.0.0.1:0\", token: 0123456789abcdef}\n"),
                       d);
  ASSERT_TRUE(c) << d.str();
  dir.write("rules/r.yaml", R"(rules:
  - name: load
    match: {prefix: t/}
    job:
      command: [/bin/true]
      env: {DB_PASSWORD: "${HH_TEST_DB_PASSWORD}", LOG_LEVEL: info-not-secret}
)");
  auto rs = load_rules(dir.path() / "rules", *c, d);
  ASSERT_TRUE(rs) << d.str();
  EXPECT_TRUE(has(rs->secrets, "hook-secret-value"));
  EXPECT_TRUE(has(rs->secrets, "header-value-1"));
  EXPECT_TRUE(has(rs->secrets, "0123456789abcdef"));
  EXPECT_TRUE(has(rs->secrets, "db-password-from-env"));
  EXPECT_TRUE(has(rs->secrets, "inherited-token-value"));  // jobs inherit the daemon's environment
  EXPECT_FALSE(has(rs->secrets, "info-not-secret"));
  // Longest first, once each: a secret inside a longer one cannot leave the longer one's tail.
  for (std::size_t i = 1; i < rs->secrets.size(); ++i) EXPECT_GE(rs->secrets[i - 1].size(), rs->secrets[i].size());
  EXPECT_EQ(std::count(rs->secrets.begin(), rs->secrets.end(), "db-password-from-env"), 1);
  ::unsetenv("HH_TEST_INHERITED_TOKEN");
  ::unsetenv("HH_TEST_DB_PASSWORD");
}

TEST(Secrets, F2TheBasicCredentialsOfAWebhookUrlAndWhatSmtpAuthSendsAreConfigSecrets) {
  // Issue 10 retest 3, F2: curl sends a webhook URL's user:password as "Authorization: Basic
  // <base64>", a receiver echoed it in its 401 body, and the base64 (the password, decoded) reached
  // the log, audit.jsonl, status and the store.
  TempDir dir;
  ::setenv("HH_TEST_F2_PASS", "bpas-Uu66dd78yzR", 1);
  Diagnostics d;
  auto c = load_config(minimal_config(dir,
                                      "  basic: {webhook: \"http://hookuser:${HH_TEST_F2_PASS}@127.0.0.1:1/h\"}\n"
                                      "  mail: {smtp: \"smtp://127.0.0.1:2525\", from: a@b.c, to: [d@e.f], "
                                      "username: mailer, password: smtp-pass-f2f2}\n"),
                       d);
  ::unsetenv("HH_TEST_F2_PASS");
  ASSERT_TRUE(c) << d.str();
  const auto s = config_secrets(*c);
  EXPECT_TRUE(has(s, "bpas-Uu66dd78yzR"));
  EXPECT_TRUE(has(s, "aG9va3VzZXI6YnBhcy1VdTY2ZGQ3OHl6Ug=="));  // base64("hookuser:bpas-Uu66dd78yzR")
  EXPECT_TRUE(has(s, "c210cC1wYXNzLWYyZjI="));                  // base64("smtp-pass-f2f2"): AUTH LOGIN
  EXPECT_TRUE(has(s, "AG1haWxlcgBzbXRwLXBhc3MtZjJmMg=="));      // base64("\0mailer\0smtp-pass-f2f2"): AUTH PLAIN
}

TEST(Secrets, R13TheS3SecretKeyAndTheStateUrlsPasswordAreConfigSecrets) {
  // R13: the S3 secret, handed to jobs and Lambda functions, was masked only when the daemon's
  // own environment happened to hold it.
  TempDir dir;
  Diagnostics d;
  auto c = load_config(minimal_config(dir, "s3: {listen: \"127.0.0.1:9000\", access_key_id: AKIDEXAMPLE, "
                                           "secret_access_key: s3-secret-in-config}\n"),
                       d);
  ASSERT_TRUE(c) << d.str();
  const auto s = config_secrets(*c);
  EXPECT_TRUE(has(s, "s3-secret-in-config"));
  EXPECT_FALSE(has(s, "AKIDEXAMPLE"));  // an access key id names the key, it does not unlock it
  Config pg = *c;
  pg.state = "postgresql://etl:pg-pass-r13@127.0.0.1:5432/hh";
  EXPECT_TRUE(has(config_secrets(pg), "pg-pass-r13"));
}

}  // namespace
