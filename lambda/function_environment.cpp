// What an execution environment's variables are (see function_environment.h).
#include "lambda/function_environment.h"

#include "lambda/runtime.h"

namespace hivehook::lambda {

std::string function_arn(const std::string& region, const std::string& function_name) {
  return "arn:aws:lambda:" + region + ":" + kLocalAccountId + ":function:" + function_name;
}

std::map<std::string, std::string> function_environment(const JobSpec& job, const std::string& function_name,
                                                        const std::string& runtime_api, const LocalAws& aws,
                                                        const std::string& log_stream_name) {
  const auto& fn = std::get<LambdaJob>(job.kind);
  std::map<std::string, std::string> env = job.env;  // the rule's own first: reserved names win below
  auto set = [&](const char* name, const std::string& value) { env[name] = value; };
  auto set_default = [&](const char* name, const std::string& value) { env.try_emplace(name, value); };
  set_default("AWS_REGION", aws.region);
  set_default("AWS_DEFAULT_REGION", aws.region);
  if (!aws.access_key_id.empty()) set_default("AWS_ACCESS_KEY_ID", aws.access_key_id);
  if (!aws.secret_access_key.empty()) set_default("AWS_SECRET_ACCESS_KEY", aws.secret_access_key);
  if (!aws.s3_endpoint.empty()) set_default("AWS_ENDPOINT_URL_S3", aws.s3_endpoint);
  set_default("TZ", ":UTC");
  set("_HANDLER", fn.handler);
  if (auto exec = execution_env(fn); !exec.empty()) set("AWS_EXECUTION_ENV", exec);
  set("AWS_LAMBDA_FUNCTION_NAME", function_name);
  set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(fn.memory_mb));
  set("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
  set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
  set("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + function_name);
  set("AWS_LAMBDA_LOG_STREAM_NAME", log_stream_name);
  set("AWS_LAMBDA_RUNTIME_API", runtime_api);
  set("LAMBDA_TASK_ROOT", fn.code.string());
  if (auto family = lambda_runtime_family(fn.runtime); family && *family != LambdaRuntimeFamily::provided)
    set("LAMBDA_RUNTIME_DIR", bootstrap_path(*family).parent_path().string());
  else
    set("LAMBDA_RUNTIME_DIR", fn.code.string());
  set("HIVEHOOK_RULE", function_name);
  return env;
}

}  // namespace hivehook::lambda
