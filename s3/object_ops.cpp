// PutObject, GetObject/HeadObject, DeleteObject, DeleteObjects, CopyObject, UploadPartCopy, and an
// object's (empty) tagging.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <openssl/evp.h>

#include <cstring>
#include <vector>

#include "landing/made_folders.h"
#include "s3/call.h"
#include "s3/checksum.h"
#include "s3/object_key.h"
#include "s3/sigv4.h"
#include "s3/upload_sink.h"
#include "s3/versions.h"
#include "s3/write_headers.h"
#include "s3/xml.h"

namespace hivehook::s3 {

namespace bhttp = boost::beast::http;

namespace {

std::string_view header(const http::Exchange& ex, std::string_view name) { return ex.header(name); }

std::chrono::system_clock::time_point mtime_of(const struct stat& st) {
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

// A key to read or delete: anything that names a path inside the tree ("..", "//", NUL, absolute
// are InvalidArgument; the tree itself refuses symlinks).
std::optional<S3Error> read_key_problem(const std::string& key) {
  if (auto p = relative_path_problem(key); !p.empty() || key.empty())
    return errors::invalid_argument("The key cannot name an object here: it " + (p.empty() ? std::string("is empty") : p),
                                    "key", key.substr(0, 200));
  if (key.size() > kMaxKeyBytes) return errors::invalid_argument("The key is longer than 1,024 bytes", "key", key.substr(0, 200));
  return std::nullopt;
}

struct Range {
  std::uint64_t first = 0, length = 0;
};

// "bytes=a-b", "bytes=a-", "bytes=-n" (RFC 9110 section 14.1.2). nullopt: no usable range (absent,
// several, or malformed: the whole object is sent, as S3 does); an error when unsatisfiable.
std::variant<std::monostate, Range, S3Error> parse_range(std::string_view h, std::uint64_t size) {
  if (h.empty()) return std::monostate{};
  if (h.substr(0, 6) != "bytes=" || h.find(',') != std::string_view::npos) return std::monostate{};
  std::string_view spec = h.substr(6);
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::monostate{};
  auto num = [](std::string_view s) -> std::optional<std::uint64_t> {
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    return std::stoull(std::string(s));
  };
  const std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  if (a.empty()) {
    auto n = num(b);
    if (!n) return std::monostate{};
    if (*n == 0 || size == 0) return errors::invalid_range(size);
    const std::uint64_t len = std::min(*n, size);
    return Range{size - len, len};
  }
  auto first = num(a);
  if (!first) return std::monostate{};
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!b.empty()) {
    auto l = num(b);
    if (!l || *l < *first) return std::monostate{};
    last = std::min(*l, last);
  }
  if (*first >= size) return errors::invalid_range(size);
  return Range{*first, last - *first + 1};
}

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view s) {
  std::tm tm{};
  const std::string text(s);
  if (!::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

// The x-amz-copy-source-if-* conditions of CopyObject against the source's eTag and mtime (S3's
// rules: If-Match true wins over If-Unmodified-Since false, If-None-Match false over
// If-Modified-Since true; https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html).
std::optional<S3Error> copy_source_problem(const http::Exchange& ex, const std::string& etag,
                                           std::chrono::system_clock::time_point modified) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(modified);
  const auto im = ex.header("x-amz-copy-source-if-match");
  const auto ius = ex.header("x-amz-copy-source-if-unmodified-since");
  const auto inm = ex.header("x-amz-copy-source-if-none-match");
  const auto ims = ex.header("x-amz-copy-source-if-modified-since");
  if (!im.empty()) {
    if (!etag_matches(im, etag)) return errors::precondition_failed("x-amz-copy-source-If-Match");
  } else if (!ius.empty()) {
    if (auto t = parse_http_date(ius); t && seconds > *t) return errors::precondition_failed("x-amz-copy-source-If-Unmodified-Since");
  }
  if (!inm.empty()) {
    if (etag_matches(inm, etag)) return errors::precondition_failed("x-amz-copy-source-If-None-Match");
  } else if (!ims.empty()) {
    if (auto t = parse_http_date(ims); t && seconds <= *t) return errors::precondition_failed("x-amz-copy-source-If-Modified-Since");
  }
  return std::nullopt;
}

}  // namespace

WriteConditions write_conditions(const http::Exchange& ex) {
  return WriteConditions{std::string(ex.header("if-match")), std::string(ex.header("if-none-match"))};
}

std::optional<S3Error> Service::write_request_problem(const std::shared_ptr<Call>& c) const {
  if (auto bad = writable_key_problem(c->req.key)) return bad;
  if (auto bad = refused_write_header(c->ex->request())) return bad;
  if (const std::size_t n = ObjectAttrs::from_request(c->ex->request()).user_metadata_bytes(); n > kMaxUserMetadataBytes)
    return S3Error{400, "MetadataTooLarge",
                   "Your metadata headers exceed the maximum allowed metadata size: the x-amz-meta-* names and values "
                   "take " + std::to_string(n) + " bytes, S3 allows " + std::to_string(kMaxUserMetadataBytes),
                   {}};
  const WriteConditions cond = write_conditions(*c->ex);
  if (!cond.if_none_match.empty() && cond.if_none_match != "*")
    return errors::not_implemented("If-None-Match on a write other than '*' (S3 accepts only '*')");
  return std::nullopt;
}

void Service::put_object(const std::shared_ptr<Call>& c) {
  if (auto bad = write_request_problem(c)) return c->fail(*bad);
  const WriteConditions cond = write_conditions(*c->ex);
  auto tmp = TempFile::create(landing_, "");
  if (!tmp) return c->fail(errors::internal_error("cannot store the upload: " + tmp.message()));
  auto attrs = std::make_shared<ObjectAttrs>(ObjectAttrs::from_request(c->ex->request()));
  receive(c, std::move(*tmp), [this, c, attrs, cond](std::shared_ptr<UploadSink> sink) {
    if (auto err = publish(sink->file(), c->req.key, sink->md5_hex(), *attrs, cond, c->upload_event("ObjectCreated:Put"))) return c->fail(*err);
    spdlog::debug("s3: PutObject {}/{} ({} bytes, eTag {})", c->bucket->name, c->req.key, sink->size(), sink->md5_hex());
    http::Response r;
    r.headers.set(bhttp::field::etag, "\"" + sink->md5_hex() + "\"");
    if (auto sum = sink->verified_checksum()) r.headers.set(sum->first, sum->second);  // S3 echoes it
    c->reply(std::move(r));
  });
}

void Service::get_object(const std::shared_ptr<Call>& c, bool head) {
  if (auto bad = read_key_problem(c->req.key)) {
    // A key no object can have here ("dir/", a "folder marker"; an empty or ".." segment): a read
    // of it finds no object, which S3 answers 404 NoSuchKey (API reference, "GetObject",
    // "HeadObject"); tools probe "p/" with HEAD to tell a folder from a missing path (Hadoop S3A,
    // s3fs). Writes of such keys stay 400 (issue 12 re-test, R2).
    if (!c->req.key.empty() && c->req.key.size() <= kMaxKeyBytes) return c->fail(errors::no_such_key(c->req.key));
    return c->fail(*bad);
  }
  if (c->req.has("partNumber")) return c->fail(errors::not_implemented("GetObject/HeadObject with partNumber"));
  if (auto bad = refused_read_header(c->ex->request())) return c->fail(*bad);
  std::string version;  // versionId: "" for the latest
  if (c->req.has("versionId")) {
    version = c->req.param("versionId");
    if (version_paths(c->req.key, version).empty() || (c->bucket->writable && version != "null"))
      return c->fail(errors::invalid_argument("Invalid version id specified", "versionId", version));
  }
  boost::asio::post(pool_, [this, c, head, version] {
    // Archive and quarantine: the key's latest stored version, or the one asked for (its id
    // answered as x-amz-version-id, as a versioned S3 bucket does).
    FsResult<UniqueFd> fd = FsError{ENOENT, ""};
    std::string served_version;
    if (c->bucket->writable) {
      fd = open_object(*c->bucket, c->req.key);
    } else if (!version.empty()) {
      for (const auto& rel : version_paths(c->req.key, version)) {
        fd = c->bucket->tree->open_regular(rel);
        if (fd || fd.code() != ENOENT) break;
      }
      if (!fd && (fd.code() == ENOENT || fd.code() == ENOTDIR || fd.code() == EISDIR))
        return c->fail(S3Error{404, "NoSuchVersion", "The specified version does not exist.", {}}
                           .with("Key", c->req.key)
                           .with("VersionId", version));
      served_version = version;
    } else if (auto latest = open_latest(*c->bucket->tree, c->req.key)) {
      served_version = version_id(latest->rel.substr(latest->rel.rfind('/') + 1));
      fd = std::move(latest->fd);
    } else {
      fd = latest.error();
    }
    if (!fd) {
      if (fd.code() == ENOENT || fd.code() == ENOTDIR || fd.code() == EISDIR || fd.code() == EINVAL)
        return c->fail(errors::no_such_key(c->req.key));
      if (fd.code() == ELOOP) return c->fail(errors::access_denied("A symlink is on the key's path; hivehook never follows one"));
      return c->fail(errors::internal_error(fd.message()));
    }
    struct stat st;
    if (::fstat(fd->get(), &st) != 0) return c->fail(errors::internal_error(std::strerror(errno)));
    auto etag = etags_.etag(fd->get(), st);
    if (!etag) return c->fail(errors::internal_error("cannot read " + c->bucket->tree->path_of(c->req.key)));
    const auto size = static_cast<std::uint64_t>(st.st_size);
    const auto modified = mtime_of(st);
    const ObjectAttrs attrs = ObjectAttrs::read(fd->get());

    http::Response r;
    r.headers.set(bhttp::field::etag, "\"" + *etag + "\"");
    r.headers.set(bhttp::field::last_modified, http_date(modified));
    r.headers.set(bhttp::field::accept_ranges, "bytes");
    if (!served_version.empty()) r.headers.set("x-amz-version-id", served_version);
    r.headers.set(bhttp::field::content_type, attrs.content_type());
    for (const auto& [name, value] : attrs.headers)
      if (name != "content-type") r.headers.set(name, value);
    static const std::pair<const char*, const char*> kOverrides[] = {
        {"response-content-type", "content-type"}, {"response-content-disposition", "content-disposition"},
        {"response-cache-control", "cache-control"}, {"response-content-encoding", "content-encoding"},
        {"response-content-language", "content-language"}, {"response-expires", "expires"}};
    for (const auto& [param, field] : kOverrides) {
      if (!c->req.has(param)) continue;
      const std::string value = c->req.param(param);
      // A CR or LF (or any control character) would end the header early: response splitting.
      if (std::any_of(value.begin(), value.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F; }))
        return c->fail(errors::invalid_argument("Header values cannot contain control characters", param, ""));
      r.headers.set(field, value);
    }

    // Conditions (RFC 9110 section 13.2.2 order; S3's behaviour for each).
    const auto& ex = *c->ex;
    const auto seconds = std::chrono::floor<std::chrono::seconds>(modified);
    if (auto im = header(ex, "if-match"); !im.empty() && !etag_matches(im, *etag))
      return c->fail(errors::precondition_failed("If-Match"));
    if (auto ius = header(ex, "if-unmodified-since"); !ius.empty() && header(ex, "if-match").empty()) {
      if (auto t = parse_http_date(ius); t && seconds > *t) return c->fail(errors::precondition_failed("If-Unmodified-Since"));
    }
    bool not_modified = false;
    if (auto inm = header(ex, "if-none-match"); !inm.empty()) {
      not_modified = etag_matches(inm, *etag);
    } else if (auto ims = header(ex, "if-modified-since"); !ims.empty()) {
      if (auto t = parse_http_date(ims); t && seconds <= *t) not_modified = true;
    }
    if (not_modified) {
      r.status = bhttp::status::not_modified;
      r.content_length = 0;
      return c->reply(std::move(r));
    }

    auto range = parse_range(header(ex, "range"), size);
    if (auto* e = std::get_if<S3Error>(&range)) return c->fail(*e);
    std::uint64_t first = 0, length = size;
    if (auto* rg = std::get_if<Range>(&range)) {
      first = rg->first;
      length = rg->length;
      r.status = bhttp::status::partial_content;
      r.headers.set(bhttp::field::content_range, "bytes " + std::to_string(first) + "-" + std::to_string(first + length - 1) +
                                                     "/" + std::to_string(size));
    }
    c->stamp(r);
    if (head) {
      r.content_length = length;
      return c->ex->respond(std::move(r));
    }
    c->ex->respond_file(std::move(r), std::move(*fd), first, length);
  });
}

void Service::delete_object(const std::shared_ptr<Call>& c) {
  if (auto bad = read_key_problem(c->req.key)) return c->fail(*bad);
  boost::asio::post(pool_, [this, c] {
    if (auto err = remove_object(*c, c->req.key)) return c->fail(*err);
    c->reply(status_only(bhttp::status::no_content));
  });
}

std::optional<S3Error> Service::remove_object(const Call& c, const std::string& key) {
  forget_published(key);
  auto st = landing_.stat(key);
  if (!st || S_ISDIR(st->st_mode)) return std::nullopt;  // no object, or a "folder": S3 answers 204
  auto removed = landing_.unlink(key);
  if (!removed.ok()) {
    if (removed.code() == ENOENT || removed.code() == ENOTDIR) return std::nullopt;
    if (removed.code() == ELOOP) return errors::access_denied("A symlink is on the key's path; hivehook never follows one");
    return errors::internal_error(removed.message());
  }
  prune_made_folders(landing_, key);
  if (settings_.on_removed)
    settings_.on_removed(ObjectRemoval{key, static_cast<std::uint64_t>(st->st_ino), std::string(operation_name(c.op)),
                                       c.request_id, c.ex->remote().address().to_string() + ":" +
                                                         std::to_string(c.ex->remote().port())});
  return std::nullopt;
}

void Service::delete_objects(const std::shared_ptr<Call>& c) {
  const std::string content_md5(c->ex->header("content-md5"));
  c->ex->read_body_to_string(4 << 20, [this, c, content_md5](const http::BodyResult& r, std::string body) {
    if (!r.ok()) return c->fail(errors::malformed_xml(r.message));
    boost::asio::post(pool_, [this, c, body = std::move(body), content_md5] {
      if (!content_md5.empty()) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_Digest(body.data(), body.size(), md, &len, EVP_md5(), nullptr);
        if (base64_encode(std::string_view(reinterpret_cast<char*>(md), len)) != content_md5)
          return c->fail(errors::bad_digest("The Content-MD5 you specified did not match what we received."));
      }
      std::string why;
      auto req = parse_delete(body, &why);
      if (!req) return c->fail(errors::malformed_xml(why));
      XmlWriter w;
      w.open("DeleteResult", kS3Namespace);
      for (const auto& key : req->keys) {
        std::optional<S3Error> err = read_key_problem(key);
        if (!err) err = remove_object(*c, key);
        if (err) {
          w.open("Error").element("Key", key).element("Code", err->code).element("Message", err->message).close();
        } else if (!req->quiet) {
          w.open("Deleted").element("Key", key).close();
        }
      }
      c->reply_xml(w.str());
    });
  });
}

// x-amz-copy-source: "bucket/key" or "/bucket/key", %-encoded, optionally "?versionId=null"
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html). The bucket must be one of
// the three; the key one a read may name.
std::optional<S3Error> Service::copy_source(const Call& c, const Bucket** bucket, std::string* key,
                                            std::string* version) const {
  std::string source(c.ex->header("x-amz-copy-source"));
  version->clear();
  if (auto q = source.find('?'); q != std::string::npos) {
    const std::string query = source.substr(q + 1);
    source.resize(q);
    if (query.rfind("versionId=", 0) != 0 && !query.empty())
      return errors::invalid_argument("The copy source takes only a versionId", "x-amz-copy-source", query);
    if (!query.empty()) *version = query.substr(10);
  }
  auto decoded = percent_decode(source);
  if (!decoded) return errors::invalid_argument("Invalid copy source encoding", "x-amz-copy-source", source);
  std::string src = *decoded;
  if (!src.empty() && src.front() == '/') src.erase(0, 1);
  const std::size_t slash = src.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == src.size())
    return errors::invalid_argument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
                                    "x-amz-copy-source", source);
  const std::string src_bucket = src.substr(0, slash);
  *key = src.substr(slash + 1);
  *bucket = nullptr;
  for (const auto& b : buckets_)
    if (b.name == src_bucket) *bucket = &b;
  if (!*bucket) return errors::no_such_bucket(src_bucket, bucket_names());
  if (auto bad = read_key_problem(*key)) return bad;
  // An older version, as GetObject serves it (issue 12 re-test, R3): archive and quarantine keep them.
  if ((*bucket)->writable && *version == "null") version->clear();  // landing keeps one: the key's object
  if (!version->empty() && ((*bucket)->writable || version_paths(*key, *version).empty()))
    return errors::invalid_argument("Invalid version id specified", "x-amz-copy-source", *version);
  return std::nullopt;
}

namespace {

// Copies `length` bytes of `in` from `offset` to the end of `out`, hashing them: their binary MD5
// (16 bytes; hex, it is the copy's eTag), or the error to answer (507 on a full disk).
std::variant<std::string, S3Error> copy_and_hash(int in, std::uint64_t offset, std::uint64_t length, int out,
                                                 const std::string& what) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md5(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(md5.get(), EVP_md5(), nullptr);
  std::vector<char> buf(1 << 20);
  std::uint64_t done = 0;
  while (done < length) {
    const ssize_t n = ::pread(in, buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length - done)),
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errors::internal_error("cannot read " + what + ": " + std::strerror(errno));
    if (n == 0) return errors::internal_error("cannot read " + what + ": it became shorter while being copied");
    EVP_DigestUpdate(md5.get(), buf.data(), static_cast<std::size_t>(n));
    for (ssize_t off = 0; off < n;) {
      const ssize_t w = ::write(out, buf.data() + off, static_cast<std::size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        const int err = errno;
        if (err == ENOSPC || err == EDQUOT) return S3Error{507, "InsufficientStorage", std::strerror(err), {}};
        return errors::internal_error("cannot write the copy: " + std::string(std::strerror(err)));
      }
      off += w;
    }
    done += static_cast<std::uint64_t>(n);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(md5.get(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

// x-amz-copy-source-range "bytes=first-last" (zero-based, inclusive; both required) of an object of
// `size` bytes (https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html). Absent:
// the whole object. InvalidArgument when malformed or outside the object, as S3 answers.
std::variant<Range, S3Error> copy_source_range(std::string_view h, std::uint64_t size) {
  if (h.empty()) return Range{0, size};
  auto malformed = [&] {
    return errors::invalid_argument("The x-amz-copy-source-range value must be of the form bytes=first-last where first "
                                    "and last are the zero-based offsets of the first and last bytes to copy",
                                    "x-amz-copy-source-range", std::string(h));
  };
  if (h.substr(0, 6) != "bytes=") return malformed();
  const std::string_view spec = h.substr(6);
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return malformed();
  auto num = [](std::string_view s) -> std::optional<std::uint64_t> {
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    return std::stoull(std::string(s));
  };
  auto first = num(spec.substr(0, dash)), last = num(spec.substr(dash + 1));
  if (!first || !last || *last < *first) return malformed();
  if (*last >= size)
    return errors::invalid_argument("Range specified is not valid for source object of size: " + std::to_string(size),
                                    "x-amz-copy-source-range", std::string(h));
  return Range{*first, *last - *first + 1};
}

}  // namespace

void Service::copy_object(const std::shared_ptr<Call>& c) {
  if (auto bad = write_request_problem(c)) return c->fail(*bad);
  const WriteConditions cond = write_conditions(*c->ex);
  const Bucket* from = nullptr;
  std::string src_key;
  std::string src_version;
  if (auto bad = copy_source(*c, &from, &src_key, &src_version)) return c->fail(*bad);
  std::string directive(c->ex->header("x-amz-metadata-directive"));
  if (directive.empty()) directive = "COPY";
  if (directive != "COPY" && directive != "REPLACE")
    return c->fail(errors::invalid_argument("Unknown metadata directive.", "x-amz-metadata-directive", directive));
  if (from == c->bucket && src_key == c->req.key && directive == "COPY")
    return c->fail(errors::invalid_request(
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's "
        "metadata, storage class, website redirect location or encryption attributes."));
  boost::asio::post(pool_, [this, c, from, src_key, src_version, directive, cond] {
    auto in = open_copy_source(c, *from, src_key, src_version);
    if (!in) return;
    const struct stat& src_st = in->st;
    const ObjectAttrs attrs = directive == "COPY" ? ObjectAttrs::read(in->fd.get()) : ObjectAttrs::from_request(c->ex->request());
    auto tmp = TempFile::create(landing_, "");
    if (!tmp) return c->fail(errors::internal_error("cannot store the copy: " + tmp.message()));
    auto copied = copy_and_hash(in->fd.get(), 0, static_cast<std::uint64_t>(src_st.st_size), tmp->fd(),
                                from->tree->path_of(src_key));
    if (auto* e = std::get_if<S3Error>(&copied)) return c->fail(*e);
    const std::string etag = hex_encode(std::get<std::string>(copied));
    if (auto err = publish(*tmp, c->req.key, etag, attrs, cond, c->upload_event("ObjectCreated:Copy"))) return c->fail(*err);
    auto st = landing_.stat(c->req.key);
    const auto modified = st ? mtime_of(*st) : std::chrono::system_clock::now();
    c->reply_xml(XmlWriter()
                     .open("CopyObjectResult", kS3Namespace)
                     .element("LastModified", iso8601(modified))
                     .element("ETag", "\"" + etag + "\"")
                     .str());
  });
}

std::optional<Service::OpenedSource> Service::open_copy_source(const std::shared_ptr<Call>& c, const Bucket& from,
                                                               const std::string& key, const std::string& version) {
  FsResult<UniqueFd> in = FsError{ENOENT, ""};
  if (version.empty()) {
    in = open_object(from, key);
  } else {
    for (const auto& rel : version_paths(key, version)) {
      in = from.tree->open_regular(rel);
      if (in || in.code() != ENOENT) break;
    }
  }
  if (!in) {
    if (in.code() == ELOOP) c->fail(errors::access_denied("A symlink is on the source key's path"));
    else if (!version.empty())
      c->fail(S3Error{404, "NoSuchVersion", "The specified version does not exist.", {}}.with("Key", key).with("VersionId", version));
    else c->fail(errors::no_such_key(key));
    return std::nullopt;
  }
  OpenedSource src{std::move(*in), {}};
  if (::fstat(src.fd.get(), &src.st) != 0) {
    c->fail(errors::internal_error(std::strerror(errno)));
    return std::nullopt;
  }
  auto etag = etags_.etag(src.fd.get(), src.st);
  if (!etag) {
    c->fail(errors::internal_error("cannot read " + from.tree->path_of(key)));
    return std::nullopt;
  }
  if (auto failed = copy_source_problem(*c->ex, *etag, mtime_of(src.st))) {
    c->fail(*failed);
    return std::nullopt;
  }
  return src;
}

// UploadPartCopy (https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html): part
// `partNumber` of upload `uploadId` is bytes of an existing object (all of it, or
// x-amz-copy-source-range), under the same x-amz-copy-source-if-* conditions as CopyObject. The
// AWS CLI's `s3 cp/mv/sync` between buckets and boto3's managed copy() use it for objects at or
// above their multipart threshold (8 MiB). The part's eTag is the MD5 of the bytes copied.
void Service::upload_part_copy(const std::shared_ptr<Call>& c) {
  const std::string id = c->req.param("uploadId");
  auto number = checked_part_number(c, id);
  if (!number) return;
  if (auto bad = refused_write_header(c->ex->request())) return c->fail(*bad);
  const Bucket* from = nullptr;
  std::string src_key;
  std::string src_version;
  if (auto bad = copy_source(*c, &from, &src_key, &src_version)) return c->fail(*bad);
  boost::asio::post(pool_, [this, c, id, n = *number, from, src_key, src_version] {
    auto in = open_copy_source(c, *from, src_key, src_version);
    if (!in) return;
    const struct stat& src_st = in->st;
    auto range = copy_source_range(c->ex->header("x-amz-copy-source-range"), static_cast<std::uint64_t>(src_st.st_size));
    if (auto* e = std::get_if<S3Error>(&range)) return c->fail(*e);
    const Range r = std::get<Range>(range);
    if (r.length > kMaxObjectBytes) return c->fail(errors::entity_too_large(kMaxObjectBytes));
    auto tmp = uploads_.part_file(id);
    if (!tmp) {
      if (tmp.code() == ENOENT) return c->fail(errors::no_such_upload(id));
      return c->fail(errors::internal_error("cannot store the part: " + tmp.message()));
    }
    auto copied = copy_and_hash(in->fd.get(), r.first, r.length, tmp->fd(), from->tree->path_of(src_key));
    if (auto* e = std::get_if<S3Error>(&copied)) return c->fail(*e);
    if (settings_.fsync && ::fdatasync(tmp->fd()) != 0) {
      const int err = errno;
      if (err == ENOSPC || err == EDQUOT) return c->fail(S3Error{507, "InsufficientStorage", std::strerror(err), {}});
      return c->fail(errors::internal_error("cannot fsync the part: " + std::string(std::strerror(err))));
    }
    Part p;
    p.number = n;
    p.md5_raw = std::get<std::string>(copied);
    p.etag = hex_encode(p.md5_raw);
    p.size = r.length;
    p.last_modified = std::chrono::system_clock::now();
    if (auto err = uploads_.add_part(id, p, std::move(*tmp))) return c->fail(*err);
    c->reply_xml(XmlWriter()
                     .open("CopyPartResult", kS3Namespace)
                     .element("LastModified", iso8601(p.last_modified))
                     .element("ETag", "\"" + p.etag + "\"")
                     .str());
  });
}

// GetObjectTagging (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html):
// hivehook refuses tags on every write, so an existing object's TagSet is empty. NoSuchKey when
// there is no object.
void Service::get_object_tagging(const std::shared_ptr<Call>& c) {
  if (auto bad = read_key_problem(c->req.key)) return c->fail(*bad);
  boost::asio::post(pool_, [this, c] {
    auto in = open_object(*c->bucket, c->req.key);
    if (!in) return c->fail(errors::no_such_key(c->req.key));
    c->reply_xml(XmlWriter().open("Tagging", kS3Namespace).open("TagSet").close().str());
  });
}

// DeleteObjectTagging: 204, the object keeps having no tags. PutObjectTagging is refused in
// dispatch (NotImplemented, as x-amz-tagging on a write is).
void Service::delete_object_tagging(const std::shared_ptr<Call>& c) {
  if (auto bad = read_key_problem(c->req.key)) return c->fail(*bad);
  boost::asio::post(pool_, [this, c] {
    auto in = open_object(*c->bucket, c->req.key);
    if (!in) return c->fail(errors::no_such_key(c->req.key));
    c->reply(status_only(http::bhttp::status::no_content));
  });
}

}  // namespace hivehook::s3
