#include "etl/sqlite_warehouse.h"

#include <utility>
#include <vector>

#include "etl/schema_sql.h"
#include "etl/sqlite_row_source.h"

namespace hivehook::etl {

namespace {

std::string errmsg(sqlite3* db, const char* what) {
  return std::string("sqlite: ") + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
}

// Rolls back unless commit() ran: an exception or an early return never half-loads a file.
class SqliteTxn {
 public:
  enum Mode { kWrite, kRead };
  explicit SqliteTxn(SqliteWarehouse& wh, Mode mode = kWrite) : wh_(wh) {
    wh_.exec(mode == kWrite ? "BEGIN IMMEDIATE" : "BEGIN");
  }
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

constexpr const char* kRankStored =
    "CASE fact_transactions.status WHEN 'pending' THEN 0 WHEN 'completed' THEN 1 "
    "WHEN 'cancelled' THEN 2 ELSE 3 END";
constexpr const char* kRankExcluded =
    "CASE excluded.status WHEN 'pending' THEN 0 WHEN 'completed' THEN 1 "
    "WHEN 'cancelled' THEN 2 ELSE 3 END";

// hivehook_updated(x): returns x and counts the call. The upsert calls it from DO UPDATE, which
// runs only for a row that replaces the stored one, so the count is the rows updated.
void count_updates(sqlite3_context* ctx, int, sqlite3_value** argv) {
  ++*static_cast<std::uint64_t*>(sqlite3_user_data(ctx));
  sqlite3_result_value(ctx, argv[0]);
}

// Every batch is two statements over SqliteRowSource's virtual tables: the facts upserted in file
// order by one INSERT ... SELECT ... ON CONFLICT DO UPDATE ... WHERE the incoming row ranks
// strictly higher (so on a full tie the stored, earlier row wins, exactly the contract's rule,
// and a later row of the same file sees the earlier one as stored), and the rejects inserted.
class SqliteFactLoad final : public FactLoad {
 public:
  SqliteFactLoad(SqliteWarehouse& wh, sqlite3* db, SqliteRowSource& source,
                 const std::string& source_file, const Lineage& lineage)
      : txn_(wh), db_(db), source_(source), source_file_(source_file), lineage_(lineage) {
    if (sqlite3_create_function_v2(db, "hivehook_updated", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY,
                                   &updated_, count_updates, nullptr, nullptr, nullptr) != SQLITE_OK)
      throw WarehouseError(errmsg(db, "register hivehook_updated"));
    SqliteStmt del(db, "DELETE FROM rejected_transactions WHERE source_file = ?1");
    del.bind(1, source_file_);
    del.step();
    upsert_ = SqliteStmt(
        db, (std::string(
                 "INSERT INTO fact_transactions (transaction_id, customer_id, product_id, "
                 "product_name, category, supplier_id, membership_level, country, quantity, "
                 "unit_price, amount, amount_class, transaction_ts, transaction_date, status, "
                 "payment_method, source_file, loaded_at, run_id) SELECT transaction_id, "
                 "customer_id, product_id, product_name, category, supplier_id, membership_level, "
                 "country, quantity, unit_price, amount, amount_class, transaction_ts, "
                 "transaction_date, status, payment_method, ?1, ?2, ?3 FROM hivehook_facts "
                 "WHERE true ON CONFLICT (transaction_id) DO UPDATE SET customer_id = "
                 "excluded.customer_id, product_id = excluded.product_id, product_name = "
                 "excluded.product_name, category = excluded.category, supplier_id = "
                 "excluded.supplier_id, membership_level = excluded.membership_level, country = "
                 "excluded.country, quantity = excluded.quantity, unit_price = "
                 "excluded.unit_price, amount = excluded.amount, amount_class = "
                 "excluded.amount_class, transaction_ts = excluded.transaction_ts, "
                 "transaction_date = excluded.transaction_date, status = excluded.status, "
                 "payment_method = excluded.payment_method, source_file = excluded.source_file, "
                 "loaded_at = excluded.loaded_at, run_id = hivehook_updated(excluded.run_id) "
                 "WHERE (fact_transactions.transaction_ts, ") +
             kRankStored + ") < (excluded.transaction_ts, " + kRankExcluded + ")")
                .c_str());
    rejects_ = SqliteStmt(db,
                          "INSERT INTO rejected_transactions (source_file, line_number, reason, raw, "
                          "loaded_at, run_id) SELECT ?1, line, reason, raw, ?2, ?3 FROM "
                          "hivehook_rejects");
    for (SqliteStmt* st : {&upsert_, &rejects_}) {
      st->bind(1, source_file_);
      st->bind(2, lineage_.loaded_at);
      if (lineage_.run_id.empty())
        st->bind_null(3);
      else
        st->bind(3, lineage_.run_id);
    }
  }

  void write(std::span<const LoadRow> rows) override {
    facts_.clear();
    rejected_.clear();
    for (const LoadRow& row : rows) (row.reason < 0 ? facts_ : rejected_).push_back(&row);
    source_.show(facts_, rejected_);
    const std::uint64_t updated_before = updated_;
    if (!facts_.empty()) {
      upsert_.step();
      upsert_.reset();
      const auto changed = static_cast<std::uint64_t>(sqlite3_changes64(db_));
      const std::uint64_t updated = updated_ - updated_before;
      counts_.updated += updated;
      counts_.inserted += changed - updated;
      counts_.unchanged += facts_.size() - changed;
    }
    if (!rejected_.empty()) {
      rejects_.step();
      rejects_.reset();
    }
    source_.show({}, {});
  }

  LoadCounts commit() override {
    upsert_ = SqliteStmt();
    rejects_ = SqliteStmt();
    txn_.commit();
    return counts_;
  }

 private:
  SqliteTxn txn_;
  sqlite3* db_;
  SqliteRowSource& source_;
  std::string source_file_;
  Lineage lineage_;
  SqliteStmt upsert_, rejects_;
  std::vector<const LoadRow*> facts_, rejected_;
  std::uint64_t updated_ = 0;
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
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);  // another job may hold the write lock for a while
  exec("PRAGMA page_size=16384");  // only takes effect on a new file: wider fact rows, fewer pages
  use_wal();
  exec("PRAGMA synchronous=NORMAL");
  // 4 MiB of page cache: a file's transaction spills its dirty pages to the WAL past that, so
  // memory does not grow with the file (the snapshot and batches are bounded too). Measured: 2 %
  // more instructions than 8 MiB, 4 MB less resident (docs/performance.md, ETL).
  exec("PRAGMA cache_size=-4096");
  exec("PRAGMA temp_store=MEMORY");
  exec("PRAGMA mmap_size=0");  // mapped pages would count in the resident set as they are touched
  // The DDL runs only when this warehouse has not seen this schema yet (a cheap header read).
  if (user_version() != schema::kSqliteVersion) {
    SqliteTxn txn(*this);
    // Two jobs may open a new warehouse at once (the dimension rules do): the second one in
    // waits for the first's write lock, then finds the schema already there.
    if (user_version() == schema::kSqliteVersion) return;
    exec(schema::kSqlite);
    exec(("PRAGMA user_version = " + std::to_string(schema::kSqliteVersion)).c_str());
    txn.commit();
  }
}

void SqliteWarehouse::use_wal() {
  // Switching a database to WAL needs it exclusively for a moment, and SQLite returns SQLITE_BUSY
  // at once (without calling the busy handler) while another connection is switching it or is
  // reading it in rollback mode: two jobs opening a new warehouse at the same time. Retried for
  // as long as the busy timeout would have waited; once it is WAL it stays WAL (persistent).
  // Source: https://www.sqlite.org/wal.html#activating_and_configuring_wal_mode
  for (int waited_ms = 0;; waited_ms += 10) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, &err);
    std::string msg = err ? err : "error";
    sqlite3_free(err);
    if (rc == SQLITE_OK) return;
    if ((rc & 0xff) != SQLITE_BUSY || waited_ms >= kBusyTimeoutMs)
      throw WarehouseError("sqlite: switch to WAL: " + msg);
    sqlite3_sleep(10);
  }
}

int SqliteWarehouse::user_version() {
  SqliteStmt st(db_, "PRAGMA user_version");
  return st.step() ? sqlite3_column_int(st.get(), 0) : 0;
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

// Rows gathered into batches that own their bytes, each batch upserted by one INSERT ... SELECT
// over SqliteRowSource's virtual tables, then the transform's snapshot rebuilt from the tables.
class SqliteDimensionLoad final : public DimensionLoad {
 public:
  SqliteDimensionLoad(SqliteWarehouse& wh, SqliteRowSource& source, DimensionTable table,
                      const std::string& source_file, const Lineage& lineage)
      : wh_(wh), txn_(wh), source_(source), products_(table == DimensionTable::products) {
    // The version triggers fire per row (SQLite has no statement triggers): ~40 % of a 100,000
    // row load. Unless someone added triggers of their own to the dimension tables, this load
    // runs with triggers off on its connection and bumps the version itself, in its transaction.
    SqliteStmt others(wh.db_,
                      "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name IN "
                      "('dim_products', 'dim_customers') AND name NOT IN "
                      "('dim_products_insert_version', 'dim_products_update_version', "
                      "'dim_products_delete_version', 'dim_customers_insert_version', "
                      "'dim_customers_update_version', 'dim_customers_delete_version')");
    if (others.step() && sqlite3_column_int64(others.get(), 0) == 0) {
      if (sqlite3_db_config(wh.db_, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr) != SQLITE_OK)
        throw WarehouseError(errmsg(wh.db_, "turn triggers off"));
      triggers_off_ = true;
    }
    others = SqliteStmt();
    wh.exec("UPDATE etl_dimension_version SET version = version + 1 WHERE id = 1");
    st_ = SqliteStmt(
        wh.db_,
        products_
            ? "INSERT INTO dim_products (product_id, product_name, category, price, supplier_id, "
              "source_file, loaded_at) SELECT product_id, product_name, category, price, "
              "supplier_id, ?1, ?2 FROM hivehook_products WHERE true ON CONFLICT (product_id) "
              "DO UPDATE SET product_name=excluded.product_name, category=excluded.category, "
              "price=excluded.price, supplier_id=excluded.supplier_id, "
              "source_file=excluded.source_file, loaded_at=excluded.loaded_at"
            : "INSERT INTO dim_customers (customer_id, first_name, last_name, email, "
              "membership_level, country, source_file, loaded_at) SELECT customer_id, "
              "first_name, last_name, email, membership_level, country, ?1, ?2 FROM "
              "hivehook_customers WHERE true ON CONFLICT (customer_id) DO UPDATE SET "
              "first_name=excluded.first_name, last_name=excluded.last_name, "
              "email=excluded.email, membership_level=excluded.membership_level, "
              "country=excluded.country, source_file=excluded.source_file, "
              "loaded_at=excluded.loaded_at");
    source_file_ = source_file;
    loaded_at_ = lineage.loaded_at;
    st_.bind(1, source_file_);
    st_.bind(2, loaded_at_);
    text_.reserve(kText);
  }
  void product(const ProductRow& r) override {
    make_room(r.id.size() + r.name.size() + r.category.size() + r.price.size() + r.supplier_id.size());
    products_rows_.push_back(ProductRow{keep(r.id), keep(r.name), keep(r.category), keep(r.price),
                                        keep(r.supplier_id), r.price_e4});
  }
  void customer(const CustomerRow& r) override {
    make_room(r.id.size() + r.first_name.size() + r.last_name.size() + r.email.size() +
              r.membership_level.size() + r.country.size());
    customers_rows_.push_back(CustomerRow{keep(r.id), keep(r.first_name), keep(r.last_name),
                                          keep(r.email), keep(r.membership_level), keep(r.country)});
  }
  ~SqliteDimensionLoad() override {
    st_ = SqliteStmt();
    if (triggers_off_) sqlite3_db_config(wh_.db_, SQLITE_DBCONFIG_ENABLE_TRIGGER, 1, nullptr);
  }
  void commit() override {
    flush();
    st_ = SqliteStmt();
    wh_.store_snapshot(wh_.build_dimensions());
    txn_.commit();
  }

 private:
  static constexpr std::size_t kRows = 4096, kText = 512 * 1024;
  // The arena never grows past what was reserved while it was empty: the views stay valid.
  void make_room(std::size_t bytes) {
    if (products_rows_.size() + customers_rows_.size() >= kRows || text_.size() + bytes > text_.capacity())
      flush();
    if (bytes > text_.capacity()) text_.reserve(bytes);
  }
  std::string_view keep(std::string_view v) {
    std::size_t at = text_.size();
    text_.append(v);
    return std::string_view(text_).substr(at, v.size());
  }
  void flush() {
    if (products_rows_.empty() && customers_rows_.empty()) return;
    source_.show(std::span<const ProductRow>(products_rows_));
    source_.show(std::span<const CustomerRow>(customers_rows_));
    st_.step();
    st_.reset();
    source_.show(std::span<const ProductRow>());
    source_.show(std::span<const CustomerRow>());
    products_rows_.clear();
    customers_rows_.clear();
    text_.clear();
  }

  SqliteWarehouse& wh_;
  SqliteTxn txn_;
  SqliteRowSource& source_;
  bool products_;
  std::string source_file_, loaded_at_;
  SqliteStmt st_;
  bool triggers_off_ = false;
  std::string text_;
  std::vector<ProductRow> products_rows_;
  std::vector<CustomerRow> customers_rows_;
};

std::unique_ptr<DimensionLoad> SqliteWarehouse::begin_dimension_load(DimensionTable table,
                                                                     const std::string& source_file,
                                                                     const Lineage& lineage) {
  if (!rows_) rows_ = std::make_unique<SqliteRowSource>(db_);
  return std::make_unique<SqliteDimensionLoad>(*this, *rows_, table, source_file, lineage);
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

std::int64_t SqliteWarehouse::dimension_version() {
  SqliteStmt st(db_, "SELECT version FROM etl_dimension_version WHERE id = 1");
  return st.step() ? sqlite3_column_int64(st.get(), 0) : -1;
}

std::pair<Dimensions, std::int64_t> SqliteWarehouse::build_dimensions() {
  std::int64_t version = dimension_version();
  DimensionsBuilder b;
  {
    SqliteStmt count(db_, "SELECT (SELECT count(*) FROM dim_products), (SELECT count(*) FROM dim_customers)");
    if (count.step())
      b.reserve(static_cast<std::size_t>(sqlite3_column_int64(count.get(), 0)),
                static_cast<std::size_t>(sqlite3_column_int64(count.get(), 1)));
  }
  {
    SqliteStmt st(db_, "SELECT product_id, product_name, category, price, supplier_id FROM dim_products");
    while (st.step()) {
      std::string_view price = column_view(st.get(), 3);
      auto e4 = parse_price(price);
      if (!e4) throw WarehouseError("dim_products holds a bad price '" + std::string(price) + "'");
      b.add_product(column_view(st.get(), 0), column_view(st.get(), 1), column_view(st.get(), 2),
                    price, *e4, column_view(st.get(), 4));
    }
  }
  SqliteStmt st(db_, "SELECT customer_id, membership_level, country FROM dim_customers");
  while (st.step())
    b.add_customer(column_view(st.get(), 0), column_view(st.get(), 1), column_view(st.get(), 2));
  return {b.build(), version};
}

void SqliteWarehouse::store_snapshot(const std::pair<Dimensions, std::int64_t>& dims) {
  SqliteStmt st(db_,
                "INSERT INTO etl_dimension_snapshot (id, version, data) VALUES (1, ?1, ?2) "
                "ON CONFLICT (id) DO UPDATE SET version = excluded.version, data = excluded.data");
  st.bind(1, dims.second);
  std::string_view bytes = dims.first.snapshot();
  if (sqlite3_bind_blob64(st.get(), 2, bytes.data(), bytes.size(), SQLITE_STATIC) != SQLITE_OK)
    throw WarehouseError(errmsg(db_, "bind"));
  st.step();
}

Dimensions SqliteWarehouse::load_dimensions() {
  {
    // The snapshot, when it was built from the tables as they are now: one blob read.
    SqliteTxn read(*this, SqliteTxn::kRead);
    SqliteStmt st(db_,
                  "SELECT length(s.data) FROM etl_dimension_snapshot s JOIN etl_dimension_version v "
                  "ON v.id = 1 AND v.version = s.version WHERE s.id = 1");
    if (st.step()) {
      const auto size = static_cast<std::size_t>(sqlite3_column_int64(st.get(), 0));
      st = SqliteStmt();
      std::shared_ptr<char[]> bytes = std::make_shared_for_overwrite<char[]>(size);
      sqlite3_blob* blob = nullptr;
      if (sqlite3_blob_open(db_, "main", "etl_dimension_snapshot", "data", 1, 0, &blob) != SQLITE_OK)
        throw WarehouseError(errmsg(db_, "open the dimension snapshot"));
      int rc = sqlite3_blob_read(blob, bytes.get(), static_cast<int>(size), 0);
      sqlite3_blob_close(blob);
      if (rc != SQLITE_OK) throw WarehouseError(errmsg(db_, "read the dimension snapshot"));
      read.commit();
      if (auto dims = Dimensions::from_snapshot(std::move(bytes), size)) return std::move(*dims);
    }
  }
  // Missing, stale (the tables changed since) or damaged: rebuild it from the tables and keep it.
  SqliteTxn txn(*this);
  auto dims = build_dimensions();
  store_snapshot(dims);
  txn.commit();
  return std::move(dims.first);
}

std::unique_ptr<FactLoad> SqliteWarehouse::begin_fact_load(const std::string& source_file,
                                                           const Lineage& lineage) {
  if (!rows_) rows_ = std::make_unique<SqliteRowSource>(db_);
  return std::make_unique<SqliteFactLoad>(*this, db_, *rows_, source_file, lineage);
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
