// Which S3 keys can be objects here: the key becomes a file path under its bucket's tree, so it
// obeys the same rules as a dropped file's key (landing/key.h) plus S3's own limit.
#pragma once

#include <optional>
#include <string_view>

#include "s3/errors.h"

namespace hivehook::s3 {

inline constexpr std::size_t kMaxKeyBytes = 1024;  // S3's limit (UTF-8 bytes)
inline constexpr std::size_t kMaxSegmentBytes = 255;  // NAME_MAX: one path component

// InvalidArgument naming the problem, or nullopt when the key is usable: not empty, at most 1,024
// bytes, valid UTF-8, no control characters (C0, DEL and C1 U+0080-U+009F, NUL included) and no
// bidirectional formatting characters (U+061C, U+200E/F, U+202A-E, U+2066-9), no empty, "." or ".." segment, no leading or
// trailing '/', every segment at most 255 bytes, and no segment starting with ".hivehook-" (the
// names of hivehook's own temporary files).
std::optional<S3Error> key_problem(std::string_view key);

}  // namespace hivehook::s3
