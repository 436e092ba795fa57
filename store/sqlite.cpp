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

class SqliteStatement final : public StatementBackend {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* st) : db_(db), st_(st) {}
  ~SqliteStatement() override { sqlite3_finalize(st_); }

  void bind_int64(int i, int64_t v) override { check_bind(sqlite3_bind_int64(st_, i, v), i); }
  void bind_text(int i, std::string_view v) override {
    check_bind(sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT), i);
  }
  void bind_null(int i) override { check_bind(sqlite3_bind_null(st_, i), i); }

  bool step() override {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    std::string msg = sqlite3_errmsg(db_);
    sqlite3_reset(st_);
    throw StoreError("sqlite step failed: " + msg, rc);
  }
  void reset() override {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  int64_t int64(int col) const override { return sqlite3_column_int64(st_, col); }
  std::string text(int col) const override {
    const unsigned char* p = sqlite3_column_text(st_, col);
    if (!p) return {};
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(st_, col)));
  }
  bool is_null(int col) const override { return sqlite3_column_type(st_, col) == SQLITE_NULL; }

 private:
  void check_bind(int rc, int i) {
    if (rc != SQLITE_OK)
      throw StoreError("bind of parameter " + std::to_string(i) + " failed: " + sqlite3_errmsg(db_), rc);
  }
  sqlite3* db_;
  sqlite3_stmt* st_;
};

class SqliteDb final : public DbBackend {
 public:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  ~SqliteDb() override { sqlite3_close_v2(db_); }

  Dialect dialect() const override { return Dialect::sqlite; }
  void exec(std::string_view sql) override {
    std::string text(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      throw StoreError("sqlite exec failed: " + msg, rc);
    }
  }
  std::unique_ptr<StatementBackend> prepare(std::string_view sql) override {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &st,
                                nullptr);
    if (rc != SQLITE_OK)
      throw StoreError("prepare failed for [" + std::string(sql) + "]: " + sqlite3_errmsg(db_), rc);
    return std::make_unique<SqliteStatement>(db_, st);
  }
  int64_t changes() const override { return sqlite3_changes(db_); }
  bool in_transaction() const override { return !sqlite3_get_autocommit(db_); }

 private:
  sqlite3* db_;
};
}  // namespace

Db open_sqlite(const std::string& path, int flags) {
  (void)kConfigured;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    throw StoreError("cannot open " + path + ": " + msg, rc);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  return Db(std::make_unique<SqliteDb>(db));
}

}  // namespace hivehook::sql
