// eTags: the content's MD5, or the eTag a writer recorded while the file is still what it wrote.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "landing/etag.h"

using namespace hivehook;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char t[] = "/tmp/hivehook-etag-XXXXXX";
    path = ::mkdtemp(t);
  }
  ~TempDir() { fs::remove_all(path); }
};

void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

TEST(Etag, Md5OfTheContent) {
  TempDir d;
  spit(d.path / "x", "hello\n");
  EXPECT_EQ(file_md5_hex(d.path / "x"), "b1946ac92492d2347c6235b4d2611184");
  EXPECT_EQ(file_etag(d.path / "x"), "b1946ac92492d2347c6235b4d2611184");
}

TEST(Etag, RecordedMultipartEtagIsReportedWhileTheFileIsUnchanged) {
  TempDir d;
  spit(d.path / "x", "hello\n");
  {
    UniqueFd fd(::open((d.path / "x").c_str(), O_RDWR));
    ASSERT_TRUE(record_etag(fd.get(), "0123456789abcdef0123456789abcdef-3")) << std::strerror(errno);
  }
  EXPECT_EQ(file_etag(d.path / "x"), "0123456789abcdef0123456789abcdef-3");
  // A rename keeps it (same inode, size and mtime): the archive reports the same eTag.
  fs::rename(d.path / "x", d.path / "y");
  EXPECT_EQ(file_etag(d.path / "y"), "0123456789abcdef0123456789abcdef-3");
}

TEST(Etag, RecordedEtagIsIgnoredOnceTheFileIsRewrittenOrCopied) {
  TempDir d;
  spit(d.path / "x", "hello\n");
  {
    UniqueFd fd(::open((d.path / "x").c_str(), O_RDWR));
    ASSERT_TRUE(record_etag(fd.get(), "0123456789abcdef0123456789abcdef-3"));
  }
  // A copy that keeps xattrs and times has another inode.
  fs::copy_file(d.path / "x", d.path / "copy");
  {
    UniqueFd src(::open((d.path / "x").c_str(), O_RDONLY)), dst(::open((d.path / "copy").c_str(), O_RDWR));
    char v[128];
    ssize_t n = ::fgetxattr(src.get(), kEtagXattr, v, sizeof v);
    ASSERT_GT(n, 0);
    ASSERT_EQ(::fsetxattr(dst.get(), kEtagXattr, v, static_cast<size_t>(n), 0), 0);
    struct stat st;
    ::fstat(src.get(), &st);
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    ::futimens(dst.get(), times);
  }
  EXPECT_EQ(file_etag(d.path / "copy"), "b1946ac92492d2347c6235b4d2611184");
  // Rewritten in place: new size and mtime.
  spit(d.path / "x", "other content\n");
  EXPECT_EQ(file_etag(d.path / "x"), file_md5_hex(d.path / "x"));
}

TEST(Etag, GarbageInTheAttributeIsNeverTrusted) {
  TempDir d;
  spit(d.path / "x", "hello\n");
  UniqueFd fd(::open((d.path / "x").c_str(), O_RDWR));
  struct stat st;
  ::fstat(fd.get(), &st);
  const std::string bad = "not-an-etag " + std::to_string(st.st_size) + " 0 0";
  ASSERT_EQ(::fsetxattr(fd.get(), kEtagXattr, bad.data(), bad.size(), 0), 0);
  EXPECT_EQ(recorded_etag(fd.get(), st), std::nullopt);
  EXPECT_EQ(fd_etag(fd.get()), "b1946ac92492d2347c6235b4d2611184");
}

}  // namespace
