// The store's SQL interface: a connection (Db), prepared statements (Statement) and transactions
// (Transaction), over two backends — SQLite (store/sqlite.h, the embedded default) and PostgreSQL
// through libpq (store/postgres.h, `state: postgresql://...`). The store and its queries are
// written once, in the SQL both accept: `?` parameters (the PostgreSQL backend numbers them $1..$n),
// `INSERT ... ON CONFLICT (...) DO ...` rather than `INSERT OR ...`, CAST(? AS TEXT) where a
// parameter's type cannot be inferred. What differs — the transaction's BEGIN, the schema's DDL,
// how the schema version is kept — is asked of the backend (dialect(), begin_sql()).
// Every bind and step result is checked; a failure throws StoreError.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hivehook::sql {

// A failure of the store. code() is in SQLite's vocabulary of result codes (SQLITE_FULL,
// SQLITE_IOERR, SQLITE_CONSTRAINT, ...) whichever the backend, so callers classify one way; the
// PostgreSQL backend maps SQLSTATE classes onto them (postgres.cpp, map_sqlstate) and keeps the
// SQLSTATE itself in sqlstate().
class StoreError : public std::runtime_error {
 public:
  StoreError(const std::string& what, int code, std::string sqlstate = {})
      : std::runtime_error(what), code_(code), sqlstate_(std::move(sqlstate)) {}
  int code() const { return code_; }
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  int code_;
  std::string sqlstate_;
};

enum class Dialect { sqlite, postgresql };

// What a backend implements for one prepared statement. Parameters are 1-based; columns 0-based.
class StatementBackend {
 public:
  virtual ~StatementBackend() = default;
  virtual void bind_int64(int i, int64_t v) = 0;
  virtual void bind_text(int i, std::string_view v) = 0;
  virtual void bind_null(int i) = 0;
  // Executes on the first call after a reset; true while a row is ready.
  virtual bool step() = 0;
  // Ready to execute again; bindings cleared.
  virtual void reset() = 0;
  virtual int64_t int64(int col) const = 0;  // NULL reads 0
  virtual std::string text(int col) const = 0;  // NULL reads ""
  virtual bool is_null(int col) const = 0;
};

// What a backend implements for one connection.
class DbBackend {
 public:
  virtual ~DbBackend() = default;
  virtual Dialect dialect() const = 0;
  // Runs one or more statements without parameters or rows.
  virtual void exec(std::string_view sql) = 0;
  virtual std::unique_ptr<StatementBackend> prepare(std::string_view sql) = 0;
  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  virtual int64_t changes() const = 0;
  // True while a transaction is open (false after the backend rolled one back by itself).
  virtual bool in_transaction() const = 0;
};

class Statement {
 public:
  Statement() = default;
  explicit Statement(std::unique_ptr<StatementBackend> b) : b_(std::move(b)) {}
  Statement(Statement&&) noexcept = default;
  Statement& operator=(Statement&&) noexcept = default;

  // Binding is 1-based, as in SQLite. Each returns *this so calls chain.
  Statement& bind(int i, int64_t v) { b_->bind_int64(i, v); return *this; }
  Statement& bind(int i, int v) { return bind(i, static_cast<int64_t>(v)); }
  Statement& bind(int i, std::string_view v) { b_->bind_text(i, v); return *this; }
  Statement& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Statement& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Statement& bind(int i, std::nullopt_t) { b_->bind_null(i); return *this; }
  template <class T>
  Statement& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind(i, std::nullopt);
  }

  explicit operator bool() const { return b_ != nullptr; }
  // true: a row is ready; false: done.
  bool step() { return b_->step(); }
  // Steps to completion (for statements that return no rows) and resets.
  void run();
  void reset() { b_->reset(); }

  int64_t int64(int col) const { return b_->int64(col); }
  std::string text(int col) const { return b_->text(col); }
  bool is_null(int col) const { return b_->is_null(col); }

 private:
  std::unique_ptr<StatementBackend> b_;
};

class Db {
 public:
  // One use of a cached() statement: reset when it goes out of scope, so a query stepped only to its
  // first row does not keep SQLite's read transaction (and the WAL it pins) open.
  class Reused {
   public:
    explicit Reused(Statement& st) : st_(&st) {}
    Reused(const Reused&) = delete;
    Reused& operator=(const Reused&) = delete;
    ~Reused() { st_->reset(); }
    Statement& operator*() const { return *st_; }
    Statement* operator->() const { return st_; }

   private:
    Statement* st_;
  };

  Db() = default;
  explicit Db(std::unique_ptr<DbBackend> b) : b_(std::move(b)) {}
  Db(Db&&) noexcept = default;
  // The old connection's cached statements are finalized before the connection closes.
  Db& operator=(Db&& o) noexcept {
    cache_.clear();
    b_ = std::move(o.b_);
    cache_ = std::move(o.cache_);
    return *this;
  }
  ~Db() { cache_.clear(); }

  explicit operator bool() const { return b_ != nullptr; }
  Dialect dialect() const { return b_->dialect(); }
  // The statement that opens a write transaction: SQLite's BEGIN IMMEDIATE (the write lock at once,
  // so a batch never fails half-way on a busy file), PostgreSQL's BEGIN.
  const char* begin_sql() const { return dialect() == Dialect::sqlite ? "BEGIN IMMEDIATE" : "BEGIN"; }
  void exec(std::string_view sql) { b_->exec(sql); }
  Statement prepare(std::string_view sql) const { return Statement(b_->prepare(sql)); }
  // The statement for `sql`, prepared on its first use on this connection and kept for the
  // connection's life (SQLite's advice for statements run repeatedly: parsing is most of a small
  // query's cost — https://sqlite.org/c3ref/prepare.html), reset and with its bindings cleared.
  // Not re-entrant: finish stepping it before the same text is asked for again. Throws StoreError
  // as prepare() does.
  class Reused;
  Reused cached(const std::string& sql);
  int64_t changes() const { return b_->changes(); }
  bool in_transaction() const { return b_->in_transaction(); }
  DbBackend* backend() const { return b_.get(); }

 private:
  std::unique_ptr<DbBackend> b_;
  std::unordered_map<std::string, Statement> cache_;  // cached(): by SQL text
};

// BEGIN (begin_sql()) ... COMMIT, rolled back when destroyed uncommitted (an exception unwinding,
// a failed COMMIT). Either parsed each time, or with the caller's prepared BEGIN/COMMIT/ROLLBACK
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
