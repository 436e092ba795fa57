// S3 request parsing, key rules, XML bodies and listing order.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "s3/listing.h"
#include "s3/object_key.h"
#include "s3/request.h"
#include "s3/xml.h"

using namespace hivehook;
using namespace hivehook::s3;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;

namespace {

Operation op_of(bhttp::verb m, std::string_view target, std::initializer_list<std::pair<const char*, const char*>> headers = {}) {
  S3Error err;
  auto r = parse_target(target, &err);
  EXPECT_TRUE(r) << target;
  bhttp::fields h;
  for (auto& [n, v] : headers) h.set(n, v);
  return classify(m, *r, h, nullptr);
}

TEST(S3Request, PathStyleBucketKeyAndQueryAreDecodedOnce) {
  S3Error err;
  auto r = parse_target("/landing/t/year%3D2023/a%20b%252F.csv?list-type=2&prefix=a%2Fb&uploads", &err);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->bucket, "landing");
  EXPECT_EQ(r->key, "t/year=2023/a b%2F.csv");
  EXPECT_EQ(r->param("prefix"), "a/b");
  EXPECT_TRUE(r->has("uploads"));
  EXPECT_FALSE(parse_target("/landing/bad%zz", &err));
  EXPECT_EQ(err.code, "InvalidURI");
  EXPECT_FALSE(parse_target("http://host/x", &err));
}

TEST(S3Request, OperationsByMethodAndSubresource) {
  using bhttp::verb;
  EXPECT_EQ(op_of(verb::get, "/"), Operation::ListBuckets);
  EXPECT_EQ(op_of(verb::get, "/b?list-type=2"), Operation::ListObjectsV2);
  EXPECT_EQ(op_of(verb::get, "/b"), Operation::ListObjects);
  EXPECT_EQ(op_of(verb::get, "/b?location"), Operation::GetBucketLocation);
  EXPECT_EQ(op_of(verb::head, "/b"), Operation::HeadBucket);
  EXPECT_EQ(op_of(verb::post, "/b?delete"), Operation::DeleteObjects);
  EXPECT_EQ(op_of(verb::put, "/b/k"), Operation::PutObject);
  EXPECT_EQ(op_of(verb::put, "/b/k", {{"x-amz-copy-source", "/a/b"}}), Operation::CopyObject);
  EXPECT_EQ(op_of(verb::post, "/b/k?uploads"), Operation::CreateMultipartUpload);
  EXPECT_EQ(op_of(verb::put, "/b/k?partNumber=1&uploadId=x"), Operation::UploadPart);
  EXPECT_EQ(op_of(verb::post, "/b/k?uploadId=x"), Operation::CompleteMultipartUpload);
  EXPECT_EQ(op_of(verb::delete_, "/b/k?uploadId=x"), Operation::AbortMultipartUpload);
  EXPECT_EQ(op_of(verb::get, "/b/k?uploadId=x"), Operation::ListParts);
  EXPECT_EQ(op_of(verb::get, "/b/k"), Operation::GetObject);
  EXPECT_EQ(op_of(verb::head, "/b/k"), Operation::HeadObject);
  EXPECT_EQ(op_of(verb::delete_, "/b/k"), Operation::DeleteObject);
  EXPECT_EQ(op_of(verb::get, "/b?acl"), Operation::Unsupported);
  EXPECT_EQ(op_of(verb::put, "/b?tagging"), Operation::Unsupported);  // bucket tags
  EXPECT_EQ(op_of(verb::get, "/b/k?tagging"), Operation::GetObjectTagging);
  EXPECT_EQ(op_of(verb::put, "/b/k?tagging"), Operation::PutObjectTagging);
  EXPECT_EQ(op_of(verb::delete_, "/b/k?tagging"), Operation::DeleteObjectTagging);
  EXPECT_EQ(op_of(verb::put, "/b/k?partNumber=1&uploadId=x", {{"x-amz-copy-source", "/a/b"}}), Operation::UploadPartCopy);
}

// Finding F16 of issue 12's new-user test: PUT /bucket?versioning was answered as CreateBucket
// (409 BucketAlreadyOwnedByYou).
TEST(S3Request, PutBucketVersioningIsNotImplementedNotCreateBucket) {
  using bhttp::verb;
  EXPECT_EQ(op_of(verb::put, "/b?versioning"), Operation::Unsupported);
  EXPECT_EQ(op_of(verb::get, "/b?versioning"), Operation::GetBucketVersioning);
  EXPECT_EQ(op_of(verb::put, "/b"), Operation::CreateBucket);
}

TEST(S3Keys, TheSameRulesAsDroppedFilesPlusS3sLimit) {
  EXPECT_FALSE(key_problem("transactions/year=2023/x.csv"));
  std::string longest;  // 1,024 bytes: five segments of 204
  for (int i = 0; i < 5; ++i) longest += (i ? "/" : "") + std::string(204, 'k');
  ASSERT_EQ(longest.size(), 1024u);
  EXPECT_FALSE(key_problem(longest));
  EXPECT_TRUE(key_problem(longest + "k"));
  EXPECT_FALSE(key_problem("uni/\xc3\xa9t\xc3\xa9 with space.csv"));
  for (std::string bad : {std::string("../x"), std::string("a/../x"), std::string("a//b"), std::string("a/./b"),
                          std::string("/abs"), std::string("dir/"), std::string(""), std::string(1025, 'k'),
                          std::string("ctl\x01"), std::string("nul\0x", 5), std::string("a/.hivehook-tmp-1"),
                          "a/" + std::string(256, 'n')}) {
    auto p = key_problem(bad);
    ASSERT_TRUE(p) << bad;
    EXPECT_EQ(p->code, "InvalidArgument");
    EXPECT_EQ(p->status, 400u);
  }
}

TEST(S3Xml, WriterEscapesAndParsersReadClientBodies) {
  XmlWriter w;
  w.open("A", kS3Namespace).element("K", "a<b>&\"c'\x01\t").close();
  EXPECT_EQ(w.str(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<A xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<K>a&lt;b&gt;&amp;&quot;c&apos;\xEF\xBF\xBD&#9;</K></A>");
  std::string why;
  auto parts = parse_complete_multipart(
      "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Part><ETag>\"abc\"</ETag>"
      "<PartNumber>1</PartNumber></Part><Part><PartNumber>2</PartNumber><ETag>&quot;def&quot;</ETag></Part>"
      "</CompleteMultipartUpload>",
      &why);
  ASSERT_TRUE(parts) << why;
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].etag, "abc");
  EXPECT_EQ((*parts)[1].part_number, 2);
  EXPECT_EQ((*parts)[1].etag, "def");
  EXPECT_FALSE(parse_complete_multipart("<CompleteMultipartUpload></CompleteMultipartUpload>", &why));
  EXPECT_FALSE(parse_complete_multipart("<Other/>", &why));
  EXPECT_FALSE(parse_complete_multipart("<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part>", &why));
  auto del = parse_delete("<Delete><Quiet>true</Quiet><Object><Key> spaced key </Key></Object><Object><Key>b</Key></Object></Delete>", &why);
  ASSERT_TRUE(del) << why;
  EXPECT_TRUE(del->quiet);
  EXPECT_EQ(del->keys, (std::vector<std::string>{" spaced key ", "b"}));
  EXPECT_FALSE(parse_delete("<Delete></Delete>", &why));
  EXPECT_FALSE(parse_delete("not xml", &why));
}

class Listing : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/hivehook-list-XXXXXX";
    root_ = ::mkdtemp(t);
    for (const char* k : {"a-b", "a.c", "a/x", "a/y/z", "b", "c/d/e", "c/d/f", "c/g"}) {
      fs::create_directories((root_ / k).parent_path());
      std::ofstream(root_ / k) << k;
    }
    fs::create_directories(root_ / "empty/deeper");
    fs::create_directory_symlink("/etc", root_ / "link");
    std::ofstream(root_ / "a/.hivehook-tmp-zz") << "temp";
    tree_.emplace(std::move(*Tree::open(root_)));
  }
  void TearDown() override { fs::remove_all(root_); }
  std::vector<std::string> keys(const ListQuery& q) {
    std::vector<std::string> out;
    auto page = list_tree(*tree_, q);
    for (auto& o : page.objects) out.push_back(o.key);
    for (auto& p : page.common_prefixes) out.push_back("P:" + p);
    return out;
  }
  fs::path root_;
  std::optional<Tree> tree_;
};

TEST_F(Listing, KeysInByteOrderNotFolderOrder) {
  // "a-b" and "a.c" sort before "a/x" ('-' and '.' are below '/'); symlinks, temp files and empty
  // folders are not objects.
  EXPECT_EQ(keys({}), (std::vector<std::string>{"a-b", "a.c", "a/x", "a/y/z", "b", "c/d/e", "c/d/f", "c/g"}));
}

TEST_F(Listing, DelimiterGroupsAndPrefixFilters) {
  EXPECT_EQ(keys({.delimiter = "/"}), (std::vector<std::string>{"a-b", "a.c", "b", "P:a/", "P:c/"}));
  EXPECT_EQ(keys({.prefix = "c/", .delimiter = "/"}), (std::vector<std::string>{"c/g", "P:c/d/"}));
  EXPECT_EQ(keys({.prefix = "a"}), (std::vector<std::string>{"a-b", "a.c", "a/x", "a/y/z"}));
  EXPECT_EQ(keys({.delimiter = "-"}), (std::vector<std::string>{"a.c", "a/x", "a/y/z", "b", "c/d/e", "c/d/f", "c/g", "P:a-"}));
}

TEST_F(Listing, PagesResumeAfterAKeyOrACommonPrefix) {
  std::vector<std::string> all;
  ListQuery q{.delimiter = "/", .max_keys = 2};
  for (int guard = 0; guard < 10; ++guard) {
    auto page = list_tree(*tree_, q);
    for (auto& o : page.objects) all.push_back(o.key);
    for (auto& p : page.common_prefixes) all.push_back("P:" + p);
    if (!page.truncated) break;
    q.start_after = page.last;
    q.skip_prefix = page.last_is_prefix ? page.last : "";
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"P:a/", "P:c/", "a-b", "a.c", "b"}));
  auto page = list_tree(*tree_, {.max_keys = 3});
  EXPECT_TRUE(page.truncated);
  EXPECT_EQ(page.last, "a/x");
  EXPECT_FALSE(list_tree(*tree_, {.start_after = "c/d/f", .max_keys = 1}).truncated);
  EXPECT_EQ(keys({.start_after = "a/y"}), (std::vector<std::string>{"a/y/z", "b", "c/d/e", "c/d/f", "c/g"}));
}

}  // namespace
