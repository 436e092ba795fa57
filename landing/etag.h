// An object's eTag: the hex MD5 of its content, as S3 gives for a single-part upload; or, for an
// object the S3 API assembled from a multipart upload, S3's "md5-of-part-md5s-N", recorded on the
// file by the writer.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <string>

namespace hivehook {

// Streams the file (fixed-size buffer); nullopt when it cannot be read (error in *error).
std::optional<std::string> file_md5_hex(const std::filesystem::path& path, std::string* error = nullptr);
// The same over an open fd, from its current offset to the end.
std::optional<std::string> fd_md5_hex(int fd, std::string* error = nullptr);

// The extended attribute a writer records an object's eTag in: "ETAG SIZE MTIME_NS INODE".
inline constexpr const char* kEtagXattr = "user.hivehook.etag";

// Records `etag` on the file open as `fd`, bound to the file's current size, mtime and inode
// (call it after the last write, before the file is published). False (errno kept) when the
// filesystem has no user xattrs: readers then fall back to the content's MD5.
bool record_etag(int fd, const std::string& etag);
// The eTag recorded on `fd`, when there is one and the file still has the size, mtime and inode it
// was recorded for (a rewrite in place or a copy invalidates it); else nullopt.
std::optional<std::string> recorded_etag(int fd, const struct stat& st);
// The object's eTag: the recorded one when valid, else the MD5 of the content. The file is opened
// O_NOFOLLOW; nullopt (and *error) when it cannot be read.
std::optional<std::string> file_etag(const std::filesystem::path& path, std::string* error = nullptr);
// The same for an open fd (read from offset 0 with pread when hashing).
std::optional<std::string> fd_etag(int fd, std::string* error = nullptr);

}  // namespace hivehook
