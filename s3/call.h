// One S3 request in flight and the ways to answer it (internal to s3/).
#pragma once

#include <memory>
#include <string>

#include "http/exchange.h"
#include "s3/auth.h"
#include "s3/errors.h"
#include "s3/request.h"
#include "s3/service.h"

namespace hivehook::s3 {

struct Service::Call {
  std::shared_ptr<http::Exchange> ex;
  std::string request_id;  // x-amz-request-id: 16 upper-case hex digits, as S3's
  std::string id2;         // x-amz-id-2: base64 of 48 random bytes, S3's "extended request id"
  std::string resource;    // the request path, for error documents
  S3Request req;
  Operation op = Operation::Unsupported;
  const Bucket* bucket = nullptr;
  Authorized auth;
  bool head = false;

  // Sends `r` with S3's common headers (x-amz-request-id, x-amz-id-2, Date).
  void reply(http::Response r) const;
  // 200 (or `status`) with an XML body.
  void reply_xml(std::string xml, http::bhttp::status status = http::bhttp::status::ok) const;
  // S3's XML error document (no body for HEAD).
  void fail(const S3Error& e) const;
  // Adds the common headers to a response built elsewhere (file bodies).
  void stamp(http::Response& r) const;
  // What an object this request creates is recorded with (landing/etag.h), so the job's event
  // names the operation and the request ids this response carries.
  UploadEvent upload_event(const char* event_name) const { return {event_name, request_id, id2}; }
};

// A response with only a status (204 and the like).
inline http::Response status_only(http::bhttp::status s) {
  http::Response r;
  r.status = s;
  return r;
}

}  // namespace hivehook::s3
