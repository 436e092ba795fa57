// UTF-8 validity: file names are bytes, JSON strings must be UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace hivehook {

bool is_valid_utf8(std::string_view s);
// `s` with each invalid byte (bad lead, truncated or overlong sequence, surrogate, > U+10FFFF)
// replaced by U+FFFD, so it can be put into JSON without nlohmann::json throwing on dump().
std::string utf8_sanitize(std::string_view s);

}  // namespace hivehook
