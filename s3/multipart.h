// Multipart uploads in progress (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html):
// each upload is a folder "<upload id>/" of a staging tree outside the watched landing tree, its
// parts the files "<upload id>/<part number, 5 digits>", and its bookkeeping in memory. Parts may be
// uploaded in parallel and re-uploaded (the last one wins). An upload ends by being completed
// (the caller assembles the parts and calls finish), aborted, or abandoned: expired after
// `expiry` without a new part, or left over from a previous run (cleared at start).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "landing/beneath.h"
#include "s3/errors.h"
#include "s3/object_attrs.h"

namespace hivehook::s3 {

inline constexpr int kMaxParts = 10000;
inline constexpr std::uint64_t kMinPartBytes = 5ULL << 20;  // every part but the last

// A partNumber parameter: an integer 1..10000; nullopt otherwise.
std::optional<int> parse_part_number(const std::string& s);

struct Part {
  int number = 0;
  std::string etag;      // hex MD5 of the part
  std::string md5_raw;   // 16 bytes
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point last_modified;
};

struct Upload {
  std::string id;
  std::string bucket;
  std::string key;
  ObjectAttrs attrs;
  std::chrono::system_clock::time_point initiated;
  std::chrono::steady_clock::time_point last_activity;
  std::map<int, Part> parts;
  bool completing = false;
};

class MultipartUploads {
 public:
  explicit MultipartUploads(Tree staging);

  // Removes every upload folder left in the staging tree (a previous run's). Returns how many.
  std::size_t clear_leftovers();
  // A new upload: its folder is created; returns its id (32 hex digits) or an error.
  std::variant<std::string, S3Error> create(const std::string& bucket, const std::string& key, ObjectAttrs attrs);
  // The upload `id` for (bucket, key), if it exists and is not being completed: NoSuchUpload otherwise.
  std::optional<S3Error> check(const std::string& id, const std::string& bucket, const std::string& key) const;
  // A temporary file in the upload's folder for a part being received.
  FsResult<TempFile> part_file(const std::string& id);
  // Publishes a received part (replacing an earlier one with the same number).
  std::optional<S3Error> add_part(const std::string& id, Part part, TempFile file);
  // A snapshot of the upload (for ListParts and Complete).
  std::optional<Upload> get(const std::string& id) const;
  std::vector<Upload> list(const std::string& bucket) const;
  // Marks the upload as being completed: further parts, aborts and completes get NoSuchUpload.
  std::variant<Upload, S3Error> begin_complete(const std::string& id, const std::string& bucket, const std::string& key);
  // After a failed assembly: the upload may be completed again.
  void cancel_complete(const std::string& id);
  // Removes the upload and its folder (after a completion or on abort). False when it did not exist.
  bool remove(const std::string& id);
  // Aborts uploads without activity for `expiry`. Returns their ids.
  std::vector<std::string> expire(std::chrono::steady_clock::duration expiry);

  const Tree& staging() const { return staging_; }
  static std::string part_name(const std::string& id, int number);  // "<id>/00042"

 private:
  void remove_folder(const std::string& id);
  Tree staging_;
  mutable std::mutex mu_;
  std::map<std::string, Upload> uploads_;
};

// Removes folder `rel` of `tree` and everything in it, beneath the tree (symlinks are unlinked,
// never followed). Errors other than ENOENT are returned as sentences.
std::vector<std::string> remove_tree(const Tree& tree, const std::string& rel);

}  // namespace hivehook::s3
