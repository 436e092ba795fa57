#include "store/sqlite.h"

#include <utility>

namespace hivehook::sql {

namespace {
// The daemon touches SQLite from its loop thread only: skip the global memory-statistics mutex,
// which otherwise costs a lock per allocation on the hot path.
const bool kConfigured = [] {
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  return true;
}();
}  // namespace

Db::Db(const std::string& path, int flags) {
  (void)kConfigured;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError("cannot open " + path + ": " + msg, rc);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);
}

Db::Db(Db&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    if (db_) sqlite3_close_v2(db_);
    db_ = std::exchange(o.db_, nullptr);
  }
  return *this;
}
Db::~Db() {
  if (db_) sqlite3_close_v2(db_);
}

void Db::fail(const std::string& what, int rc) const {
  throw StoreError(what + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)), rc);
}

void Db::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw StoreError(std::string("sqlite exec failed: ") + msg, rc);
  }
}

Statement Db::prepare(std::string_view sql) const {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK) fail("prepare failed for [" + std::string(sql) + "]", rc);
  return Statement(db_, st);
}

Statement::Statement(Statement&& o) noexcept : db_(o.db_), st_(std::exchange(o.st_, nullptr)) {}
Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    if (st_) sqlite3_finalize(st_);
    db_ = o.db_;
    st_ = std::exchange(o.st_, nullptr);
  }
  return *this;
}
Statement::~Statement() {
  if (st_) sqlite3_finalize(st_);
}

void Statement::check_bind(int rc, int i) {
  if (rc != SQLITE_OK)
    throw StoreError("bind of parameter " + std::to_string(i) + " failed: " + sqlite3_errmsg(db_), rc);
}
Statement& Statement::bind(int i, int64_t v) {
  check_bind(sqlite3_bind_int64(st_, i, v), i);
  return *this;
}
Statement& Statement::bind(int i, std::string_view v) {
  check_bind(sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT), i);
  return *this;
}
Statement& Statement::bind(int i, std::nullopt_t) {
  check_bind(sqlite3_bind_null(st_, i), i);
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string msg = sqlite3_errmsg(db_);
  sqlite3_reset(st_);
  throw StoreError("sqlite step failed: " + msg, rc);
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}

std::string Statement::text(int col) const {
  const unsigned char* p = sqlite3_column_text(st_, col);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(st_, col)));
}

Transaction::Transaction(Db& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::Transaction(Db& db, Statement& begin, Statement& commit, Statement& rollback)
    : db_(db), commit_(&commit), rollback_(&rollback) {
  begin.run();
}

Transaction::~Transaction() {
  if (!open_ || sqlite3_get_autocommit(db_.get())) return;  // committed, or SQLite rolled back itself
  if (rollback_) {
    try {
      rollback_->run();
    } catch (const StoreError&) {  // nothing more to do from a destructor
    }
  } else {
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

void Transaction::commit() {
  if (commit_) commit_->run(); else db_.exec("COMMIT");
  open_ = false;
}

}  // namespace hivehook::sql
