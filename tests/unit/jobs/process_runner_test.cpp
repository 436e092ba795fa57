#include "jobs/process_runner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <set>

#include "support.h"

namespace hivehook {
namespace {

using namespace std::chrono_literals;
using test::run_process;

class ProcessRunnerTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
  ProcessRunner runner{io};
  test::TempDir tmp;
};

long vm_rss_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

TEST_F(ProcessRunnerTest, ReportsExitCodeAndOutput) {
  auto r = run_process(io, runner, {.argv = {"sh", "-c", "echo out; echo err >&2; exit 3"}});
  EXPECT_TRUE(r.spawned);
  EXPECT_GT(r.pid, 0);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.term_signal, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.error, "exited with code 3");
  EXPECT_EQ(r.stdout_tail, "out\n");
  EXPECT_EQ(r.stderr_tail, "err\n");
  EXPECT_EQ(r.stdout_bytes, 4u);
  EXPECT_EQ(runner.running(), 0u);
}

TEST_F(ProcessRunnerTest, SuccessHasNoError) {
  auto r = run_process(io, runner, {.argv = {"true"}});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.error, "");
}

TEST_F(ProcessRunnerTest, ReportsTheKillingSignal) {
  auto r = run_process(io, runner, {.argv = {"sh", "-c", "kill -KILL $$"}});
  EXPECT_TRUE(r.spawned);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_EQ(r.error, "killed by SIGKILL");
}

TEST_F(ProcessRunnerTest, PassesStdinEnvAndCwd) {
  std::string payload(300 * 1024, 'x');  // larger than a pipe buffer: written while the child reads
  payload += "END";
  auto r = run_process(io, runner, {.argv = {"sh", "-c", "pwd; echo \"$FOO\"; echo \"$HOME\" >&2; wc -c"},
                                    .env = {{"FOO", "bar baz"}},
                                    .cwd = tmp.path(),
                                    .stdin_data = payload});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_tail;
  EXPECT_EQ(r.stdout_tail, tmp.path().string() + "\nbar baz\n" + std::to_string(payload.size()) + "\n");
  EXPECT_EQ(r.stderr_tail, std::string(::getenv("HOME") ? ::getenv("HOME") : "") + "\n");  // inherited
}

TEST_F(ProcessRunnerTest, ChildRunsInItsOwnProcessGroupWithDefaultSignals) {
  // /proc/self/stat field 5 is the pgrp; SigIgn must be empty although the daemon ignores SIGPIPE.
  auto r = run_process(io, runner, {.argv = {"sh", "-c", "cut -d' ' -f5 /proc/$$/stat; grep SigIgn /proc/$$/status"}});
  EXPECT_EQ(r.stdout_tail.substr(0, r.stdout_tail.find('\n')), std::to_string(r.pid));
  auto at = r.stdout_tail.find("SigIgn:\t");
  ASSERT_NE(at, std::string::npos) << r.stdout_tail;
  unsigned long long ignored = std::stoull(r.stdout_tail.substr(at + 8), nullptr, 16);
  // Signals 1-31 all at their defaults (glibc's posix_spawn keeps its internal 32/33 ignored).
  EXPECT_EQ(ignored & 0x7fffffffULL, 0u) << r.stdout_tail;
}

TEST_F(ProcessRunnerTest, ChildInheritsNoOtherDescriptors) {
  int leaked = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(leaked, 3);
  auto r = run_process(io, runner, {.argv = {"ls", "/proc/self/fd"}});
  ::close(leaked);
  // ls itself opens one fd for the directory listing.
  std::set<std::string> fds;
  std::istringstream ss(r.stdout_tail);
  for (std::string fd; ss >> fd;) fds.insert(fd);
  EXPECT_EQ(fds, (std::set<std::string>{"0", "1", "2", "3"})) << r.stdout_tail;
}

TEST_F(ProcessRunnerTest, MissingCommandIsReportedThroughTheLoop) {
  bool called = false;
  ProcessResult result;
  int pid = runner.start({.argv = {"hivehook-no-such-command"}}, [&](ProcessResult r) {
    called = true;
    result = std::move(r);
  }).pid;
  EXPECT_EQ(pid, 0);
  EXPECT_FALSE(called) << "on_exit must be posted, never called from start()";
  ASSERT_TRUE(test::pump_until(io, [&] { return called; }));
  EXPECT_FALSE(result.spawned);
  EXPECT_EQ(result.error, "command not found: hivehook-no-such-command");
}

TEST_F(ProcessRunnerTest, UnusableCommandsGiveClearErrors) {
  test::write_file(tmp / "noexec", "#!/bin/sh\necho hi\n");
  test::write_file(tmp / "noshebang", "echo hi\n");
  ::chmod((tmp / "noshebang").c_str(), 0755);
  auto r1 = run_process(io, runner, {.argv = {"./noexec"}, .cwd = tmp.path()});
  EXPECT_FALSE(r1.spawned);
  EXPECT_EQ(r1.error, "permission denied: ./noexec");
  auto r2 = run_process(io, runner, {.argv = {"./missing"}, .cwd = tmp.path()});
  EXPECT_EQ(r2.error, "command not found: ./missing");
  auto r3 = run_process(io, runner, {.argv = {"./noshebang"}, .cwd = tmp.path()});
  EXPECT_FALSE(r3.spawned);
  EXPECT_NE(r3.error.find("exec format error"), std::string::npos) << r3.error;
  auto r4 = run_process(io, runner, {.argv = {"true"}, .cwd = tmp / "nope"});
  EXPECT_EQ(r4.error, "working directory does not exist: " + (tmp / "nope").string());
  auto r5 = run_process(io, runner, {.argv = {}});
  EXPECT_EQ(r5.error, "empty command");
  // PATH comes from the child's environment.
  auto r6 = run_process(io, runner, {.argv = {"noexec"}, .env = {{"PATH", tmp.path().string()}}});
  EXPECT_EQ(r6.error, "permission denied: noexec");
}

TEST_F(ProcessRunnerTest, TimeoutKillsTheWholeGroupIncludingGrandchildren) {
  auto r = run_process(io, runner,
                       {.argv = {"sh", "-c", "sleep 300 & echo $!; sleep 300"}, .timeout = 300ms, .kill_grace = 2s});
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.term_signal, SIGTERM);
  EXPECT_EQ(r.error, "timed out after 300ms (killed by SIGTERM)");
  int grandchild = std::atoi(r.stdout_tail.c_str());
  ASSERT_GT(grandchild, 0) << r.stdout_tail;
  EXPECT_TRUE(test::wait_gone(r.pid));
  EXPECT_TRUE(test::wait_gone(grandchild));
}

TEST_F(ProcessRunnerTest, TimeoutEscalatesToSigkillAndKillsGrandchildrenThatIgnoreSigterm) {
  // The direct child dies on SIGTERM; the grandchild ignores it and must still be killed.
  auto r = run_process(io, runner,
                       {.argv = {"sh", "-c", "(trap '' TERM; exec sleep 300) & echo $!; sleep 300"},
                        .timeout = 200ms,
                        .kill_grace = 10s});
  EXPECT_TRUE(r.timed_out);
  int grandchild = std::atoi(r.stdout_tail.c_str());
  ASSERT_GT(grandchild, 0) << r.stdout_tail;
  EXPECT_TRUE(test::wait_gone(grandchild));

  // A direct child that ignores SIGTERM gets SIGKILL after the grace.
  auto r2 = run_process(io, runner,
                        {.argv = {"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"},
                         .timeout = 200ms,
                         .kill_grace = 200ms});
  EXPECT_TRUE(r2.timed_out);
  EXPECT_EQ(r2.term_signal, SIGKILL);
  EXPECT_EQ(r2.error, "timed out after 200ms (killed by SIGKILL)");
}

TEST_F(ProcessRunnerTest, GrandchildHoldingThePipesDoesNotDelayTheResult) {
  auto r = run_process(io, runner, {.argv = {"sh", "-c", "sleep 300 & echo $!; echo done"}});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.stdout_tail.find("done\n"), std::string::npos);
  EXPECT_LT(r.duration, 60s);
  int grandchild = std::atoi(r.stdout_tail.c_str());
  ASSERT_GT(grandchild, 0);
  ::kill(-r.pid, SIGKILL);  // clean up the leftover (not killed after a normal exit)
  EXPECT_TRUE(test::wait_gone(grandchild));
}

TEST_F(ProcessRunnerTest, OneGigabyteOfOutputKeepsOnlyTheTailAndMemoryFlat) {
  long before = vm_rss_kb();
  auto r = run_process(io, runner, {.argv = {"sh", "-c", "head -c 1G /dev/zero; printf END; head -c 1M /dev/zero >&2"}});
  long after = vm_rss_kb();
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_bytes, (1ULL << 30) + 3);
  ASSERT_EQ(r.stdout_tail.size(), 64u * 1024);
  EXPECT_EQ(r.stdout_tail, std::string(64 * 1024 - 3, '\0') + "END");
  EXPECT_EQ(r.stderr_bytes, 1u << 20);
  EXPECT_EQ(r.stderr_tail.size(), 64u * 1024);
  EXPECT_LT(after - before, 50 * 1024) << "RSS grew from " << before << " kB to " << after << " kB";
}

TEST_F(ProcessRunnerTest, ChildThatNeverReadsOrClosesStdinEarlyDoesNotBlock) {
  std::string payload(8 << 20, 'p');
  auto r1 = run_process(io, runner, {.argv = {"sh", "-c", "exec 0<&-; echo closed"}, .stdin_data = payload});
  EXPECT_EQ(r1.exit_code, 0);
  EXPECT_EQ(r1.stdout_tail, "closed\n");
  auto r2 = run_process(io, runner, {.argv = {"true"}, .stdin_data = payload});
  EXPECT_EQ(r2.exit_code, 0);
  auto r3 = run_process(io, runner, {.argv = {"head", "-c", "5"}, .stdin_data = payload});
  EXPECT_EQ(r3.exit_code, 0);
  EXPECT_EQ(r3.stdout_tail, "ppppp");
  // A child that neither reads nor exits: the daemon keeps running and the timeout ends it.
  auto r4 = run_process(io, runner, {.argv = {"sleep", "300"}, .stdin_data = payload, .timeout = 200ms});
  EXPECT_TRUE(r4.timed_out);
}

TEST_F(ProcessRunnerTest, ManyConcurrentChildrenOnOneLoop) {
  constexpr int kChildren = 40;
  std::map<int, ProcessResult> results;
  for (int i = 0; i < kChildren; ++i) {
    int pid = runner.start({.argv = {"sh", "-c", "read x; echo \"$x-$0\"; exit $(($0 % 7))", std::to_string(i)},
                            .stdin_data = "job\n"},
                           [&results, i](ProcessResult r) { results[i] = std::move(r); }).pid;
    ASSERT_GT(pid, 0);
  }
  EXPECT_EQ(runner.running(), static_cast<std::size_t>(kChildren));
  ASSERT_TRUE(test::pump_until(io, [&] { return results.size() == kChildren; }));
  for (int i = 0; i < kChildren; ++i) {
    EXPECT_EQ(results[i].stdout_tail, "job-" + std::to_string(i) + "\n");
    EXPECT_EQ(results[i].exit_code, i % 7);
  }
  EXPECT_EQ(runner.running(), 0u);
}

TEST_F(ProcessRunnerTest, TerminateAllStopsEveryRunningGroup) {
  std::vector<ProcessResult> results;
  for (int i = 0; i < 3; ++i) runner.start({.argv = {"sleep", "300"}}, [&](ProcessResult r) { results.push_back(r); });
  runner.start({.argv = {"sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"}},
               [&](ProcessResult r) { results.push_back(r); });
  test::pump_until(io, [] { return false; }, 100ms);  // let the shell install its trap
  runner.terminate_all(300ms);
  ASSERT_TRUE(test::pump_until(io, [&] { return results.size() == 4; }));
  for (const auto& r : results) {
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.error.rfind("terminated at shutdown (killed by SIG", 0), 0u) << r.error;
  }
  EXPECT_EQ(runner.running(), 0u);
}

TEST_F(ProcessRunnerTest, DestroyingTheRunnerKillsWhatIsLeft) {
  int pid = 0;
  {
    boost::asio::io_context io2;
    ProcessRunner r2(io2);
    pid = r2.start({.argv = {"sleep", "300"}}, [](ProcessResult) { ADD_FAILURE() << "no callback after destruction"; }).pid;
    ASSERT_GT(pid, 0);
  }
  EXPECT_TRUE(test::wait_gone(pid));   // killed (perhaps left a zombie: the destructor never blocks)
  ::waitpid(pid, nullptr, WNOHANG);
}

}  // namespace
}  // namespace hivehook
