// The two jobs hivehook runs: load a dimension snapshot, load one transactions file.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace hivehook::etl {

// sysexits: 65 = bad input, never retried; 75 = try again later (dimensions not loaded yet).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 64;
inline constexpr int kExitDataErr = 65;
inline constexpr int kExitTempFail = 75;

struct JobOptions {
  std::string file;         // the CSV to read
  std::string warehouse;    // sqlite:PATH | postgresql://...
  std::string source_file;  // the landing key stored with every row (--key, $HIVEHOOK_KEY, path)
  std::string run_id;       // $HIVEHOOK_RUN_ID, may be empty
};

struct JobOutcome {
  int exit_code = kExitOk;
  std::string summary;    // one line for stdout (success) or stderr (failure)
  std::string warning;    // one line for stderr beside a success ("" = none)
  nlohmann::json result;  // what goes to $HIVEHOOK_RESULT
};

JobOutcome run_dims(const JobOptions& opts);
JobOutcome run_transactions(const JobOptions& opts);

}  // namespace hivehook::etl
