// libFuzzer entry point for the user.hivehook.etag attribute's value (landing/etag.h), which any
// process that can write a file in landing can set: the whole input is the value. A value that
// parses formats back to exactly itself, and its fields are what the record allows.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "landing/etag.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  auto r = hivehook::parse_etag_record(in);
  if (!r) return 0;
  if (hivehook::format_etag_record(*r) != in) std::abort();
  if (r->etag.size() < 32 || r->etag.size() > 38 || r->mtime_ns < 0) std::abort();
  if (r->event && (r->event->event_name.empty() || r->event->request_id.find(' ') != std::string::npos)) std::abort();
  return 0;
}
