// The S3 API over hivehook's trees (DESIGN.md "S3 API (local S3)"): one handler for every request
// of the http::Server, path-style buckets, SigV4 on every request, S3's XML and errors.
//
// Buckets: landing (named by the config's `bucket`) is read-write; archive and quarantine (named
// after their folders) are read-only: PUT, DELETE, COPY into them is AccessDenied, they are
// hivehook's to write. An upload is written beside its final name (an unnamed O_TMPFILE, see
// landing/beneath.h) and renamed into place only when complete, with its eTag recorded on the file
// so the job is told the eTag the client got. Multipart parts are staged outside landing.
//
// Threads: requests arrive on the server's io threads; body bytes are decoded, hashed and written
// there as they arrive; anything that may take long (listing, hashing a dropped file, assembling a
// multipart upload, copying) runs on `pool`, never on the daemon's loop.
#pragma once

#include <sys/stat.h>

#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <string>
#include <vector>

#include "http/exchange.h"
#include "landing/beneath.h"
#include "landing/etag.h"
#include "s3/auth.h"
#include "s3/errors.h"
#include "s3/multipart.h"
#include "s3/object_attrs.h"
#include "s3/request.h"

namespace hivehook::s3 {

// An object a client deleted from landing through the API (DeleteObject, DeleteObjects).
struct ObjectRemoval {
  std::string key;
  std::uint64_t inode = 0;  // the file's, to tell the object recorded at the key from a newer upload
  std::string operation;    // "DeleteObject" | "DeleteObjects"
  std::string request_id;   // the x-amz-request-id its client got
  std::string client;       // the client's address ("127.0.0.1:51234")
};

struct ServiceSettings {
  Credentials credentials;
  std::filesystem::path landing, archive, quarantine;  // the trees
  std::string landing_bucket;                          // archive/quarantine buckets: their folders' basenames
  std::filesystem::path staging;                       // multipart parts (outside landing; created)
  bool fsync = true;                                   // fdatasync an object before it appears
  std::chrono::seconds multipart_expiry{std::chrono::hours(24)};  // idle uploads are aborted after this
  std::vector<std::string> ignore;                     // the config's `ignore` globs: keys they match are refused
  std::function<std::chrono::system_clock::time_point()> clock;    // default: system_clock::now
  // CompleteMultipartUpload answers 200 at once and sends a white space this often while it
  // assembles (s3/complete_reply.h), so no client read timeout fires however long that takes.
  std::chrono::milliseconds complete_keep_alive{1000};
  // A test seam (0 in service): a pause before each part is moved into a completing upload, which
  // stands in for a multi-GB assembly on a slow disk (HIVEHOOK_TEST_S3_ASSEMBLY_DELAY_MS).
  std::chrono::milliseconds assembly_delay{0};
  // Told (on the pool) of every object a client deleted from landing (the daemon records it:
  // audit object.deleted, Pipeline::deleted_by_client). Unset: nothing is told.
  std::function<void(const ObjectRemoval&)> on_removed;
};

// The preconditions of a write: If-Match / If-None-Match on PutObject, CompleteMultipartUpload and
// CopyObject (S3's conditional writes, https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
struct WriteConditions {
  std::string if_match;       // a quoted eTag (or "*"): the key must hold that object
  std::string if_none_match;  // "*": the key must hold no object
  bool empty() const { return if_match.empty() && if_none_match.empty(); }
};

// The conditions a write request carries (If-Match, If-None-Match headers).
WriteConditions write_conditions(const http::Exchange& ex);

struct Bucket {
  std::string name;
  std::string role;  // "landing", "archive", "quarantine"
  const Tree* tree = nullptr;
  bool writable = false;
  std::chrono::system_clock::time_point created;
};

class Service {
 public:
  // Opens the trees (and creates the staging folder). Throws std::runtime_error with a sentence
  // naming the path when a tree cannot be opened, or saying what to rename when a bucket's name
  // breaks S3's naming rules or two buckets would have the same name (s3_bucket_problems, the
  // check `hivehook check` makes too).
  Service(ServiceSettings settings, boost::asio::thread_pool& pool);
  ~Service();

  // The http::Handler.
  void handle(std::shared_ptr<http::Exchange> ex);
  // Removes multipart leftovers of a previous run (at start) and expires idle uploads (periodic).
  std::size_t clear_leftovers();
  std::vector<std::string> expire_uploads();
  // The config's `ignore` globs after a reload (SIGHUP applies them at once): from now on keys they
  // match are refused, and keys only the old list matched are accepted. Any thread.
  void set_ignore(std::vector<std::string> ignore);

  const std::vector<Bucket>& buckets() const { return buckets_; }
  std::vector<std::string> bucket_names() const;  // landing's, archive's, quarantine's
  struct Call;  // one request in flight (service.cpp)

 private:
  void dispatch(const std::shared_ptr<Call>& c);
  // object_ops.cpp
  void put_object(const std::shared_ptr<Call>& c);
  void get_object(const std::shared_ptr<Call>& c, bool head);
  void delete_object(const std::shared_ptr<Call>& c);
  void delete_objects(const std::shared_ptr<Call>& c);
  void copy_object(const std::shared_ptr<Call>& c);
  void upload_part_copy(const std::shared_ptr<Call>& c);
  void get_object_tagging(const std::shared_ptr<Call>& c);
  void delete_object_tagging(const std::shared_ptr<Call>& c);
  // The object x-amz-copy-source names (CopyObject, UploadPartCopy): its bucket, key and version
  // ("" for the latest; an older one of archive or quarantine as GetObject serves it), or the
  // error to answer (InvalidArgument for a malformed header or an unknown version id, NoSuchBucket).
  std::optional<S3Error> copy_source(const Call& c, const Bucket** bucket, std::string* key, std::string* version) const;
  // The copy source opened on the pool: its fd and fstat, once its x-amz-copy-source-if-*
  // conditions hold. nullopt when `c` has been answered (NoSuchKey, AccessDenied for a symlink on
  // the path, PreconditionFailed/NotModified, InternalError).
  struct OpenedSource {
    UniqueFd fd;
    struct stat st;
  };
  std::optional<OpenedSource> open_copy_source(const std::shared_ptr<Call>& c, const Bucket& from,
                                               const std::string& key, const std::string& version);
  // UploadPart's and UploadPartCopy's part number, once the upload exists for this bucket and key;
  // nullopt when `c` has been answered (InvalidArgument, NoSuchUpload).
  std::optional<int> checked_part_number(const std::shared_ptr<Call>& c, const std::string& upload_id);
  // bucket_ops.cpp
  void list_buckets(const std::shared_ptr<Call>& c);
  void list_objects(const std::shared_ptr<Call>& c, bool v2);
  void bucket_location(const std::shared_ptr<Call>& c);
  // multipart_ops.cpp
  void create_multipart(const std::shared_ptr<Call>& c);
  void upload_part(const std::shared_ptr<Call>& c);
  void complete_multipart(const std::shared_ptr<Call>& c);
  // CompleteMultipartUpload once its body is read (on the pool): the parts checked (4xx answered
  // as such), then a 200 whose body is the result or an <Error> once assembled (s3/complete_reply.h).
  void complete_listed(const std::shared_ptr<Call>& c, const std::string& id, const std::string& body);
  // The listed parts moved (or copied) into one file of landing and published as the key; the
  // error to put in the 200's body otherwise (the upload may then be completed again).
  std::optional<S3Error> assemble_and_publish(const std::shared_ptr<Call>& c, const std::string& id,
                                              const Upload& upload, const std::vector<const Part*>& parts,
                                              const std::string& etag);
  void abort_multipart(const std::shared_ptr<Call>& c);
  void list_parts(const std::shared_ptr<Call>& c);
  void list_uploads(const std::shared_ptr<Call>& c);

  // Streams the request body into `file` through an UploadSink, then calls `done` on the pool
  // with the finished sink (or answers the error itself). Before reading any of the body, a
  // declared length the filesystem has no room for is `507 InsufficientStorage` at once, not
  // after the client sent it all; then `admit` (if given) is asked with the declared length
  // (bytes, 0 when unknown), and an error it returns is the answer.
  using Admit = std::function<std::optional<S3Error>(std::uint64_t declared)>;
  void receive(const std::shared_ptr<Call>& c, TempFile file,
               std::function<void(std::shared_ptr<class UploadSink>)> done, Admit admit = {});
  // Whether UploadPart of `declared` bytes as part `number` of upload `id` leaves room to complete
  // the upload (see MultipartUploads: its parts plus its largest part on one filesystem, its size
  // on landing's when staging is elsewhere); 507 InsufficientStorage saying how much otherwise.
  std::optional<S3Error> part_space_problem(const std::string& id, int number, std::uint64_t declared);
  // Makes `file` the object `key` of landing: fsync, eTag and attributes recorded, parent folders
  // created (empty folders in the way removed), renamed into place (replacing), remembered for
  // read-after-write. `event` is recorded with the eTag: the job's event notification names the
  // operation and carries the request ids of the response that created the object. `cond` is checked against the key's current object at the rename, with the
  // renames of other API writes held off. Returns the error to answer, if any (412
  // PreconditionFailed, 404 NoSuchKey for If-Match on no object, 501 for an If-None-Match other
  // than "*").
  std::optional<S3Error> publish(TempFile& file, const std::string& key, const std::string& etag,
                                 const ObjectAttrs& attrs, const WriteConditions& cond, const UploadEvent& event);
  // Whether `cond` holds for landing's `key` now: 412 PreconditionFailed, 404 NoSuchKey (If-Match
  // on no object), 501 (If-None-Match other than "*"), or nullopt. publish() checks it again with
  // other API writes held off; CompleteMultipartUpload checks it before its 200 too.
  std::optional<S3Error> condition_problem(const std::string& key, const WriteConditions& cond);
  // A key a write may create in landing: S3's and the trees' rules (key_problem), not a name the
  // config's `ignore` hides from hivehook, not the name of an older version ("x~17"), and no folder
  // of it a file in archive or quarantine (where the object would go). InvalidArgument otherwise.
  std::optional<S3Error> writable_key_problem(const std::string& key) const;
  // writable_key_problem of the request's key, a refused header (s3/write_headers.h), or an
  // If-None-Match S3 does not accept on a write: checked before any body is read.
  std::optional<S3Error> write_request_problem(const std::shared_ptr<Call>& c) const;
  // The object a read of `key` in `bucket` sees: landing's file (or, just after this API wrote it,
  // where hivehook moved it), or archive's / quarantine's latest version of the key.
  FsResult<UniqueFd> open_object(const Bucket& bucket, const std::string& key);
  // The current object's eTag at landing `key` (as open_object sees it); nullopt when there is none.
  std::optional<std::string> current_etag(const std::string& key);
  std::chrono::system_clock::time_point now() const;
  // Read-after-write for the uploader: an object this API published in landing that hivehook has
  // since moved (archive or quarantine, same key, same inode) is still found at its landing key for
  // `kRecentWindow`, so a client's verify-after-upload (rclone's HEAD) sees what it wrote.
  void remember_published(const std::string& key, const struct stat& identity, const std::string& etag);
  void forget_published(const std::string& key);  // DeleteObject(s): the key reads as gone at once
  // DeleteObject(s) of landing's `key`: the file removed (a folder, or no object, is nothing to
  // remove: S3 answers 204 all the same), the key read as gone at once, on_removed told. The error
  // to answer otherwise (AccessDenied for a symlink on the path, InternalError).
  std::optional<S3Error> remove_object(const Call& c, const std::string& key);
  std::optional<std::pair<const Tree*, UniqueFd>> follow_moved(const std::string& key);

  ServiceSettings settings_;
  boost::asio::thread_pool& pool_;
  Tree landing_, archive_, quarantine_;
  std::vector<Bucket> buckets_;
  MultipartUploads uploads_;
  EtagCache etags_;
  struct Published {
    dev_t dev;
    ino_t ino;
    std::chrono::steady_clock::time_point at;
    std::string etag;
  };
  mutable std::mutex ignore_mu_;  // guards settings_.ignore
  std::mutex publish_mu_;  // one API rename at a time: conditions and read-after-write see a settled key
  std::mutex recent_mu_;
  std::unordered_map<std::string, Published> recent_;
};

inline constexpr std::chrono::minutes kRecentWindow{5};

// Headers and XML dates: "Wed, 21 Oct 2015 07:28:00 GMT" and "2015-10-21T07:28:00.000Z".
std::string http_date(std::chrono::system_clock::time_point t);
std::string iso8601(std::chrono::system_clock::time_point t);

}  // namespace hivehook::s3
