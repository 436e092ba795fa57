// What a finished job left behind, as the store records it: shared by object runs (runs.cpp) and
// scheduled runs (schedules.cpp). (Internal to pipeline/.)
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "jobs/job_runner.h"
#include "pipeline/stats.h"
#include "store/store.h"

namespace hivehook {

inline constexpr int kExitDataErr = 65;  // EX_DATAERR: bad input, never retried

// The job's $HIVEHOOK_RESULT: one JSON object (stored as compact text), or "" with *problem set
// (larger than 1 MiB, not JSON). The file is removed once read; no file is "" without a problem.
std::string take_result(const std::filesystem::path& file, std::string* problem);
// Exit 0, not signalled, not timed out.
bool succeeded(const ProcessResult& r);
// The run row's outcome fields (ended_at, duration, exit code or signal, output tails, error)
// from what the runner reported; `now_ms` unix ms.
void fill_outcome(RunRecord& run, ProcessResult& r, int64_t now_ms);
// The detail of a run's end event: duration_ms, exit_code, signal, error, result.
nlohmann::json run_detail(const RunRecord& run);
// The fields of a run's REPORT line (one per run end, as Lambda's): "rule=R attempt=N run_id=ID
// duration_ms=MS exit_code=C signal=S". duration_ms only when known: a run cut off by a crash has
// no measured end (recovery records it interrupted at the next start), so it has none -- never a
// made-up 0; likewise exit_code and signal only when there is one.
std::string report_fields(const RunRecord& run);
// A run that ended in `run.state`: counted (hivehook_runs_finished_total{rule,outcome}, and its
// duration in hivehook_run_duration_seconds unless interrupted) and logged as one REPORT line,
// "<head> | REPORT <report_fields>" — at warning when the run failed or timed out, so that
// `journalctl -p warning` names the rule and exit code beside the quarantine (issue 16 retest P5),
// else at info.
void report_run_end(PipelineStats& stats, const RunRecord& run, const std::string& head);

}  // namespace hivehook
