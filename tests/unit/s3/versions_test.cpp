// The versions of a key in archive and quarantine ("<key>~<object id>", archive/mover.h): which is
// the latest, and how ListObjects shows them (each key once). Also the key and header refusals.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "s3/listing.h"
#include "s3/object_key.h"
#include "s3/versions.h"
#include "s3/write_headers.h"

using namespace hivehook;
using namespace hivehook::s3;
namespace fs = std::filesystem;

namespace {

TEST(S3Versions, TheNameAVersionStandsFor) {
  std::uint64_t id = 0;
  EXPECT_EQ(version_base("x.csv~17", &id), "x.csv");
  EXPECT_EQ(id, 17u);
  EXPECT_EQ(version_base("x.csv~17-2", &id), "x.csv");
  EXPECT_EQ(id, 17u);
  EXPECT_EQ(version_base("x.csv~17.error.json"), "x.csv.error.json");
  for (const char* not_one : {"x.csv", "x.csv~", "~17", "x~a", "x~17-", "x~17-b", "x.csv.error.json", "x~-1"})
    EXPECT_FALSE(version_base(not_one)) << not_one;
}

class Versions : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/hivehook-versions-XXXXXX";
    root_ = ::mkdtemp(t);
    tree_.emplace(std::move(*Tree::open(root_)));
  }
  void TearDown() override { fs::remove_all(root_); }
  void write(const std::string& rel, const std::string& data) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << data;
  }
  // Moves a new file into `rel` once the clock has passed `after`'s ctime: stored later, as the
  // mover's rename stores an object.
  void store_after(const std::string& rel, const std::string& after, const std::string& data) {
    struct stat a, b;
    ASSERT_EQ(::stat((root_ / after).c_str(), &a), 0);
    for (int i = 0;; ++i) {
      write(rel + ".new", data);
      fs::rename(root_ / (rel + ".new"), root_ / rel);
      ASSERT_EQ(::stat((root_ / rel).c_str(), &b), 0);
      if (b.st_ctim.tv_sec > a.st_ctim.tv_sec || (b.st_ctim.tv_sec == a.st_ctim.tv_sec && b.st_ctim.tv_nsec > a.st_ctim.tv_nsec))
        return;
      ASSERT_LT(i, 1000000) << "the clock does not move";
    }
  }
  std::string read_latest(const std::string& key) {
    auto v = open_latest(*tree_, key);
    if (!v) return "ENOENT:" + std::to_string(v.code() == ENOENT);
    char buf[64];
    const ssize_t n = ::pread(v->fd.get(), buf, sizeof buf, 0);
    return std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  }
  fs::path root_;
  std::optional<Tree> tree_;
};

TEST_F(Versions, TheLatestIsTheLastStoredNotTheUnsuffixedName) {
  write("t/x.csv", "first");
  store_after("t/x.csv~5", "t/x.csv", "second");
  store_after("t/x.csv~9", "t/x.csv~5", "third");
  write("t/x.csv.bak", "other key");
  write("t/y.csv~3", "other key's version");
  EXPECT_EQ(read_latest("t/x.csv"), "third");
  EXPECT_EQ(read_latest("t/y.csv"), "other key's version");  // only a suffixed version is left
  EXPECT_EQ(read_latest("t/none.csv"), "ENOENT:1");
  EXPECT_EQ(read_latest("nofolder/x.csv"), "ENOENT:1");
  // An operator removed the unsuffixed file; the next arrival took the name again: it is the latest.
  fs::remove(root_ / "t/x.csv");
  store_after("t/x.csv", "t/x.csv~9", "fourth");
  EXPECT_EQ(read_latest("t/x.csv"), "fourth");
  // A folder at the key is no object, a suffixed file beside it is.
  fs::create_directories(root_ / "t/d/inner");
  EXPECT_EQ(read_latest("t/d"), "ENOENT:1");
  write("t/d~12", "file beside a folder");
  EXPECT_EQ(read_latest("t/d"), "file beside a folder");
}

TEST_F(Versions, TheInodeOfAnUploadIsFoundUnderItsSuffixedName) {
  write("k", "first");
  store_after("k~7", "k", "second");
  struct stat st;
  ASSERT_EQ(::stat((root_ / "k~7").c_str(), &st), 0);
  auto v = open_identity(*tree_, "k", st.st_dev, st.st_ino);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rel, "k~7");
  EXPECT_FALSE(open_identity(*tree_, "k", st.st_dev, st.st_ino + 1000000));
}

TEST_F(Versions, ListingShowsEachKeyOnceAsItsLatestVersion) {
  write("a/x.csv", "1");
  store_after("a/x.csv~4", "a/x.csv", "22");
  write("a/x.csv-other", "o");
  write("a/y.csv~6", "666");
  write("a/y.csv~6.error.json", "{}");
  write("a/y.csv.error.json", "{ }");
  store_after("a/y.csv~6.error.json", "a/y.csv.error.json", "{  }");
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& o : list_tree(*tree_, {.latest_versions = true}).objects) got.emplace_back(o.key, o.file);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::string>>{{"a/x.csv", "a/x.csv~4"},
                                                                   {"a/x.csv-other", "a/x.csv-other"},
                                                                   {"a/y.csv", "a/y.csv~6"},
                                                                   {"a/y.csv.error.json", "a/y.csv~6.error.json"}}));
  // Landing's listing shows the files as they are.
  EXPECT_EQ(list_tree(*tree_, {}).objects.size(), 6u);
}

TEST(S3Keys, ControlAndBidiCharactersBeyondAsciiAreRefused_C1AndU202E) {
  for (std::string bad : {std::string("nel\xc2\x85x"), std::string("csi\xc2\x9b"), std::string("rlo\xe2\x80\xaegpj.exe"),
                          std::string("lri\xe2\x81\xa6x"), std::string("lrm\xe2\x80\x8ex"), std::string("bad\xff utf8")}) {
    auto p = key_problem(bad);
    ASSERT_TRUE(p) << bad;
    EXPECT_EQ(p->code, "InvalidArgument");
  }
  EXPECT_FALSE(key_problem("caf\xc3\xa9/\xc2\xa0nbsp/\xe2\x80\x94" "dash"));  // U+00A0, U+2014: printable
}

TEST(S3WriteHeaders, WhatWouldGiveFalseAssuranceIsRefusedNotIgnored) {
  auto refused = [](const char* name, const char* value) {
    boost::beast::http::fields h;
    h.set(name, value);
    auto e = refused_write_header(h);
    return e ? std::to_string(e->status) + " " + e->code : std::string("accepted");
  };
  EXPECT_EQ(refused("x-amz-server-side-encryption-customer-algorithm", "AES256"), "400 InvalidRequest");
  EXPECT_EQ(refused("x-amz-object-lock-mode", "COMPLIANCE"), "400 InvalidRequest");
  EXPECT_EQ(refused("x-amz-object-lock-legal-hold", "ON"), "400 InvalidRequest");
  EXPECT_EQ(refused("x-amz-server-side-encryption", "AES256"), "501 NotImplemented");
  EXPECT_EQ(refused("x-amz-acl", "public-read"), "400 AccessControlListNotSupported");
  EXPECT_EQ(refused("x-amz-grant-read", "id=x"), "400 AccessControlListNotSupported");
  EXPECT_EQ(refused("x-amz-tagging", "a=b"), "501 NotImplemented");
  EXPECT_EQ(refused("x-amz-storage-class", "GLACIER"), "501 NotImplemented");
  EXPECT_EQ(refused("x-amz-storage-class", "NOPE"), "400 InvalidStorageClass");
  EXPECT_EQ(refused("x-amz-storage-class", "STANDARD"), "accepted");
  EXPECT_EQ(refused("x-amz-acl", "private"), "accepted");
  EXPECT_EQ(refused("x-amz-acl", "bucket-owner-full-control"), "accepted");
  EXPECT_EQ(refused("x-amz-meta-anything", "x"), "accepted");
  boost::beast::http::fields get;
  get.set("x-amz-server-side-encryption-customer-key", "k");
  EXPECT_TRUE(refused_read_header(get));
}

}  // namespace
