#include "s3/errors.h"

#include "s3/xml.h"

namespace hivehook::s3 {

std::string error_xml(const S3Error& e, const std::string& resource, const std::string& request_id) {
  XmlWriter w;
  w.open("Error").element("Code", e.code).element("Message", e.message);
  for (const auto& [name, value] : e.details) w.element(name, value);
  w.element("Resource", resource).element("RequestId", request_id).close();
  return w.str();
}

namespace errors {

namespace {
S3Error make(unsigned status, std::string code, std::string message) {
  return S3Error{status, std::move(code), std::move(message), {}};
}
}  // namespace

S3Error access_denied(std::string message) { return make(403, "AccessDenied", std::move(message)); }
S3Error anonymous() {
  return make(403, "AccessDenied", "Anonymous access is not allowed: sign requests with AWS Signature Version 4");
}
S3Error invalid_access_key_id(const std::string& key_id) {
  return make(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
      .with("AWSAccessKeyId", key_id);
}
S3Error signature_does_not_match(std::string detail) {
  S3Error e = make(403, "SignatureDoesNotMatch",
                   "The request signature we calculated does not match the signature you provided. Check your key "
                   "and signing method.");
  if (!detail.empty()) e.message += " (" + detail + ")";
  return e;
}
S3Error request_time_too_skewed(const std::string& request_time, const std::string& server_time) {
  return make(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
      .with("RequestTime", request_time)
      .with("ServerTime", server_time)
      .with("MaxAllowedSkewMilliseconds", "900000");
}
S3Error request_expired(const std::string& expires, const std::string& server_time) {
  return make(403, "AccessDenied", "Request has expired").with("Expires", expires).with("ServerTime", server_time);
}
S3Error authorization_header_malformed(std::string message, const std::string& region) {
  S3Error e = make(400, "AuthorizationHeaderMalformed", std::move(message));
  if (!region.empty()) e.with("Region", region);
  return e;
}
S3Error authorization_query_malformed(std::string message) {
  return make(400, "AuthorizationQueryParametersError", std::move(message));
}
S3Error invalid_request(std::string message) { return make(400, "InvalidRequest", std::move(message)); }
S3Error invalid_argument(std::string message, const std::string& name, const std::string& value) {
  S3Error e = make(400, "InvalidArgument", std::move(message));
  if (!name.empty()) e.with("ArgumentName", name).with("ArgumentValue", value);
  return e;
}
S3Error invalid_uri(std::string message) { return make(400, "InvalidURI", std::move(message)); }
S3Error no_such_bucket(const std::string& bucket, const std::vector<std::string>& existing) {
  std::string message = "The specified bucket does not exist";
  if (!existing.empty()) {
    message += ": this endpoint serves ";
    for (std::size_t i = 0; i < existing.size(); ++i) message += (i ? ", '" : "'") + existing[i] + "'";
  }
  return make(404, "NoSuchBucket", message).with("BucketName", bucket);
}
S3Error no_such_key(const std::string& key) {
  return make(404, "NoSuchKey", "The specified key does not exist.").with("Key", key);
}
S3Error no_such_upload(const std::string& upload_id) {
  return make(404, "NoSuchUpload",
              "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
              "aborted or completed.")
      .with("UploadId", upload_id);
}
S3Error invalid_part(std::string message) { return make(400, "InvalidPart", std::move(message)); }
S3Error invalid_part_order() {
  return make(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.");
}
S3Error entity_too_small(int part_number) {
  return make(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
      .with("PartNumber", std::to_string(part_number))
      .with("MinSizeAllowed", "5242880");
}
S3Error entity_too_large(unsigned long long max_bytes) {
  return make(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
      .with("MaxSizeAllowed", std::to_string(max_bytes));
}
S3Error malformed_xml(std::string detail) {
  S3Error e = make(400, "MalformedXML",
                   "The XML you provided was not well-formed or did not validate against our published schema.");
  if (!detail.empty()) e.message += " (" + detail + ")";
  return e;
}
S3Error invalid_range(unsigned long long size) {
  return make(416, "InvalidRange", "The requested range is not satisfiable")
      .with("ActualObjectSize", std::to_string(size));
}
S3Error bad_digest(std::string message) { return make(400, "BadDigest", std::move(message)); }
S3Error content_sha256_mismatch(const std::string& client, const std::string& computed) {
  return make(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
      .with("ClientComputedContentSHA256", client)
      .with("S3ComputedContentSHA256", computed);
}
S3Error incomplete_body(std::string message) { return make(400, "IncompleteBody", std::move(message)); }
S3Error missing_content_length() {
  return make(411, "MissingContentLength", "You must provide the Content-Length HTTP header.");
}
S3Error not_implemented(std::string what) {
  return make(501, "NotImplemented", "A header or query you provided implies functionality that is not implemented: " +
                                         std::move(what));
}
S3Error method_not_allowed(std::string message) { return make(405, "MethodNotAllowed", std::move(message)); }
S3Error bucket_already_owned() {
  return make(409, "BucketAlreadyOwnedByYou",
              "Your previous request to create the named bucket succeeded and you already own it.");
}
S3Error precondition_failed(const std::string& condition) {
  return make(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
      .with("Condition", condition);
}
S3Error slow_down(std::string message) { return make(503, "SlowDown", std::move(message)); }
S3Error internal_error(std::string message) { return make(500, "InternalError", std::move(message)); }

}  // namespace errors

}  // namespace hivehook::s3
