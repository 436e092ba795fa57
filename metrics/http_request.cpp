#include "metrics/http_request.h"

namespace hivehook::metrics {

namespace {

// RFC 9110 tchar.
bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
    case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

// field-value characters: VCHAR, obs-text, SP, HTAB.
bool is_field_char(unsigned char c) { return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f); }

// request-target characters: visible ASCII only (no spaces, no controls, no obs-text).
bool is_target_char(unsigned char c) { return c >= 0x21 && c <= 0x7e; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

HttpParseResult fail(int status, std::string why) {
  HttpParseResult r;
  r.status = status;
  r.error = std::move(why);
  return r;
}

// Splits off the next line; false (with *bad set) on a bare CR.
bool next_line(std::string_view& rest, std::string_view& line, bool& bad) {
  size_t lf = rest.find('\n');
  if (lf == std::string_view::npos) {
    line = rest;
    rest = {};
  } else {
    line = rest.substr(0, lf);
    rest.remove_prefix(lf + 1);
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find('\r') != std::string_view::npos) {
    bad = true;
    return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

}  // namespace

std::optional<std::string_view> HttpRequestHead::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return std::string_view(value);
  return std::nullopt;
}

std::size_t find_head_end(std::string_view buf) {
  for (size_t i = buf.find('\n'); i != std::string_view::npos; i = buf.find('\n', i + 1)) {
    // An empty line follows this LF: "\n\n" or "\n\r\n".
    if (i + 1 < buf.size() && buf[i + 1] == '\n') return i + 2;
    if (i + 2 < buf.size() && buf[i + 1] == '\r' && buf[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

HttpParseResult parse_http_request_head(std::string_view text) {
  if (text.size() > kMaxRequestHead) return fail(431, "request head larger than 8 KiB");

  // RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request line.
  if (text.starts_with("\r\n")) text.remove_prefix(2);
  else if (text.starts_with("\n")) text.remove_prefix(1);

  std::string_view rest = text, line;
  bool bad = false;
  if (!next_line(rest, line, bad)) return fail(400, "bare CR in request line");
  if (line.empty()) return fail(400, "empty request line");

  // request-line = method SP request-target SP HTTP-version
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return fail(400, "malformed request line");
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return fail(400, "malformed request line");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  for (unsigned char c : method)
    if (!is_tchar(c)) return fail(400, "invalid method");
  for (unsigned char c : target)
    if (!is_target_char(c)) return fail(400, "invalid request target");
  if (target.front() != '/' && target != "*") {
    // absolute-form (a proxy request) is accepted: keep only its path.
    size_t scheme = target.find("://");
    if (scheme == std::string_view::npos || scheme == 0) return fail(400, "invalid request target");
    size_t slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (version.size() != 8 || !version.starts_with("HTTP/") || version[6] != '.' || version[5] < '0' ||
      version[5] > '9' || version[7] < '0' || version[7] > '9')
    return fail(400, "malformed HTTP version");
  if (version[5] != '1') return fail(505, "HTTP version not supported");

  HttpRequestHead head;
  head.method = std::string(method);
  head.target = std::string(target);
  head.path = std::string(target.substr(0, target.find('?')));
  head.version_minor = version[7] - '0';

  while (!rest.empty()) {
    if (!next_line(rest, line, bad)) return fail(400, "bare CR in header");
    if (line.empty()) break;  // end of the head
    if (line.front() == ' ' || line.front() == '\t') return fail(400, "obsolete line folding");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail(400, "malformed header field");
    std::string_view name = line.substr(0, colon);
    for (unsigned char c : name)
      if (!is_tchar(c)) return fail(400, "invalid header field name");  // also "Name :"
    std::string_view value = trim_ows(line.substr(colon + 1));
    for (unsigned char c : value)
      if (!is_field_char(c)) return fail(400, "invalid character in header field value");
    if (head.headers.size() >= kMaxHeaderFields) return fail(431, "too many header fields");
    std::string lname(name);
    for (char& c : lname) c = lower(c);
    head.headers.emplace_back(std::move(lname), std::string(value));
  }

  if (head.version_minor >= 1) {
    int hosts = 0;
    for (const auto& h : head.headers) hosts += h.first == "host";
    if (hosts != 1) return fail(400, hosts ? "more than one Host header" : "missing Host header");
  }
  HttpParseResult r;
  r.head = std::move(head);
  return r;
}

}  // namespace hivehook::metrics
