// The web console's files (console/web/*), embedded into the binary at build time by
// cmake/embed_assets.cmake: served from memory, nothing read from disk or the network at run time.
#pragma once

#include <string_view>

namespace hivehook::console {

struct Asset {
  std::string_view name;          // "index.html", "console.js", ...
  std::string_view content_type;  // "text/html; charset=utf-8", ...
  std::string_view body;
  std::string_view etag;          // a strong validator: "\"<fnv-1a 64 hex of body>\""
};

// The asset called `name` (no leading '/'), or nullptr.
const Asset* find_asset(std::string_view name);

}  // namespace hivehook::console
