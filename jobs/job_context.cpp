// What a run is told through argv and the environment (the stdin event is in s3_event.cpp).
#include "jobs/job_context.h"

#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <system_error>

namespace hivehook {
namespace {

std::optional<std::string> placeholder_value(std::string_view name, const RunContext& ctx) {
  if (name == "path") return ctx.path.string();
  if (name == "key") return ctx.key.key;
  if (name == "bucket") return ctx.bucket;
  if (name == "name") return ctx.key.name;
  if (name == "table") return ctx.key.table;
  if (name == "run_id") return ctx.run_id;
  if (name == "attempt") return std::to_string(ctx.attempt);
  if (name == "group" && ctx.group) return *ctx.group;
  constexpr std::string_view part = "partition.";
  if (name.starts_with(part)) {
    for (const auto& [column, value] : ctx.key.partition)
      if (column == name.substr(part.size())) return value;
  }
  return std::nullopt;
}

bool is_alnum(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

std::string substitute_placeholders(std::string_view element, const RunContext& ctx) {
  std::string out;
  out.reserve(element.size());
  std::size_t i = 0;
  while (i < element.size()) {
    const char c = element[i];
    if ((c == '{' || c == '}') && i + 1 < element.size() && element[i + 1] == c) {  // "{{" / "}}"
      out += c;
      i += 2;
      continue;
    }
    if (c == '{') {
      const std::size_t close = element.find_first_of("{}", i + 1);
      if (close != std::string_view::npos && element[close] == '}') {
        const std::string_view name = element.substr(i + 1, close - i - 1);
        if (auto value = placeholder_value(name, ctx)) {
          out += *value;  // inserted as-is: never re-split, never scanned again
        } else {
          out.append(element.substr(i, close - i + 1));  // unknown: left as written
        }
        i = close + 1;
        continue;
      }
    }
    out += c;
    ++i;
  }
  return out;
}

std::string partition_env_name(std::string_view partition_name) {
  std::string out = "HIVEHOOK_PART_";
  for (char ch : partition_name) {
    auto c = static_cast<unsigned char>(ch);
    out += is_alnum(c) ? static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c) : '_';
  }
  return out;
}

std::map<std::string, std::string> job_environment(const RunContext& ctx) {
  std::map<std::string, std::string> env{
      {"HIVEHOOK_PATH", ctx.path.string()},
      {"HIVEHOOK_KEY", ctx.key.key},
      {"HIVEHOOK_BUCKET", ctx.bucket},
      {"HIVEHOOK_TABLE", ctx.key.table},
      {"HIVEHOOK_RULE", ctx.rule},
      {"HIVEHOOK_RUN_ID", ctx.run_id},
      {"HIVEHOOK_ATTEMPT", std::to_string(ctx.attempt)},
      {"HIVEHOOK_RESULT", ctx.result_file.string()},
  };
  for (const auto& [name, value] : ctx.key.partition) env[partition_env_name(name)] = value;
  return env;
}

namespace {

struct ArgvBuilder {
  const RunContext& ctx;

  std::vector<std::string> operator()(const CommandJob& job) const {
    std::vector<std::string> argv;
    argv.reserve(job.argv.size());
    for (const auto& element : job.argv) argv.push_back(substitute_placeholders(element, ctx));
    return argv;
  }

  std::vector<std::string> operator()(const LambdaJob& job) const {
    std::string python = job.runtime;
    if (job.runtime == "python3" && ::access("/usr/bin/python3", X_OK) == 0) python = "/usr/bin/python3";
    return {python,          lambda_bootstrap_path().string(),
            "--handler",     job.handler,
            "--code",        job.code.string(),
            "--function-name", ctx.rule,
            "--timeout-ms",  std::to_string(timeout_ms),
            "--memory-mb",   std::to_string(job.memory_mb)};
  }

  std::vector<std::string> operator()(const BuiltinJob&) const { return {}; }  // no process

  long long timeout_ms;
};

}  // namespace

std::vector<std::string> job_argv(const JobSpec& job, const RunContext& ctx) {
  return std::visit(ArgvBuilder{ctx, job.timeout.count()}, job.kind);
}

std::filesystem::path lambda_bootstrap_path() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("HIVEHOOK_LAMBDA_BOOTSTRAP"); env && *env) return env;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = exe.parent_path().parent_path() / "share" / "hivehook" / "lambda_bootstrap.py";
    if (fs::exists(installed, ec)) return installed;
  }
#ifdef HIVEHOOK_DATADIR
  if (fs::path datadir = fs::path(HIVEHOOK_DATADIR) / "lambda_bootstrap.py"; fs::exists(datadir, ec)) return datadir;
#endif
  return fs::path(HIVEHOOK_SOURCE_DIR) / "jobs" / "lambda_bootstrap.py";
}

}  // namespace hivehook
