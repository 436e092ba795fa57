#include "jobs/output_excerpt.h"

#include "base/utf8.h"

namespace hivehook {

std::string output_excerpt(std::string_view raw, std::size_t max_lines, std::size_t max_bytes, const Redactor& redact) {
  // Masked before it is cut, so no cut leaves half a secret to show.
  const std::string masked = redact(std::string(raw));
  const std::string_view tail = masked;
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
  return out;
}

std::string failure_reason(std::string_view error, std::string_view stderr_tail, const Redactor& redact) {
  std::string last;
  if (!stderr_tail.empty()) {
    const std::string excerpt = output_excerpt(stderr_tail, 40, 4096, redact);
    last = excerpt.empty() ? "" : excerpt.substr(0, excerpt.size() - 1);
    last = last.substr(last.rfind('\n') == std::string::npos ? 0 : last.rfind('\n') + 1);
    if (last == "…") last.clear();
    if (last.size() > 300) last = utf8_sanitize(last.substr(0, 300)) + "…";
  }
  const std::string err = redact(std::string(error));
  return err.empty() ? last : last.empty() ? err : err + ": " + last;
}

}  // namespace hivehook
