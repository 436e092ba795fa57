#include "jobs/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

// posix_spawn's dup2 onto 0/1/2 needs source fds that are not themselves 0/1/2 (a daemon started
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

std::map<std::string, std::string> merged_environment(const std::map<std::string, std::string>& overlay) {
  std::map<std::string, std::string> env = daemon_environment();
  for (const auto& [k, v] : overlay) env[k] = v;
  return env;
}

// RAII for the two posix_spawn attribute objects.
struct FileActions {
  posix_spawn_file_actions_t fa;
  FileActions() { posix_spawn_file_actions_init(&fa); }
  ~FileActions() { posix_spawn_file_actions_destroy(&fa); }
};
struct SpawnAttr {
  posix_spawnattr_t attr;
  SpawnAttr() { posix_spawnattr_init(&attr); }
  ~SpawnAttr() { posix_spawnattr_destroy(&attr); }
};


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

// stdio on the pipes, no other inherited fd, the working directory.
void set_file_actions(FileActions& fa, const StdioPipes& p, const std::filesystem::path& cwd) {
  posix_spawn_file_actions_adddup2(&fa.fa, p.in.read.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa.fa, p.out.write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa.fa, p.err.write.get(), STDERR_FILENO);
  // Our fds are all O_CLOEXEC; this also catches any fd a library opened without it.
  posix_spawn_file_actions_addclosefrom_np(&fa.fa, STDERR_FILENO + 1);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa.fa, cwd.c_str());
}

// Own process group (pgid = pid) so a timeout can kill the whole tree; signals as after a fresh
// login: nothing blocked, nothing ignored (the daemon ignores SIGPIPE; jobs must not).
void set_attributes(SpawnAttr& attr) {
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig = 1; sig < 32; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) sigaddset(&defaults, sig);
  posix_spawnattr_setflags(&attr.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr.attr, 0);
  posix_spawnattr_setsigmask(&attr.attr, &none);
  posix_spawnattr_setsigdefault(&attr.attr, &defaults);
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
  const auto env = merged_environment(spec.env);
  auto path_it = env.find("PATH");
  auto executable = find_executable(spec.argv[0], path_it == env.end() ? "" : path_it->second, error);
  if (!executable) return std::nullopt;
  auto pipes = make_stdio(error);
  if (!pipes) return std::nullopt;

  CStrings argv(spec.argv), envp = env_block(env);
  FileActions fa;
  set_file_actions(fa, *pipes, spec.cwd);
  SpawnAttr attr;
  set_attributes(attr);
  pid_t pid = 0;
  // glibc's posix_spawn runs the child with CLONE_VFORK and returns exec's errno to us.
  int rc = ::posix_spawn(&pid, executable->c_str(), &fa.fa, &attr.attr, argv.ptrs.data(), envp.ptrs.data());
  if (rc != 0) {
    *error = spawn_error(rc, spec.argv[0]);
    return std::nullopt;
  }
  SpawnedChild child{pid, std::move(pipes->in.write), std::move(pipes->out.read), std::move(pipes->err.read)};
  set_nonblocking(child.stdin_write.get());
  set_nonblocking(child.stdout_read.get());
  set_nonblocking(child.stderr_read.get());
  return child;  // the child's pipe ends close here, in the parent
}

}  // namespace hivehook
