// What S3 keeps about an object beside its bytes: the eTag (landing/etag.h records it on the file)
// and the headers a client set on upload (Content-Type, Cache-Control, ..., x-amz-meta-*), kept
// in the xattr "user.hivehook.s3" as JSON. Files dropped into a tree have none: they are served
// as binary/octet-stream with the content's MD5 as eTag.
#pragma once

#include <sys/stat.h>

#include <boost/beast/http/fields.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace hivehook::s3 {

inline constexpr const char* kAttrsXattr = "user.hivehook.s3";
inline constexpr const char* kDefaultContentType = "binary/octet-stream";  // S3's default
inline constexpr std::size_t kMaxUserMetadataBytes = 2048;  // S3's limit: 2 KB (400 MetadataTooLarge)

struct ObjectAttrs {
  std::map<std::string, std::string> headers;  // lower-case names: content-type, cache-control, x-amz-meta-*
  std::string content_type() const;

  // The storable headers of an upload request (Content-Encoding "aws-chunked" is transport, not kept).
  static ObjectAttrs from_request(const boost::beast::http::fields& request);
  // The size S3 limits user-defined metadata by (AWS doc "Working with object metadata"): the
  // bytes of every x-amz-meta-* name (without the prefix) and value, summed.
  std::size_t user_metadata_bytes() const;
  // Written to / read from the xattr of `fd`; write returns false (errno kept) when the filesystem
  // refuses: E2BIG/ENOSPC when the headers do not fit beside the file (ext4 keeps about 4 KB of
  // attributes per file), ENOTSUP without user xattrs.
  bool write(int fd) const;
  static ObjectAttrs read(int fd);
};

// The eTag of an open object file, memoised by (device, inode, size, mtime, ctime): a recorded
// eTag (multipart uploads) when valid, else the MD5 of its content (read with pread). Thread-safe;
// bounded (cleared when it holds more than `capacity` entries).
class EtagCache {
 public:
  explicit EtagCache(std::size_t capacity = 200000) : capacity_(capacity) {}
  std::optional<std::string> etag(int fd, const struct stat& st);
  void remember(const struct stat& st, const std::string& etag);

 private:
  struct Entry {
    std::int64_t size, mtime_ns, ctime_ns;
    std::string etag;
  };
  std::mutex mu_;
  std::unordered_map<std::uint64_t, Entry> map_;  // key: dev ^ ino mix
  std::size_t capacity_;
};

// True when `etag` (unquoted) is in `list`: an If-Match / If-None-Match value, a comma-separated
// list of quoted eTags (weak "W/" prefixes ignored) or "*" (RFC 9110 section 13.1.1).
bool etag_matches(std::string_view list, const std::string& etag);

}  // namespace hivehook::s3
