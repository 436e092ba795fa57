// What one run of a job is told: argv placeholders, HIVEHOOK_* environment, the S3 event on stdin.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "landing/etag.h"
#include "landing/key.h"
#include "rules/rule.h"

namespace hivehook {

struct RunContext {
  ObjectKey key;
  std::filesystem::path path;   // absolute path of the object in landing
  std::string bucket;
  std::string region = "local";  // awsRegion: the S3 API's `s3.region` when it is on, else "local"
  std::uint64_t size = 0;
  std::string etag;             // hex MD5 of the content
  std::string sequencer;        // increasing per key (hex, as S3)
  // How the S3 API created the object (eventName and the request ids its client got); unset for a
  // file dropped into landing: eventName ObjectCreated:Put (DESIGN.md), ids derived from the run.
  std::optional<UploadEvent> upload;
  SystemTime event_time;        // discovery time
  std::string rule;
  std::string run_id;
  int attempt = 1;              // 1-based
  std::filesystem::path result_file;  // $HIVEHOOK_RESULT
  std::optional<std::string> group;   // a batch run: the group it runs for ({group}); else unset
};

// S3's URL encoding of a key in event notifications (space as '+', '/' kept, UTF-8 bytes %XX).
std::string s3_encode_key(std::string_view key);
// The S3 event notification (+ "hivehook" object) for one run.
// Every string in it is valid UTF-8 (invalid bytes in names become U+FFFD; s3.object.key is exact).
nlohmann::json make_s3_event(const RunContext& ctx);
// make_s3_event dumped compactly, never throwing: the bytes a job gets on stdin.
std::string s3_event_json(const RunContext& ctx);
// `{path}`, `{key}`, `{bucket}`, `{name}`, `{table}`, `{partition.NAME}`, `{run_id}`, `{attempt}`
// (and `{group}` for a batch run) substituted inside one argv element ("{{" and "}}" are literal braces). Unknown placeholders are
// left as written.
std::string substitute_placeholders(std::string_view element, const RunContext& ctx);
// HIVEHOOK_PATH, _KEY, _BUCKET, _TABLE, _RULE, _RUN_ID, _ATTEMPT, _RESULT, _PART_<NAME>.
std::map<std::string, std::string> job_environment(const RunContext& ctx);
// "HIVEHOOK_PART_" + NAME upper-cased, every byte that is not [A-Za-z0-9] as '_'.
std::string partition_env_name(std::string_view partition_name);
// The argv a job runs (command: placeholders substituted; lambda: the bootstrap).
std::vector<std::string> job_argv(const JobSpec& job, const RunContext& ctx);
// Where the lambda bootstrap script is (installed share dir, else the source tree).
std::filesystem::path lambda_bootstrap_path();

}  // namespace hivehook
