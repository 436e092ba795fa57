// The pipeline on its seams: a manual clock, scripted jobs, file operations with injectable faults,
// a real store and real files in a temporary folder. The loop is turned until idle by hand, so the
// tests need no threads and no sleeps.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <cstring>
#include <boost/asio/post.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/manual_clock.h"
#include "pipeline/commit_batch.h"
#include "pipeline/file_ops.h"
#include "pipeline/pipeline.h"
#include "rules/config.h"
#include "rules/rule.h"
#include "store/store.h"
#include "unit/support/temp_dir.h"

namespace hivehook::test {

// Thrown from a seam to stop the daemon dead at that point, as kill -9 would.
struct Crash : std::runtime_error {
  Crash() : std::runtime_error("crash injected") {}
};

// A JobRunner whose jobs run until the test ends them.
class ScriptedRunner final : public JobRunner {
 public:
  struct Job {
    JobRequest request;
    std::function<void(ProcessResult)> on_exit;
  };
  explicit ScriptedRunner(boost::asio::io_context*& io) : io_(io) {}

  ChildIdentity start(JobRequest request, std::function<void(ProcessResult)> on_exit) override {
    if (on_start) on_start(request);
    jobs_.push_back({std::move(request), std::move(on_exit)});
    ++started_;
    return {next_pid_, next_pid_++, 1};
  }
  std::size_t running() const override { return jobs_.size(); }
  void terminate_all(Duration) override {
    while (!jobs_.empty()) finish(0, -1, 15);
  }
  // Ends the i-th running job with an exit code (or a signal); its callback is posted to the loop.
  JobRequest finish(std::size_t i = 0, int exit_code = 0, int signal = 0) {
    Job job = std::move(jobs_.at(i));
    jobs_.erase(jobs_.begin() + static_cast<std::ptrdiff_t>(i));
    ProcessResult r;
    r.spawned = true;
    r.exit_code = exit_code;
    r.term_signal = signal;
    r.duration = std::chrono::milliseconds(5);
    if (exit_code) r.error = "exited with code " + std::to_string(exit_code);
    boost::asio::post(*io_, [cb = std::move(job.on_exit), r]() mutable { cb(r); });
    return job.request;
  }
  const std::deque<Job>& jobs() const { return jobs_; }
  int started() const { return started_; }
  void forget_all() { jobs_.clear(); }  // the daemon died: nobody will report these
  std::function<void(const JobRequest&)> on_start;

 private:
  boost::asio::io_context*& io_;
  std::deque<Job> jobs_;
  int started_ = 0;
  int next_pid_ = 1000;
};

// LocalFileOps with hooks: each may return a result to replace the real operation (a fault),
// call the real one first, or throw Crash.
class FaultyFiles final : public FileOps {
 public:
  using MoveHook = std::function<std::optional<MoveResult>(const std::string& key, Area to, LocalFileOps& real)>;
  using RemoveHook = std::function<std::optional<MoveResult>(const std::string& key)>;
  using ReportHook = std::function<std::optional<FsStatus>(const std::string& key)>;
  using ProbeHook = std::function<std::optional<Admission>(const std::string& key)>;
  using StatHook = std::function<std::optional<FileInfo>(const std::string& key)>;
  explicit FaultyFiles(const Config& c) : real_(c.landing, c.archive, c.quarantine) {}
  std::filesystem::path path(Area area, const std::string& key) const override { return real_.path(area, key); }
  FileInfo stat(const std::string& key) override {
    if (on_stat)
      if (auto r = on_stat(key)) return *r;
    return real_.stat(key);
  }
  FsResult<std::vector<DirEntry>> list(const std::string& dir) override { return real_.list(dir); }
  Admission probe(const std::string& key, std::string* why) override {
    if (on_probe)
      if (auto r = on_probe(key)) return *r;
    return real_.probe(key, why);
  }
  std::optional<Hashed> hash(const std::string& key, int* err, std::string* error) override {
    return real_.hash(key, err, error);
  }
  MoveResult move(const std::string& key, Area to, const std::string& suffix) override {
    if (on_move)
      if (auto r = on_move(key, to, real_)) return *r;
    return real_.move(key, to, suffix);
  }
  MoveResult remove(const std::string& key) override {
    if (on_remove)
      if (auto r = on_remove(key)) return *r;
    return real_.remove(key);
  }
  MoveResult restore(const std::filesystem::path& from, const std::string& key) override {
    return real_.restore(from, key);
  }
  FsStatus remove_kept(Area area, const std::string& key) override { return real_.remove_kept(area, key); }
  FsStatus write_error_json(const std::string& key, const std::string& json, mode_t mode) override {
    if (on_report)
      if (auto r = on_report(key)) return *r;
    return real_.write_error_json(key, json, mode);
  }
  std::optional<std::string> find_moved(Area area, const std::string& key, int64_t id, const FileIdentity& was) override {
    return real_.find_moved(area, key, id, was);
  }
  std::optional<UploadEvent> upload_event(const std::string& key, const FileIdentity& was) override {
    return real_.upload_event(key, was);
  }
  MoveHook on_move;
  RemoveHook on_remove;
  ReportHook on_report;
  ProbeHook on_probe;
  StatHook on_stat;

 private:
  LocalFileOps real_;
};

// A failed side effect as the kernel reports it (ENOSPC, EACCES, EROFS, EIO...).
inline MoveResult failed_with(int code, const std::string& what) {
  MoveResult r;
  r.code = code;
  r.error = what + ": " + std::strerror(code);
  return r;
}

class PipelineHarness {
 public:
  // `rules_yaml`: the rules file; `config_extra`: YAML appended to the config.
  explicit PipelineHarness(const std::string& rules_yaml, const std::string& config_extra = "");
  ~PipelineHarness();

  // A fresh daemon on the same state, folders and clock, as after kill -9: nothing uncommitted
  // survives, running jobs are forgotten. Then recovery.
  void restart();
  // Turns the loop until nothing is ready to run. A Crash thrown by a seam restarts the daemon
  // (without recovering: call recover() yourself, as start-up would) and returns true.
  bool drain();
  // Writes landing/<key>; `offer`: hints it to the pipeline and drains.
  void put(const std::string& key, const std::string& content = "x");
  void land(const std::string& key, const std::string& content = "x");
  // Moves the manual clock (running due timers) and drains.
  void advance(Duration d);

  std::vector<std::string> events(const std::string& name = "");
  std::optional<ObjectState> state(const std::string& key);
  bool exists(Area area, const std::string& key) const;
  boost::asio::io_context& io() { return *io_; }

  TempDir dir;
  ManualClock clock;
  Config config;
  std::shared_ptr<const RuleSet> rules;
  ScriptedRunner runner{io_};
  std::unique_ptr<FaultyFiles> files;
  std::unique_ptr<Store> store;
  std::unique_ptr<CommitBatch> batch;
  std::unique_ptr<PipelineStats> stats;
  std::unique_ptr<Pipeline> pipeline;
  int commits = 0;

 private:
  void build();
  std::unique_ptr<boost::asio::io_context> io_owner_;
  boost::asio::io_context* io_ = nullptr;
};

}  // namespace hivehook::test
