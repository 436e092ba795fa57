// Glob syntax checks for rule validation (the matcher itself is key_glob_match in rule.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hivehook {

// Why a key glob is malformed or can never match, or nullopt when it is fine.
std::optional<std::string> key_glob_problem(std::string_view pattern);

}  // namespace hivehook
