#include "etl/sqlite_warehouse.h"

#include <utility>

#include "etl/schema_sql.h"

namespace hivehook::etl {

namespace {

std::string errmsg(sqlite3* db, const char* what) {
  return std::string("sqlite: ") + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
}

// Rolls back unless commit() ran: an exception or an early return never half-loads a file.
class SqliteTxn {
 public:
  explicit SqliteTxn(SqliteWarehouse& wh) : wh_(wh) { wh_.exec("BEGIN IMMEDIATE"); }
  SqliteTxn(const SqliteTxn&) = delete;
  SqliteTxn& operator=(const SqliteTxn&) = delete;
  ~SqliteTxn() {
    if (!done_) {
      try {
        wh_.exec("ROLLBACK");
      } catch (...) {
        // The connection closes next; SQLite rolls back an open transaction then.
      }
    }
  }
  void commit() {
    wh_.exec("COMMIT");
    done_ = true;
  }

 private:
  SqliteWarehouse& wh_;
  bool done_ = false;
};

constexpr const char* kFactColumns =
    "transaction_id, customer_id, product_id, product_name, category, supplier_id, "
    "membership_level, country, quantity, unit_price, amount, amount_class, transaction_ts, "
    "transaction_date, status, payment_method, source_file, loaded_at, run_id";

constexpr const char* kRankSql =
    "CASE status WHEN 'pending' THEN 0 WHEN 'completed' THEN 1 WHEN 'cancelled' THEN 2 ELSE 3 END";

class SqliteFactLoad final : public FactLoad {
 public:
  SqliteFactLoad(SqliteWarehouse& wh, sqlite3* db, const std::string& source_file,
                 const Lineage& lineage)
      : txn_(wh), source_file_(source_file), lineage_(lineage) {
    SqliteStmt del(db, "DELETE FROM rejected_transactions WHERE source_file = ?1");
    del.bind(1, source_file_);
    del.step();
    ins_ = SqliteStmt(db, (std::string("INSERT INTO fact_transactions (") + kFactColumns +
                           ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,"
                           "?18,?19) ON CONFLICT (transaction_id) DO NOTHING")
                              .c_str());
    // Replace only a row that ranks strictly lower: on a full tie the stored (earlier) row wins.
    upd_ = SqliteStmt(
        db, (std::string("UPDATE fact_transactions SET customer_id=?2, product_id=?3, "
                         "product_name=?4, category=?5, supplier_id=?6, membership_level=?7, "
                         "country=?8, quantity=?9, unit_price=?10, amount=?11, amount_class=?12, "
                         "transaction_ts=?13, transaction_date=?14, status=?15, "
                         "payment_method=?16, source_file=?17, loaded_at=?18, run_id=?19 "
                         "WHERE transaction_id = ?1 AND (transaction_ts, ") +
             kRankSql + ") < (?13, ?20)")
                .c_str());
    rej_ = SqliteStmt(db,
                      "INSERT INTO rejected_transactions (source_file, line_number, reason, raw, "
                      "loaded_at, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    db_ = db;
  }

  void add(const Fact& f, std::uint64_t) override {
    bind_fact(ins_, f);
    ins_.step();
    ins_.reset();
    if (sqlite3_changes(db_) == 1) {
      ++counts_.inserted;
      return;
    }
    bind_fact(upd_, f);
    upd_.bind(20, static_cast<std::int64_t>(f.status_rank));
    upd_.step();
    upd_.reset();
    if (sqlite3_changes(db_) == 1)
      ++counts_.updated;
    else
      ++counts_.unchanged;
  }

  void reject(std::uint64_t line, Reason reason, std::string_view raw) override {
    rej_.bind(1, source_file_);
    rej_.bind(2, static_cast<std::int64_t>(line));
    rej_.bind(3, std::string_view(reason_name(reason)));
    rej_.bind(4, raw);
    rej_.bind(5, lineage_.loaded_at);
    if (lineage_.run_id.empty())
      rej_.bind_null(6);
    else
      rej_.bind(6, lineage_.run_id);
    rej_.step();
    rej_.reset();
  }

  LoadCounts commit() override {
    ins_ = SqliteStmt();
    upd_ = SqliteStmt();
    rej_ = SqliteStmt();
    txn_.commit();
    return counts_;
  }

 private:
  void bind_fact(SqliteStmt& s, const Fact& f) {
    s.bind(1, f.transaction_id);
    s.bind(2, f.customer_id);
    s.bind(3, f.product_id);
    s.bind(4, f.product->name);
    s.bind(5, f.product->category);
    s.bind(6, f.product->supplier_id);
    s.bind(7, f.customer->membership_level);
    s.bind(8, f.customer->country);
    s.bind(9, f.quantity);
    s.bind(10, f.product->price);
    s.bind(11, f.amount);
    s.bind(12, std::string_view(amount_class_name(f.amount_class)));
    s.bind(13, f.transaction_ts);
    s.bind(14, f.transaction_date);
    s.bind(15, f.status);
    s.bind(16, f.payment_method);
    s.bind(17, source_file_);
    s.bind(18, lineage_.loaded_at);
    if (lineage_.run_id.empty())
      s.bind_null(19);
    else
      s.bind(19, lineage_.run_id);
  }

  SqliteTxn txn_;
  std::string source_file_;
  Lineage lineage_;
  sqlite3* db_ = nullptr;
  SqliteStmt ins_, upd_, rej_;
  LoadCounts counts_;
};

}  // namespace

SqliteStmt::SqliteStmt(sqlite3* db, const char* sql) : db_(db) {
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK)
    throw WarehouseError(errmsg(db, "prepare"));
}

SqliteStmt& SqliteStmt::operator=(SqliteStmt&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    db_ = o.db_;
    stmt_ = std::exchange(o.stmt_, nullptr);
  }
  return *this;
}

SqliteStmt::~SqliteStmt() { sqlite3_finalize(stmt_); }

void SqliteStmt::check(int rc, const char* what) {
  if (rc != SQLITE_OK) throw WarehouseError(errmsg(db_, what));
}

void SqliteStmt::bind(int i, std::string_view text) {
  check(sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_STATIC),
        "bind");
}
void SqliteStmt::bind(int i, std::int64_t v) { check(sqlite3_bind_int64(stmt_, i, v), "bind"); }
void SqliteStmt::bind_null(int i) { check(sqlite3_bind_null(stmt_, i), "bind"); }

bool SqliteStmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw WarehouseError(errmsg(db_, "step"));
}

void SqliteStmt::reset() { sqlite3_reset(stmt_); }

SqliteWarehouse::SqliteWarehouse(const std::string& path) : path_(path) {
  // Memory statistics take a global mutex on every allocation; this process needs none.
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
  int rc = sqlite3_open_v2(path.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = errmsg(db_, ("open " + path).c_str());
    sqlite3_close(db_);
    db_ = nullptr;
    throw WarehouseError(msg);
  }
  sqlite3_busy_timeout(db_, 60000);  // another job may hold the write lock for a while
  exec("PRAGMA page_size=16384");  // only takes effect on a new file: wider fact rows, fewer pages
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=NORMAL");
  exec("PRAGMA cache_size=-65536");  // 64 MiB
  exec("PRAGMA temp_store=MEMORY");
  exec("PRAGMA mmap_size=268435456");  // read pages in place instead of copying them
  SqliteTxn txn(*this);
  exec(schema::kSqlite);
  txn.commit();
}

SqliteWarehouse::~SqliteWarehouse() { sqlite3_close(db_); }

void SqliteWarehouse::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = std::string("sqlite: ") + (err ? err : "error");
    sqlite3_free(err);
    throw WarehouseError(msg);
  }
}

void SqliteWarehouse::upsert_products(const std::vector<Product>& rows,
                                      const std::string& source_file, const Lineage& lineage) {
  SqliteTxn txn(*this);
  SqliteStmt st(db_,
                "INSERT INTO dim_products (product_id, product_name, category, price, supplier_id, "
                "source_file, loaded_at) VALUES (?1,?2,?3,?4,?5,?6,?7) ON CONFLICT (product_id) "
                "DO UPDATE SET product_name=excluded.product_name, category=excluded.category, "
                "price=excluded.price, supplier_id=excluded.supplier_id, "
                "source_file=excluded.source_file, loaded_at=excluded.loaded_at");
  for (const Product& p : rows) {
    st.bind(1, p.id);
    st.bind(2, p.name);
    st.bind(3, p.category);
    st.bind(4, p.price);
    st.bind(5, p.supplier_id);
    st.bind(6, source_file);
    st.bind(7, lineage.loaded_at);
    st.step();
    st.reset();
  }
  st = SqliteStmt();
  txn.commit();
}

void SqliteWarehouse::upsert_customers(const std::vector<Customer>& rows,
                                       const std::string& source_file, const Lineage& lineage) {
  SqliteTxn txn(*this);
  SqliteStmt st(db_,
                "INSERT INTO dim_customers (customer_id, first_name, last_name, email, "
                "membership_level, country, source_file, loaded_at) VALUES "
                "(?1,?2,?3,?4,?5,?6,?7,?8) ON CONFLICT (customer_id) DO UPDATE SET "
                "first_name=excluded.first_name, last_name=excluded.last_name, "
                "email=excluded.email, membership_level=excluded.membership_level, "
                "country=excluded.country, source_file=excluded.source_file, "
                "loaded_at=excluded.loaded_at");
  for (const Customer& c : rows) {
    st.bind(1, c.id);
    st.bind(2, c.first_name);
    st.bind(3, c.last_name);
    st.bind(4, c.email);
    st.bind(5, c.membership_level);
    st.bind(6, c.country);
    st.bind(7, source_file);
    st.bind(8, lineage.loaded_at);
    st.step();
    st.reset();
  }
  st = SqliteStmt();
  txn.commit();
}

namespace {
std::string column_text(sqlite3_stmt* st, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st, i))) : std::string();
}
std::string_view column_view(sqlite3_stmt* st, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
  return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(st, i)))
           : std::string_view();
}
}  // namespace

Dimensions SqliteWarehouse::load_dimensions() {
  Dimensions dims;
  {
    SqliteStmt count(db_, "SELECT (SELECT count(*) FROM dim_products), (SELECT count(*) FROM dim_customers)");
    if (count.step())
      dims.reserve(static_cast<std::size_t>(sqlite3_column_int64(count.get(), 0)),
                   static_cast<std::size_t>(sqlite3_column_int64(count.get(), 1)));
  }
  {
    SqliteStmt st(db_, "SELECT product_id, product_name, category, price, supplier_id FROM dim_products");
    while (st.step()) {
      ProductRef p{column_text(st.get(), 1), column_text(st.get(), 2), column_text(st.get(), 3),
                   column_text(st.get(), 4), 0};
      auto e4 = parse_price(p.price);
      if (!e4) throw WarehouseError("dim_products holds a bad price '" + p.price + "'");
      p.price_e4 = *e4;
      dims.add_product(column_view(st.get(), 0), std::move(p));
    }
  }
  SqliteStmt st(db_, "SELECT customer_id, membership_level, country FROM dim_customers");
  while (st.step())
    dims.add_customer(column_view(st.get(), 0),
                      CustomerRef{column_text(st.get(), 1), column_text(st.get(), 2)});
  return dims;
}

std::unique_ptr<FactLoad> SqliteWarehouse::begin_fact_load(const std::string& source_file,
                                                           const Lineage& lineage) {
  return std::make_unique<SqliteFactLoad>(*this, db_, source_file, lineage);
}

QueryResult SqliteWarehouse::query(const std::string& sql) {
  QueryResult out;
  SqliteStmt st(db_, sql.c_str());
  int n = sqlite3_column_count(st.get());
  for (int i = 0; i < n; ++i) out.columns.emplace_back(sqlite3_column_name(st.get(), i));
  while (st.step()) {
    auto& row = out.rows.emplace_back();
    for (int i = 0; i < n; ++i) {
      if (sqlite3_column_type(st.get(), i) == SQLITE_NULL)
        row.emplace_back(std::nullopt);
      else
        row.emplace_back(column_text(st.get(), i));
    }
  }
  return out;
}

}  // namespace hivehook::etl
