// The owner lock of a PostgreSQL state: pg_try_advisory_lock on a session of its own, which the
// server releases when that session ends (the process exits or is killed). The session's
// application_name ("hivehook PID ROLE") tells `status` who holds it, through pg_locks.
#include <unistd.h>

#include <cstdlib>

#include "store/owner_lock.h"
#include "store/nodes.h"
#include "store/postgres.h"

namespace hivehook {

namespace {
// The advisory lock key of a state without node names: "hhowner" as a number. A node's lock is
// node_lock_key(kNodeOwnerClass, name): "hhow" and the name's hash.
constexpr int64_t kOwnerLock = 0x68686f776e6572LL;
constexpr uint32_t kNodeOwnerClass = 0x68686f77u;

std::string with_application_name(const std::string& url, const std::string& name) {
  std::string sep = url.find('?') == std::string::npos ? "?" : "&";
  std::string enc;
  for (char c : name) enc += c == ' ' ? std::string("%20") : std::string(1, c);
  return url + sep + "application_name=" + enc;
}
}  // namespace

std::optional<OwnerLock> OwnerLock::acquire_postgres(const std::string& url, const std::string& role,
                                                     std::string* error, const std::string& node) {
  const int64_t key = node.empty() ? kOwnerLock : node_lock_key(kNodeOwnerClass, node);
  try {
    auto db = sql::open_postgres(with_application_name(url, "hivehook " + std::to_string(::getpid()) + " " + role));
    bool locked = false;
    // A previous owner killed a moment ago may still hold its session until the server notices.
    for (int i = 0; i < 60 && !locked; ++i) {
      auto st = db.prepare("SELECT pg_try_advisory_lock(" + std::to_string(key) + ")");
      locked = st.step() && st.text(0) == "t";
      if (!locked) ::usleep(50 * 1000);
    }
    if (!locked) {
      std::string who;
      auto pid = holder_postgres(url, &who);
      if (error && !node.empty())
        *error = "state DB " + sql::redact_url(url) + " is owned by another hivehook running as node " + node +
                 "; a second daemon may share this state under another name (`run --node OTHER`, docs/cluster.md)";
      else if (error)
        *error = "state DB " + sql::redact_url(url) + " is owned by another hivehook" +
                 (pid ? " (pid " + std::to_string(*pid) + " " + who + ")" : std::string()) +
                 "; only one `run` or `scan` may use it at a time";
      return std::nullopt;
    }
    return OwnerLock(std::move(db));
  } catch (const sql::StoreError& e) {
    if (error) *error = e.what();
    return std::nullopt;
  }
}

std::optional<int> OwnerLock::holder_postgres(const std::string& url, std::string* role) {
  try {
    auto db = sql::open_postgres(url);
    auto st = db.prepare(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database"
        " WHERE datname = current_database()) AND l.objsubid = 1 AND (((l.classid::bigint << 32) | l.objid::bigint) = " +
        std::to_string(kOwnerLock) + " OR l.classid::bigint = " + std::to_string(kNodeOwnerClass) + ") ORDER BY a.backend_start LIMIT 1");
    if (!st.step()) return std::nullopt;
    std::string name = st.text(0);  // "hivehook PID ROLE"
    auto sp1 = name.find(' ');
    if (sp1 == std::string::npos) return std::nullopt;
    int pid = std::atoi(name.c_str() + sp1 + 1);
    if (role) {
      auto sp2 = name.find(' ', sp1 + 1);
      *role = sp2 == std::string::npos ? "" : name.substr(sp2 + 1);
    }
    return pid > 0 ? std::optional<int>(pid) : std::nullopt;
  } catch (const sql::StoreError&) {
    return std::nullopt;
  }
}

}  // namespace hivehook
