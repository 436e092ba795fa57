// S3's request documents: depth is bounded before the recursive parser runs.
#include <gtest/gtest.h>

#include <string>

#include "s3/xml.h"

using namespace hivehook::s3;

namespace {

std::string nested(const std::string& root, std::size_t depth) {
  std::string b = "<" + root + ">";
  for (std::size_t i = 0; i < depth; ++i) b += "<a>";
  return b + "</" + root + ">";
}

// Finding F15 of issue 12's new-user test: a signed DeleteObjects or CompleteMultipartUpload body
// nested 100,000 deep overflowed an endpoint thread's stack and killed the daemon.
TEST(S3Xml, ADeeplyNestedBodyIsMalformedNotAStackOverflow) {
  std::string error;
  EXPECT_FALSE(parse_delete(nested("Delete", 100000), &error));
  EXPECT_NE(error.find("nested deeper than"), std::string::npos) << error;
  error.clear();
  EXPECT_FALSE(parse_complete_multipart(nested("CompleteMultipartUpload", 100000), &error));
  EXPECT_NE(error.find("nested deeper than"), std::string::npos) << error;
  // Quotes, comments and CDATA cannot hide a level.
  error.clear();
  std::string tricky = "<Delete>";
  for (int i = 0; i < 20; ++i) tricky += "<a x=\"/>\"><!-- <b> --><![CDATA[<c>]]>";
  EXPECT_FALSE(parse_delete(tricky + "</Delete>", &error));
  EXPECT_NE(error.find("nested deeper than"), std::string::npos) << error;
}

TEST(S3Xml, RealDocumentsStillParse) {
  std::string error;
  auto d = parse_delete("<?xml version=\"1.0\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
                        "<Object><Key>a/b.csv</Key></Object><Object><Key>c</Key><VersionId>null</VersionId></Object></Delete>",
                        &error);
  ASSERT_TRUE(d) << error;
  EXPECT_TRUE(d->quiet);
  EXPECT_EQ(d->keys, (std::vector<std::string>{"a/b.csv", "c"}));
  auto parts = parse_complete_multipart("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"abc\"</ETag></Part>"
                                        "</CompleteMultipartUpload>",
                                        &error);
  ASSERT_TRUE(parts) << error;
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].etag, "abc");
}

}  // namespace
