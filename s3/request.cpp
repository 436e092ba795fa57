#include "s3/request.h"

#include "s3/sigv4.h"

namespace hivehook::s3 {

namespace bhttp = boost::beast::http;

const char* operation_name(Operation op) {
  switch (op) {
    case Operation::ListBuckets: return "ListBuckets";
    case Operation::CreateBucket: return "CreateBucket";
    case Operation::DeleteBucket: return "DeleteBucket";
    case Operation::HeadBucket: return "HeadBucket";
    case Operation::GetBucketLocation: return "GetBucketLocation";
    case Operation::GetBucketVersioning: return "GetBucketVersioning";
    case Operation::ListObjects: return "ListObjects";
    case Operation::ListObjectsV2: return "ListObjectsV2";
    case Operation::ListMultipartUploads: return "ListMultipartUploads";
    case Operation::DeleteObjects: return "DeleteObjects";
    case Operation::PutObject: return "PutObject";
    case Operation::CopyObject: return "CopyObject";
    case Operation::GetObject: return "GetObject";
    case Operation::HeadObject: return "HeadObject";
    case Operation::DeleteObject: return "DeleteObject";
    case Operation::CreateMultipartUpload: return "CreateMultipartUpload";
    case Operation::UploadPart: return "UploadPart";
    case Operation::UploadPartCopy: return "UploadPartCopy";
    case Operation::CompleteMultipartUpload: return "CompleteMultipartUpload";
    case Operation::AbortMultipartUpload: return "AbortMultipartUpload";
    case Operation::ListParts: return "ListParts";
    case Operation::GetObjectTagging: return "GetObjectTagging";
    case Operation::PutObjectTagging: return "PutObjectTagging";
    case Operation::DeleteObjectTagging: return "DeleteObjectTagging";
    case Operation::Unsupported: return "Unsupported";
  }
  return "Unsupported";
}

std::optional<S3Request> parse_target(std::string_view target, S3Error* error) {
  auto bad = [&](const std::string& why) -> std::optional<S3Request> {
    if (error) *error = errors::invalid_uri("Couldn't parse the specified URI: " + why);
    return std::nullopt;
  };
  if (target.empty() || target.front() != '/') return bad("the request target must be a path");
  const std::size_t q = target.find('?');
  const std::string_view path = target.substr(1, q == std::string_view::npos ? std::string_view::npos : q - 1);
  const std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  S3Request r;
  const std::size_t slash = path.find('/');
  auto bucket = percent_decode(path.substr(0, slash));
  if (!bucket) return bad("a malformed %-escape in the bucket");
  r.bucket = std::move(*bucket);
  if (slash != std::string_view::npos) {
    auto key = percent_decode(path.substr(slash + 1));
    if (!key) return bad("a malformed %-escape in the key");
    r.key = std::move(*key);
  }
  std::size_t start = 0;
  while (start < query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view part = query.substr(start, end - start);
    start = end + 1;
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    auto name = percent_decode(part.substr(0, eq));
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
    if (!name || !value) return bad("a malformed %-escape in the query");
    r.query.emplace(std::move(*name), std::move(*value));
  }
  return r;
}

Operation classify(bhttp::verb method, const S3Request& r, const bhttp::fields& headers, std::string* unsupported) {
  auto nope = [&](std::string what) {
    if (unsupported) *unsupported = std::move(what);
    return Operation::Unsupported;
  };
  const bool copy = headers.find("x-amz-copy-source") != headers.end();
  if (r.bucket.empty()) {
    if (method == bhttp::verb::get) return Operation::ListBuckets;
    return nope(std::string(bhttp::to_string(method)) + " /");
  }
  // An object's tags (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html):
  // hivehook keeps none, but clients read them (the AWS CLI's `s3 cp` between buckets asks for the
  // source's tags before a multipart copy), so reading answers the truth: no tags.
  if (r.has("tagging") && !r.key.empty()) {
    switch (method) {
      case bhttp::verb::get: return Operation::GetObjectTagging;
      case bhttp::verb::put: return Operation::PutObjectTagging;
      case bhttp::verb::delete_: return Operation::DeleteObjectTagging;
      default: break;
    }
  }
  // Sub-resources S3 has that hivehook does not emulate.
  static const char* kUnsupported[] = {"acl", "policy", "cors", "lifecycle", "tagging", "website", "logging",
                                       "notification", "replication", "encryption", "object-lock", "retention",
                                       "legal-hold", "torrent", "versions", "analytics", "metrics", "inventory",
                                       "intelligent-tiering", "ownershipControls", "publicAccessBlock", "accelerate",
                                       "requestPayment", "restore", "select", "attributes"};
  for (const char* sub : kUnsupported)
    if (r.has(sub)) return nope(std::string(bhttp::to_string(method)) + " ?" + sub);

  if (r.key.empty()) {
    switch (method) {
      case bhttp::verb::get:
        if (r.has("location")) return Operation::GetBucketLocation;
        if (r.has("versioning")) return Operation::GetBucketVersioning;
        if (r.has("uploads")) return Operation::ListMultipartUploads;
        if (r.param("list-type") == "2") return Operation::ListObjectsV2;
        return Operation::ListObjects;
      case bhttp::verb::head: return Operation::HeadBucket;
      case bhttp::verb::put:
        // PutBucketVersioning: versioning is never enabled (GetBucketVersioning says so).
        if (r.has("versioning")) return nope("PUT ?versioning (PutBucketVersioning: hivehook keeps versions of its own)");
        return Operation::CreateBucket;
      case bhttp::verb::delete_: return Operation::DeleteBucket;
      case bhttp::verb::post:
        if (r.has("delete")) return Operation::DeleteObjects;
        return nope("POST on a bucket");
      default: return nope(std::string(bhttp::to_string(method)) + " on a bucket");
    }
  }
  switch (method) {
    case bhttp::verb::get:
      if (r.has("uploadId")) return Operation::ListParts;
      return Operation::GetObject;
    case bhttp::verb::head: return Operation::HeadObject;
    case bhttp::verb::put:
      if (r.has("partNumber") && r.has("uploadId")) return copy ? Operation::UploadPartCopy : Operation::UploadPart;
      return copy ? Operation::CopyObject : Operation::PutObject;
    case bhttp::verb::delete_:
      if (r.has("uploadId")) return Operation::AbortMultipartUpload;
      return Operation::DeleteObject;
    case bhttp::verb::post:
      if (r.has("uploads")) return Operation::CreateMultipartUpload;
      if (r.has("uploadId")) return Operation::CompleteMultipartUpload;
      return nope("POST on an object");
    default: return nope(std::string(bhttp::to_string(method)) + " on an object");
  }
}

}  // namespace hivehook::s3
