// One execution environment's life on the event loop (see execution_environment.h).
#include "lambda/execution_environment.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <spdlog/spdlog.h>

#include "jobs/output_tail.h"
#include "jobs/spawn.h"
#include "base/utf8.h"

namespace hivehook::lambda {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr auto kReapPollInterval = std::chrono::milliseconds(20);  // only without pidfd_open
// AWS's ceiling when a function has no timeout of its own (15 minutes).
constexpr auto kMaxTimeout = std::chrono::minutes(15);
// The Init phase's limit (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-ib).
constexpr Duration kInitLimit = std::chrono::seconds(10);

ApiReply api_error(int status, const char* type, const std::string& message) {
  return {status, nlohmann::json{{"errorMessage", message}, {"errorType", type}}.dump()};
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// X-Ray's trace header: Root=1-<8 hex: epoch seconds>-<24 hex random>;Parent=<16 hex>;Sampled=0
std::string new_trace_id() {
  static std::mt19937_64 rng{std::random_device{}()};
  char buf[96];
  auto secs = static_cast<unsigned long long>(unix_ms_now() / 1000);
  unsigned long long a = rng(), b = rng(), parent = rng();
  std::snprintf(buf, sizeof buf, "Root=1-%08llx-%08llx%016llx;Parent=%016llx;Sampled=0", secs & 0xffffffffULL,
                a & 0xffffffffULL, b, parent);
  return buf;
}

int open_pidfd(int pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

// The payload as the run's result file holds it: JSON as sent, anything else as a JSON string.
std::string result_text(const std::string& payload) {
  if (nlohmann::json::accept(payload)) return payload;
  return nlohmann::json(utf8_sanitize(payload)).dump();
}

void write_file_atomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) {
      spdlog::warn("cannot write the Lambda result to {}", tmp.string());
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);  // a reader never sees half a result
  if (ec) spdlog::warn("cannot rename {} into place: {}", tmp.string(), ec.message());
}

}  // namespace

struct ExecutionEnvironment::Pipes {
  Pipes(asio::io_context& io, std::size_t tail_bytes)
      : streams{asio::posix::stream_descriptor(io), asio::posix::stream_descriptor(io)},
        tails{OutputTail(tail_bytes), OutputTail(tail_bytes)},
        pidfd(io), timeout_timer(io), kill_timer(io), idle_timer(io), poll_timer(io), tail_bytes(tail_bytes) {}
  std::array<asio::posix::stream_descriptor, 2> streams;  // stdout, stderr
  std::array<OutputTail, 2> tails;                         // since the last invocation ended
  std::array<std::unique_ptr<char[]>, 2> buffers{std::make_unique_for_overwrite<char[]>(kReadChunk),
                                                 std::make_unique_for_overwrite<char[]>(kReadChunk)};
  std::array<bool, 2> open{true, true};
  asio::posix::stream_descriptor pidfd;
  asio::steady_timer timeout_timer, kill_timer, idle_timer, poll_timer;
  std::size_t tail_bytes;
  bool reaped = false;
  int wait_status = 0;
  // An invocation ended through the API, waiting (one posted handler) for output already read.
  struct Ending {
    ProcessResult result;
    std::optional<nlohmann::json> document;
    std::optional<std::string> payload;
  };
  std::optional<Ending> ending;
};

ExecutionEnvironment::ExecutionEnvironment(asio::io_context& io, EnvironmentSpec spec, Hooks hooks)
    : io_(io), spec_(std::move(spec)), hooks_(std::move(hooks)), pipes_(std::make_unique<Pipes>(io, spec_.tail_bytes)) {}

ExecutionEnvironment::~ExecutionEnvironment() {
  if (pid_ > 0 && !pipes_->reaped) {
    kill_group(SIGKILL);
    int status;
    ::waitpid(pid_, &status, WNOHANG);  // never blocks; a zombie left here goes to init with us
  }
}

bool ExecutionEnvironment::start(std::string* error) {
  ProcessSpec ps;
  ps.argv = spec_.argv;
  ps.env = spec_.env;
  ps.cwd = spec_.cwd;
  auto child = spawn_child(ps, error);
  if (!child) return false;
  pid_ = child->pid;
  child->stdin_write.reset();  // a runtime reads nothing from stdin
  pipes_->streams[0].assign(child->stdout_read.release());
  pipes_->streams[1].assign(child->stderr_read.release());
  if (int fd = open_pidfd(pid_); fd >= 0) pipes_->pidfd.assign(fd);
  spdlog::debug("lambda environment pid {} started: {}", pid_, spec_.argv.front());
  read(0);
  read(1);
  wait_exit();
  return true;
}

void ExecutionEnvironment::read(int which) {
  auto self = shared_from_this();
  pipes_->streams[which].async_read_some(
      asio::buffer(pipes_->buffers[which].get(), kReadChunk), [self, which](error_code ec, std::size_t n) {
        auto& p = *self->pipes_;
        if (n > 0) p.tails[which].append(std::string_view(p.buffers[which].get(), n));
        if (ec || !p.open[which]) {
          p.open[which] = false;
          return;
        }
        self->read(which);
      });
}

// Reads what is in the pipes right now, without waiting: output written before a runtime's API call
// is in the pipe by the time the call arrives.
void ExecutionEnvironment::drain_now() {
  char buf[16 * 1024];
  for (int which = 0; which < 2; ++which) {
    auto& s = pipes_->streams[which];
    if (!pipes_->open[which] || !s.is_open()) continue;
    while (true) {
      ssize_t n = ::read(s.native_handle(), buf, sizeof buf);
      if (n > 0) {
        pipes_->tails[which].append(std::string_view(buf, static_cast<std::size_t>(n)));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;  // EAGAIN (nothing more now) or EOF (the async read sees it too)
    }
  }
}

void ExecutionEnvironment::wait_exit() {
  auto self = shared_from_this();
  if (pipes_->pidfd.is_open()) {
    pipes_->pidfd.async_wait(asio::posix::descriptor_base::wait_read, [self](error_code ec) {
      if (!ec) self->on_exited();
    });
    return;
  }
  pipes_->poll_timer.expires_after(kReapPollInterval);
  pipes_->poll_timer.async_wait([self](error_code ec) {
    if (ec) return;
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(self->pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0)
      return self->wait_exit();
    self->on_exited();
  });
}

void ExecutionEnvironment::kill_group(int sig) {
  if (pid_ <= 0 || pipes_->reaped) return;  // a reaped pid may be reused: never signal it
  if (::kill(-pid_, sig) != 0 && errno != ESRCH)
    spdlog::warn("kill(-{}, {}) failed: {}", pid_, sig, std::strerror(errno));
}

void ExecutionEnvironment::on_exited() {
  if (pipes_->reaped) return;
  // Whatever the runtime left in its group goes with it, as Lambda discards the whole environment.
  // Sent while the zombie still pins the pid, so the group id cannot have been reused.
  kill_group(SIGKILL);
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return wait_exit();  // not reapable yet
  pipes_->reaped = true;
  pipes_->wait_status = status;
  exited_ = true;
  error_code ignored;
  pipes_->pidfd.close(ignored);
  pipes_->timeout_timer.cancel();
  pipes_->kill_timer.cancel();
  pipes_->idle_timer.cancel();
  held_next_ = nullptr;
  drain_now();
  spdlog::debug("lambda environment pid {} exited (status {:#x})", pid_, status);
  // Posted: read completions already queued land in this invocation's tails first.
  asio::post(io_, [self = shared_from_this()] {
    auto& p = *self->pipes_;
    for (int which = 0; which < 2; ++which) {
      p.open[which] = false;
      error_code ignored2;
      p.streams[which].close(ignored2);
    }
    if (p.ending) {
      auto e = std::move(*p.ending);
      p.ending.reset();
      self->finish(std::move(e.result), e.document ? &*e.document : nullptr, e.payload ? &*e.payload : nullptr);
    } else if (self->current_) {
      const std::string& id = self->current_->request_id;
      ProcessResult r;
      r.spawned = true;
      const int st = p.wait_status;
      FunctionError fe;
      if (self->timed_out_) {
        r.timed_out = true;
        fe = timeout_error(id, std::chrono::duration<double>(self->timeout_limit_).count());
      } else if (self->init_error_) {
        r.exit_code = 1;
        fe = *self->init_error_;
      } else if (WIFSIGNALED(st)) {
        r.term_signal = WTERMSIG(st);
        fe = exit_error(id, 0, r.term_signal);
      } else {
        r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
        fe = exit_error(id, r.exit_code, 0);
        if (r.exit_code == 0) {  // a runtime must answer: exiting without a word is a failure
          r.exit_code = 1;
          fe.message = "RequestId: " + id + " Error: Runtime exited without providing a reason";
          fe.document["errorMessage"] = fe.message;
        }
      }
      r.error = self->terminating_ ? "terminated at shutdown (" + fe.summary() + ")" : fe.summary();
      self->finish(std::move(r), &fe.document, nullptr);
    }
    if (self->hooks_.on_exit) self->hooks_.on_exit(*self);
  });
}

void ExecutionEnvironment::assign(Invocation invocation) {
  current_ = std::move(invocation);
  delivered_ = false;
  timed_out_ = false;
  assigned_at_ = std::chrono::steady_clock::now();
  pipes_->idle_timer.cancel();
  // The function's timeout covers the Invoke phase, from delivery (deliver()). A cold environment
  // first gets the Init phase's own limit: 10 s, or the function's timeout when longer (AWS retries
  // an Init cut at 10 s within the function's timeout).
  if (!initialised_) arm_timeout(std::max<Duration>(kInitLimit, current_->timeout));
  if (held_next_) deliver();
}

void ExecutionEnvironment::arm_timeout(Duration limit) {
  timeout_limit_ = limit;
  if (limit.count() <= 0) {
    pipes_->timeout_timer.cancel();
    return;
  }
  pipes_->timeout_timer.expires_after(limit);
  pipes_->timeout_timer.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->exited_ || !self->current_ || self->pipes_->ending) return;
    self->timed_out_ = true;
    spdlog::debug("lambda environment pid {}: invocation {} timed out ({}): killing its process group", self->pid_,
                  self->current_->request_id, self->delivered_ ? "invoke" : "init");
    self->kill_group(SIGKILL);
  });
}

void ExecutionEnvironment::deliver() {
  NextInvocation next;
  next.request_id = current_->request_id;
  arm_timeout(current_->timeout);  // the Invoke phase starts now
  auto timeout = current_->timeout.count() > 0 ? current_->timeout : Duration(kMaxTimeout);
  next.deadline_ms = unix_ms_now() + std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  next.function_arn = spec_.function_arn;
  next.trace_id = new_trace_id();
  next.payload = current_->payload;
  delivered_ = true;
  auto cb = std::move(held_next_);
  held_next_ = nullptr;
  cb(next);
}

std::optional<ApiReply> ExecutionEnvironment::next(std::function<void(const NextInvocation&)> deliver_cb) {
  if (current_ && delivered_ && !pipes_->ending)
    return api_error(403, "InvalidStateTransition",
                     "State transition from Running to Ready failed: invocation " + current_->request_id +
                         " has no response yet");
  initialised_ = true;
  held_next_ = std::move(deliver_cb);
  if (current_ && !delivered_ && !pipes_->ending && !exited_ && !stopping_) deliver();
  return std::nullopt;
}

ApiReply ExecutionEnvironment::response(std::string_view request_id, std::string body) {
  if (!current_ || !delivered_ || pipes_->ending || current_->request_id != request_id)
    return api_error(400, "InvalidRequestID", "Invalid request ID");
  pipes_->timeout_timer.cancel();
  ProcessResult r;
  r.spawned = true;
  r.exit_code = 0;
  pipes_->ending = Pipes::Ending{std::move(r), std::nullopt, std::move(body)};
  drain_now();
  asio::post(io_, [self = shared_from_this()] {
    auto& p = *self->pipes_;
    if (!p.ending || self->exited_) return;  // the exit path finishes it
    auto e = std::move(*p.ending);
    p.ending.reset();
    self->finish(std::move(e.result), nullptr, e.payload ? &*e.payload : nullptr);
    if (!self->exited_ && !self->stopping_ && self->hooks_.on_free) self->hooks_.on_free(*self);
  });
  return {};
}

ApiReply ExecutionEnvironment::error(std::string_view request_id, std::string_view body,
                                     std::string_view error_type_header) {
  if (!current_ || !delivered_ || pipes_->ending || current_->request_id != request_id)
    return api_error(400, "InvalidRequestID", "Invalid request ID");
  pipes_->timeout_timer.cancel();
  FunctionError fe = parse_function_error(body, error_type_header);
  ProcessResult r;
  r.spawned = true;
  r.exit_code = 1;
  r.error = fe.summary();
  pipes_->ending = Pipes::Ending{std::move(r), std::move(fe.document), std::nullopt};
  drain_now();
  asio::post(io_, [self = shared_from_this()] {
    auto& p = *self->pipes_;
    if (!p.ending || self->exited_) return;
    auto e = std::move(*p.ending);
    p.ending.reset();
    self->finish(std::move(e.result), e.document ? &*e.document : nullptr, nullptr);
    if (!self->exited_ && !self->stopping_ && self->hooks_.on_free) self->hooks_.on_free(*self);
  });
  return {};
}

ApiReply ExecutionEnvironment::init_error(std::string_view body, std::string_view error_type_header) {
  if (initialised_ || init_error_)
    return api_error(403, "InvalidStateTransition", "State transition from Ready to InitError failed");
  init_error_ = parse_function_error(body, error_type_header);
  spdlog::debug("lambda environment pid {}: init error {}", pid_, init_error_->summary());
  // Lambda resets the environment after an init error; the invocation fails with the error when
  // the process is gone (so its last output is read first).
  stopping_ = true;
  asio::post(io_, [self = shared_from_this()] { self->kill_group(SIGKILL); });
  return {};
}

void ExecutionEnvironment::finish(ProcessResult r, const nlohmann::json* document, const std::string* payload) {
  if (!current_) return;
  Invocation inv = std::move(*current_);
  current_.reset();
  delivered_ = false;
  ++invocations_;
  pipes_->timeout_timer.cancel();
  auto& p = *pipes_;
  r.pid = pid_;
  r.duration = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - assigned_at_);
  r.stdout_tail = p.tails[0].str();
  r.stderr_tail = p.tails[1].str();
  r.stdout_bytes = p.tails[0].total();
  r.stderr_bytes = p.tails[1].total();
  p.tails = {OutputTail(p.tail_bytes), OutputTail(p.tail_bytes)};
  if (!inv.result_file.empty()) {
    if (document) {
      write_file_atomically(inv.result_file, document->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else if (payload && !payload->empty() && *payload != "null") {
      write_file_atomically(inv.result_file, result_text(*payload));
    }
  }
  asio::post(io_, [cb = std::move(inv.on_done), r = std::move(r)]() mutable { cb(std::move(r)); });
}

void ExecutionEnvironment::stop() {
  if (exited_) return;
  stopping_ = true;
  pipes_->idle_timer.cancel();
  kill_group(SIGKILL);
}

void ExecutionEnvironment::terminate(Duration grace) {
  if (exited_) return;
  stopping_ = true;
  terminating_ = true;
  pipes_->idle_timer.cancel();
  if (!current_) return kill_group(SIGKILL);
  kill_group(SIGTERM);
  pipes_->kill_timer.expires_after(grace);
  pipes_->kill_timer.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec) self->kill_group(SIGKILL);
  });
}

void ExecutionEnvironment::arm_idle_timer(Duration after, std::function<void()> fire) {
  pipes_->idle_timer.expires_after(after);
  pipes_->idle_timer.async_wait([self = shared_from_this(), fire = std::move(fire)](error_code ec) {
    if (!ec && self->free()) fire();
  });
}

}  // namespace hivehook::lambda
