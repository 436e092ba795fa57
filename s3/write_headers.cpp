#include "s3/write_headers.h"

#include <cctype>
#include <string>
#include <string_view>

namespace hivehook::s3 {

namespace {

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

S3Error sse_c(const std::string& header) {
  return errors::invalid_request("Requests specifying Server Side Encryption with Customer provided keys must be made "
                                 "over a secure connection; hivehook never encrypts objects with a customer key (" +
                                 header + ")");
}

constexpr const char* kStorageClasses[] = {"REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
                                           "GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE"};

}  // namespace

std::optional<S3Error> refused_write_header(const boost::beast::http::fields& headers) {
  for (const auto& f : headers) {
    const std::string name = lower(f.name_string());
    const std::string_view value(f.value().data(), f.value().size());
    if (starts_with_ci(name, "x-amz-server-side-encryption-customer-") ||
        starts_with_ci(name, "x-amz-copy-source-server-side-encryption-customer-"))
      return sse_c(name);
    if (starts_with_ci(name, "x-amz-object-lock-"))
      return errors::invalid_request("Bucket is missing Object Lock Configuration: hivehook keeps no object locks, "
                                     "retention or legal holds (" + name + ")");
    if (starts_with_ci(name, "x-amz-server-side-encryption"))
      return errors::not_implemented(name + ": hivehook stores objects as plain files, unencrypted");
    if (name == "x-amz-acl" && value != "private" && value != "bucket-owner-full-control")
      return S3Error{400, "AccessControlListNotSupported",
                     "The bucket does not allow ACLs: one key pair owns every object (x-amz-acl: " + std::string(value) + ")", {}};
    if (starts_with_ci(name, "x-amz-grant-"))
      return S3Error{400, "AccessControlListNotSupported", "The bucket does not allow ACLs (" + name + ")", {}};
    if (name == "x-amz-tagging" && !value.empty())
      return errors::not_implemented("x-amz-tagging: hivehook keeps no object tags");
    if (name == "x-amz-tagging-directive" && value == "REPLACE")
      return errors::not_implemented("x-amz-tagging-directive REPLACE: hivehook keeps no object tags");
    if (name == "x-amz-website-redirect-location")
      return errors::not_implemented("x-amz-website-redirect-location: hivehook serves no websites");
    if (name == "x-amz-storage-class" && value != "STANDARD") {
      for (const char* known : kStorageClasses)
        if (value == known)
          return errors::not_implemented("x-amz-storage-class " + std::string(value) +
                                         ": every object is stored as STANDARD (on this machine's disk)");
      return S3Error{400, "InvalidStorageClass", "The storage class you specified is not valid", {}};
    }
  }
  return std::nullopt;
}

std::optional<S3Error> refused_read_header(const boost::beast::http::fields& headers) {
  for (const auto& f : headers) {
    const std::string name = lower(f.name_string());
    if (starts_with_ci(name, "x-amz-server-side-encryption-customer-")) return sse_c(name);
  }
  return std::nullopt;
}

}  // namespace hivehook::s3
