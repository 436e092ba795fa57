// PATH search as execvp(3) does it: the one lookup behind spawning a job and checking a rule.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hivehook {

// Searches `path_var` (a PATH value; empty: "/usr/local/bin:/usr/bin:/bin") for a regular file
// `name` that this process may execute. A name with a '/' is returned unchanged. nullopt +
// *error: "command not found: foo" or "permission denied: foo" (found, not executable).
std::optional<std::string> find_executable(std::string_view name, std::string_view path_var, std::string* error);

}  // namespace hivehook
