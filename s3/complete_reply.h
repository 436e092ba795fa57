// The answer of a CompleteMultipartUpload, which may take long to assemble (internal to s3/).
//
// AWS S3 API reference, "CompleteMultipartUpload": "Processing of a Complete Multipart Upload
// request could take several minutes to complete. After Amazon S3 begins processing the request,
// it sends an HTTP response header that specifies a 200 OK response. While processing is in
// progress, Amazon S3 periodically sends white space characters to keep the connection from timing
// out. A request could fail after the initial 200 OK response has been sent. This means that a 200
// OK response can contain either a success or an error." (SDKs look for an <Error> root in a 200 of
// this operation: botocore's check_for_200_error, aws-sdk-go's s3err.)
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "http/exchange.h"
#include "s3/errors.h"

namespace hivehook::s3 {

class CompleteReply {
 public:
  // Sends the 200's head (with S3's common headers `stamped`) and the XML declaration now, then
  // white space whenever nothing was sent for `every`, until finish() or fail().
  CompleteReply(http::Exchange& ex, http::Response head, std::chrono::milliseconds every);
  ~CompleteReply();  // ends the body if neither finish() nor fail() did (the client sees no document)
  CompleteReply(const CompleteReply&) = delete;
  CompleteReply& operator=(const CompleteReply&) = delete;

  // The result document (`xml` as XmlWriter makes it: its declaration, sent already, is dropped).
  void finish(const std::string& xml);
  // An <Error> document (s3/errors.h error_xml) in the 200's body.
  void fail(const S3Error& e, const std::string& resource, const std::string& request_id);
  // False once the client has gone (nothing more reaches it).
  bool open() const { return writer_ && !writer_->closed(); }

 private:
  void send_document(const std::string& xml);
  std::shared_ptr<http::BodyWriter> writer_;
};

// The XML declaration every S3 document starts with.
inline constexpr const char* kXmlDeclaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

}  // namespace hivehook::s3
