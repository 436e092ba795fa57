#include "store/postgres.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <optional>
#include <utility>
#include <vector>

namespace hivehook::sql {

namespace {
constexpr Oid kInt8Oid = 20;  // pg_type.oid of bigint
constexpr Oid kTextOid = 25;  // pg_type.oid of text

// SQLSTATE (PostgreSQL's appendix A, "Error Codes") → the SQLite result code callers classify by.
int map_sqlstate(const std::string& state) {
  if (state.empty()) return SQLITE_IOERR;  // no answer from the server: the connection is gone
  const std::string cls = state.substr(0, 2);
  if (cls == "08" || cls == "57" || state == "58030") return SQLITE_IOERR;  // connection, shutdown, I/O
  if (state == "53100") return SQLITE_FULL;
  if (cls == "53") return SQLITE_NOMEM;
  if (state == "40001" || state == "40P01" || cls == "55") return SQLITE_BUSY;  // serialization, lock
  if (cls == "23") return SQLITE_CONSTRAINT;
  if (state == "25006") return SQLITE_READONLY;
  return SQLITE_ERROR;
}

// `?` → `$1..$n`, outside '...' strings, "..." identifiers and -- comments.
std::string number_parameters(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  char quote = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (quote) {
      out += c;
      if (c == quote) quote = 0;
      else if (quote == '\n' && c == '\n') quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') quote = c;
    else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') quote = '\n';
    if (c == '?') out += "$" + std::to_string(++n);
    else out += c;
  }
  *count = n;
  return out;
}

enum class Kind { other, begin, commit, rollback };
Kind kind_of(std::string_view sql) {
  auto starts = [&](std::string_view w) {
    if (sql.size() < w.size()) return false;
    for (size_t i = 0; i < w.size(); ++i)
      if (std::toupper(static_cast<unsigned char>(sql[i])) != w[i]) return false;
    return true;
  };
  if (starts("BEGIN")) return Kind::begin;
  if (starts("COMMIT")) return Kind::commit;
  if (starts("ROLLBACK")) return Kind::rollback;
  return Kind::other;
}

struct Result {
  PGresult* r = nullptr;
  Result() = default;
  explicit Result(PGresult* p) : r(p) {}
  Result(Result&& o) noexcept : r(std::exchange(o.r, nullptr)) {}
  Result& operator=(Result&& o) noexcept {
    if (this != &o) {
      PQclear(r);
      r = std::exchange(o.r, nullptr);
    }
    return *this;
  }
  ~Result() { PQclear(r); }
};

class PgDb;

class PgStatement final : public StatementBackend {
 public:
  PgStatement(PgDb& db, std::string_view sql);
  ~PgStatement() override;
  void bind_int64(int i, int64_t v) override { set(i, std::to_string(v), kInt8Oid); }
  void bind_text(int i, std::string_view v) override;
  void bind_null(int i) override {
    check_index(i);
    values_[i - 1].reset();
    types_[i - 1] = 0;
  }
  bool step() override;
  void reset() override {
    res_ = Result();
    row_ = -1;
    for (auto& v : values_) v.reset();
    for (auto& t : types_) t = 0;
  }
  int64_t int64(int col) const override {
    if (PQgetisnull(res_.r, row_, col)) return 0;
    return std::strtoll(PQgetvalue(res_.r, row_, col), nullptr, 10);
  }
  std::string text(int col) const override {
    if (PQgetisnull(res_.r, row_, col)) return {};
    return std::string(PQgetvalue(res_.r, row_, col), static_cast<size_t>(PQgetlength(res_.r, row_, col)));
  }
  bool is_null(int col) const override { return PQgetisnull(res_.r, row_, col); }

 private:
  void check_index(int i) const {
    if (i < 1 || i > static_cast<int>(values_.size()))
      throw StoreError("bind of parameter " + std::to_string(i) + " failed: the statement has " +
                           std::to_string(values_.size()) + " parameters",
                       SQLITE_RANGE);
  }
  void set(int i, std::string v, Oid type) {
    check_index(i);
    values_[i - 1] = std::move(v);
    types_[i - 1] = type;
  }
  void execute();
  void execute_once();

  PgDb& db_;
  std::string sql_;
  Kind kind_;
  std::vector<std::optional<std::string>> values_;
  std::vector<Oid> types_;
  std::string name_;          // prepared on the server under this name, at connection generation_
  uint64_t generation_ = 0;
  int executions_ = 0;
  Result res_;
  int row_ = -1;
};

class PgDb final : public DbBackend {
 public:
  explicit PgDb(PGconn* c, std::string url) : conn_(c), url_(std::move(url)) {}
  ~PgDb() override { PQfinish(conn_); }

  Dialect dialect() const override { return Dialect::postgresql; }
  void exec(std::string_view sql) override {
    Kind k = kind_of(sql);
    retrying(k, [&] {
      if (before(k)) return;
      Result r(PQexec(conn_, std::string(sql).c_str()));
      check(r, k, "exec", sql);
    });
  }

  // Runs `once`; when it failed because the connection had gone away between statements (no
  // transaction open, so nothing is lost), reconnects and runs it once more.
  template <class F>
  void retrying(Kind k, F&& once) {
    const bool outside = !tx_open_ && !lost_tx_ && k != Kind::commit && k != Kind::rollback;
    try {
      once();
    } catch (const StoreError&) {
      if (!outside || PQstatus(conn_) == CONNECTION_OK) throw;
      once();
    }
  }
  std::unique_ptr<StatementBackend> prepare(std::string_view sql) override {
    return std::make_unique<PgStatement>(*this, sql);
  }
  int64_t changes() const override { return changes_; }
  bool in_transaction() const override {
    if (lost_tx_) return true;
    auto s = PQtransactionStatus(conn_);
    return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
  }

  // Before a statement of kind k: reconnect when the connection is gone and no transaction was
  // lost with it; a ROLLBACK of a lost transaction is done (returns true: nothing to send).
  bool before(Kind k) {
    if (lost_tx_) {
      if (k != Kind::rollback)
        throw StoreError("PostgreSQL connection lost inside a transaction; it was rolled back", SQLITE_IOERR, "08006");
      lost_tx_ = false;
      return true;
    }
    if (!fence_.empty()) throw StoreError(fence_, SQLITE_PERM, "55P03");
    if (PQstatus(conn_) != CONNECTION_OK) {
      PQreset(conn_);
      if (PQstatus(conn_) != CONNECTION_OK)
        throw StoreError(std::string("PostgreSQL connection lost: ") + PQerrorMessage(conn_), SQLITE_IOERR, "08006");
      ++generation_;
      if (lock_key_ && !try_lock(*lock_key_)) {
        fence_ = "lost the state's writer lock while reconnecting: another hivehook writes this state now; "
                 "this one stops writing";
        throw StoreError(fence_, SQLITE_PERM, "55P03");
      }
    }
    return false;
  }

  // pg_try_advisory_lock on this session; true when held.
  bool try_lock(int64_t key) {
    Result r(PQexec(conn_, ("SELECT pg_try_advisory_lock(" + std::to_string(key) + ")").c_str()));
    return r.r && PQresultStatus(r.r) == PGRES_TUPLES_OK && PQntuples(r.r) == 1 &&
           std::string(PQgetvalue(r.r, 0, 0)) == "t";
  }
  void hold_lock(int64_t key, const std::string& holder_message) {
    // A previous holder killed a moment ago keeps its session until the server notices: wait 3 s.
    bool held = false;
    for (int i = 0; i < 60 && !(held = try_lock(key)); ++i) ::usleep(50 * 1000);
    if (!held) throw StoreError(holder_message, SQLITE_BUSY, "55P03");
    lock_key_ = key;
  }
  // Throws for a failed result; a failure that took the connection with it inside a transaction
  // marks the transaction lost.
  void check(const Result& r, Kind k, const char* what, std::string_view sql) {
    auto st = r.r ? PQresultStatus(r.r) : PGRES_FATAL_ERROR;
    const bool was_open = tx_open_;
    if (k == Kind::commit || k == Kind::rollback) tx_open_ = false;  // ended either way
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
      const char* n = PQcmdTuples(r.r);
      changes_ = n && *n ? std::strtoll(n, nullptr, 10) : 0;
      if (k == Kind::begin) tx_open_ = true;
      return;
    }
    const char* s = r.r ? PQresultErrorField(r.r, PG_DIAG_SQLSTATE) : nullptr;
    std::string state = s ? s : "";
    std::string msg = r.r ? PQresultErrorMessage(r.r) : PQerrorMessage(conn_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    if (PQstatus(conn_) != CONNECTION_OK) {
      if (state.empty()) state = "08006";
      // Lost with the connection: the caller's ROLLBACK is still owed (a COMMIT's outcome is
      // unknown; the server rolls back a transaction whose connection ends before COMMIT).
      if (was_open && k != Kind::rollback && k != Kind::commit) lost_tx_ = true;
      tx_open_ = false;
    }
    throw StoreError(std::string("PostgreSQL ") + what + " failed for [" + std::string(sql) + "]: " + msg,
                     map_sqlstate(state), state);
  }

  PGconn* conn() const { return conn_; }
  uint64_t generation() const { return generation_; }
  std::string next_name() { return "hh" + std::to_string(++names_); }

 private:
  PGconn* conn_;
  std::string url_;
  int64_t changes_ = 0;
  uint64_t generation_ = 1;
  uint64_t names_ = 0;
  std::optional<int64_t> lock_key_;  // the advisory lock this session holds (taken again on reconnect)
  std::string fence_;                // set when it could not be: no statement is sent any more
  bool tx_open_ = false;  // a BEGIN succeeded and no COMMIT/ROLLBACK was sent since
  bool lost_tx_ = false;
};

PgStatement::PgStatement(PgDb& db, std::string_view sql) : db_(db), kind_(kind_of(sql)) {
  int n = 0;
  sql_ = number_parameters(sql, &n);
  values_.resize(static_cast<size_t>(n));
  types_.resize(static_cast<size_t>(n));
}

PgStatement::~PgStatement() {
  if (name_.empty() || generation_ != db_.generation() || PQstatus(db_.conn()) != CONNECTION_OK) return;
  if (PQtransactionStatus(db_.conn()) == PQTRANS_INERROR) return;  // gone with the connection's end
  PQclear(PQexec(db_.conn(), ("DEALLOCATE " + name_).c_str()));
}

void PgStatement::bind_text(int i, std::string_view v) {
  std::string s(v);
  if (s.find('\0') != std::string::npos) {
    for (char& c : s)
      if (c == '\0') c = '\x1a';  // ASCII SUB, one byte for one: a 64 KiB tail stays 64 KiB
  }
  set(i, std::move(s), kTextOid);
}

void PgStatement::execute() {
  db_.retrying(kind_, [this] { execute_once(); });
}

void PgStatement::execute_once() {
  if (db_.before(kind_)) {  // the ROLLBACK of a transaction lost with its connection
    res_ = Result(PQmakeEmptyPGresult(db_.conn(), PGRES_COMMAND_OK));
    return;
  }
  std::vector<const char*> values(values_.size());
  for (size_t i = 0; i < values_.size(); ++i) values[i] = values_[i] ? values_[i]->c_str() : nullptr;
  const int n = static_cast<int>(values.size());
  if (!name_.empty() && generation_ != db_.generation()) name_.clear();  // the server forgot it
  if (name_.empty() && ++executions_ >= 2) {
    std::string name = db_.next_name();
    Result p(PQprepare(db_.conn(), name.c_str(), sql_.c_str(), n, types_.data()));
    db_.check(p, Kind::other, "prepare", sql_);
    name_ = std::move(name);
    generation_ = db_.generation();
  }
  if (name_.empty())
    res_ = Result(PQexecParams(db_.conn(), sql_.c_str(), n, types_.data(), values.data(), nullptr, nullptr, 0));
  else
    res_ = Result(PQexecPrepared(db_.conn(), name_.c_str(), n, values.data(), nullptr, nullptr, 0));
  try {
    db_.check(res_, kind_, "statement", sql_);
  } catch (...) {
    res_ = Result();
    throw;
  }
}

bool PgStatement::step() {
  if (row_ < 0 && !res_.r) execute();
  ++row_;
  return row_ < PQntuples(res_.r);
}

std::string mask(std::string s) {
  // postgresql://user:secret@host/... → postgresql://user:***@host/...; password=secret → password=***
  auto scheme = s.find("://");
  if (scheme != std::string::npos) {
    auto at = s.find('@', scheme + 3);
    auto colon = s.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at) s.replace(colon + 1, at - colon - 1, "***");
  }
  for (auto p = s.find("password="); p != std::string::npos; p = s.find("password=", p + 1)) {
    auto end = s.find_first_of(" &", p);
    s.replace(p + 9, (end == std::string::npos ? s.size() : end) - p - 9, "***");
  }
  return s;
}
}  // namespace

bool is_postgres_url(std::string_view state) {
  return state.rfind("postgresql://", 0) == 0 || state.rfind("postgres://", 0) == 0;
}

std::string redact_url(const std::string& url) { return mask(url); }

std::string with_application_name(const std::string& url, const std::string& name) {
  if (!is_postgres_url(url)) {
    std::string quoted;
    for (char c : name) {
      if (c == '\'' || c == '\\') quoted += '\\';
      quoted += c;
    }
    return url + " application_name='" + quoted + "'";
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string enc;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      enc += static_cast<char>(c);
    } else {
      enc += '%';
      enc += kHex[c >> 4];
      enc += kHex[c & 15];
    }
  }
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "application_name=" + enc;
}

Db open_postgres(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  if (!c || PQstatus(c) != CONNECTION_OK) {
    std::string msg = c ? PQerrorMessage(c) : "out of memory";
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    PQfinish(c);
    throw StoreError("cannot connect to " + mask(url) + ": " + msg, SQLITE_CANTOPEN, "08001");
  }
  auto db = std::make_unique<PgDb>(c, url);
  db->exec("SET client_min_messages = warning");
  return Db(std::move(db));
}

void hold_session_lock(Db& db, int64_t key, const std::string& holder_message) {
  auto* pg = dynamic_cast<PgDb*>(db.backend());
  if (!pg) throw StoreError("hold_session_lock: not a PostgreSQL connection", SQLITE_MISUSE);
  pg->hold_lock(key, holder_message);
}

void require_byte_transparent(Db& db, const std::string& url) {
  auto st = db.prepare("SHOW server_encoding");
  std::string enc = st.step() ? st.text(0) : "?";
  if (enc != "SQL_ASCII")
    throw StoreError("state database at " + mask(url) + " has encoding " + enc +
                         "; hivehook keeps keys as the bytes of their file names and needs a byte-transparent "
                         "database: CREATE DATABASE hivehook TEMPLATE template0 ENCODING 'SQL_ASCII' "
                         "LC_COLLATE 'C' LC_CTYPE 'C'",
                     SQLITE_CANTOPEN);
}

}  // namespace hivehook::sql
