#include "jobs/spawn.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <map>
#include <vector>

#include "base/executable.h"

extern char** environ;

namespace hivehook {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

// The one place that says what a spawn errno means to a user.
std::string spawn_error(int e, const std::string& command) {
  switch (e) {
    case ENOENT: return "command not found: " + command;
    case EACCES: return "permission denied: " + command;
    case ENOEXEC: return "not an executable (exec format error; missing #! line?): " + command;
    default: return "cannot run " + command + ": " + errno_text(e);
  }
}

// The child's dup2 onto 0/1/2 needs source fds that are not themselves 0/1/2 (a daemon started
// with stdio closed would hand out those numbers first).
bool move_above_stdio(UniqueFd& fd) {
  if (fd.get() > STDERR_FILENO) return true;
  int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  if (moved < 0) return false;
  fd.reset(moved);
  return true;
}

struct Pipe {
  UniqueFd read, write;
};

std::optional<Pipe> make_pipe(std::string* error) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    *error = "cannot create a pipe: " + errno_text(errno);
    return std::nullopt;
  }
  Pipe p{UniqueFd(fds[0]), UniqueFd(fds[1])};
  if (!move_above_stdio(p.read) || !move_above_stdio(p.write)) {
    *error = "cannot create a pipe: " + errno_text(errno);
    return std::nullopt;
  }
  return p;
}

bool set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// The service manager's messages to the daemon (sd_notify(3), sd_watchdog_enabled(3)): a job that
// inherited them could tell systemd the service is ready or alive in the daemon's name.
bool service_manager_variable(std::string_view name) {
  return name == "NOTIFY_SOCKET" || name == "WATCHDOG_USEC" || name == "WATCHDOG_PID";
}

// The daemon's own environment, parsed once: it does not change while the daemon runs, and
// re-parsing it for every job showed in the spawn profile.
const std::map<std::string, std::string>& daemon_environment() {
  static const std::map<std::string, std::string> env = [] {
    std::map<std::string, std::string> m;
    for (char** e = environ; e && *e; ++e) {
      std::string_view entry(*e);
      auto eq = entry.find('=');
      if (eq == std::string_view::npos || eq == 0) continue;
      if (service_manager_variable(entry.substr(0, eq))) continue;
      m.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
    }
    return m;
  }();
  return env;
}

bool in_clean_base(const std::string& name) {
  return name == "PATH" || name == "HOME" || name == "LANG" || name == "TZ" || name == "TMPDIR" ||
         name.rfind("LC_", 0) == 0;
}

// The job's environment: the clean base, what the rule inherits, never a secret, then its own.
std::map<std::string, std::string> job_environment_of(const ProcessSpec& spec) {
  std::map<std::string, std::string> env;
  for (const auto& [k, v] : daemon_environment()) {
    bool wanted = spec.inherit_all || in_clean_base(k) ||
                  std::find(spec.inherit.begin(), spec.inherit.end(), k) != spec.inherit.end();
    if (wanted && !spec.never_inherit.count(k)) env.emplace(k, v);
  }
  if (!env.count("PATH")) env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& [k, v] : spec.env) env[k] = v;
  return env;
}

// A NULL-terminated char* array over owned strings (argv, envp).
struct CStrings {
  explicit CStrings(std::vector<std::string> s) : strings(std::move(s)) {
    for (auto& x : strings) ptrs.push_back(x.data());
    ptrs.push_back(nullptr);
  }
  std::vector<std::string> strings;
  std::vector<char*> ptrs;
};

CStrings env_block(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return CStrings(std::move(out));
}

struct StdioPipes {
  Pipe in, out, err;
};

std::optional<StdioPipes> make_stdio(std::string* error) {
  auto in = make_pipe(error);
  if (!in) return std::nullopt;
  auto out = make_pipe(error);
  if (!out) return std::nullopt;
  auto err = make_pipe(error);
  if (!err) return std::nullopt;
  return StdioPipes{std::move(*in), std::move(*out), std::move(*err)};
}

// What the child does between vfork() and execve(), prepared in full before vfork: the child
// only makes system calls (no allocation, no locks), as glibc's posix_spawn does.
struct ChildPlan {
  const char* executable;
  char* const* argv;
  char* const* envp;
  const char* cwd;  // nullptr: inherit
  int stdin_fd, stdout_fd, stderr_fd;
  int report_fd;    // CLOEXEC: closed by a successful exec; else the failing errno is written to it
  pid_t parent;
};

[[noreturn]] void fail_in_child(int report_fd) {
  int err = errno;
  ssize_t ignored = ::write(report_fd, &err, sizeof err);
  (void)ignored;
  ::_exit(127);
}

// In the vfork child. Its own process group (pgid = pid) so a timeout kills the whole tree; it
// dies with the daemon (PR_SET_PDEATHSIG; if the daemon already died, it stops here); signals as
// after a fresh login: nothing blocked, nothing ignored (the daemon ignores SIGPIPE; jobs must not).
[[noreturn]] void become_job(const ChildPlan& p) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  if (::setpgid(0, 0) != 0) fail_in_child(p.report_fd);
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail_in_child(p.report_fd);
  if (::getppid() != p.parent) ::_exit(127);  // the daemon died before PR_SET_PDEATHSIG took hold
  if (::dup2(p.stdin_fd, STDIN_FILENO) < 0 || ::dup2(p.stdout_fd, STDOUT_FILENO) < 0 ||
      ::dup2(p.stderr_fd, STDERR_FILENO) < 0)
    fail_in_child(p.report_fd);
  // Every other fd closes at exec (ours are O_CLOEXEC already; this also catches any a library
  // opened without it). The report pipe is CLOEXEC too: exec closing it tells the parent "ok".
  if (::syscall(SYS_close_range, STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
    for (int fd = STDERR_FILENO + 1; fd < 4096; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (p.cwd && ::chdir(p.cwd) != 0) fail_in_child(p.report_fd);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(p.executable, p.argv, p.envp);
  fail_in_child(p.report_fd);
}

// vfork + exec; returns the pid, or -1 with *err set to the errno of the step that failed.
pid_t start_child(const ChildPlan& plan_in, int* err) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    *err = errno;
    return -1;
  }
  ChildPlan plan = plan_in;
  plan.report_fd = report[1];
  plan.parent = ::getpid();
  // No signal handler may run in the child while it shares our memory.
  sigset_t all, saved;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &saved);
  pid_t pid = ::vfork();
  if (pid == 0) become_job(plan);
  const int vfork_err = errno;
  ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  ::close(report[1]);
  int child_err = 0;
  ssize_t n = pid > 0 ? ::read(report[0], &child_err, sizeof child_err) : 0;
  ::close(report[0]);
  if (pid < 0) {
    *err = vfork_err;
    return -1;
  }
  if (n == static_cast<ssize_t>(sizeof child_err)) {  // exec failed: reap the child, report why
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    *err = child_err;
    return -1;
  }
  return pid;
}

bool check_cwd(const std::filesystem::path& cwd, std::string* error) {
  if (cwd.empty()) return true;
  struct stat st{};
  if (::stat(cwd.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return true;
  *error = "working directory does not exist: " + cwd.string();
  return false;
}

}  // namespace

std::optional<SpawnedChild> spawn_child(const ProcessSpec& spec, std::string* error) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    *error = "empty command";
    return std::nullopt;
  }
  if (!check_cwd(spec.cwd, error)) return std::nullopt;
  const auto env = job_environment_of(spec);
  auto path_it = env.find("PATH");
  auto executable = find_executable(spec.argv[0], path_it == env.end() ? "" : path_it->second, error);
  if (!executable) return std::nullopt;
  auto pipes = make_stdio(error);
  if (!pipes) return std::nullopt;

  CStrings argv(spec.argv), envp = env_block(env);
  ChildPlan plan{executable->c_str(), argv.ptrs.data(), envp.ptrs.data(), spec.cwd.empty() ? nullptr : spec.cwd.c_str(),
                 pipes->in.read.get(), pipes->out.write.get(), pipes->err.write.get(), -1, 0};
  int err = 0;
  pid_t pid = start_child(plan, &err);
  if (pid < 0) {
    *error = spawn_error(err, spec.argv[0]);
    return std::nullopt;
  }
  SpawnedChild child{pid, std::move(pipes->in.write), std::move(pipes->out.read), std::move(pipes->err.read)};
  set_nonblocking(child.stdin_write.get());
  set_nonblocking(child.stdout_read.get());
  set_nonblocking(child.stderr_read.get());
  return child;  // the child's pipe ends close here, in the parent
}

}  // namespace hivehook
