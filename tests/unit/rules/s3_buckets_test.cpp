// S3 bucket names: S3's naming rules, and the three buckets the S3 API serves (issue 12, F5, F6).
#include "rules/s3_buckets.h"

#include <gtest/gtest.h>

using namespace hivehook;

TEST(BucketNameRules, ValidNamesPass) {
  for (const char* ok : {"landing", "archive", "abc", "retail-landing", "my.bucket.1", "0ab", "a-b.c-d"})
    EXPECT_EQ(bucket_name_problem(ok), std::nullopt) << ok;
  EXPECT_EQ(bucket_name_problem(std::string(63, 'a')), std::nullopt);
}

// F6: names S3 clients cannot address were served ("My Landing", "UPPER_case", "ab").
TEST(BucketNameRules, NamesClientsCannotAddressAreRefusedWithTheRuleBroken) {
  EXPECT_EQ(bucket_name_problem("ab"), "it has 2 characters (S3 bucket names are 3 to 63 lowercase letters, digits, "
                                       "'.' and '-', beginning and ending with a letter or digit)");
  EXPECT_NE(bucket_name_problem(std::string(64, 'a')), std::nullopt);
  EXPECT_NE(bucket_name_problem(""), std::nullopt);
  EXPECT_EQ(bucket_name_problem("My Landing")->substr(0, 22), "it has uppercase 'M' (");
  EXPECT_EQ(bucket_name_problem("my landing")->substr(0, 13), "it has ' ' (S");
  EXPECT_EQ(bucket_name_problem("upper_case")->substr(0, 13), "it has '_' (S");
  EXPECT_EQ(bucket_name_problem("-abc")->substr(0, 19), "it begins with '-' ");
  EXPECT_EQ(bucket_name_problem("abc.")->substr(0, 17), "it ends with '.' ");
  EXPECT_EQ(bucket_name_problem("a..b"), "it has two adjacent periods");
  EXPECT_EQ(bucket_name_problem("192.168.5.4"), "it is formatted as an IP address");
  EXPECT_EQ(bucket_name_problem("1.2.3"), std::nullopt);
  EXPECT_EQ(bucket_name_problem("xn--abc"), "it begins with 'xn--', a prefix S3 reserves");
  EXPECT_EQ(bucket_name_problem("data-s3alias"), "it ends with '-s3alias', a suffix S3 reserves");
  EXPECT_EQ(bucket_name_problem("caf\xc3\xa9")->substr(0, 18), "it has byte 0xc3 (");
}

TEST(BucketNameRules, SuggestionsAreValidNames) {
  EXPECT_EQ(suggested_bucket_name("My Landing"), "my-landing");
  EXPECT_EQ(suggested_bucket_name("UPPER_case"), "upper-case");
  EXPECT_EQ(suggested_bucket_name("ab"), "ab-bucket");
  for (const char* bad : {"My Landing", "UPPER_case", "ab", "", "--", "a..b", "192.168.5.4", "xn--x", "x-s3alias",
                          "caf\xc3\xa9", "_x_"})
    EXPECT_EQ(bucket_name_problem(suggested_bucket_name(bad)), std::nullopt) << bad << " -> " << suggested_bucket_name(bad);
  EXPECT_EQ(bucket_name_problem(suggested_bucket_name(std::string(100, 'Z'))), std::nullopt);
}

TEST(S3Buckets, DefaultLayoutHasNoProblem) {
  EXPECT_TRUE(s3_bucket_problems("/d/landing", "landing", "/d/archive", "/d/quarantine").empty());
  EXPECT_TRUE(s3_bucket_problems("/d/in", "retail-landing", "/d/archive", "/d/quarantine").empty());
}

// F5: archive and quarantine folders with the same last component; `run` refused, `check` said OK,
// and the message told the user to set `bucket`, which names only the landing bucket.
TEST(S3Buckets, ArchiveAndQuarantineCollisionSaysToRenameAFolderNotSetBucket) {
  auto p = s3_bucket_problems("/d/landing", "landing", "/d/a/out", "/d/b/out");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].key, "quarantine");
  EXPECT_EQ(p[0].message, "the archive and quarantine buckets would both be named 'out' (each is named after its "
                          "folder's last component): rename the archive or the quarantine folder (e.g. `quarantine: "
                          "/d/b/quarantine`); `bucket` names only the landing bucket");
}

TEST(S3Buckets, LandingCollisionPointsAtBucketOrLanding) {
  auto p = s3_bucket_problems("/d/in", "archive", "/d/archive", "/d/quarantine");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].key, "bucket");
  EXPECT_EQ(p[0].message, "the landing and archive buckets would both be named 'archive': set `bucket:` to another "
                          "name for the landing bucket (or rename the archive folder: its bucket is named after it)");
  p = s3_bucket_problems("/d/x/quarantine", "quarantine", "/d/archive", "/d/quarantine");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].key, "landing");
}

TEST(S3Buckets, InvalidNamesSayWhichKeyToChange) {
  auto p = s3_bucket_problems("/d/My Landing", "My Landing", "/d/archive", "/d/quarantine");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].key, "landing");
  EXPECT_NE(p[0].message.find("set `bucket:` to a valid name (e.g. `bucket: my-landing`)"), std::string::npos) << p[0].message;
  p = s3_bucket_problems("/d/landing", "UPPER_case", "/d/archive", "/d/quarantine");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].key, "bucket");
  EXPECT_NE(p[0].message.find("e.g. `bucket: upper-case`"), std::string::npos) << p[0].message;
  p = s3_bucket_problems("/d/landing", "landing", "/d/Archive", "/d/q");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].key, "archive");
  EXPECT_NE(p[0].message.find("rename the folder (e.g. to 'archive')"), std::string::npos) << p[0].message;
  EXPECT_NE(p[0].message.find("`bucket` names only the landing bucket"), std::string::npos);
  EXPECT_EQ(p[1].key, "quarantine");
}
