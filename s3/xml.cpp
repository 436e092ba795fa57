#include "s3/xml.h"

#include "base/utf8.h"

#include <algorithm>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <sstream>

namespace hivehook::s3 {

namespace pt = boost::property_tree;

std::string xml_escape(std::string_view raw) {
  // Never an invalid document: bytes that are not UTF-8 become U+FFFD.
  const std::string sanitized = is_valid_utf8(raw) ? std::string() : utf8_sanitize(raw);
  const std::string_view text = sanitized.empty() ? raw : std::string_view(sanitized);
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (c == '\t' || c == '\n' || c == '\r') {
          out += c == '\t' ? "&#9;" : c == '\n' ? "&#10;" : "&#13;";
        } else if (c < 0x20) {
          out += "\xEF\xBF\xBD";  // U+FFFD: XML 1.0 cannot carry other control characters at all
        } else {
          out.push_back(ch);
        }
    }
  }
  return out;
}

XmlWriter::XmlWriter() : out_("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") {}

XmlWriter& XmlWriter::open(std::string_view name, std::string_view xmlns) {
  out_ += '<';
  out_ += name;
  if (!xmlns.empty()) {
    out_ += " xmlns=\"";
    out_ += xml_escape(xmlns);
    out_ += '"';
  }
  out_ += '>';
  stack_.emplace_back(name);
  return *this;
}

XmlWriter& XmlWriter::close() {
  if (stack_.empty()) return *this;
  out_ += "</" + stack_.back() + ">";
  stack_.pop_back();
  return *this;
}

XmlWriter& XmlWriter::element(std::string_view name, std::string_view text) {
  out_ += '<';
  out_ += name;
  out_ += '>';
  out_ += xml_escape(text);
  out_ += "</";
  out_ += name;
  out_ += '>';
  return *this;
}

std::string XmlWriter::str() {
  while (!stack_.empty()) close();
  return std::move(out_);
}

namespace {

// The deepest element nesting in `body`, counted without parsing (comments, CDATA, processing
// instructions and declarations skipped; quotes inside tags honoured). The parser below
// (property_tree's rapidxml) recurses once per level on the calling thread's stack.
std::size_t element_depth(std::string_view b) {
  std::size_t depth = 0, deepest = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (b[i] != '<') continue;
    if (i + 1 < b.size() && (b[i + 1] == '!' || b[i + 1] == '?')) {
      const char* close = b.compare(i, 4, "<!--") == 0 ? "-->" : b.compare(i, 9, "<![CDATA[") == 0 ? "]]>" : ">";
      const std::size_t end = b.find(close, i + 2);
      if (end == std::string_view::npos) break;
      i = end;
      continue;
    }
    const bool closing = i + 1 < b.size() && b[i + 1] == '/';
    char quote = 0;
    std::size_t j = i + 1;
    for (; j < b.size(); ++j) {
      if (quote) {
        if (b[j] == quote) quote = 0;
      } else if (b[j] == '"' || b[j] == '\'') {
        quote = b[j];
      } else if (b[j] == '>') {
        break;
      }
    }
    const bool empty_element = !closing && j < b.size() && b[j - 1] == '/';
    if (closing) {
      if (depth > 0) --depth;
    } else if (!empty_element) {
      deepest = std::max(deepest, ++depth);
    }
    i = j;
  }
  return deepest;
}

// The document element, whatever namespace prefix or attributes it carries.
std::optional<pt::ptree> parse_root(std::string_view body, const std::string& root, std::string* error) {
  // S3's request documents are 3 levels deep; a deeply nested body would overflow the stack.
  if (element_depth(body) > kMaxXmlDepth) {
    if (error) *error = "elements nested deeper than " + std::to_string(kMaxXmlDepth) + " levels";
    return std::nullopt;
  }
  pt::ptree tree;
  try {
    std::istringstream in{std::string(body)};
    pt::read_xml(in, tree, pt::xml_parser::no_comments);
  } catch (const pt::xml_parser_error& e) {
    if (error) *error = e.message();
    return std::nullopt;
  }
  auto it = tree.find(root);
  if (it == tree.not_found() || tree.size() != 1) {
    if (error) *error = "the document element must be <" + root + ">";
    return std::nullopt;
  }
  return it->second;
}

std::string unquote(std::string s) {
  // Whitespace around the value, then the quotes S3 puts around eTags (also as &quot;).
  const auto b = s.find_first_not_of(" \t\r\n");
  const auto e = s.find_last_not_of(" \t\r\n");
  s = b == std::string::npos ? "" : s.substr(b, e - b + 1);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

std::optional<std::vector<CompletedPart>> parse_complete_multipart(std::string_view body, std::string* error) {
  auto root = parse_root(body, "CompleteMultipartUpload", error);
  if (!root) return std::nullopt;
  std::vector<CompletedPart> parts;
  for (const auto& [name, child] : *root) {
    if (name == "<xmlattr>") continue;
    if (name != "Part") continue;  // checksum elements and the like are ignored, as unknown elements
    CompletedPart p;
    auto number = child.get_optional<std::string>("PartNumber");
    auto etag = child.get_optional<std::string>("ETag");
    if (!number || !etag) {
      if (error) *error = "every <Part> needs <PartNumber> and <ETag>";
      return std::nullopt;
    }
    const std::string n = unquote(*number);
    if (n.empty() || n.size() > 5 || n.find_first_not_of("0123456789") != std::string::npos) {
      if (error) *error = "<PartNumber> must be a number 1-10000";
      return std::nullopt;
    }
    p.part_number = std::stoi(n);
    p.etag = unquote(*etag);
    parts.push_back(std::move(p));
  }
  if (parts.empty()) {
    if (error) *error = "no <Part> given";
    return std::nullopt;
  }
  return parts;
}

std::optional<DeleteRequest> parse_delete(std::string_view body, std::string* error) {
  auto root = parse_root(body, "Delete", error);
  if (!root) return std::nullopt;
  DeleteRequest d;
  for (const auto& [name, child] : *root) {
    if (name == "Quiet") {
      d.quiet = unquote(child.data()) == "true";
    } else if (name == "Object") {
      auto key = child.get_optional<std::string>("Key");
      if (!key) {
        if (error) *error = "every <Object> needs a <Key>";
        return std::nullopt;
      }
      d.keys.push_back(*key);  // keys are taken verbatim: whitespace can be part of a key
    }
  }
  if (d.keys.empty() || d.keys.size() > 1000) {
    if (error) *error = "<Delete> must name 1 to 1000 objects";
    return std::nullopt;
  }
  return d;
}

}  // namespace hivehook::s3
