// ListBuckets, ListObjects (V1 and V2), GetBucketLocation.
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <mutex>
#include <set>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "base/encoding.h"
#include "base/utf8.h"
#include "s3/call.h"
#include "s3/checksum.h"
#include "s3/listing.h"
#include "s3/sigv4.h"
#include "s3/xml.h"

namespace hivehook::s3 {

namespace {

constexpr const char* kOwner = "hivehook";

std::chrono::system_clock::time_point from_ns(std::int64_t ns) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(ns)));
}

// Tells the operator, once per file, about files a listing left out (ListPage::unlisted: absolute
// paths) and what to do about each: the path as a shell word (its bytes as they are) and a rename
// to paste. S3 keys are UTF-8 (docs/decisions.md, "S3: file names that are no S3 key").
void warn_unlisted(const std::string& bucket, const std::vector<std::string>& unlisted) {
  static std::mutex mu;
  static std::set<std::string> warned;
  std::vector<std::string> fresh;
  {
    std::lock_guard lock(mu);
    for (const auto& path : unlisted) {
      if (warned.size() >= 10000) break;  // enough said; the rest stay quiet
      if (warned.insert(path).second) fresh.push_back(path);
    }
  }
  for (const auto& path : fresh) {
    if (!is_valid_utf8(path)) {
      const std::filesystem::path p(path);
      const std::string suggested = (p.parent_path() / latin1_to_utf8(p.filename().string())).string();
      spdlog::warn("s3: bucket '{}' does not list {}: its name is not UTF-8, and S3 keys are UTF-8 text, so no S3 client "
                   "can ask for it (hivehook processes it like any file, and it is intact on disk). To reach it through "
                   "the API, give it a UTF-8 name, e.g. if it is Latin-1 (a Windows share's): mv -n -- {} {} "
                   "(a whole tree: convmv -f latin1 -t utf8 -r --notest DIR). Renamed in landing it is a new "
                   "arrival and is processed again; in archive or quarantine it is only renamed (docs/s3.md \"Keys\")",
                   bucket, shell_quoted(path), shell_quoted(path), shell_quoted(suggested));
    } else {
      spdlog::warn("s3: bucket '{}' lists {} only to clients that ask for encoding-type=url (the AWS CLI, boto3 and "
                   "rclone do): its name has a control character, which XML 1.0 cannot carry. Rename it without one "
                   "to list it to every client (docs/s3.md \"Keys\")",
                   bucket, shell_quoted(path));
    }
  }
}

}  // namespace

void Service::list_buckets(const std::shared_ptr<Call>& c) {
  XmlWriter w;
  w.open("ListAllMyBucketsResult", kS3Namespace);
  w.open("Owner").element("ID", kOwner).element("DisplayName", kOwner).close();
  w.open("Buckets");
  for (const auto& b : buckets_) w.open("Bucket").element("Name", b.name).element("CreationDate", iso8601(b.created)).close();
  c->reply_xml(w.str());
}

void Service::bucket_location(const std::shared_ptr<Call>& c) {
  // us-east-1 is the empty LocationConstraint, as S3 answers.
  const std::string& region = settings_.credentials.region;
  c->reply_xml("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"" + std::string(kS3Namespace) +
               "\">" + (region == "us-east-1" ? std::string() : xml_escape(region)) + "</LocationConstraint>");
}

void Service::list_objects(const std::shared_ptr<Call>& c, bool v2) {
  const auto& r = c->req;
  ListQuery q;
  q.prefix = r.param("prefix");
  q.delimiter = r.param("delimiter");
  const bool url = r.param("encoding-type") == "url";
  if (r.has("encoding-type") && !url)
    return c->fail(errors::invalid_argument("Invalid Encoding Method specified in Request", "encoding-type", r.param("encoding-type")));
  if (r.has("max-keys")) {
    const std::string mk = r.param("max-keys");
    if (mk.empty() || mk.size() > 9 || mk.find_first_not_of("0123456789") != std::string::npos)
      return c->fail(errors::invalid_argument("Provided max-keys not an integer or within integer range", "max-keys", mk));
    q.max_keys = std::min<std::size_t>(std::stoul(mk), 1000);
  }
  std::string token;
  if (v2) {
    q.start_after = r.param("start-after");
    if (r.has("continuation-token")) {
      token = r.param("continuation-token");
      auto raw = base64_decode(token);
      if (!raw || raw->empty() || ((*raw)[0] != 'k' && (*raw)[0] != 'p'))
        return c->fail(errors::invalid_argument("The continuation token provided is incorrect", "continuation-token", token));
      q.start_after = raw->substr(1);
      if ((*raw)[0] == 'p') q.skip_prefix = q.start_after;
    }
  } else {
    q.start_after = r.param("marker");
    // A V1 marker that is a common prefix (NextMarker) skips everything under it.
    if (!q.delimiter.empty() && q.start_after.size() >= q.delimiter.size() &&
        q.start_after.compare(q.start_after.size() - q.delimiter.size(), q.delimiter.size(), q.delimiter) == 0)
      q.skip_prefix = q.start_after;
  }
  q.latest_versions = !c->bucket->writable;
  q.url_encoded = url;
  boost::asio::post(pool_, [this, c, q, v2, url, token] {
    ListPage page = list_tree(*c->bucket->tree, q);
    for (const auto& e : page.errors) spdlog::warn("s3: listing {}: {}", c->bucket->name, e);
    warn_unlisted(c->bucket->name, page.unlisted);
    auto enc = [url](const std::string& s) { return url ? uri_encode(s, false) : s; };
    const auto& r = c->req;
    XmlWriter w;
    w.open("ListBucketResult", kS3Namespace);
    w.element("Name", c->bucket->name).element("Prefix", enc(q.prefix));
    if (v2) {
      if (r.has("start-after")) w.element("StartAfter", enc(r.param("start-after")));
      if (!token.empty()) w.element("ContinuationToken", token);
      w.element("KeyCount", std::to_string(page.objects.size() + page.common_prefixes.size()));
    } else {
      w.element("Marker", enc(r.param("marker")));
    }
    w.element("MaxKeys", std::to_string(q.max_keys));
    if (!q.delimiter.empty()) w.element("Delimiter", enc(q.delimiter));
    if (url) w.element("EncodingType", "url");
    w.element("IsTruncated", page.truncated ? "true" : "false");
    if (page.truncated) {
      if (v2)
        w.element("NextContinuationToken", base64_encode((page.last_is_prefix ? "p" : "k") + page.last));
      else if (!q.delimiter.empty())
        w.element("NextMarker", enc(page.last));
    }
    const bool owner = !v2 || r.param("fetch-owner") == "true";
    for (const auto& o : page.objects) {
      std::string etag;
      auto fd = c->bucket->tree->open_regular(o.file);
      struct stat st;
      if (fd && ::fstat(fd->get(), &st) == 0) {
        if (auto e = etags_.etag(fd->get(), st)) etag = *e;
      }
      if (etag.empty()) continue;  // vanished meanwhile: not an object any more
      w.open("Contents")
          .element("Key", enc(o.key))
          .element("LastModified", iso8601(from_ns(o.mtime_ns)))
          .element("ETag", "\"" + etag + "\"")
          .element("Size", std::to_string(o.size));
      if (owner) w.open("Owner").element("ID", kOwner).element("DisplayName", kOwner).close();
      w.element("StorageClass", "STANDARD").close();
    }
    for (const auto& p : page.common_prefixes) w.open("CommonPrefixes").element("Prefix", enc(p)).close();
    c->reply_xml(w.str());
  });
}

}  // namespace hivehook::s3
