// eTags: the content's MD5, or the eTag a writer recorded while the file is still what it wrote.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

#include "unit/support/temp_dir.h"

#include "base/unique_fd.h"
#include "landing/etag.h"

using namespace hivehook;
namespace fs = std::filesystem;

namespace {

using test::TempDir;

void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

TEST(Etag, Md5OfTheContent) {
  TempDir d;
  spit(d.path() / "x", "hello\n");
  EXPECT_EQ(file_md5_hex(d.path() / "x"), "b1946ac92492d2347c6235b4d2611184");
  EXPECT_EQ(file_etag(d.path() / "x"), "b1946ac92492d2347c6235b4d2611184");
}

TEST(Etag, RecordedMultipartEtagIsReportedWhileTheFileIsUnchanged) {
  TempDir d;
  spit(d.path() / "x", "hello\n");
  {
    UniqueFd fd(::open((d.path() / "x").c_str(), O_RDWR));
    ASSERT_TRUE(record_etag(fd.get(), "0123456789abcdef0123456789abcdef-3")) << std::strerror(errno);
  }
  EXPECT_EQ(file_etag(d.path() / "x"), "0123456789abcdef0123456789abcdef-3");
  // A rename keeps it (same inode, size and mtime): the archive reports the same eTag.
  fs::rename(d.path() / "x", d.path() / "y");
  EXPECT_EQ(file_etag(d.path() / "y"), "0123456789abcdef0123456789abcdef-3");
}

TEST(Etag, RecordedEtagIsIgnoredOnceTheFileIsRewrittenOrCopied) {
  TempDir d;
  spit(d.path() / "x", "hello\n");
  {
    UniqueFd fd(::open((d.path() / "x").c_str(), O_RDWR));
    ASSERT_TRUE(record_etag(fd.get(), "0123456789abcdef0123456789abcdef-3"));
  }
  // A copy that keeps xattrs and times has another inode.
  fs::copy_file(d.path() / "x", d.path() / "copy");
  {
    UniqueFd src(::open((d.path() / "x").c_str(), O_RDONLY)), dst(::open((d.path() / "copy").c_str(), O_RDWR));
    char v[128];
    ssize_t n = ::fgetxattr(src.get(), kEtagXattr, v, sizeof v);
    ASSERT_GT(n, 0);
    ASSERT_EQ(::fsetxattr(dst.get(), kEtagXattr, v, static_cast<size_t>(n), 0), 0);
    struct stat st;
    ::fstat(src.get(), &st);
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    ::futimens(dst.get(), times);
  }
  EXPECT_EQ(file_etag(d.path() / "copy"), "b1946ac92492d2347c6235b4d2611184");
  // Rewritten in place: new size and mtime.
  spit(d.path() / "x", "other content\n");
  EXPECT_EQ(file_etag(d.path() / "x"), file_md5_hex(d.path() / "x"));
}

TEST(Etag, GarbageInTheAttributeIsNeverTrusted) {
  TempDir d;
  spit(d.path() / "x", "hello\n");
  UniqueFd fd(::open((d.path() / "x").c_str(), O_RDWR));
  struct stat st;
  ::fstat(fd.get(), &st);
  const std::string bad = "not-an-etag " + std::to_string(st.st_size) + " 0 0";
  ASSERT_EQ(::fsetxattr(fd.get(), kEtagXattr, bad.data(), bad.size(), 0), 0);
  EXPECT_EQ(recorded_etag(fd.get(), st), std::nullopt);
  EXPECT_EQ(fd_etag(fd.get()), "b1946ac92492d2347c6235b4d2611184");
}

TEST(Etag, HowTheApiCreatedTheFileIsRecordedWithItsEtagAndLostWithIt) {
  TempDir d;
  spit(d.path() / "x", "hello\n");
  const UploadEvent made{"ObjectCreated:CompleteMultipartUpload", "0123456789ABCDEF",
                         "c2VjcmV0IGlkIDIgb2YgdGhlIHJlcXVlc3QgdGhhdCBtYWRlIGl0IGFsbA=="};
  {
    UniqueFd fd(::open((d.path() / "x").c_str(), O_RDWR));
    ASSERT_TRUE(record_etag(fd.get(), "0123456789abcdef0123456789abcdef-3", &made)) << std::strerror(errno);
  }
  fs::rename(d.path() / "x", d.path() / "y");  // the mover's rename keeps it
  {
    UniqueFd fd(::open((d.path() / "y").c_str(), O_RDONLY));
    struct stat st;
    ::fstat(fd.get(), &st);
    EXPECT_EQ(recorded_upload_event(fd.get(), st), made);
    EXPECT_EQ(recorded_etag(fd.get(), st), "0123456789abcdef0123456789abcdef-3");
  }
  spit(d.path() / "y", "rewritten\n");  // no longer what the API created
  UniqueFd fd(::open((d.path() / "y").c_str(), O_RDONLY));
  struct stat st;
  ::fstat(fd.get(), &st);
  EXPECT_EQ(recorded_upload_event(fd.get(), st), std::nullopt);
}

TEST(Etag, AFileRecordedWithoutAnUploadEventHasNone) {
  TempDir d;
  spit(d.path() / "x", "hello\n");
  UniqueFd fd(::open((d.path() / "x").c_str(), O_RDWR));
  ASSERT_TRUE(record_etag(fd.get(), "b1946ac92492d2347c6235b4d2611184"));
  struct stat st;
  ::fstat(fd.get(), &st);
  EXPECT_EQ(recorded_upload_event(fd.get(), st), std::nullopt);
  EXPECT_EQ(recorded_etag(fd.get(), st), "b1946ac92492d2347c6235b4d2611184");
  // A field that would break the record apart is refused, and the old record stays.
  const UploadEvent spaced{"ObjectCreated:Put", "AB CD", "x"};
  EXPECT_FALSE(record_etag(fd.get(), "b1946ac92492d2347c6235b4d2611184", &spaced));
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(recorded_etag(fd.get(), st), "b1946ac92492d2347c6235b4d2611184");
}

}  // namespace

namespace {

TEST(EtagRecord, ParsesWhatItFormatsAndNothingElse) {
  const EtagRecord r{"0123456789abcdef0123456789abcdef-3", 8388608, 1700000000123456789, 4242,
                     UploadEvent{"ObjectCreated:Copy", "58D2FD3DF5B15B21", "aWQtMg=="}};
  const std::string v = format_etag_record(r);
  EXPECT_EQ(v, "0123456789abcdef0123456789abcdef-3 8388608 1700000000123456789 4242 ObjectCreated:Copy 58D2FD3DF5B15B21 aWQtMg==");
  EXPECT_EQ(parse_etag_record(v), r);
  EXPECT_EQ(parse_etag_record("d41d8cd98f00b204e9800998ecf8427e 0 1 2")->event, std::nullopt);
  for (const char* bad : {"d41d8cd98f00b204e9800998ecf8427e 0 1", "d41d8cd98f00b204e9800998ecf8427e 0 01 2",
                          "d41d8cd98f00b204e9800998ecf8427e -1 1 2", "d41d8cd98f00b204e9800998ecf8427e  0 1 2",
                          "d41d8cd98f00b204e9800998ecf8427e 0 1 2 a b", "d41d8cd98f00b204e9800998ecf8427e 0 1 2 a b c\n",
                          "d41d8cd98f00b204e9800998ecf8427e 99999999999999999999 1 2", "nothex 0 1 2", ""})
    EXPECT_EQ(parse_etag_record(bad), std::nullopt) << bad;
}

}  // namespace
