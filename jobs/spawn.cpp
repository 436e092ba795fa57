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

// The daemon's own environment, parsed once: it does not change while the daemon runs, and
// re-parsing it for every job showed in the spawn profile.
const std::map<std::string, std::string>& daemon_environment() {
  static const std::map<std::string, std::string> env = [] {
    std::map<std::string, std::string> m;
    for (char** e = environ; e && *e; ++e) {
      std::string_view entry(*e);
      auto eq = entry.find('=');
      if (eq == std::string_view::npos || eq == 0) continue;
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

}  // namespace

std::optional<std::string> find_executable(std::string_view name, std::string_view path_var, std::string* error) {
  if (name.empty()) {
    *error = "empty command";
    return std::nullopt;
  }
  if (name.find('/') != std::string_view::npos) return std::string(name);
  if (path_var.empty()) path_var = "/usr/local/bin:/usr/bin:/bin";
  bool saw_not_executable = false;
  while (true) {
    auto colon = path_var.find(':');
    std::string_view dir = path_var.substr(0, colon);
    std::string candidate = (dir.empty() ? std::string(".") : std::string(dir)) + "/" + std::string(name);
    struct stat st{};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      saw_not_executable = true;
    }
    if (colon == std::string_view::npos) break;
    path_var.remove_prefix(colon + 1);
  }
  *error = (saw_not_executable ? "permission denied: " : "command not found: ") + std::string(name);
  return std::nullopt;
}

std::optional<SpawnedChild> spawn_child(const ProcessSpec& spec, std::string* error) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    *error = "empty command";
    return std::nullopt;
  }
  const std::string& command = spec.argv[0];
  if (!spec.cwd.empty()) {
    struct stat st{};
    if (::stat(spec.cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      *error = "working directory does not exist: " + spec.cwd.string();
      return std::nullopt;
    }
  }

  const auto env = merged_environment(spec.env);
  auto path_it = env.find("PATH");
  auto executable = find_executable(command, path_it == env.end() ? "" : path_it->second, error);
  if (!executable) return std::nullopt;

  std::vector<std::string> env_strings;
  env_strings.reserve(env.size());
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  std::vector<std::string> argv_copy = spec.argv;
  for (auto& a : argv_copy) argv.push_back(a.data());
  argv.push_back(nullptr);

  auto in = make_pipe(error);
  if (!in) return std::nullopt;
  auto out = make_pipe(error);
  if (!out) return std::nullopt;
  auto err = make_pipe(error);
  if (!err) return std::nullopt;

  FileActions fa;
  posix_spawn_file_actions_adddup2(&fa.fa, in->read.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa.fa, out->write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa.fa, err->write.get(), STDERR_FILENO);
  // Our fds are all O_CLOEXEC; this also catches any fd a library opened without it.
  posix_spawn_file_actions_addclosefrom_np(&fa.fa, STDERR_FILENO + 1);
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa.fa, spec.cwd.c_str());

  SpawnAttr attr;
  // Own process group (pgid = pid) so a timeout can kill the whole tree; signals as after a
  // fresh login: nothing blocked, nothing ignored (the daemon ignores SIGPIPE; jobs must not).
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig = 1; sig < 32; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) sigaddset(&defaults, sig);
  posix_spawnattr_setflags(&attr.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr.attr, 0);
  posix_spawnattr_setsigmask(&attr.attr, &none);
  posix_spawnattr_setsigdefault(&attr.attr, &defaults);

  pid_t pid = 0;
  // glibc's posix_spawn runs the child with CLONE_VFORK and returns exec's errno to us.
  int rc = ::posix_spawn(&pid, executable->c_str(), &fa.fa, &attr.attr, argv.data(), envp.data());
  if (rc != 0) {
    *error = spawn_error(rc, command);
    return std::nullopt;
  }
  SpawnedChild child{pid, std::move(in->write), std::move(out->read), std::move(err->read)};
  set_nonblocking(child.stdin_write.get());
  set_nonblocking(child.stdout_read.get());
  set_nonblocking(child.stderr_read.get());
  return child;  // the child's pipe ends close here, in the parent
}

}  // namespace hivehook
