// Glob syntax checks for rule validation (the matcher itself is key_glob_match in rule.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hivehook {

// Why a key glob is malformed or can never match, or nullopt when it is fine.
std::optional<std::string> key_glob_problem(std::string_view pattern);

// Can one segment pattern ('*', '?', '[...]', '\\x', literals; no '/') match some text that
// begins with `text`? ("year=*" can begin with "year=", "*" can begin with anything.)
bool glob_segment_can_begin_with(std::string_view segment_pattern, std::string_view text);

}  // namespace hivehook
