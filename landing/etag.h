// An object's eTag: the hex MD5 of its content, as S3 gives for a single-part upload; or, for an
// object the S3 API assembled from a multipart upload, S3's "md5-of-part-md5s-N", recorded on the
// file by the writer.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <cstdint>
#include <string>
#include <string_view>

namespace hivehook {

// Streams the file (fixed-size buffer); nullopt when it cannot be read (error in *error).
std::optional<std::string> file_md5_hex(const std::filesystem::path& path, std::string* error = nullptr);
// The same over an open fd, from its current offset to the end.
std::optional<std::string> fd_md5_hex(int fd, std::string* error = nullptr);

// The extended attribute a writer records an object's eTag in: "ETAG SIZE MTIME_NS INODE", and
// for an object the S3 API created, " EVENT_NAME REQUEST_ID ID_2" after it (UploadEvent).
inline constexpr const char* kEtagXattr = "user.hivehook.etag";

// How the S3 API created an object, recorded with its eTag so the job's event notification says
// what S3's would (AWS doc "Event notification types" and "Event message structure"):
// `event_name` "ObjectCreated:Put" (PutObject), "ObjectCreated:Copy" (CopyObject) or
// "ObjectCreated:CompleteMultipartUpload"; `request_id` and `id2` the x-amz-request-id and
// x-amz-id-2 headers of the response that created it (the event's responseElements).
struct UploadEvent {
  std::string event_name;
  std::string request_id;
  std::string id2;
  bool operator==(const UploadEvent&) const = default;
};

// The parsed value of kEtagXattr. The value is outside input (any process that can write a file
// in landing can set user.* attributes on it): parse_etag_record accepts only what
// format_etag_record writes — a plausible eTag (32 hex digits, optionally "-N" with N of 1 to 5
// digits), three canonical decimal numbers below 2^63, and optionally three fields of 1 to 64 printable ASCII bytes
// without spaces, all separated by single spaces.
struct EtagRecord {
  std::string etag;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint64_t inode = 0;
  std::optional<UploadEvent> event;
  bool operator==(const EtagRecord&) const = default;
};
std::optional<EtagRecord> parse_etag_record(std::string_view value);
// The value for `r`; empty when a field is not what parse_etag_record accepts.
std::string format_etag_record(const EtagRecord& r);

// Records `etag` (and, when given, how the S3 API created the object) on the file open as `fd`,
// bound to the file's current size, mtime and inode (call it after the last write, before the
// file is published). False (errno kept) when the filesystem has no user xattrs: readers then
// fall back to the content's MD5. EINVAL when a field holds a space or control character.
bool record_etag(int fd, const std::string& etag, const UploadEvent* event = nullptr);
// How the S3 API created the file open as `fd`, when that was recorded and the file still has the
// size, mtime and inode it was recorded for; nullopt for a file dropped into a tree, rewritten or
// copied since.
std::optional<UploadEvent> recorded_upload_event(int fd, const struct stat& st);
// How the S3 API created the file at `path` (opened O_NOFOLLOW), when that was recorded, the file
// is still the one recorded (as recorded_upload_event) and its recorded eTag is `etag` (the object
// the caller means: a batch member where it ended, in archive or quarantine); else nullopt.
std::optional<UploadEvent> file_upload_event(const std::filesystem::path& path, std::string_view etag);
// Carries the valid eTag record of `from` (open, its stat `from_st`) to `to`: a copy of it across
// filesystems with the same size and mtime (set them first), so the record is bound to `to`'s
// inode. False (nothing written) when `from` has no valid record or `to` cannot take it.
bool carry_etag_record(int from, const struct stat& from_st, int to);
// The eTag recorded on `fd`, when there is one and the file still has the size, mtime and inode it
// was recorded for (a rewrite in place or a copy invalidates it); else nullopt.
std::optional<std::string> recorded_etag(int fd, const struct stat& st);
// The object's eTag: the recorded one when valid, else the MD5 of the content. The file is opened
// O_NOFOLLOW; nullopt (and *error) when it cannot be read.
std::optional<std::string> file_etag(const std::filesystem::path& path, std::string* error = nullptr);
// The same for an open fd (read from offset 0 with pread when hashing).
std::optional<std::string> fd_etag(int fd, std::string* error = nullptr);

}  // namespace hivehook
