// Thin RAII over the SQLite C API: a connection, prepared statements, transactions.
// Every bind and step result is checked; a failure throws StoreError with SQLite's message.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hivehook::sql {

class StoreError : public std::runtime_error {
 public:
  StoreError(const std::string& what, int code) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

class Statement;

class Db {
 public:
  Db() = default;
  // flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, or SQLITE_OPEN_READONLY.
  Db(const std::string& path, int flags);
  Db(Db&& o) noexcept;
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  sqlite3* get() const { return db_; }
  void exec(const char* sql);
  Statement prepare(std::string_view sql) const;
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  [[noreturn]] void fail(const std::string& what, int rc) const;

 private:
  sqlite3* db_ = nullptr;
};

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* st) : db_(db), st_(st) {}
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binding is 1-based, as in SQLite. Each returns *this so calls chain.
  Statement& bind(int i, int64_t v);
  Statement& bind(int i, int v) { return bind(i, static_cast<int64_t>(v)); }
  Statement& bind(int i, std::string_view v);
  Statement& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Statement& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Statement& bind(int i, std::nullopt_t);
  template <class T>
  Statement& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind(i, std::nullopt);
  }

  explicit operator bool() const { return st_ != nullptr; }
  // true: a row is ready; false: done.
  bool step();
  // Steps to completion (for statements that return no rows) and resets.
  void run();
  void reset();

  int64_t int64(int col) const { return sqlite3_column_int64(st_, col); }
  std::string text(int col) const;
  bool is_null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }

 private:
  void check_bind(int rc, int i);
  sqlite3* db_ = nullptr;
  sqlite3_stmt* st_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back when destroyed uncommitted (an exception unwinding, a
// failed COMMIT). Either parsed each time, or with the caller's prepared BEGIN/COMMIT/ROLLBACK
// (a batch per loop turn should not parse three statements every time).
class Transaction {
 public:
  explicit Transaction(Db& db);
  Transaction(Db& db, Statement& begin, Statement& commit, Statement& rollback);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  // Throws StoreError when COMMIT fails; the transaction is then rolled back by the destructor.
  void commit();

 private:
  Db& db_;
  Statement* commit_ = nullptr;
  Statement* rollback_ = nullptr;
  bool open_ = true;
};

}  // namespace hivehook::sql
