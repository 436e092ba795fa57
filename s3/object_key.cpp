#include "s3/object_key.h"

#include <string>

#include "base/utf8.h"
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
  if (!is_valid_utf8(key)) return bad("it is not UTF-8");
  for (std::size_t i = 0; i + 1 < key.size(); ++i) {
    const auto b0 = static_cast<unsigned char>(key[i]), b1 = static_cast<unsigned char>(key[i + 1]);
    if (b0 == 0xC2 && b1 >= 0x80 && b1 <= 0x9F) return bad("it contains a control character (U+0080 to U+009F)");
    if (b0 == 0xD8 && b1 == 0x9C) return bad("it contains a bidirectional formatting character (U+061C)");
    if (i + 2 < key.size() && b0 == 0xE2) {
      const auto b2 = static_cast<unsigned char>(key[i + 2]);
      if ((b1 == 0x80 && (b2 == 0x8E || b2 == 0x8F || (b2 >= 0xAA && b2 <= 0xAE))) || (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9))
        return bad("it contains a bidirectional formatting character (U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069), "
                   "which makes a name display as another");
    }
  }
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
