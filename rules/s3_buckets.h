// The S3 bucket names hivehook's trees are served under (DESIGN.md "S3 API (local S3)"), and S3's
// rules for a bucket name. One check for `hivehook check`, the config loader and the S3 endpoint's
// start-up (s3::Service), so `check` refuses exactly what `run` would.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hivehook {

// Whether `name` follows S3's naming rules for general purpose buckets (AWS, Amazon S3 User Guide,
// "General purpose bucket naming rules"): 3 to 63 characters; only lowercase letters, digits, '.'
// and '-'; begins and ends with a letter or digit; no two adjacent periods; not formatted as an IP
// address (192.168.5.4); not beginning with a reserved prefix (xn--, sthree-, amzn-s3-demo-) nor
// ending with a reserved suffix (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3). Returns nullopt
// when it does, else the first rule it breaks, as a sentence ("it has 2 characters: ...").
std::optional<std::string> bucket_name_problem(std::string_view name);

// A valid bucket name close to `name`, for a suggestion: lowercased, each run of other characters
// as one '-', trimmed to begin and end with a letter or digit, at most 63 characters, "-bucket"
// added when shorter than 3 ("my-landing" for "My Landing", "upper-case" for "UPPER_case",
// "ab-bucket" for "ab").
std::string suggested_bucket_name(std::string_view name);

// One reason the three buckets cannot be served: `key` is the config key to point at and to
// change ("landing", "bucket", "archive" or "quarantine"), `message` says what is wrong and how
// to fix it.
struct BucketProblem {
  std::string key;
  std::string message;
};

// What is wrong with the buckets the S3 API would serve: landing's under `landing_bucket` (the
// config's `bucket`, default landing's folder name), archive's and quarantine's under their
// folders' last components. Each must be a valid bucket name (bucket_name_problem) and the three
// must differ. Paths are the configured absolute folders; empty result: all is well.
std::vector<BucketProblem> s3_bucket_problems(const std::filesystem::path& landing, const std::string& landing_bucket,
                                              const std::filesystem::path& archive,
                                              const std::filesystem::path& quarantine);

}  // namespace hivehook
