// Request headers that ask S3 for something hivehook does not do. Those that would give false
// assurance (encryption, object lock, ACLs granting access, tags, other storage classes) are
// refused, never silently ignored; those that ask for what hivehook does anyway are accepted.
//
// Accepted and without effect: x-amz-storage-class STANDARD, x-amz-acl private or
// bucket-owner-full-control (one key pair owns everything), x-amz-expected-bucket-owner,
// x-amz-request-payer, x-amz-sdk-checksum-algorithm / x-amz-checksum-algorithm (the checksum itself
// is verified). Refused:
// - SSE-C (x-amz-server-side-encryption-customer-*, and x-amz-copy-source-server-side-encryption-
//   customer-*): 400 InvalidRequest, as S3 answers SSE-C over plain HTTP
//   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html);
// - x-amz-object-lock-mode, -retain-until-date, -legal-hold: 400 InvalidRequest "Bucket is missing
//   Object Lock Configuration", as S3 answers for a bucket without object lock;
// - x-amz-server-side-encryption (AES256, aws:kms, ...) and its -aws-kms-* / -bucket-key-enabled
//   companions: 501 NotImplemented (objects are stored as plain files);
// - x-amz-acl other than private / bucket-owner-full-control, x-amz-grant-*: 400
//   AccessControlListNotSupported, as a bucket with ACLs disabled (BucketOwnerEnforced) answers;
// - x-amz-tagging (and x-amz-tagging-directive REPLACE), x-amz-website-redirect-location:
//   501 NotImplemented;
// - x-amz-storage-class other than STANDARD: 501 NotImplemented (InvalidStorageClass, 400, for a
//   name S3 does not know).
#pragma once

#include <boost/beast/http/fields.hpp>
#include <optional>

#include "s3/errors.h"

namespace hivehook::s3 {

// For PutObject, CopyObject and CreateMultipartUpload: the error for the first refused header.
std::optional<S3Error> refused_write_header(const boost::beast::http::fields& headers);
// For GetObject and HeadObject: SSE-C headers are refused (400 InvalidRequest); hivehook's
// objects are never encrypted with a customer key.
std::optional<S3Error> refused_read_header(const boost::beast::http::fields& headers);

}  // namespace hivehook::s3
