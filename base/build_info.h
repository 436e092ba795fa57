#pragma once
// What this binary was built from (issue 16 P15): `hivehook --version`, the daemon's start line and
// audit event, and the hivehook_build_info metric name it. Defined in the file cmake/version.cmake
// generates at configure time (build/build_info.cpp).
#include <string>
#include <string_view>

namespace hivehook {

/// The package version: "0.1.0+git<YYYYMMDDHHMMSS>.<12-hex sha>" from a git checkout (the commit
/// date in UTC, the same string as the .deb's Version:), the project version alone outside git.
std::string_view build_version();
/// The full 40-hex commit sha, or "unknown" when built outside git.
std::string_view build_commit();
/// The commit's date as ISO 8601 UTC ("2026-12-01T05:14:00Z"); empty outside git.
std::string_view build_commit_date();

/// One line for --version: "hivehook 0.1.0+git... (commit <sha>, <date>)", or
/// "hivehook 0.1.0 (commit unknown)" outside git.
std::string version_line();

}  // namespace hivehook
