// The environment variables an execution environment starts with: what AWS Lambda sets
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
// pointed at hivehook's loopback services.
#pragma once

#include <map>
#include <string>

#include "rules/rule.h"

namespace hivehook::lambda {

// The local AWS that functions talk to.
struct LocalAws {
  std::string region = "us-east-1";  // AWS_REGION, AWS_DEFAULT_REGION, and the function ARN's region
  std::string access_key_id;         // AWS_ACCESS_KEY_ID (empty: unset)
  std::string secret_access_key;     // AWS_SECRET_ACCESS_KEY (empty: unset)
  std::string s3_endpoint;           // "http://127.0.0.1:9000": AWS_ENDPOINT_URL_S3 (empty: S3 API off)
};

// Account id in every ARN hivehook makes up (as AWS's own local tools use).
inline constexpr const char* kLocalAccountId = "000000000000";

// "arn:aws:lambda:REGION:000000000000:function:NAME"
std::string function_arn(const std::string& region, const std::string& function_name);

// The variables of one environment of `job` (function `function_name`, Runtime API at
// `runtime_api` = "127.0.0.1:PORT"): _HANDLER, AWS_EXECUTION_ENV (managed runtimes), AWS_REGION,
// AWS_DEFAULT_REGION, AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
// AWS_LAMBDA_FUNCTION_VERSION ($LATEST), AWS_LAMBDA_INITIALIZATION_TYPE (on-demand),
// AWS_LAMBDA_LOG_GROUP_NAME, AWS_LAMBDA_LOG_STREAM_NAME, AWS_LAMBDA_RUNTIME_API, LAMBDA_TASK_ROOT,
// LAMBDA_RUNTIME_DIR, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (when configured),
// AWS_ENDPOINT_URL_S3 (when the S3 API is on), HIVEHOOK_RULE; then the rule's `env:` over them
// (as a function's own variables may override on AWS, except the reserved ones, which win here too:
// AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT).
std::map<std::string, std::string> function_environment(const JobSpec& job, const std::string& function_name,
                                                        const std::string& runtime_api, const LocalAws& aws,
                                                        const std::string& log_stream_name);

}  // namespace hivehook::lambda
