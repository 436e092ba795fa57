// Multipart uploads in progress (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html):
// each upload is a folder "<upload id>/" of a staging tree outside the watched landing tree, its
// parts the files "<upload id>/<part number, 5 digits>", and its bookkeeping in memory. Parts may be
// uploaded in parallel and re-uploaded (the last one wins). An upload ends by being completed
// (the caller assembles the parts and calls finish), aborted, or abandoned: expired after
// `expiry` without a new part, or left over from a previous run (cleared at start).
//
// Completing moves the parts, in the order CompleteMultipartUpload lists them, out of their
// staging files into one file beside landing's objects (an Assembly), each staging file removed
// as soon as its bytes are in: so completing needs the upload's size once plus its largest part
// (when staging and landing share a filesystem), never twice its size. A completion that fails
// after moving parts keeps the Assembly with the upload, and a retry goes on from there.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
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
  std::uint64_t generation = 0;  // which upload of this part number (unique within the process)
  bool staged = true;            // in its own staging file; false: moved into the upload's Assembly
};

// Parts moved out of staging into one file of landing's tree, in the order of a
// CompleteMultipartUpload's list: the object-to-be. `file` is `size` bytes long: the pieces, in order.
struct Assembly {
  struct Piece {
    int number = 0;
    std::uint64_t generation = 0;  // the Part's
    std::uint64_t offset = 0;      // bytes into `file`
    std::uint64_t size = 0;
  };
  explicit Assembly(TempFile f) : file(std::move(f)) {}
  TempFile file;
  std::vector<Piece> pieces;
  std::uint64_t size = 0;
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
  std::shared_ptr<Assembly> assembly;  // parts a failed completion already moved (nullptr: none)
};

// A completed upload, remembered so that CompleteMultipartUpload is idempotent as S3's is: a
// client whose answer was lost (a timeout, a reset, a restart of the proxy) repeats it and gets
// the same 200, not NoSuchUpload for an object that exists.
struct CompletedUpload {
  std::string bucket, key, etag;
  std::vector<std::pair<int, std::string>> parts;  // (number, eTag) as listed
  std::chrono::steady_clock::time_point at;
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
  // During a completion: `a` is the upload's Assembly from now on (kept if the completion fails).
  void set_assembly(const std::string& id, std::shared_ptr<Assembly> a);
  // During a completion: part `number` (its upload `generation`) is now in the upload's Assembly;
  // its staging file is removed, freeing its space.
  void moved_to_assembly(const std::string& id, int number, std::uint64_t generation);
  // Whether upload `id` of (bucket, key) is being completed by a request right now.
  bool completing(const std::string& id, const std::string& bucket, const std::string& key) const;
  // After a completion: remembered (at most 10,000, each for at most `expiry` of expire()'s).
  void remember_completed(const std::string& id, CompletedUpload c);
  std::optional<CompletedUpload> completed(const std::string& id) const;
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
  std::uint64_t generations_ = 0;
  std::map<std::string, CompletedUpload> completed_;
};

// Removes folder `rel` of `tree` and everything in it, beneath the tree (symlinks are unlinked,
// never followed). Errors other than ENOENT are returned as sentences.
std::vector<std::string> remove_tree(const Tree& tree, const std::string& rel);

}  // namespace hivehook::s3
