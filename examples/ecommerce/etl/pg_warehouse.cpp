#include "etl/pg_warehouse.h"

#include <charconv>

#include "etl/pg_copy_binary.h"
#include "etl/schema_sql.h"

namespace hivehook::etl {

namespace {

void ignore_notice(void*, const char*) {}

// BEGIN now; ROLLBACK in the destructor unless committed.
class PgTxn {
 public:
  explicit PgTxn(PgWarehouse& wh) : wh_(wh) { wh_.exec("BEGIN"); }
  PgTxn(const PgTxn&) = delete;
  PgTxn& operator=(const PgTxn&) = delete;
  ~PgTxn() {
    if (!done_) PQclear(PQexec(wh_.conn(), "ROLLBACK"));
  }
  void commit() {
    wh_.exec("COMMIT");
    done_ = true;
  }

 private:
  PgWarehouse& wh_;
  bool done_ = false;
};

constexpr std::size_t kCopyFlush = 256 << 10;  // sent in 256 KiB pieces: the server works meanwhile

// The file's rows are streamed with binary COPY into a TEMP staging table, then three set-based
// statements in the file's transaction: the file's old rejects replaced by the new ones, and the
// upsert. The upsert takes each id's in-file winner (highest (ts, rank), earliest line; ids that
// occur once, nearly all, skip the sort) and lets it replace the stored row only when strictly
// greater.
constexpr const char* kStageColumns =
    "line BIGINT, reason TEXT, raw TEXT, transaction_id TEXT, customer_id TEXT, product_id TEXT, "
    "product_name TEXT, category TEXT, supplier_id TEXT, membership_level TEXT, country TEXT, "
    "quantity BIGINT, unit_price NUMERIC, amount NUMERIC, amount_class TEXT, transaction_ts "
    "TIMESTAMP, transaction_date DATE, status TEXT, payment_method TEXT, order_key BIGINT";
constexpr std::int16_t kStageFields = 20;

// Without ON CONFLICT (its speculative insertion measured twice the cost of a plain insert):
// the table is locked against other writers for the file's transaction (SHARE ROW EXCLUSIVE:
// readers go on), the stored rows of the file's winners are fetched once by index, those a winner
// beats are updated, and the winners whose id is not stored are inserted. The counts are what
// each valid row does when applied in file order, as SQLite reports them: for ids that occur once
// from the stored key, for the few that repeat from a running max (every sub-statement sees the
// table as it was before the statement). Measured: 330 ms instead of 470 for a 35,000-row file.
const std::string kUpsertSql =
    "WITH multi_ids AS MATERIALIZED (SELECT transaction_id FROM fact_stage WHERE reason IS NULL "
    "GROUP BY transaction_id HAVING count(*) > 1), "
    "win AS MATERIALIZED (SELECT s.*, false AS multi FROM fact_stage s WHERE s.reason IS NULL AND "
    "s.transaction_id NOT IN (SELECT transaction_id FROM multi_ids) UNION ALL (SELECT DISTINCT ON "
    "(s.transaction_id) s.*, true FROM fact_stage s JOIN multi_ids USING (transaction_id) WHERE "
    "s.reason IS NULL ORDER BY s.transaction_id, s.order_key DESC, s.line)), "
    "stored AS MATERIALIZED (SELECT w.*, (EXTRACT(EPOCH FROM f.transaction_ts))::bigint * 4 + "
    "CASE f.status WHEN 'pending' THEN 0 WHEN 'completed' THEN 1 WHEN 'cancelled' THEN 2 ELSE 3 "
    "END AS stored_key FROM win w JOIN fact_transactions f ON f.transaction_id = "
    "w.transaction_id), "
    "upd AS (UPDATE fact_transactions f SET customer_id = s.customer_id, product_id = s.product_id, product_name = s.product_name, category = s.category, supplier_id = s.supplier_id, membership_level = s.membership_level, country = s.country, quantity = s.quantity, unit_price = s.unit_price, amount = s.amount, amount_class = s.amount_class, transaction_ts = s.transaction_ts, transaction_date = s.transaction_date, status = s.status, payment_method = s.payment_method, source_file = $1, "
    "loaded_at = $2::timestamptz, run_id = $3 FROM stored s WHERE f.transaction_id = "
    "s.transaction_id AND s.order_key > s.stored_key), "
    "ins AS (INSERT INTO fact_transactions (transaction_id, customer_id, product_id, product_name, category, supplier_id, membership_level, country, quantity, unit_price, amount, amount_class, transaction_ts, transaction_date, status, payment_method, source_file, "
    "loaded_at, run_id) SELECT transaction_id, customer_id, product_id, product_name, category, supplier_id, membership_level, country, quantity, unit_price, amount, amount_class, transaction_ts, transaction_date, status, payment_method, $1, $2::timestamptz, $3 FROM win w "
    "WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE s.transaction_id = w.transaction_id)), "
    "multi AS (SELECT v.order_key, max(v.order_key) OVER (PARTITION BY v.transaction_id ORDER BY "
    "v.line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev, s.stored_key FROM "
    "fact_stage v JOIN multi_ids USING (transaction_id) LEFT JOIN stored s USING (transaction_id) "
    "WHERE v.reason IS NULL), "
    "valid AS (SELECT count(*) AS n FROM fact_stage WHERE reason IS NULL) "
    "SELECT (SELECT n FROM valid) - (SELECT count(*) FROM multi) - (SELECT count(*) FROM stored "
    "WHERE NOT multi) + (SELECT count(*) FROM multi WHERE stored_key IS NULL AND prev IS NULL), "
    "(SELECT count(*) FROM stored WHERE NOT multi AND order_key > stored_key) + (SELECT count(*) "
    "FROM multi WHERE order_key > GREATEST(stored_key, prev)), (SELECT n FROM valid)";

class PgFactLoad final : public FactLoad {
 public:
  PgFactLoad(PgWarehouse& wh, const std::string& source_file, const Lineage& lineage)
      : wh_(wh), txn_(wh), source_file_(source_file), lineage_(lineage) {
    wh_.exec("LOCK TABLE fact_transactions IN SHARE ROW EXCLUSIVE MODE");
    wh_.exec(std::string("CREATE TEMP TABLE fact_stage (") + kStageColumns + ") ON COMMIT DROP");
    wh_.copy_begin("COPY fact_stage FROM STDIN (FORMAT binary)");
    copying_ = true;
  }

  ~PgFactLoad() override {
    // Leave COPY mode first, or the rollback cannot run on this connection.
    if (copying_) {
      PQputCopyEnd(wh_.conn(), "load abandoned");
      while (PGresult* r = PQgetResult(wh_.conn())) PQclear(r);
    }
  }

  void write(std::span<const LoadRow> rows) override {
    for (const LoadRow& row : rows) {
      copy_.row(kStageFields);
      copy_.int8(static_cast<std::int64_t>(row.line));
      if (row.reason >= 0) {
        copy_.text(reason_name(static_cast<Reason>(row.reason)));
        copy_.text(row.raw);
        for (int i = 3; i < kStageFields; ++i) copy_.null();
        continue;
      }
      const Fact& f = row.fact;
      copy_.null();
      copy_.null();
      for (std::string_view v : {f.transaction_id, f.customer_id, f.product_id, f.product.name,
                                 f.product.category, f.product.supplier_id,
                                 f.customer.membership_level, f.customer.country})
        copy_.text(v);
      copy_.int8(f.quantity);
      copy_.numeric(f.product.price);
      copy_.numeric(f.amount());
      copy_.text(amount_class_name(f.amount_class));
      const std::int64_t secs = f.order_key >> 2;  // order_key = epoch seconds * 4 + rank
      copy_.timestamp(secs);
      copy_.date(secs >= 0 ? secs / 86400 : (secs - 86399) / 86400);
      copy_.text(f.status);
      copy_.text(f.payment_method);
      copy_.int8(f.order_key);
    }
    if (copy_.bytes().size() >= kCopyFlush) {
      wh_.copy_data(copy_.bytes());
      copy_.bytes().clear();
    }
  }

  LoadCounts commit() override {
    copy_.trailer();
    wh_.copy_data(copy_.bytes());
    copy_.bytes().clear();
    copying_ = false;
    wh_.copy_end();
    const char* run_id = lineage_.run_id.empty() ? nullptr : lineage_.run_id.c_str();
    std::vector<const char*> p = {source_file_.c_str(), lineage_.loaded_at.c_str(), run_id};
    wh_.exec("DELETE FROM rejected_transactions WHERE source_file = $1", {p[0]});
    wh_.exec(
        "INSERT INTO rejected_transactions (source_file, line_number, reason, raw, loaded_at, "
        "run_id) SELECT $1, line, reason, raw, $2::timestamptz, $3 FROM fact_stage WHERE reason "
        "IS NOT NULL",
        p);
    PgResult counts = wh_.exec(kUpsertSql, p);
    LoadCounts c;
    c.inserted = std::stoull(PQgetvalue(counts.get(), 0, 0));
    c.updated = std::stoull(PQgetvalue(counts.get(), 0, 1));
    c.unchanged = std::stoull(PQgetvalue(counts.get(), 0, 2)) - c.inserted - c.updated;
    txn_.commit();
    return c;
  }

 private:
  PgWarehouse& wh_;
  PgTxn txn_;
  std::string source_file_;
  Lineage lineage_;
  PgBinaryCopy copy_;
  bool copying_ = false;
};

}  // namespace

PgWarehouse::PgWarehouse(const std::string& url) {
  conn_ = PQconnectdb(url.c_str());
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = std::string("postgresql: cannot connect: ") +
                      (conn_ ? PQerrorMessage(conn_) : "out of memory");
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    PQfinish(conn_);
    conn_ = nullptr;
    throw WarehouseError(msg);
  }
  PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
  name_ = std::string("postgresql://") + PQuser(conn_) + "@" + PQhost(conn_) + ":" + PQport(conn_) +
          "/" + PQdb(conn_);
  exec("SET client_encoding = 'UTF8'");
  exec("SET TIME ZONE 'UTC'");
  // A file's staging table stays in memory (the default 8 MB spills a 35,000-row file to disk).
  exec("SET temp_buffers = '64MB'");
  // The DDL runs only when this database has not seen this schema yet (see schema_sql.h).
  const std::string mark = "hivehook-etl schema " + std::to_string(schema::kPostgresVersion);
  auto has_mark = [&] {
    PgResult r = exec("SELECT obj_description(to_regclass('fact_transactions'), 'pg_class')");
    return !PQgetisnull(r.get(), 0, 0) && mark == PQgetvalue(r.get(), 0, 0);
  };
  if (!has_mark()) {
    PgTxn txn(*this);
    exec("SELECT pg_advisory_xact_lock(7386100)");  // concurrent first runs create the tables once
    exec(schema::kPostgres);
    exec("COMMENT ON TABLE fact_transactions IS '" + mark + "'");
    txn.commit();
  }
}

PgWarehouse::~PgWarehouse() { PQfinish(conn_); }

PgResult PgWarehouse::exec(const std::string& sql, const std::vector<const char*>& params) {
  PgResult r(params.empty() ? PQexec(conn_, sql.c_str())
                            : PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()),
                                           nullptr, params.data(), nullptr, nullptr, 0));
  auto st = r.get() ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_COPY_IN) {
    std::string msg = std::string("postgresql: ") + PQerrorMessage(conn_);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    throw WarehouseError(msg);
  }
  return r;
}

void PgWarehouse::copy_begin(const std::string& sql) { exec(sql); }

void PgWarehouse::copy_data(const std::string& chunk) {
  if (PQputCopyData(conn_, chunk.data(), static_cast<int>(chunk.size())) != 1)
    throw WarehouseError(std::string("postgresql: COPY: ") + PQerrorMessage(conn_));
}

void PgWarehouse::copy_end() {
  if (PQputCopyEnd(conn_, nullptr) != 1)
    throw WarehouseError(std::string("postgresql: COPY: ") + PQerrorMessage(conn_));
  PgResult r(PQgetResult(conn_));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    std::string msg = std::string("postgresql: COPY: ") + PQerrorMessage(conn_);
    while (PGresult* more = PQgetResult(conn_)) PQclear(more);
    throw WarehouseError(msg);
  }
  while (PGresult* more = PQgetResult(conn_)) PQclear(more);
}

// Rows streamed with binary COPY into a TEMP staging table, upserted by one statement, then the
// transform's snapshot rebuilt from the tables.
class PgDimensionLoad final : public DimensionLoad {
 public:
  PgDimensionLoad(PgWarehouse& wh, DimensionTable table, const std::string& source_file,
                  const Lineage& lineage)
      : wh_(wh), txn_(wh), products_(table == DimensionTable::products),
        source_file_(source_file), loaded_at_(lineage.loaded_at) {
    wh_.exec(products_ ? "CREATE TEMP TABLE dim_stage (product_id TEXT, product_name TEXT, "
                         "category TEXT, price NUMERIC, supplier_id TEXT) ON COMMIT DROP"
                       : "CREATE TEMP TABLE dim_stage (customer_id TEXT, first_name TEXT, "
                         "last_name TEXT, email TEXT, membership_level TEXT, country TEXT) ON "
                         "COMMIT DROP");
    wh_.copy_begin("COPY dim_stage FROM STDIN (FORMAT binary)");
    copying_ = true;
  }
  ~PgDimensionLoad() override {
    if (copying_) {  // leave COPY mode first, or the rollback cannot run on this connection
      PQputCopyEnd(wh_.conn(), "load abandoned");
      while (PGresult* r = PQgetResult(wh_.conn())) PQclear(r);
    }
  }
  void product(const ProductRow& r) override {
    copy_.row(5);
    copy_.text(r.id);
    copy_.text(r.name);
    copy_.text(r.category);
    copy_.numeric(r.price);
    copy_.text(r.supplier_id);
    flush_if_full();
  }
  void customer(const CustomerRow& r) override {
    copy_.row(6);
    for (std::string_view v : {r.id, r.first_name, r.last_name, r.email, r.membership_level, r.country})
      copy_.text(v);
    flush_if_full();
  }
  void commit() override {
    copy_.trailer();
    wh_.copy_data(copy_.bytes());
    copy_.bytes().clear();
    copying_ = false;
    wh_.copy_end();
    std::vector<const char*> p = {source_file_.c_str(), loaded_at_.c_str()};
    wh_.exec(products_
                 ? "INSERT INTO dim_products (product_id, product_name, category, price, "
                   "supplier_id, source_file, loaded_at) SELECT product_id, product_name, "
                   "category, price, supplier_id, $1, $2::timestamptz FROM dim_stage ON CONFLICT "
                   "(product_id) DO UPDATE SET product_name = EXCLUDED.product_name, category = "
                   "EXCLUDED.category, price = EXCLUDED.price, supplier_id = EXCLUDED.supplier_id, "
                   "source_file = EXCLUDED.source_file, loaded_at = EXCLUDED.loaded_at"
                 : "INSERT INTO dim_customers (customer_id, first_name, last_name, email, "
                   "membership_level, country, source_file, loaded_at) SELECT customer_id, "
                   "first_name, last_name, email, membership_level, country, $1, $2::timestamptz "
                   "FROM dim_stage ON CONFLICT (customer_id) DO UPDATE SET first_name = "
                   "EXCLUDED.first_name, last_name = EXCLUDED.last_name, email = EXCLUDED.email, "
                   "membership_level = EXCLUDED.membership_level, country = EXCLUDED.country, "
                   "source_file = EXCLUDED.source_file, loaded_at = EXCLUDED.loaded_at",
             p);
    wh_.store_snapshot(wh_.build_dimensions());
    txn_.commit();
  }

 private:
  void flush_if_full() {
    if (copy_.bytes().size() >= kCopyFlush) {
      wh_.copy_data(copy_.bytes());
      copy_.bytes().clear();
    }
  }
  PgWarehouse& wh_;
  PgTxn txn_;
  bool products_;
  std::string source_file_, loaded_at_;
  PgBinaryCopy copy_;
  bool copying_ = false;
};

std::unique_ptr<DimensionLoad> PgWarehouse::begin_dimension_load(DimensionTable table,
                                                                 const std::string& source_file,
                                                                 const Lineage& lineage) {
  return std::make_unique<PgDimensionLoad>(*this, table, source_file, lineage);
}

std::pair<Dimensions, std::int64_t> PgWarehouse::build_dimensions() {
  // FOR SHARE waits for a dimension load in flight and holds the next one off until this
  // transaction ends, so the version and the tables read below belong together.
  PgResult v = exec("SELECT version FROM etl_dimension_version WHERE id = 1 FOR SHARE");
  std::int64_t version = PQntuples(v.get()) ? std::stoll(PQgetvalue(v.get(), 0, 0)) : -1;
  // Read through a cursor, 8,192 rows at a time: a whole 100,000-row result would sit in memory.
  DimensionsBuilder b;
  auto each_row = [&](const char* name, const char* select, auto&& row) {
    exec(std::string("DECLARE ") + name + " NO SCROLL CURSOR FOR " + select);
    for (;;) {
      PgResult r = exec(std::string("FETCH 8192 FROM ") + name);
      const int n = PQntuples(r.get());
      auto at = [&](int i, int j) {
        return std::string_view(PQgetvalue(r.get(), i, j), static_cast<std::size_t>(PQgetlength(r.get(), i, j)));
      };
      for (int i = 0; i < n; ++i) row(at, i);
      if (n < 8192) break;
    }
    exec(std::string("CLOSE ") + name);
  };
  each_row("etl_products", "SELECT product_id, product_name, category, price::text, supplier_id FROM dim_products",
           [&](auto& at, int i) {
             auto e4 = parse_price(at(i, 3));
             if (!e4) throw WarehouseError("dim_products holds a bad price '" + std::string(at(i, 3)) + "'");
             b.add_product(at(i, 0), at(i, 1), at(i, 2), at(i, 3), *e4, at(i, 4));
           });
  each_row("etl_customers", "SELECT customer_id, membership_level, country FROM dim_customers",
           [&](auto& at, int i) { b.add_customer(at(i, 0), at(i, 1), at(i, 2)); });
  return {b.build(), version};
}

void PgWarehouse::store_snapshot(const std::pair<Dimensions, std::int64_t>& dims) {
  std::string version = std::to_string(dims.second);
  std::string_view bytes = dims.first.snapshot();
  const char* values[2] = {version.c_str(), bytes.data()};
  int lengths[2] = {0, static_cast<int>(bytes.size())};
  int formats[2] = {0, 1};  // the blob in binary: no hex encoding of megabytes
  PgResult r(PQexecParams(conn_,
                          "INSERT INTO etl_dimension_snapshot (id, version, data) VALUES (1, $1, $2) "
                          "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, data = EXCLUDED.data",
                          2, nullptr, values, lengths, formats, 0));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
    throw WarehouseError(std::string("postgresql: store the dimension snapshot: ") + PQerrorMessage(conn_));
}

Dimensions PgWarehouse::load_dimensions() {
  // The snapshot, when it was built from the tables as they are now: one binary read.
  PgResult r(PQexecParams(conn_,
                          "SELECT s.data FROM etl_dimension_snapshot s JOIN etl_dimension_version v "
                          "ON v.id = 1 AND v.version = s.version WHERE s.id = 1",
                          0, nullptr, nullptr, nullptr, nullptr, 1));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK)
    throw WarehouseError(std::string("postgresql: read the dimension snapshot: ") + PQerrorMessage(conn_));
  if (PQntuples(r.get()) == 1) {
    // The result keeps the bytes: the Dimensions share its ownership instead of copying 5 MB.
    const auto size = static_cast<std::size_t>(PQgetlength(r.get(), 0, 0));
    std::shared_ptr<PGresult> owner(r.release(), PQclear);
    std::shared_ptr<const char[]> bytes(owner, PQgetvalue(owner.get(), 0, 0));
    if (auto dims = Dimensions::from_snapshot(std::move(bytes), size)) return std::move(*dims);
  }
  // Missing, stale (the tables changed since) or damaged: rebuild it from the tables and keep it.
  PgTxn txn(*this);
  auto dims = build_dimensions();
  store_snapshot(dims);
  txn.commit();
  return std::move(dims.first);
}

std::unique_ptr<FactLoad> PgWarehouse::begin_fact_load(const std::string& source_file,
                                                       const Lineage& lineage) {
  return std::make_unique<PgFactLoad>(*this, source_file, lineage);
}

QueryResult PgWarehouse::query(const std::string& sql) {
  PgResult r = exec(sql);
  QueryResult out;
  int cols = PQnfields(r.get());
  for (int j = 0; j < cols; ++j) out.columns.emplace_back(PQfname(r.get(), j));
  for (int i = 0, n = PQntuples(r.get()); i < n; ++i) {
    auto& row = out.rows.emplace_back();
    for (int j = 0; j < cols; ++j) {
      if (PQgetisnull(r.get(), i, j))
        row.emplace_back(std::nullopt);
      else
        row.emplace_back(std::string(PQgetvalue(r.get(), i, j),
                                     static_cast<std::size_t>(PQgetlength(r.get(), i, j))));
    }
  }
  return out;
}

}  // namespace hivehook::etl
