// `hivehook check [--env-file FILE]`: validate the config and its rules, every problem at file:line:col.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "app/cli_support.h"
#include "app/schedule_times.h"
#include "app/env_file.h"
#include "base/path_access.h"
#include "daemon/folder_access.h"
#include "rules/rule.h"

namespace hivehook::cli {

namespace {

namespace fs = std::filesystem;

// Issue 16 N13: `check --env-file` ("what the service will see") said OK for a config the service
// user could not read; the service then failed at its next start. What the service needs is probed
// here as that user: in a child that takes its uid, gid and groups (initgroups(3)), as systemd's
// User= does. `probe` runs as the user and returns one line per problem; nullopt when this process
// cannot tell (not root, and not that user).
std::optional<std::vector<std::string>> as_user(const passwd& user, const std::function<std::string()>& probe) {
  std::string text;
  if (::geteuid() == user.pw_uid) {
    text = probe();
  } else {
    if (::geteuid() != 0) return std::nullopt;
    int fds[2];
    if (::pipe(fds) != 0) return std::nullopt;
    const pid_t pid = ::fork();
    if (pid < 0) return std::nullopt;
    if (pid == 0) {
      ::close(fds[0]);
      if (::initgroups(user.pw_name, user.pw_gid) != 0 || ::setgid(user.pw_gid) != 0 || ::setuid(user.pw_uid) != 0)
        ::_exit(3);
      const std::string out = probe();
      const char* p = out.data();
      for (size_t left = out.size(); left > 0;) {
        const ssize_t n = ::write(fds[1], p, left);
        if (n <= 0) ::_exit(4);
        p += n, left -= static_cast<size_t>(n);
      }
      ::_exit(0);
    }
    ::close(fds[1]);
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  }
  std::vector<std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) out.push_back(line);
  return out;
}

// "PATH: why" for each file the user may not open for reading.
std::optional<std::vector<std::string>> unreadable_for(const passwd& user, const std::vector<fs::path>& files) {
  return as_user(user, [&files] {
    std::string out;
    for (const auto& f : files) {
      const int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) ::close(fd);
      else out += f.string() + ": " + std::strerror(errno) + "\n";
    }
    return out;
  });
}

// Issue 16 retest P8: landing, archive or quarantine that the service's user may not write (a
// root-made folder elsewhere: EACCES) or, missing, may not create. "E\tmessage" when the service
// would not start (it makes missing folders at start), "W\tmessage" when every move would fail.
std::optional<std::vector<std::string>> unwritable_folders_for(const passwd& user, const Config& config) {
  const std::string name = user.pw_name;
  const group* gr = ::getgrgid(user.pw_gid);
  const std::string group_name = gr ? gr->gr_name : std::to_string(user.pw_gid);
  return as_user(user, [&config, name, group_name] {
    std::string out;
    const std::pair<const char*, fs::path> folders[] = {
        {"landing", config.landing}, {"archive", config.archive}, {"quarantine", config.quarantine}};
    for (const auto& [key, path] : folders) {
      const fs::path at = nearest_existing(path);
      const PathAccess a = probe_write_access(at);
      if (a.state != PathAccess::State::denied) continue;
      const std::string why = a.refused.empty() ? a.why : a.refused;
      if (at != fs::absolute(path).lexically_normal())
        out += "E\t" + std::string(key) + " " + path.string() + " does not exist, and user " + name +
               " (the service's) cannot create it: " + why + ": the service would not start (as root: install -d -o " +
               name + " -g " + group_name + " " + path.string() + ")\n";
      else
        out += "W\t" + std::string(key) + " " + path.string() + ": user " + name + " (the service's) cannot write it: " +
               why + ": every move " + (std::string(key) == "landing" ? "out of" : "into") + " it would fail (as root: chown " +
               name + ": " + path.string() + ")\n";
    }
    return out;
  });
}

// Issue 16 N11: an environment file others may read (its secrets) was not mentioned.
void warn_readable_env_files(const Globals& g) {
  for (const auto& f : g.env_files) {
    struct stat st;
    if (f == "-" || ::stat(f.c_str(), &st) != 0 || (st.st_mode & 077) == 0) continue;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    std::cerr << f << ": warning: mode " << mode << ": others may read the secrets in it (chmod 600 " << f << ")\n";
  }
}

// Issue 16 retest P4: a job file under /home or /tmp exists for root's `check` but not for the
// service: the packaged unit has ProtectHome=yes (/home, /root, /run/user hidden) and PrivateTmp=yes
// (/tmp, /var/tmp its own). With --env-file (checking for the service), each rule's cwd, Lambda code
// folder and absolute (or cwd-relative) command arguments there are warned about.
int warn_hidden_from_the_service(const RuleSet& rules) {
  static const std::pair<const char*, const char*> kHidden[] = {
      {"/home/", "ProtectHome=yes hides it from the service"},
      {"/root/", "ProtectHome=yes hides it from the service"},
      {"/run/user/", "ProtectHome=yes hides it from the service"},
      {"/tmp/", "PrivateTmp=yes gives the service its own /tmp"},
      {"/var/tmp/", "PrivateTmp=yes gives the service its own /var/tmp"}};
  int warnings = 0;
  for (const auto& r : rules.rules) {
    std::vector<fs::path> paths{r.job.cwd};
    if (const auto* c = std::get_if<CommandJob>(&r.job.kind)) {
      for (const auto& a : c->argv) {
        if (a.empty() || a.find('{') != std::string::npos || a.find("://") != std::string::npos) continue;
        fs::path p = fs::path(a).is_absolute() ? fs::path(a) : r.job.cwd / a;
        std::error_code ec;
        if (fs::path(a).is_absolute() || fs::exists(p, ec)) paths.push_back(p);
      }
    } else if (const auto* l = std::get_if<LambdaJob>(&r.job.kind)) {
      paths.push_back(l->code);
    }
    // Beside the rules file itself (the default cwd): where the config lives is not this check's
    // business (a config in /tmp is a test's, not a service's).
    const std::string rules_dir = fs::path(r.source.substr(0, r.source.rfind(':'))).parent_path().lexically_normal().string() + "/";
    for (const auto& p : paths) {
      const std::string s = p.lexically_normal().string() + "/";
      if (s.rfind(rules_dir, 0) == 0) continue;
      for (const auto& [prefix, why] : kHidden) {
        if (s.rfind(prefix, 0) != 0) continue;
        std::cerr << r.source << ": warning: rule '" << r.name << "': " << p.lexically_normal().string()
                  << " is under " << std::string(prefix).substr(0, std::string(prefix).size() - 1) << ", which the "
                  << "service's jobs cannot see (the packaged unit: " << why << "): keep job files under "
                  << "/etc/hivehook, /opt or /usr/local\n";
        ++warnings;
        break;
      }
    }
  }
  return warnings;
}

int run_check(Globals& g) {
  const int env_vars = apply_env_files(g);  // resolves -c's default ($HIVEHOOK_CONFIG) first
  if (env_vars < 0) return kExitUsage;
  fs::path file = resolve_config_path(g.config);
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    error(g) << "config file '" << file.string() << "' not found (use -c FILE or $HIVEHOOK_CONFIG)\n";
    return kExitUsage;
  }
  Diagnostics diags;
  auto config = load_config_lenient(file, diags);
  std::optional<RuleSet> rules;
  if (config) rules = load_rules(config->rules, *config, diags);
  std::cerr << diags.str();

  int errors = 0, warnings = 0;
  for (const auto& d : diags.items()) (d.severity == Diagnostic::Severity::error ? errors : warnings)++;
  if (errors > 0 || !rules) {
    std::cout << "config invalid: " << errors << (errors == 1 ? " error" : " errors") << ", " << warnings
              << (warnings == 1 ? " warning" : " warnings") << "\n";
    // Unset ${VAR}s in an ops shell: the service's values are in its environment file (retest P7).
    bool unset = false;
    for (const auto& d : diags.items()) unset = unset || d.message.find("' is not set") != std::string::npos;
    if (unset && g.env_files.empty())
      std::cerr << "note: the service's variables are in its environment file: hivehook check --env-file "
                   "/etc/hivehook/hivehook.env\n";
    return kExitFailure;
  }
  // For the service (--env-file): may its user read what it will read? Errors, not OK.
  if (!g.env_files.empty()) {
    warn_readable_env_files(g);
    warnings += warn_hidden_from_the_service(*rules);
    if (const passwd* pw = ::getpwnam(g.service_user.c_str())) {
      passwd user = *pw;
      std::string name = user.pw_name;
      user.pw_name = name.data();
      std::vector<fs::path> files{config->file};
      files.insert(files.end(), rules->files.begin(), rules->files.end());
      auto refused = unreadable_for(user, files);
      if (!refused) {
        std::cerr << "note: cannot tell whether user " << name << " (the service's) may read the config and rules: "
                  << "run check as root or as " << name << "\n";
      } else if (!refused->empty()) {
        const std::string config_file = config->file.string();
        for (const auto& r : *refused)
          std::cerr << r << ": error: user " << name << " (the service's) cannot read it: "
                    << (r.rfind(config_file + ":", 0) == 0
                            ? "the service would not start"
                            : "the service would start on its last good rules, degraded (after fixing it: systemctl "
                              "reload hivehook)")
                    << " (chgrp " << name << " and chmod g+r, or chmod 644 if it holds no secret)\n";
        std::cout << "config invalid for the service: " << refused->size() << " file(s) user " << name
                  << " cannot read\n";
        return kExitFailure;
      }
      // The folders it moves files between (issue 16 retest P8). Under systemd, a folder outside
      // /var/lib/hivehook also needs the unit's ReadWritePaths= (ProtectSystem=strict): runbook.
      int folder_errors = 0;
      for (const auto& line : unwritable_folders_for(user, *config).value_or(std::vector<std::string>{})) {
        const bool fatal = line.rfind("E\t", 0) == 0;
        std::cerr << config->file.string() << ": " << (fatal ? "error: " : "warning: ") << line.substr(2) << "\n";
        (fatal ? folder_errors : warnings)++;
      }
      if (folder_errors) {
        std::cout << "config invalid for the service: " << folder_errors << " folder(s) user " << name
                  << " cannot create\n";
        return kExitFailure;
      }
    } else if (g.service_user != "hivehook") {
      error(g) << "--user: no user '" << g.service_user << "' on this machine\n";
      return kExitUsage;
    }
  }
  fs::path shown = config->rules.lexically_relative(config->file.parent_path());
  if (shown.empty() || shown.begin()->string() == "..") shown = config->rules;
  std::string where = shown.string() + (fs::is_directory(config->rules, ec) ? "/" : "");
  size_t n = rules->rules.size(), files = rules->files.size();
  std::cout << "config OK: " << n << (n == 1 ? " rule" : " rules") << " from " << where << " (" << files
            << (files == 1 ? " file" : " files") << ")";
  if (warnings) std::cout << ", " << warnings << (warnings == 1 ? " warning" : " warnings");
  if (!g.env_files.empty()) std::cout << "; environment: " << env_vars << " variable" << (env_vars == 1 ? "" : "s") << " from --env-file";
  std::cout << "\n";
  // When each schedule fires next, in UTC: a cron expression and its zone, checked without waiting
  // for them (issue 14, F6 of the new-user test).
  print_schedule_times(schedule_times(*rules, nullptr, SystemClock::instance().now(), 3, /*daemon_runs=*/false), false);
  return kExitOk;
}

}  // namespace

void add_check(CLI::App& app, Globals& g) {
  CLI::App* cmd = add_command(
      app, g,
      {.name = "check",
       .summary = "Validate the config and rules; report every problem as file:line:col",
       .details =
           "Reads the config and every rules file as run would, and prints every error and warning as "
           "file:line:col: message. Warnings name what would only fail at run time: a program not found on PATH, "
           "a relative file argument (scripts/etl.py) missing from the job's cwd, an unknown placeholder.\n\n"
           "${VAR} in the config and rules expands from the environment. With --env-file, the environment is the "
           "one the service would get: systemd's PATH plus the file's variables (systemd's EnvironmentFile= "
           "format), and nothing from the calling shell; and the config and rules files must be readable by the "
           "service's user (--user, default hivehook): checked as that user when run as root or as it, else a note "
           "says it could not be told. An environment file others may read is warned about (it holds secrets).",
       .exit_status = "0 valid (warnings allowed); 1 errors in the config or rules; 2 usage error (no config file, "
                      "unreadable --env-file).",
       .examples = "  hivehook check -c hivehook.yaml\n"
                   "  sudo hivehook check -c /etc/hivehook/hivehook.yaml --env-file /etc/hivehook/hivehook.env"});
  cmd->add_option("--user", g.service_user,
                  "with --env-file: the service's user, who must be able to read the config and rules (default hivehook)")
      ->type_name("USER");
  cmd->callback([&g] { g.exit_code = run_check(g); });
}

}  // namespace hivehook::cli
