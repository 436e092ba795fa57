// One child's life on the event loop: spawned -> running -> (timed out -> SIGTERM -> SIGKILL) ->
// reaped -> pipes drained -> on_exit. Everything happens in handlers on the io_context: no
// threads, no signal handlers, no blocking waitpid.
#include "jobs/process_runner.h"

#include "jobs/job_groups.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <spdlog/spdlog.h>

#include "base/proc_stat.h"
#include "jobs/output_tail.h"
#include "jobs/spawn.h"

namespace hivehook {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// Once the direct child is reaped, grandchildren may still hold the output pipes open: read what
// they have for this long, then stop listening.
constexpr auto kDrainWindow = std::chrono::milliseconds(100);
// Only when pidfd_open is unavailable (kernel < 5.3): poll waitpid(WNOHANG) at this interval.
constexpr auto kReapPollInterval = std::chrono::milliseconds(20);
constexpr std::size_t kReadChunk = 64 * 1024;

std::string signal_name(int sig) {
  if (const char* abbrev = ::sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(sig);
}

std::string format_ms(Duration d) {
  auto ms = d.count();
  if (ms % 60000 == 0 && ms != 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

int open_pidfd(int pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));  // close-on-exec by default
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

void kill_group(int pgid, int sig) {
  if (::kill(-pgid, sig) != 0 && errno != ESRCH)
    spdlog::warn("kill(-{}, {}) failed: {}", pgid, signal_name(sig), std::strerror(errno));
}

}  // namespace

struct OutputStream {
  OutputStream(asio::io_context& io, std::size_t tail_bytes) : pipe(io), tail(tail_bytes) {}
  asio::posix::stream_descriptor pipe;
  OutputTail tail;
  std::unique_ptr<char[]> buffer = std::make_unique_for_overwrite<char[]>(kReadChunk);  // not zeroed: read() fills it
  bool open = true;
};

struct Child {
  Child(asio::io_context& io, const ProcessSpec& spec)
      : stdin_pipe(io), out(io, spec.tail_bytes), err(io, spec.tail_bytes), pidfd(io), timeout_timer(io),
        kill_timer(io), drain_timer(io), timeout(spec.timeout), kill_grace(spec.kill_grace) {}

  bool orphaned = false;  // the runner is gone: pending handlers do nothing
  int pid = 0;                           // == process group id
  std::string stdin_data;
  asio::posix::stream_descriptor stdin_pipe;
  OutputStream out, err;
  asio::posix::stream_descriptor pidfd;
  asio::steady_timer timeout_timer, kill_timer, drain_timer;
  bool kill_armed = false;
  Duration timeout, kill_grace;
  std::function<void(ProcessResult)> on_exit;
  SteadyTime started;
  Duration duration{0};

  bool timed_out = false;
  bool terminating = false;  // terminate_all() was called
  bool reaped = false;
  bool finished = false;
  int wait_status = 0;
  std::string reap_error;  // set when the status could not be collected
};

struct ProcessRunner::Impl {
  Impl(asio::io_context& io_, const Clock& clock_) : io(io_), clock(clock_) {}
  asio::io_context& io;
  const Clock& clock;
  std::map<int, std::shared_ptr<Child>> children;

  void begin(const std::shared_ptr<Child>& c);
  void write_stdin(const std::shared_ptr<Child>& c);
  void read(const std::shared_ptr<Child>& c, OutputStream& s);
  void wait_exit(const std::shared_ptr<Child>& c);
  void poll_exit(const std::shared_ptr<Child>& c);
  void on_exited(const std::shared_ptr<Child>& c);
  void signal_then_kill(const std::shared_ptr<Child>& c, Duration grace);
  void maybe_finish(const std::shared_ptr<Child>& c);
  static ProcessResult result_of(const Child& c);
};

void ProcessRunner::Impl::begin(const std::shared_ptr<Child>& c) {
  write_stdin(c);
  read(c, c->out);
  read(c, c->err);
  if (c->pidfd.is_open()) {
    wait_exit(c);
  } else {
    poll_exit(c);
  }
  if (c->timeout.count() > 0) {
    c->timeout_timer.expires_after(c->timeout);
    c->timeout_timer.async_wait([this, c](error_code ec) {
      if (ec || c->orphaned || c->reaped) return;
      c->timed_out = true;
      spdlog::debug("pid {} timed out after {}: SIGTERM to its group", c->pid, format_ms(c->timeout));
      signal_then_kill(c, c->kill_grace);
    });
  }
}

// stdin gets the payload, then EOF. A child that exits or closes stdin early makes the write fail
// with EPIPE, which is expected and ignored (SIGPIPE is ignored process-wide, see the constructor).
void ProcessRunner::Impl::write_stdin(const std::shared_ptr<Child>& c) {
  if (c->stdin_data.empty()) {
    error_code ignored;
    c->stdin_pipe.close(ignored);
    return;
  }
  asio::async_write(c->stdin_pipe, asio::buffer(c->stdin_data), [c](error_code ec, std::size_t) {
    if (ec && ec != asio::error::broken_pipe && ec != asio::error::operation_aborted)
      spdlog::debug("pid {}: writing stdin: {}", c->pid, ec.message());
    error_code ignored;
    c->stdin_pipe.close(ignored);
    std::string().swap(c->stdin_data);  // free a large payload now
  });
}

void ProcessRunner::Impl::read(const std::shared_ptr<Child>& c, OutputStream& s) {
  s.pipe.async_read_some(asio::buffer(s.buffer.get(), kReadChunk), [this, c, &s](error_code ec, std::size_t n) {
    if (n > 0) s.tail.append(std::string_view(s.buffer.get(), n));
    if (c->orphaned) return;
    if (ec) {  // EOF, or closed by the drain timer
      s.open = false;
      error_code ignored;
      s.pipe.close(ignored);
      maybe_finish(c);
      return;
    }
    read(c, s);
  });
}

void ProcessRunner::Impl::wait_exit(const std::shared_ptr<Child>& c) {
  // A pidfd becomes readable when the process exits.
  c->pidfd.async_wait(asio::posix::descriptor_base::wait_read, [this, c](error_code ec) {
    if (ec || c->orphaned) return;
    on_exited(c);
  });
}

void ProcessRunner::Impl::poll_exit(const std::shared_ptr<Child>& c) {
  c->drain_timer.expires_after(kReapPollInterval);
  c->drain_timer.async_wait([this, c](error_code ec) {
    if (ec || c->orphaned) return;
    siginfo_t info{};  // WNOWAIT: only look; on_exited() does the reaping
    if (::waitid(P_PID, static_cast<id_t>(c->pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0)
      return poll_exit(c);
    on_exited(c);
  });
}

void ProcessRunner::Impl::on_exited(const std::shared_ptr<Child>& c) {
  if (c->reaped) return;
  // A run ends with its process: whatever it left behind in its group (a background `sleep &`,
  // a grandchild that ignored SIGTERM) is killed, as Lambda ends an invocation's environment.
  // Sent while the zombie still pins the pid, so the group id cannot have been reused.
  kill_group(c->pid, SIGKILL);
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(c->pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) {  // not yet reapable (cannot happen after the pidfd fired); look again shortly
    if (c->pidfd.is_open()) return wait_exit(c);
    return poll_exit(c);
  }
  if (r < 0) c->reap_error = std::string("exit status lost: ") + std::strerror(errno);
  c->reaped = true;
  c->wait_status = status;
  c->duration = std::chrono::duration_cast<Duration>(clock.steady_now() - c->started);
  error_code ignored;
  c->pidfd.close(ignored);
  c->timeout_timer.cancel();
  c->kill_timer.cancel();
  spdlog::debug("pid {} reaped (status {:#x})", c->pid, status);

  if (c->out.open || c->err.open) {
    c->drain_timer.expires_after(kDrainWindow);
    c->drain_timer.async_wait([c](error_code ec) {
      if (ec || c->orphaned) return;
      error_code ignored2;  // cancels the pending reads: their handlers mark the streams closed
      if (c->out.open) c->out.pipe.cancel(ignored2);
      if (c->err.open) c->err.pipe.cancel(ignored2);
    });
  }
  maybe_finish(c);
}

void ProcessRunner::Impl::signal_then_kill(const std::shared_ptr<Child>& c, Duration grace) {
  const auto deadline = std::chrono::steady_clock::now() + grace;  // an asio timer deadline
  if (c->kill_armed && c->kill_timer.expiry() <= deadline) {
    kill_group(c->pid, SIGTERM);
    return;  // an earlier SIGKILL is already due
  }
  kill_group(c->pid, SIGTERM);
  c->kill_armed = true;
  c->kill_timer.expires_at(deadline);
  c->kill_timer.async_wait([c](error_code ec) {
    if (ec || c->orphaned || c->reaped) return;
    spdlog::debug("pid {} still running after SIGTERM: SIGKILL to its group", c->pid);
    kill_group(c->pid, SIGKILL);
  });
}

void ProcessRunner::Impl::maybe_finish(const std::shared_ptr<Child>& c) {
  if (c->finished || !c->reaped || c->out.open || c->err.open) return;
  c->finished = true;
  c->drain_timer.cancel();
  error_code ignored;
  c->stdin_pipe.close(ignored);
  children.erase(c->pid);
  job_groups::remove(c->pid);
  // Posted, so on_exit never runs inside our own handler chain (it may call start() again).
  asio::post(io, [result = result_of(*c), cb = std::move(c->on_exit)]() mutable { cb(std::move(result)); });
}

ProcessResult ProcessRunner::Impl::result_of(const Child& c) {
  ProcessResult r;
  r.spawned = true;
  r.pid = c.pid;
  r.timed_out = c.timed_out;
  r.duration = c.duration;
  r.stdout_tail = c.out.tail.str();
  r.stderr_tail = c.err.tail.str();
  r.stdout_bytes = c.out.tail.total();
  r.stderr_bytes = c.err.tail.total();
  std::string how;
  if (!c.reap_error.empty()) {
    how = c.reap_error;
  } else if (WIFEXITED(c.wait_status)) {
    r.exit_code = WEXITSTATUS(c.wait_status);
    if (r.exit_code != 0) how = "exited with code " + std::to_string(r.exit_code);
  } else if (WIFSIGNALED(c.wait_status)) {
    r.term_signal = WTERMSIG(c.wait_status);
    how = "killed by " + signal_name(r.term_signal);
  }
  if (c.timed_out) {
    r.error = "timed out after " + format_ms(c.timeout) + (how.empty() ? "" : " (" + how + ")");
  } else if (c.terminating) {
    r.error = "terminated at shutdown" + (how.empty() ? "" : " (" + how + ")");
  } else {
    r.error = how;
  }
  return r;
}

ProcessRunner::ProcessRunner(asio::io_context& io, const Clock& clock) : impl_(std::make_unique<Impl>(io, clock)) {
  // Writing to a pipe whose reader is gone raises SIGPIPE, which would kill the daemon. Pipes have
  // no MSG_NOSIGNAL, so SIGPIPE is ignored process-wide (writes then fail with EPIPE instead);
  // children get the default disposition back (POSIX_SPAWN_SETSIGDEF in spawn.cpp).
  ::signal(SIGPIPE, SIG_IGN);
}

ProcessRunner::~ProcessRunner() {
  // Normal shutdown is terminate_all() and running the loop until running() == 0. Whatever is
  // left here is killed; pending handlers see orphaned and do nothing.
  for (auto& [pid, c] : impl_->children) {
    c->orphaned = true;
    job_groups::remove(pid);
    if (!c->reaped) {
      kill_group(pid, SIGKILL);
      int status;
      ::waitpid(pid, &status, WNOHANG);  // never blocks; an unreaped zombie goes to init with us
    }
    error_code ignored;
    c->pidfd.close(ignored);
    c->stdin_pipe.close(ignored);
    c->out.pipe.close(ignored);
    c->err.pipe.close(ignored);
    c->timeout_timer.cancel();
    c->kill_timer.cancel();
    c->drain_timer.cancel();
  }
}

ChildIdentity ProcessRunner::start(JobRequest request, std::function<void(ProcessResult)> on_exit) {
  return start(std::move(request.process), std::move(on_exit));
}

ChildIdentity ProcessRunner::start(ProcessSpec spec, std::function<void(ProcessResult)> on_exit) {
  std::string error;
  auto spawned = spawn_child(spec, &error);
  if (!spawned) {
    spdlog::debug("cannot start {}: {}", spec.argv.empty() ? "" : spec.argv[0], error);
    ProcessResult r;
    r.error = std::move(error);
    asio::post(impl_->io, [r = std::move(r), cb = std::move(on_exit)]() mutable { cb(std::move(r)); });
    return {};
  }
  auto c = std::make_shared<Child>(impl_->io, spec);
  c->pid = spawned->pid;
  c->started = impl_->clock.steady_now();
  c->on_exit = std::move(on_exit);
  c->stdin_data = std::move(spec.stdin_data);
  c->stdin_pipe.assign(spawned->stdin_write.release());
  c->out.pipe.assign(spawned->stdout_read.release());
  c->err.pipe.assign(spawned->stderr_read.release());
  if (int fd = open_pidfd(c->pid); fd >= 0) {
    c->pidfd.assign(fd);
  } else {
    spdlog::warn("pidfd_open({}) failed ({}); reaping by polling", c->pid, std::strerror(errno));
  }
  spdlog::debug("started pid {}: {}", c->pid, spec.argv[0]);
  impl_->children.emplace(c->pid, c);
  job_groups::add(c->pid);
  impl_->begin(c);
  ChildIdentity id{c->pid, c->pid, 0};
  if (auto st = read_proc_stat(c->pid)) id.start_time = st->start_time;
  return id;
}

std::size_t ProcessRunner::running() const { return impl_->children.size(); }

void ProcessRunner::terminate_all(Duration grace) {
  for (auto& [pid, c] : impl_->children) {
    if (c->reaped) continue;
    c->terminating = true;
    impl_->signal_then_kill(c, grace);
  }
}

}  // namespace hivehook
