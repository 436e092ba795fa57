// Which program an execution environment runs (see runtime.h).
#include "lambda/runtime.h"

#include <unistd.h>

#include <cstdlib>
#include <system_error>

namespace hivehook::lambda {
namespace fs = std::filesystem;

namespace {

const char* bootstrap_file(LambdaRuntimeFamily family) {
  return family == LambdaRuntimeFamily::nodejs ? "nodejs/bootstrap.mjs" : "python/bootstrap.py";
}

std::string python_interpreter(const LambdaJob& job) {
  if (!job.python.empty()) return job.python.string();
  // Debian's interpreter first: it is the one that sees Debian's python3-* packages (boto3).
  const std::string system = "/usr/bin/" + job.runtime;
  if (::access(system.c_str(), X_OK) == 0) return system;
  return job.runtime;  // looked up on PATH at spawn
}

}  // namespace

std::optional<std::vector<std::string>> environment_argv(const LambdaJob& job, std::string* error) {
  auto family = lambda_runtime_family(job.runtime);
  if (!family) {
    *error = "unknown Lambda runtime '" + job.runtime + "'";
    return std::nullopt;
  }
  switch (*family) {
    case LambdaRuntimeFamily::python:
      return std::vector<std::string>{python_interpreter(job), bootstrap_path(*family).string()};
    case LambdaRuntimeFamily::nodejs:
      return std::vector<std::string>{"node", bootstrap_path(*family).string()};
    case LambdaRuntimeFamily::provided:
      return std::vector<std::string>{(job.code / "bootstrap").string()};
  }
  return std::nullopt;
}

std::string execution_env(const LambdaJob& job) {
  auto family = lambda_runtime_family(job.runtime);
  if (!family || *family == LambdaRuntimeFamily::provided) return {};
  return "AWS_Lambda_" + job.runtime;
}

fs::path bootstrap_path(LambdaRuntimeFamily family) {
  const char* file = bootstrap_file(family);
  if (const char* env = std::getenv("HIVEHOOK_LAMBDA_RUNTIMES"); env && *env) return fs::path(env) / file;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = exe.parent_path().parent_path() / "share" / "hivehook" / "lambda" / file;
    if (fs::exists(installed, ec)) return installed;
  }
#ifdef HIVEHOOK_DATADIR
  if (fs::path datadir = fs::path(HIVEHOOK_DATADIR) / "lambda" / file; fs::exists(datadir, ec)) return datadir;
#endif
  return fs::path(HIVEHOOK_SOURCE_DIR) / "lambda" / "runtimes" / file;
}

}  // namespace hivehook::lambda
