#include "s3/complete_reply.h"

#include <string_view>

namespace hivehook::s3 {

CompleteReply::CompleteReply(http::Exchange& ex, http::Response head, std::chrono::milliseconds every) {
  head.headers.set(http::bhttp::field::content_type, "application/xml");
  writer_ = ex.respond_open(std::move(head));
  if (!writer_) return;
  writer_->write(kXmlDeclaration);
  writer_->keep_alive(" ", every);
}

CompleteReply::~CompleteReply() {
  if (writer_) writer_->end();
}

void CompleteReply::send_document(const std::string& xml) {
  if (!writer_) return;
  std::string_view doc(xml);
  if (doc.starts_with(kXmlDeclaration)) doc.remove_prefix(std::string_view(kXmlDeclaration).size());
  writer_->write(std::string(doc));
  writer_->end();
  writer_.reset();
}

void CompleteReply::finish(const std::string& xml) { send_document(xml); }

void CompleteReply::fail(const S3Error& e, const std::string& resource, const std::string& request_id) {
  send_document(error_xml(e, resource, request_id));
}

}  // namespace hivehook::s3
