#include "base/path_access.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hivehook {

std::string user_name(uid_t uid) {
  if (const passwd* p = ::getpwuid(uid)) return p->pw_name;
  return std::to_string(uid);
}

std::string group_name(gid_t gid) {
  if (const group* g = ::getgrgid(gid)) return g->gr_name;
  return std::to_string(gid);
}

namespace {

// "drwxr-x---", as ls -l shows the mode.
std::string mode_text(const struct stat& st) {
  std::string s = S_ISDIR(st.st_mode) ? "d" : "-";
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) s += (st.st_mode & (0400 >> i)) ? rwx[i] : '-';
  return s;
}

// "permission denied on P (drwxr-x--- hivehook:hivehook): run as root or as user hivehook". The
// owner, not the group: the state DB is created 0600 (store/store.cpp), so membership of the
// folder's group would only move the refusal down to the DB file.
PathAccess denied_on(const std::filesystem::path& p, const struct stat& st) {
  const std::string owner = user_name(st.st_uid);
  PathAccess a{PathAccess::State::denied, "", "permission denied on " + p.string() + " (" + mode_text(st) + " " +
                                                  owner + ":" + group_name(st.st_gid) + ")", owner, p};
  a.why = a.refused + (owner == "root" ? std::string(": run as root") : ": run as root or as user " + owner);
  return a;
}

// `path` with `how` (R_OK, R_OK|W_OK): readable (= allowed), absent, or denied with the folder or
// file that refused.
PathAccess probe(const std::filesystem::path& path, int how) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (::access(path.c_str(), how) == 0) return PathAccess{PathAccess::State::readable, "", "", "", {}};
    return denied_on(path, st);
  }
  const int err = errno;
  if (err == ENOENT || err == ENOTDIR) return PathAccess{PathAccess::State::absent, "", "", "", {}};
  if (err == EACCES) {
    // The first folder on the way this process may not search names the fix.
    std::filesystem::path walked;
    for (const auto& part : path.parent_path()) {
      walked /= part;
      struct stat dir {};
      if (::stat(walked.c_str(), &dir) != 0) break;
      if (::access(walked.c_str(), X_OK) != 0) return denied_on(walked, dir);
    }
  }
  return PathAccess{PathAccess::State::denied, std::string(std::strerror(err)) + " on " + path.string(), "", "", {}};
}

}  // namespace

PathAccess probe_read_access(const std::filesystem::path& path) { return probe(path, R_OK); }

PathAccess probe_write_access(const std::filesystem::path& folder) { return probe(folder, W_OK | X_OK); }

PathAccess probe_database_access(const std::filesystem::path& path) {
  PathAccess file = probe(path, R_OK | W_OK);
  if (file.state == PathAccess::State::denied) return file;
  if (PathAccess dir = probe(path.parent_path(), W_OK | X_OK); dir.state != PathAccess::State::readable)
    return dir.state == PathAccess::State::absent ? file : dir;
  for (const char* suffix : {"-wal", "-shm"})
    if (PathAccess side = probe(path.string() + suffix, R_OK | W_OK); side.state == PathAccess::State::denied)
      return side;
  return file;
}

std::string process_user() { return "user " + process_user_name() + " (uid " + std::to_string(::geteuid()) + ")"; }

std::string process_user_name() { return user_name(::geteuid()); }

std::string process_group_name() { return group_name(::getegid()); }

}  // namespace hivehook
