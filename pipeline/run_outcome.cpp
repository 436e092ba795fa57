#include "pipeline/run_outcome.h"

#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

namespace hivehook {

namespace {
constexpr size_t kMaxResultBytes = 1 << 20;

}  // namespace

std::string take_result(const std::filesystem::path& file, std::string* problem) {
  std::error_code ec;
  auto size = std::filesystem::file_size(file, ec);
  if (ec) return {};  // the job wrote none
  std::string text;
  if (size > kMaxResultBytes) {
    *problem = "result file larger than 1 MiB ignored";
  } else {
    std::ifstream in(file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto j = nlohmann::json::parse(ss.str(), nullptr, false);
    if (j.is_discarded()) *problem = "result file is not JSON";
    else text = safe_dump(j);
  }
  std::filesystem::remove(file, ec);
  return text;
}

bool succeeded(const ProcessResult& r) { return r.spawned && !r.timed_out && r.term_signal == 0 && r.exit_code == 0; }

void fill_outcome(RunRecord& run, ProcessResult& r, int64_t now_ms) {
  run.ended_at = now_ms;
  run.duration_ms = r.duration.count() ? r.duration.count() : now_ms - run.started_at;
  if (r.spawned && r.term_signal == 0 && !r.timed_out) run.exit_code = r.exit_code;
  if (r.term_signal) run.signal = r.term_signal;
  run.stdout_tail = std::move(r.stdout_tail);
  run.stderr_tail = std::move(r.stderr_tail);
  run.error = r.error;
}

nlohmann::json run_detail(const RunRecord& run) {
  nlohmann::json detail = {{"duration_ms", *run.duration_ms}};
  if (run.exit_code) detail["exit_code"] = *run.exit_code;
  if (run.signal) detail["signal"] = *run.signal;
  if (!run.error.empty()) detail["error"] = run.error;
  if (!run.result.empty()) detail["result"] = nlohmann::json::parse(run.result, nullptr, false);
  return detail;
}
std::string report_fields(const RunRecord& run) {
  std::string s = "rule=" + run.rule + " attempt=" + std::to_string(run.attempt) + " run_id=" + run.run_id;
  if (run.duration_ms) s += " duration_ms=" + std::to_string(*run.duration_ms);
  if (run.exit_code) s += " exit_code=" + std::to_string(*run.exit_code);
  if (run.signal) s += " signal=" + std::to_string(*run.signal);
  return s;
}

void report_run_end(PipelineStats& stats, const RunRecord& run, const std::string& head) {
  stats.m.runs_finished.labels({run.rule, std::string(to_string(run.state))}).inc();
  if (run.duration_ms && run.state != RunState::interrupted)
    stats.m.run_duration.labels({run.rule}).observe(static_cast<double>(*run.duration_ms) / 1000.0);
  const bool failed = run.state == RunState::failed || run.state == RunState::timed_out;
  spdlog::log(failed ? spdlog::level::warn : spdlog::level::info, "{} | REPORT {}", head, report_fields(run));
}

}  // namespace hivehook
