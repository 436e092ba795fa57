// fuzz-link: hivehook_metrics
// libFuzzer entry point for the metrics server's request-head parser.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "metrics/http_request.h"

using namespace hivehook::metrics;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  std::size_t end = find_head_end(in);
  if (end != std::string_view::npos && (end > in.size() || end < 2)) std::abort();

  HttpParseResult r = parse_http_request_head(in);
  if (r.ok()) {
    // What the server relies on after a successful parse.
    const HttpRequestHead& h = *r.head;
    if (h.method.empty() || h.target.empty() || h.path.empty()) std::abort();
    if (h.path.front() != '/' && h.path != "*") std::abort();
    if (h.headers.size() > kMaxHeaderFields) std::abort();
    for (const auto& [name, value] : h.headers) {
      if (name.empty()) std::abort();
      for (char c : name)
        if (c >= 'A' && c <= 'Z') std::abort();
      for (char c : value)
        if (c == '\r' || c == '\n' || c == '\0') std::abort();
    }
    if (h.version_minor >= 1 && !h.header("host")) std::abort();
    if (!r.error.empty() || r.status != 0) std::abort();
  } else {
    if (r.status != 400 && r.status != 431 && r.status != 505) std::abort();
    if (r.error.empty()) std::abort();
  }
  // The parser must also cope with the head cut at the detected end.
  if (end != std::string_view::npos) (void)parse_http_request_head(in.substr(0, end));
  return 0;
}
