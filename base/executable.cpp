#include "base/executable.h"

#include <sys/stat.h>
#include <unistd.h>

namespace hivehook {

std::optional<std::string> find_executable(std::string_view name, std::string_view path_var, std::string* error) {
  if (name.empty()) {
    *error = "empty command";
    return std::nullopt;
  }
  if (name.find('/') != std::string_view::npos) return std::string(name);
  if (path_var.empty()) path_var = "/usr/local/bin:/usr/bin:/bin";
  bool saw_not_executable = false;
  while (true) {
    auto colon = path_var.find(':');
    std::string_view dir = path_var.substr(0, colon);
    std::string candidate = (dir.empty() ? std::string(".") : std::string(dir)) + "/" + std::string(name);
    struct stat st{};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      saw_not_executable = true;
    }
    if (colon == std::string_view::npos) break;
    path_var.remove_prefix(colon + 1);
  }
  *error = (saw_not_executable ? "permission denied: " : "command not found: ") + std::string(name);
  return std::nullopt;
}

}  // namespace hivehook
