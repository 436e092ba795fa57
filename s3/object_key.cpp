#include "s3/object_key.h"

#include <string>

#include "landing/beneath.h"
#include "landing/key.h"

namespace hivehook::s3 {

std::optional<S3Error> key_problem(std::string_view key) {
  auto bad = [&](const std::string& why) {
    return errors::invalid_argument("The key cannot be stored as an object here: " + why, "key",
                                    std::string(key.substr(0, 200)));
  };
  if (key.empty()) return bad("it is empty");
  if (key.size() > kMaxKeyBytes) return bad("it is longer than 1,024 bytes");
  for (unsigned char c : key)
    if (c < 0x20 || c == 0x7f) return bad("it contains a control character");
  std::string why;
  if (key.front() == '/') return bad("it starts with '/'");
  if (!parse_key(key, &why)) return bad(why);
  std::size_t start = 0;
  while (start <= key.size()) {
    std::size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    const std::string_view seg = key.substr(start, end - start);
    if (seg.size() > kMaxSegmentBytes) return bad("a '/'-separated part is longer than 255 bytes");
    if (is_temp_name(seg)) return bad("names starting with \".hivehook-\" are reserved for hivehook's own files");
    start = end + 1;
  }
  return std::nullopt;
}

}  // namespace hivehook::s3
