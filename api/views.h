// The JSON shapes of /api/v1 (and of `hivehook partitions --json`): one function per record kind.
// Times are RFC 3339 UTC with milliseconds; absent values are null; byte strings (keys, output) are
// made valid UTF-8.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rules/rule.h"
#include "store/activity.h"
#include "store/partitions.h"
#include "store/queries.h"
#include "store/store.h"

namespace hivehook::api {

std::string time_json(int64_t unix_ms);  // "2023-03-15T13:45:12.345Z"

// {id, key, table, partition, state, size, etag, discovered, updated, final_path, error}
nlohmann::json object_json(const ObjectRecord& o);
// {run_id, object_id, key, rule, attempt, state, started, ended, duration_ms, exit_code, signal,
//  error, result} and, with `output`, {stdout_tail, stderr_tail, stderr_excerpt}; error, result and
// output masked by `redact` (base/redactor.h).
// `tail_cap`: each output tail keeps at most its last `tail_cap` bytes (from a line start when one
// is near, whole UTF-8 characters), with "output_truncated": true when a tail was cut (a page of
// runs; one run's own answer keeps the stored tails whole).
nlohmann::json run_json(const RunRecord& r, bool output, const Redactor& redact,
                        std::size_t tail_cap = static_cast<std::size_t>(-1));
// {table, partition, day, objects:{state: n}, total, updated, last_run, waiting_rules, late,
//  arrived_late, missing, failed:[{object_id, key, state, error}]}
nlohmann::json partition_json(const PartitionCell& c);
nlohmann::json activity_json(const std::vector<ActivityMinute>& minutes);
nlohmann::json task_json(const TaskRecord& t);
// {name, description, match:{prefix, suffix, glob, partition}, job: "argv…" | "lambda handler" |
//  "builtin name", on_success, on_failure, source} (no env values: they may hold secrets; the
//  description and the job's command masked by `redact`, base/redactor.h: ${VAR}s are expanded)
nlohmann::json rule_json(const Rule& r, const Redactor& redact);

// How many stderr lines and bytes an excerpt keeps (the console, notifications, `runs --output`).
inline constexpr std::size_t kExcerptLines = 40;
inline constexpr std::size_t kExcerptBytes = 4096;

// A page of `GET /api/v1/runs?output=1` (issue 15 finding F20: 300 runs of 80 KB output were a
// 41 MB answer and grew the daemon by 180 MB): each run's tails keep their last kRunsPageTailBytes,
// and the page stops once its runs pass kRunsPageBytes, with a `next_before` cursor to continue.
inline constexpr std::size_t kRunsPageTailBytes = 8 * 1024;
inline constexpr std::size_t kRunsPageBytes = 1024 * 1024;

}  // namespace hivehook::api
