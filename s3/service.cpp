#include "s3/service.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <algorithm>
#include <cstring>
#include <ctime>
#include <spdlog/spdlog.h>
#include <stdexcept>

#include "landing/etag.h"
#include "landing/key.h"
#include "landing/made_folders.h"
#include "rules/s3_buckets.h"
#include "http/router.h"
#include "s3/call.h"
#include "s3/object_key.h"
#include "s3/upload_sink.h"
#include "s3/versions.h"
#include "s3/xml.h"

namespace hivehook::s3 {

namespace bhttp = boost::beast::http;

namespace {

// A file name's 255 bytes less the longest suffix hivehook adds to it: "~" + a 20-digit object
// id + "-" + 4 digits + ".error.json" = 37 bytes, rounded up.
constexpr std::size_t kMaxObjectNameBytes = 215;
// The folders one key may make: each is an inotify watch of the daemon's user (fs.inotify.
// max_user_watches, shared by every process of that user) while it exists (issue 12 re-test R12:
// 200 PUTs of 240-folder keys took 39,000 watches in 8 s). Hive-style keys need 5 or 6.
constexpr std::size_t kMaxKeyFolders = 32;

std::string random_hex(std::size_t bytes, bool upper) {
  std::string raw(bytes, '\0');
  std::size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n > 0) got += static_cast<std::size_t>(n);
  }
  std::string h = hex_encode(raw);
  if (upper)
    for (char& c : h) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return h;
}

std::string random_base64(std::size_t bytes) {
  std::string raw(bytes, '\0');
  std::size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n > 0) got += static_cast<std::size_t>(n);
  }
  return base64(raw);
}

std::chrono::system_clock::time_point created_of(const Tree& t) {
  auto st = t.stat("");
  if (!st) return std::chrono::system_clock::now();
  return std::chrono::system_clock::from_time_t(st->st_mtim.tv_sec);
}

Tree open_tree(const std::filesystem::path& p, const char* what) {
  auto t = Tree::open(p);
  if (!t) throw std::runtime_error(std::string("s3: cannot open the ") + what + " folder: " + t.message());
  return std::move(*t);
}

// Removes folder `rel` of `tree` when it holds nothing but empty folders (what archiving leaves
// behind in landing: the partition folders of objects that have moved on). False when it holds
// a file or cannot be read.
// Folders publish makes are marked, so they are removed again once empty (landing/made_folders.h).
void mark_made_for_upload_fd(int dir_fd) { (void)mark_made_for_upload(dir_fd); }

bool remove_empty_folders(const Tree& tree, const std::string& rel, int depth = 0) {
  if (depth > 64) return false;
  auto entries = tree.list_dir(rel);
  if (!entries) return entries.code() == ENOENT;
  for (const auto& e : *entries) {
    if (e.type != EntryType::directory) return false;
    if (!remove_empty_folders(tree, rel + "/" + e.name, depth + 1)) return false;
  }
  auto st = tree.remove_dir(rel);
  return st.ok() || st.code() == ENOENT;
}

}  // namespace

std::string http_date(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string iso8601(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t tt = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

// ---- Call ---------------------------------------------------------------------------------------

void Service::Call::stamp(http::Response& r) const {
  r.headers.set("x-amz-request-id", request_id);
  r.headers.set("x-amz-id-2", id2);
  r.headers.set(bhttp::field::date, http_date(std::chrono::system_clock::now()));
}

void Service::Call::reply(http::Response r) const {
  stamp(r);
  ex->respond(std::move(r));
}

void Service::Call::reply_xml(std::string xml, bhttp::status status) const {
  http::Response r;
  r.status = status;
  r.headers.set(bhttp::field::content_type, "application/xml");
  r.body = std::move(xml);
  reply(std::move(r));
}

void Service::Call::fail(const S3Error& e) const {
  if (e.status >= 500)
    spdlog::warn("s3: {} {} -> {} {}: {}", operation_name(op), resource, e.status, e.code, e.message);
  else
    spdlog::debug("s3: {} {} -> {} {}: {}", operation_name(op), resource, e.status, e.code, e.message);
  http::Response r;
  r.status = static_cast<bhttp::status>(e.status);
  r.headers.set(bhttp::field::content_type, "application/xml");
  r.body = error_xml(e, resource, request_id);
  if (head) {
    r.content_length = 0;
    r.body.clear();
  }
  reply(std::move(r));
}

// ---- Service ------------------------------------------------------------------------------------

Service::Service(ServiceSettings settings, boost::asio::thread_pool& pool)
    : settings_(std::move(settings)),
      pool_(pool),
      landing_(open_tree(settings_.landing, "landing")),
      archive_(open_tree(settings_.archive, "archive")),
      quarantine_(open_tree(settings_.quarantine, "quarantine")),
      uploads_([&] {
        std::error_code ec;
        std::filesystem::create_directories(settings_.staging, ec);
        if (ec) throw std::runtime_error("s3: cannot create " + settings_.staging.string() + ": " + ec.message());
        return open_tree(settings_.staging, "multipart staging");
      }()) {
  if (!settings_.clock) settings_.clock = [] { return std::chrono::system_clock::now(); };
  buckets_.push_back({settings_.landing_bucket, "landing", &landing_, true, created_of(landing_)});
  buckets_.push_back({settings_.archive.filename().string(), "archive", &archive_, false, created_of(archive_)});
  buckets_.push_back({settings_.quarantine.filename().string(), "quarantine", &quarantine_, false, created_of(quarantine_)});
  // The same check as the config loader's (`hivehook check`), for settings built another way.
  if (auto problems = s3_bucket_problems(settings_.landing, settings_.landing_bucket, settings_.archive,
                                         settings_.quarantine);
      !problems.empty())
    throw std::runtime_error("s3: " + problems.front().message);
}

Service::~Service() = default;

std::vector<std::string> Service::bucket_names() const {
  std::vector<std::string> names;
  for (const auto& b : buckets_) names.push_back(b.name);
  return names;
}

std::chrono::system_clock::time_point Service::now() const { return settings_.clock(); }

std::size_t Service::clear_leftovers() {
  std::vector<std::string> errors;
  std::size_t n = remove_temp_files(landing_, kTempPrefix, &errors);
  for (const auto& e : errors) spdlog::warn("s3: {}", e);
  return n + uploads_.clear_leftovers();
}

void Service::set_ignore(std::vector<std::string> ignore) {
  std::lock_guard lock(ignore_mu_);
  settings_.ignore = std::move(ignore);
}

std::vector<std::string> Service::expire_uploads() { return uploads_.expire(settings_.multipart_expiry); }

void Service::handle(std::shared_ptr<http::Exchange> ex) {
  auto c = std::make_shared<Call>();
  c->ex = std::move(ex);
  c->request_id = random_hex(8, true);
  c->id2 = random_base64(48);
  c->head = c->ex->method() == bhttp::verb::head;
  c->resource = std::string(http::target_path(c->ex->target()));
  S3Error err;
  auto req = parse_target(c->ex->target(), &err);
  if (!req) return c->fail(err);
  c->req = std::move(*req);
  std::string unsupported;
  c->op = classify(c->ex->method(), c->req, c->ex->request(), &unsupported);
  // POST Object (a browser form upload): its signature is a field of the form, which hivehook does
  // not read, so say that instead of calling the request anonymous.
  if (c->op == Operation::Unsupported && c->ex->method() == bhttp::verb::post && c->req.key.empty() &&
      c->ex->header("content-type").rfind("multipart/form-data", 0) == 0)
    return c->fail(errors::not_implemented(
        "POST Object (a browser-based upload with a POST policy, as boto3's generate_presigned_post makes): "
        "upload with PutObject, or give the browser a presigned PUT URL (generate_presigned_url('put_object'))"));
  const std::string method(c->ex->request().method_string());
  auto auth = authenticate(AuthRequest{method, c->ex->target(), c->ex->request()}, settings_.credentials, now());
  if (auto* e = std::get_if<S3Error>(&auth)) return c->fail(*e);
  c->auth = std::move(std::get<Authorized>(auth));
  if (c->op == Operation::Unsupported) return c->fail(errors::not_implemented(unsupported));
  if (c->op != Operation::ListBuckets) {
    for (const auto& b : buckets_)
      if (b.name == c->req.bucket) c->bucket = &b;
    if (!c->bucket) {
      if (c->op == Operation::CreateBucket)
        return c->fail(errors::access_denied("hivehook serves exactly three buckets (landing, archive, quarantine); "
                                             "it cannot create '" + c->req.bucket + "'"));
      return c->fail(errors::no_such_bucket(c->req.bucket, bucket_names()));
    }
  }
  try {
    dispatch(c);
  } catch (const std::exception& e) {
    c->fail(errors::internal_error(e.what()));
  }
}

void Service::dispatch(const std::shared_ptr<Call>& c) {
  switch (c->op) {
    case Operation::PutObject:
    case Operation::CopyObject:
    case Operation::DeleteObject:
    case Operation::DeleteObjects:
    case Operation::CreateMultipartUpload:
    case Operation::UploadPart:
    case Operation::CompleteMultipartUpload:
    case Operation::UploadPartCopy:
    case Operation::PutObjectTagging:
    case Operation::DeleteObjectTagging:
      if (!c->bucket->writable)
        return c->fail(errors::access_denied("The " + c->bucket->role + " bucket is hivehook's to write: objects arrive "
                                             "there when hivehook has processed them"));
      break;
    default:
      break;
  }
  switch (c->op) {
    case Operation::ListBuckets: return list_buckets(c);
    case Operation::HeadBucket: {
      http::Response r;
      r.headers.set("x-amz-bucket-region", settings_.credentials.region);
      return c->reply(std::move(r));
    }
    case Operation::CreateBucket: return c->fail(errors::bucket_already_owned());
    case Operation::DeleteBucket:
      return c->fail(errors::access_denied("hivehook's buckets are its folders and cannot be deleted"));
    case Operation::GetBucketLocation: return bucket_location(c);
    case Operation::GetBucketVersioning:
      return c->reply_xml(XmlWriter().open("VersioningConfiguration", kS3Namespace).str());
    case Operation::ListObjects: return list_objects(c, false);
    case Operation::ListObjectsV2: return list_objects(c, true);
    case Operation::ListMultipartUploads: return list_uploads(c);
    case Operation::DeleteObjects: return delete_objects(c);
    case Operation::PutObject: return put_object(c);
    case Operation::CopyObject: return copy_object(c);
    case Operation::GetObject: return get_object(c, false);
    case Operation::HeadObject: return get_object(c, true);
    case Operation::DeleteObject: return delete_object(c);
    case Operation::CreateMultipartUpload: return create_multipart(c);
    case Operation::UploadPart: return upload_part(c);
    case Operation::CompleteMultipartUpload: return complete_multipart(c);
    case Operation::AbortMultipartUpload: return abort_multipart(c);
    case Operation::ListParts: return list_parts(c);
    case Operation::UploadPartCopy: return upload_part_copy(c);
    case Operation::GetObjectTagging: return get_object_tagging(c);
    case Operation::PutObjectTagging:
      return c->fail(errors::not_implemented("PutObjectTagging: hivehook keeps no object tags (objects have an empty "
                                             "TagSet, and x-amz-tagging on a write is refused the same way)"));
    case Operation::DeleteObjectTagging: return delete_object_tagging(c);
    case Operation::Unsupported: return c->fail(errors::not_implemented("this request"));
  }
}

void Service::receive(const std::shared_ptr<Call>& c, TempFile file, std::function<void(std::shared_ptr<UploadSink>)> done,
                      Admit admit) {
  auto made = UploadSink::create(c->auth, c->ex->request(), std::move(file));
  if (auto* e = std::get_if<S3Error>(&made)) return c->fail(*e);
  std::shared_ptr<UploadSink> sink = std::move(std::get<std::unique_ptr<UploadSink>>(made));
  // No room for the declared length: refused now, before the client sends it all. (A check, not
  // a reservation: fallocate would let a client that declares 5 GiB and sends nothing take the
  // disk from everyone until its connection is cut.)
  if (auto n = sink->declared_size(); n && *n > 0) {
    struct statvfs v {};
    if (::fstatvfs(sink->file().fd(), &v) == 0 && static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize < *n)
      return c->fail(S3Error{507, "InsufficientStorage",
                             "No space left to store the " + std::to_string(*n) + " bytes of this " +
                                 (c->op == Operation::UploadPart ? "part" : "object") + ": " +
                                 std::to_string(static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize) + " are free",
                             {}});
  }
  if (admit)
    if (auto err = admit(sink->declared_size().value_or(0))) return c->fail(*err);
  c->ex->read_body([sink](std::string_view piece) { return sink->on_data(piece); },
                   [this, c, sink, done = std::move(done)](const http::BodyResult& r) {
                     if (!r.ok()) {
                       if (sink->error()) return c->fail(*sink->error());
                       switch (r.end) {
                         case http::BodyEnd::too_large: return c->fail(errors::entity_too_large(kMaxObjectBytes));
                         case http::BodyEnd::timed_out:
                           return c->fail(S3Error{400, "RequestTimeout",
                                                  "Your socket connection to the server was not read from or written to "
                                                  "within the timeout period. Idle connections will be closed. (" +
                                                      r.message + ")",
                                                  {}});
                         default: return c->fail(errors::incomplete_body(r.message));
                       }
                     }
                     boost::asio::post(pool_, [c, sink, done] {
                       if (auto err = sink->finish()) return c->fail(*err);
                       done(sink);
                     });
                   });
}

std::optional<S3Error> Service::condition_problem(const std::string& key, const WriteConditions& cond) {
  if (!cond.if_none_match.empty()) {
    if (cond.if_none_match != "*")
      return errors::not_implemented("If-None-Match on a write other than '*' (S3 accepts only '*')");
    if (current_etag(key)) return errors::precondition_failed("If-None-Match");
  }
  if (!cond.if_match.empty()) {
    auto current = current_etag(key);
    if (!current) return errors::no_such_key(key);
    if (!etag_matches(cond.if_match, *current)) return errors::precondition_failed("If-Match");
  }
  return std::nullopt;
}

std::optional<S3Error> Service::publish(TempFile& file, const std::string& key, const std::string& etag,
                                        const ObjectAttrs& attrs, const WriteConditions& cond,
                                        const UploadEvent& event) {
  const int fd = file.fd();
  if (settings_.fsync && ::fdatasync(fd) != 0) {
    const int err = errno;
    if (err == ENOSPC || err == EDQUOT) return S3Error{507, "InsufficientStorage", std::strerror(err), {}};
    return errors::internal_error("cannot fsync " + file.path() + ": " + std::strerror(err));
  }
  if (!record_etag(fd, etag, &event)) {
    static std::once_flag warned;
    std::call_once(warned, [&] {
      spdlog::warn("s3: cannot record eTags on files in {} ({}): jobs are told the content's MD5, which differs "
                   "from S3's eTag for multipart uploads",
                   landing_.root().string(), std::strerror(errno));
    });
  }
  if (!attrs.write(fd)) {
    // The headers the client set are part of the object: never drop them silently.
    const int err = errno;
    if (err == E2BIG || err == ENOSPC || err == ERANGE)
      return S3Error{400, "MetadataTooLarge",
                     "The object's headers (Content-Type, Cache-Control, ..., x-amz-meta-*) do not fit beside the file "
                     "on this filesystem (" + std::string(std::strerror(err)) + "): send fewer or shorter ones",
                     {}};
    if (err == ENOTSUP || err == EOPNOTSUPP) {
      static std::once_flag warned;
      std::call_once(warned, [&] {
        spdlog::warn("s3: cannot keep object headers on files in {} (no user xattrs: {}): Content-Type and "
                     "x-amz-meta-* are not kept",
                     landing_.root().string(), std::strerror(err));
      });
    } else {
      return errors::internal_error("cannot record the object's headers: " + std::string(std::strerror(err)));
    }
  }
  struct stat identity {};
  ::fstat(fd, &identity);  // the inode the key will name (a rename keeps it)
  const std::size_t slash = key.rfind('/');
  const std::string parent = slash == std::string::npos ? "" : key.substr(0, slash);
  auto explain = [&](const FsStatus& st) -> S3Error {
    if (st.code() == ENOTDIR || st.code() == EEXIST)
      return errors::invalid_argument("The key cannot be stored: a part of its path is already an object (a file), so it "
                                      "cannot also be a folder", "key", key);
    if (st.code() == EISDIR)
      return errors::invalid_argument("The key cannot be stored: it is the path of a folder of other objects", "key", key);
    if (st.code() == ELOOP) return errors::access_denied("A folder on the key's path is a symlink, which hivehook never follows");
    if (st.code() == ENOSPC || st.code() == EDQUOT) return S3Error{507, "InsufficientStorage", st.message(), {}};
    return errors::internal_error(st.message());
  };
  // Conditions are checked and the rename done with other API writes held off, so two
  // If-None-Match: * writes of one key cannot both succeed.
  std::lock_guard publishing(publish_mu_);
  if (auto problem = condition_problem(key, cond)) return problem;
  // If-None-Match: * never replaces, even a file dropped into landing meanwhile.
  const Replace replace = cond.if_none_match.empty() ? Replace::yes : Replace::no;
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (!parent.empty())
      if (auto st = landing_.make_dirs(parent, 0755, mark_made_for_upload_fd); !st.ok()) return explain(st);
    auto st = file.publish(key, replace);
    if (st.ok()) {
      remember_published(key, identity, etag);
      return std::nullopt;
    }
    if (st.code() == EEXIST && replace == Replace::no) {
      auto now = landing_.stat(key);
      if (now && !S_ISDIR(now->st_mode)) return errors::precondition_failed("If-None-Match");
    }
    // A folder at the key that holds no object (partition folders left behind after archiving):
    // not an object, so it gives way.
    if ((st.code() == EISDIR || st.code() == EEXIST || st.code() == ENOTEMPTY) && remove_empty_folders(landing_, key)) continue;
    if (st.code() != ENOENT) return explain(st);  // ENOENT: a folder vanished meanwhile; again
  }
  return errors::internal_error("cannot place " + key + ": its folder keeps vanishing");
}

std::optional<S3Error> Service::writable_key_problem(const std::string& key) const {
  if (auto bad = key_problem(key)) return bad;
  const std::size_t slash = key.rfind('/');
  const std::string base = slash == std::string::npos ? key : key.substr(slash + 1);
  std::vector<std::string> ignore;
  {
    std::lock_guard lock(ignore_mu_);
    ignore = settings_.ignore;
  }
  for (const auto& pattern : ignore)
    if (basename_glob_match(pattern, base))
      return errors::invalid_argument("The key's name matches the ignore pattern '" + pattern +
                                          "' of hivehook's config: hivehook would never process it",
                                      "key", key.substr(0, 200));
  if (version_base(base))
    return errors::invalid_argument("Names ending in ~<digits> are the names hivehook gives the older versions of a key "
                                    "in archive and quarantine",
                                    "key", key.substr(0, 200));
  // Room for the names hivehook derives from it in archive and quarantine (a later version
  // "name~<object id>-<n>", an error document "name~<object id>.error.json"): a longer name
  // would have to be cut there, and the cut name read as another key.
  if (base.size() > kMaxObjectNameBytes)
    return errors::invalid_argument("The key's last part (the file name) is " + std::to_string(base.size()) +
                                        " bytes; at most " + std::to_string(kMaxObjectNameBytes) +
                                        " are accepted, leaving room in 255 for the names hivehook gives its later "
                                        "versions and error documents (name~<id>.error.json)",
                                    "key", key.substr(0, 200));
  if (const auto folders = static_cast<std::size_t>(std::count(key.begin(), key.end(), '/')); folders > kMaxKeyFolders)
    return errors::invalid_argument("The key has " + std::to_string(folders) + " folders ('/'); at most " +
                                        std::to_string(kMaxKeyFolders) + " are accepted: each is a watched folder "
                                        "of landing while it exists",
                                    "key", key.substr(0, 200));
  // Where the object goes when processed: no folder of the key may be a file there.
  for (std::size_t end = key.find('/'); end != std::string::npos; end = key.find('/', end + 1)) {
    const std::string folder = key.substr(0, end);
    for (const Bucket& b : buckets_) {
      if (b.writable) continue;
      auto st = b.tree->stat(folder);
      if (st && !S_ISDIR(st->st_mode))
        return errors::invalid_argument("The key cannot be stored: its folder '" + folder + "' is an object in the " +
                                            b.name + " bucket, where this object would go once processed",
                                        "key", key.substr(0, 200));
    }
  }
  return std::nullopt;
}

FsResult<UniqueFd> Service::open_object(const Bucket& bucket, const std::string& key) {
  if (!bucket.writable) {
    auto latest = open_latest(*bucket.tree, key);
    if (!latest) return latest.error();
    return std::move(latest->fd);
  }
  auto fd = landing_.open_regular(key);
  if (!fd && fd.code() == ENOENT)
    if (auto moved = follow_moved(key)) return std::move(moved->second);
  return fd;
}

std::optional<std::string> Service::current_etag(const std::string& key) {
  auto fd = open_object(buckets_.front(), key);
  struct stat st;
  if (!fd || ::fstat(fd->get(), &st) != 0) return std::nullopt;
  return etags_.etag(fd->get(), st);
}

void Service::remember_published(const std::string& key, const struct stat& st, const std::string& etag) {
  const auto t = std::chrono::steady_clock::now();
  std::lock_guard lock(recent_mu_);
  if (recent_.size() >= 100000)
    for (auto it = recent_.begin(); it != recent_.end();) it = t - it->second.at > kRecentWindow ? recent_.erase(it) : std::next(it);
  if (recent_.size() >= 100000) recent_.clear();
  recent_[key] = Published{st.st_dev, st.st_ino, t, etag};
}

void Service::forget_published(const std::string& key) {
  std::lock_guard lock(recent_mu_);
  recent_.erase(key);
}

std::optional<std::pair<const Tree*, UniqueFd>> Service::follow_moved(const std::string& key) {
  Published p;
  {
    std::lock_guard lock(recent_mu_);
    auto it = recent_.find(key);
    if (it == recent_.end()) return std::nullopt;
    if (std::chrono::steady_clock::now() - it->second.at > kRecentWindow) {
      recent_.erase(it);
      return std::nullopt;
    }
    p = it->second;
  }
  // The same file (inode), under the key or, when the key held an earlier object, as "key~<id>".
  for (const Tree* t : {&archive_, &quarantine_})
    if (auto v = open_identity(*t, key, p.dev, p.ino)) return std::make_pair(t, std::move(v->fd));
  // The mover found an identical earlier file and dropped this copy: that file is the object (the
  // latest version, as the mover brings it forward; any version with the eTag when it could not).
  for (const Tree* t : {&archive_, &quarantine_}) {
    auto latest = open_latest(*t, key);
    struct stat st;
    if (!latest || ::fstat(latest->fd.get(), &st) != 0) continue;
    if (auto etag = etags_.etag(latest->fd.get(), st); etag && *etag == p.etag)
      return std::make_pair(t, std::move(latest->fd));
    const std::size_t slash = key.rfind('/');
    const std::string folder = slash == std::string::npos ? "" : key.substr(0, slash + 1);
    auto versions = versions_of(*t, key);
    if (!versions) continue;
    for (const Version& v : *versions) {
      auto fd = t->open_regular(folder + v.name);
      if (!fd || ::fstat(fd->get(), &st) != 0) continue;
      if (auto etag = etags_.etag(fd->get(), st); etag && *etag == p.etag) return std::make_pair(t, std::move(*fd));
    }
  }
  return std::nullopt;
}

}  // namespace hivehook::s3
