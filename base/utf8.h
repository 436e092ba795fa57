// UTF-8 validity: file names are bytes, JSON strings must be UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace hivehook {

bool is_valid_utf8(std::string_view s);
// `s` with each invalid byte (bad lead, truncated or overlong sequence, surrogate, > U+10FFFF)
// replaced by U+FFFD, so it can be put into JSON without nlohmann::json throwing on dump().
std::string utf8_sanitize(std::string_view s);
// `s` read as ISO-8859-1 (Latin-1: each byte is the code point of its value) and written as UTF-8:
// "caf\xE9" -> "caf\xC3\xA9". The usual meaning of a file name that is not UTF-8 (a Windows share's).
std::string latin1_to_utf8(std::string_view s);

}  // namespace hivehook
