#include "jobs/output_excerpt.h"

#include <regex>

#include "base/utf8.h"

namespace hivehook {

namespace {

void replace_all(std::string& text, const std::string& needle, std::string_view with) {
  if (needle.empty()) return;
  for (std::size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + with.size()))
    text.replace(pos, needle.size(), with);
}

}  // namespace

std::string redact_output(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets)
    if (s.size() >= 3) replace_all(text, s, "***");  // a 1-2 byte "secret" would shred the text
  static const std::regex kNamed(
      R"(((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|credentials?)[A-Za-z_]*["']?\s*[:=]\s*["']?)[^\s"',;&]+)",
      std::regex::icase);
  static const std::regex kBearer(R"((\bbearer\s+)[A-Za-z0-9\-._~+/]+=*)", std::regex::icase);
  static const std::regex kUrlPassword(R"((://[^/\s:@]+:)[^@\s/]+@)");
  text = std::regex_replace(text, kNamed, "$1***");
  text = std::regex_replace(text, kBearer, "$1***");
  text = std::regex_replace(text, kUrlPassword, "$1***@");
  return text;
}

std::string output_excerpt(std::string_view tail, std::size_t max_lines, std::size_t max_bytes,
                           const std::vector<std::string>& secrets) {
  // Lines, with CRLF and lone CR as line ends.
  std::vector<std::string> lines(1);
  for (std::size_t i = 0; i < tail.size(); ++i) {
    const char c = tail[i];
    if (c == '\r') {
      if (i + 1 < tail.size() && tail[i + 1] == '\n') ++i;
      lines.emplace_back();
    } else if (c == '\n') {
      lines.emplace_back();
    } else {
      lines.back().push_back(c);
    }
  }
  while (!lines.empty() && lines.back().find_first_not_of(" \t") == std::string::npos) lines.pop_back();
  bool cut = false;
  if (lines.size() > max_lines) {
    lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(max_lines));
    cut = true;
  }
  std::string out;
  std::size_t total = 0;
  std::size_t first = lines.size();
  // Keep whole lines from the end while they fit; a single over-long last line keeps its end.
  while (first > 0 && total + lines[first - 1].size() + 1 <= max_bytes) total += lines[--first].size() + 1;
  if (first > 0) cut = true;
  if (first == lines.size() && !lines.empty()) {
    std::string& last = lines.back();
    last = last.substr(last.size() - std::min(last.size(), max_bytes));
    first = lines.size() - 1;
  }
  for (std::size_t i = first; i < lines.size(); ++i) {
    std::string clean;
    for (unsigned char c : utf8_sanitize(lines[i])) {
      if (c < 0x20 && c != '\t') {
        static const char* kHex = "0123456789abcdef";
        clean += "\\x";
        clean += kHex[c >> 4];
        clean += kHex[c & 15];
      } else if (c == 0x7f) {
        clean += "\\x7f";
      } else {
        clean.push_back(static_cast<char>(c));
      }
    }
    out += clean;
    out += '\n';
  }
  if (cut) out = "…\n" + out;
  return redact_output(std::move(out), secrets);
}

}  // namespace hivehook
