// An S3 request as the API sees it: the path-style bucket and key, the query's sub-resources and
// parameters, and which S3 operation the method + sub-resource name
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html).
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "s3/errors.h"

namespace hivehook::s3 {

enum class Operation {
  ListBuckets,
  CreateBucket,
  DeleteBucket,
  HeadBucket,
  GetBucketLocation,
  GetBucketVersioning,
  ListObjects,    // V1
  ListObjectsV2,
  ListMultipartUploads,
  DeleteObjects,
  PutObject,
  CopyObject,
  GetObject,
  HeadObject,
  DeleteObject,
  CreateMultipartUpload,
  UploadPart,
  UploadPartCopy,
  CompleteMultipartUpload,
  AbortMultipartUpload,
  ListParts,
  GetObjectTagging,     // always an empty TagSet: hivehook keeps no object tags
  PutObjectTagging,     // refused (NotImplemented), as x-amz-tagging on a write is
  DeleteObjectTagging,  // 204: an object without tags stays without
  Unsupported,
};

const char* operation_name(Operation op);

struct S3Request {
  std::string bucket;  // "" for the service (ListBuckets)
  std::string key;     // decoded; "" for bucket operations
  std::map<std::string, std::string> query;  // decoded parameters (the first of a repeated name)
  bool has(const std::string& name) const { return query.count(name) > 0; }
  std::string param(const std::string& name) const {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  }
};

// Parses a path-style target "/BUCKET/KEY?QUERY" (the key may contain '/', and is decoded once).
// InvalidURI for a malformed escape or a target that is not a path.
std::optional<S3Request> parse_target(std::string_view target, S3Error* error);

// Which operation a request is. `unsupported` names what was asked for when the result is
// Unsupported (e.g. "GET ?acl").
Operation classify(boost::beast::http::verb method, const S3Request& request,
                   const boost::beast::http::fields& headers, std::string* unsupported);

}  // namespace hivehook::s3
