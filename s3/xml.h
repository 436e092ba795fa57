// S3's XML bodies: a small writer with escaping, and the parse of the two request bodies S3
// clients send (CompleteMultipartUpload and Delete), on Boost.PropertyTree.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hivehook::s3 {

inline constexpr const char* kS3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";

// Writes an XML document element by element: open/close nest, text escapes &, <, >, quotes; tab,
// LF and CR become character references; the other control characters, which XML 1.0 cannot carry
// even as references, and bytes that are not UTF-8 become U+FFFD, so the document is always
// well-formed (listings leave out names that would need that: s3/listing.h). Call str() once at
// the end.
class XmlWriter {
 public:
  XmlWriter();  // starts with the XML declaration
  XmlWriter& open(std::string_view name, std::string_view xmlns = "");
  XmlWriter& close();                                          // the innermost open element
  XmlWriter& element(std::string_view name, std::string_view text);  // <name>text</name>
  std::string str();

 private:
  std::string out_;
  std::vector<std::string> stack_;
};

// Escapes text for an XML element or attribute.
std::string xml_escape(std::string_view text);

struct CompletedPart {
  int part_number = 0;
  std::string etag;  // as the client sent it, quotes removed
};
// <CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"..."</ETag></Part>...
// nullopt and *error when the body is not that document.
std::optional<std::vector<CompletedPart>> parse_complete_multipart(std::string_view body, std::string* error);
// Request documents nested deeper than this are refused before parsing (MalformedXML): S3's are 3
// levels deep, and the parser recurses once per level (a 100,000-deep body overflowed the stack).
inline constexpr std::size_t kMaxXmlDepth = 16;

struct DeleteRequest {
  bool quiet = false;
  std::vector<std::string> keys;
};
// <Delete><Quiet>true</Quiet><Object><Key>k</Key></Object>...</Delete>
std::optional<DeleteRequest> parse_delete(std::string_view body, std::string* error);

}  // namespace hivehook::s3
