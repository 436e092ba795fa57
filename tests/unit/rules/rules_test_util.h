// Shared helpers for the rules tests: a fresh temp folder per test and diagnostic lookups.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "rules/config.h"
#include "rules/diagnostics.h"
#include "unit/support/temp_dir.h"

namespace hivehook::test {


// Is there a diagnostic in a file ending with `file` at line:col with exactly this message?
inline ::testing::AssertionResult HasDiag(const Diagnostics& d, const std::string& file, int line, int col,
                                          const std::string& message,
                                          Diagnostic::Severity sev = Diagnostic::Severity::error) {
  for (const auto& x : d.items()) {
    bool file_ok = x.file.size() >= file.size() && x.file.compare(x.file.size() - file.size(), file.size(), file) == 0;
    if (file_ok && x.line == line && x.col == col && x.message == message && x.severity == sev)
      return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no diagnostic " << file << ":" << line << ":" << col << ": " << message
                                       << "\nhave:\n"
                                       << d.str();
}

inline int error_count(const Diagnostics& d) {
  int n = 0;
  for (const auto& x : d.items()) n += x.severity == Diagnostic::Severity::error;
  return n;
}

// A minimal valid config in `dir` (landing, rules folder, two notify targets).
inline std::filesystem::path minimal_config(const TempDir& dir, const std::string& extra = "") {
  dir.mkdir("landing");
  dir.mkdir("rules");
  return dir.write("hivehook.yaml",
                   "landing: landing\n"
                   "notify:\n"
                   "  ops-hook: {webhook: http://127.0.0.1:8080/hook}\n"
                   "  ops-mail: {smtp: smtp://127.0.0.1:2525, from: a@example.com, to: b@example.com}\n" +
                       extra);
}

}  // namespace hivehook::test
