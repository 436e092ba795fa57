// S3's error responses: the code, the HTTP status and the XML error document
// (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace hivehook::s3 {

struct S3Error {
  unsigned status = 500;  // HTTP status
  std::string code;       // "NoSuchKey", "SignatureDoesNotMatch", ...
  std::string message;    // a sentence for people
  std::vector<std::pair<std::string, std::string>> details;  // extra elements (<Key>, <Region>, ...)

  S3Error& with(std::string name, std::string value) {
    details.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// The XML error document, with <Resource> and <RequestId>.
std::string error_xml(const S3Error& e, const std::string& resource, const std::string& request_id);

// The errors hivehook answers, with S3's codes, statuses and wording.
namespace errors {
S3Error access_denied(std::string message = "Access Denied");
S3Error anonymous();  // no credentials: AccessDenied
S3Error invalid_access_key_id(const std::string& key_id);
S3Error signature_does_not_match(std::string detail = "");
S3Error request_time_too_skewed(const std::string& request_time, const std::string& server_time);
S3Error request_expired(const std::string& expires, const std::string& server_time);  // presigned: AccessDenied
S3Error authorization_header_malformed(std::string message, const std::string& region = "");
S3Error authorization_query_malformed(std::string message);
S3Error invalid_request(std::string message);
S3Error invalid_argument(std::string message, const std::string& name = "", const std::string& value = "");
S3Error invalid_uri(std::string message);
// `existing`: the buckets there are, named in the message (S3 names none; a local user's typo is
// likelier than a missing bucket).
S3Error no_such_bucket(const std::string& bucket, const std::vector<std::string>& existing = {});
S3Error no_such_key(const std::string& key);
S3Error no_such_upload(const std::string& upload_id);
S3Error invalid_part(std::string message);
S3Error invalid_part_order();
S3Error entity_too_small(int part_number);
S3Error entity_too_large(unsigned long long max_bytes);
S3Error malformed_xml(std::string detail = "");
S3Error invalid_range(unsigned long long size);
S3Error bad_digest(std::string message);
S3Error content_sha256_mismatch(const std::string& client, const std::string& computed);
S3Error incomplete_body(std::string message);
S3Error missing_content_length();
S3Error not_implemented(std::string what);
S3Error method_not_allowed(std::string message);
S3Error bucket_already_owned();
S3Error precondition_failed(const std::string& condition);
S3Error slow_down(std::string message);
S3Error internal_error(std::string message);
}  // namespace errors

}  // namespace hivehook::s3
