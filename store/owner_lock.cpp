#include "store/owner_lock.h"

#include "store/postgres.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace hivehook {

namespace {
// The DB's real path: a symlink or another relative path to the same DB names the same lock.
std::filesystem::path canonical_db(const std::filesystem::path& db) {
  std::error_code ec;
  auto real = std::filesystem::weakly_canonical(db, ec);
  return ec ? db : real;
}

std::filesystem::path lock_path(const std::filesystem::path& db) { return canonical_db(db).string() + ".lock"; }

std::string read_all(int fd) {
  std::string s;
  char buf[256];
  ssize_t n;
  ::lseek(fd, 0, SEEK_SET);
  while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}
}  // namespace

std::optional<OwnerLock> OwnerLock::acquire(const std::filesystem::path& db_path, const std::string& role,
                                            std::string* error, const std::string& node) {
  if (sql::is_postgres_url(db_path.string())) return acquire_postgres(db_path.string(), role, error, node);
  const std::string one_owner =
      "; only one `run` or `scan` may use it at a time (several daemons on one state — cluster mode, "
      "`--node` — need a PostgreSQL state: see docs/cluster.md)";
  std::error_code ec;
  std::filesystem::create_directories(db_path.parent_path(), ec);
  // The DB file itself is locked too (its inode): a hard link under another name is the same DB.
  // A previous owner killed with SIGKILL while spawning a job leaves its locks with that job for
  // the instant before its exec(): wait briefly before calling the DB taken (as below).
  UniqueFd db(::open(db_path.c_str(), O_RDONLY | O_CLOEXEC));
  bool db_locked = !db;
  for (int i = 0; db && i < 60 && !(db_locked = ::flock(db.get(), LOCK_EX | LOCK_NB) == 0); ++i) ::usleep(50 * 1000);
  if (!db_locked) {
    if (error) {
      // The owner's pid from its lock file; the real path only when it differs (issue 16 N11: the
      // path was printed twice, and no pid).
      std::string owner;
      if (UniqueFd lf(::open(lock_path(db_path).c_str(), O_RDONLY | O_CLOEXEC)); lf) owner = read_all(lf.get());
      while (!owner.empty() && (owner.back() == '\n' || owner.back() == ' ')) owner.pop_back();
      const auto real = canonical_db(db_path);
      *error = "state DB " + db_path.string() + (real == db_path ? std::string() : " (" + real.string() + ")") +
               " is owned by another hivehook" + (owner.empty() ? std::string() : " (pid " + owner + ")") + one_owner;
    }
    return std::nullopt;
  }
  UniqueFd fd(::open(lock_path(db_path).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) {
    if (error) *error = "cannot open " + lock_path(db_path).string() + ": " + std::strerror(errno);
    return std::nullopt;
  }
  // A previous owner killed with SIGKILL while spawning a job leaves the lock with that job for
  // the instant before its exec(): wait briefly before calling the DB taken.
  bool locked = false;
  for (int i = 0; i < 60 && !(locked = ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0); ++i) ::usleep(50 * 1000);
  if (!locked) {
    if (error) {
      std::string owner = read_all(fd.get());
      while (!owner.empty() && (owner.back() == '\n' || owner.back() == ' ')) owner.pop_back();
      *error = "state DB " + db_path.string() + " is owned by another hivehook" +
               (owner.empty() ? std::string() : " (pid " + owner + ")") + one_owner;
    }
    return std::nullopt;
  }
  std::string me = std::to_string(::getpid()) + " " + role + "\n";
  if (::ftruncate(fd.get(), 0) == 0) {
    ssize_t ignored = ::pwrite(fd.get(), me.data(), me.size(), 0);
    (void)ignored;
  }
  return OwnerLock(std::move(fd), std::move(db));
}

std::optional<int> OwnerLock::holder(const std::filesystem::path& db_path, std::string* role) {
  if (sql::is_postgres_url(db_path.string())) return holder_postgres(db_path.string(), role);
  UniqueFd fd(::open(lock_path(db_path).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) {
    ::flock(fd.get(), LOCK_UN);
    return std::nullopt;  // nobody holds it
  }
  std::string s = read_all(fd.get());
  int pid = std::atoi(s.c_str());
  if (role) {
    auto sp = s.find(' ');
    *role = sp == std::string::npos ? "" : s.substr(sp + 1);
    while (!role->empty() && role->back() == '\n') role->pop_back();
  }
  return pid > 0 ? std::optional<int>(pid) : std::nullopt;
}

namespace {
// The pid holding a flock on (dev, ino), from /proc/locks ("1: FLOCK ADVISORY WRITE 1234 fd:01:5678 0 EOF").
std::optional<int> flock_holder(dev_t dev, ino_t ino) {
  std::ifstream in("/proc/locks");
  char want[64];
  std::snprintf(want, sizeof want, "%02x:%02x:%lu", major(dev), minor(dev), static_cast<unsigned long>(ino));
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string n, kind, mode, rw, pid, id;
    if (!(f >> n >> kind)) continue;
    if (kind == "->") f >> kind;  // a waiter
    if (f >> mode >> rw >> pid >> id && kind == "FLOCK" && id == want) return std::atoi(pid.c_str());
  }
  return std::nullopt;
}
}  // namespace

std::optional<LandingLock> LandingLock::acquire(const std::filesystem::path& landing, std::string* error) {
  UniqueFd fd(::open(landing.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    if (error) *error = "cannot open landing " + landing.string() + ": " + std::strerror(errno);
    return std::nullopt;
  }
  // As for the DB: a previous owner killed while spawning a job leaves the lock with that job for
  // the instant before its exec(); wait briefly before calling landing taken.
  bool locked = false;
  for (int i = 0; i < 60 && !(locked = ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0); ++i) ::usleep(50 * 1000);
  if (!locked) {
    if (error) {
      struct stat st {};
      std::optional<int> pid;
      if (::fstat(fd.get(), &st) == 0) pid = flock_holder(st.st_dev, st.st_ino);
      *error = "landing " + landing.string() + " is watched by another hivehook" +
               (pid ? " (pid " + std::to_string(*pid) + ")" : std::string()) +
               " with another state DB: two daemons on one landing would run every file twice. Stop the "
               "other one, or give each its own landing folder (several daemons on one landing — cluster "
               "mode — need a PostgreSQL state: see docs/cluster.md)";
    }
    return std::nullopt;
  }
  return LandingLock(std::move(fd));
}

}  // namespace hivehook
