#include "base/build_info.h"

namespace hivehook {

std::string version_line() {
  std::string line = "hivehook " + std::string(build_version()) + " (commit " + std::string(build_commit());
  if (!build_commit_date().empty()) line += ", " + std::string(build_commit_date());
  return line + ")";
}

}  // namespace hivehook
