#include "etl/pg_warehouse.h"

#include <charconv>

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

constexpr std::size_t kCopyFlush = 1 << 20;

constexpr const char* kRankExcluded =
    "CASE EXCLUDED.status WHEN 'pending' THEN 0 WHEN 'completed' THEN 1 WHEN 'cancelled' THEN 2 "
    "ELSE 3 END";
constexpr const char* kRankStored =
    "CASE fact_transactions.status WHEN 'pending' THEN 0 WHEN 'completed' THEN 1 WHEN "
    "'cancelled' THEN 2 ELSE 3 END";

class PgFactLoad final : public FactLoad {
 public:
  PgFactLoad(PgWarehouse& wh, const std::string& source_file, const Lineage& lineage)
      : wh_(wh), txn_(wh), source_file_(source_file), lineage_(lineage) {
    wh_.exec(
        "CREATE TEMP TABLE fact_stage (line BIGINT, reason TEXT, raw TEXT, transaction_id TEXT, "
        "customer_id TEXT, product_id TEXT, product_name TEXT, category TEXT, supplier_id TEXT, "
        "membership_level TEXT, country TEXT, quantity BIGINT, unit_price NUMERIC, amount NUMERIC, "
        "amount_class TEXT, transaction_ts TIMESTAMP, transaction_date DATE, status TEXT, "
        "payment_method TEXT, order_key BIGINT) ON COMMIT DROP");
    wh_.copy_begin("COPY fact_stage FROM STDIN");
    copying_ = true;
    buf_.reserve(kCopyFlush + 4096);
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
      if (row.reason < 0)
        add(row.fact, row.line);
      else
        reject(row.line, static_cast<Reason>(row.reason), row.raw);
    }
  }

 private:
  void add(const Fact& f, std::uint64_t line) {
    char num[24];
    auto put_num = [&](std::int64_t v) {
      auto r = std::to_chars(num, num + sizeof num, v);
      buf_.append(num, r.ptr);
    };
    put_num(static_cast<std::int64_t>(line));
    buf_ += "\t\\N\t\\N\t";
    for (std::string_view v : {f.transaction_id, f.customer_id, f.product_id,
                               f.product.name, f.product.category, f.product.supplier_id,
                               f.customer.membership_level, f.customer.country}) {
      copy_append(buf_, v);
      buf_ += '\t';
    }
    put_num(f.quantity);
    buf_ += '\t';
    buf_ += f.product.price;
    buf_ += '\t';
    buf_ += f.amount();
    buf_ += '\t';
    buf_ += amount_class_name(f.amount_class);
    buf_ += '\t';
    buf_ += f.transaction_ts;
    buf_ += '\t';
    buf_ += f.transaction_date;
    buf_ += '\t';
    copy_append(buf_, f.status);
    buf_ += '\t';
    copy_append(buf_, f.payment_method);
    buf_ += '\t';
    put_num(f.order_key);
    buf_ += '\n';
    flush_if_full();
  }

  void reject(std::uint64_t line, Reason reason, std::string_view raw) {
    buf_ += std::to_string(line);
    buf_ += '\t';
    buf_ += reason_name(reason);
    buf_ += '\t';
    copy_append(buf_, raw);
    for (int i = 0; i < 17; ++i) buf_ += "\t\\N";
    buf_ += '\n';
    flush_if_full();
  }


 public:
  LoadCounts commit() override {
    if (!buf_.empty()) wh_.copy_data(buf_);
    buf_.clear();
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
    // What each valid row does when applied in file order (the same counts SQLite reports).
    PgResult counts = wh_.exec(
        "WITH v AS (SELECT s.order_key, s.transaction_id, max(s.order_key) OVER (PARTITION BY "
        "s.transaction_id ORDER BY s.line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS "
        "prev FROM fact_stage s WHERE s.reason IS NULL), j AS (SELECT v.order_key, v.prev, "
        "(SELECT (EXTRACT(EPOCH FROM f.transaction_ts))::bigint * 4 + CASE f.status WHEN "
        "'pending' THEN 0 WHEN 'completed' THEN 1 WHEN 'cancelled' THEN 2 ELSE 3 END FROM "
        "fact_transactions f WHERE f.transaction_id = v.transaction_id) AS stored FROM v) "
        "SELECT count(*) FILTER (WHERE stored IS NULL AND prev IS NULL), count(*) FILTER (WHERE "
        "order_key > GREATEST(stored, prev)), count(*) FILTER (WHERE order_key <= "
        "GREATEST(stored, prev)) FROM j");
    LoadCounts c;
    c.inserted = std::stoull(PQgetvalue(counts.get(), 0, 0));
    c.updated = std::stoull(PQgetvalue(counts.get(), 0, 1));
    c.unchanged = std::stoull(PQgetvalue(counts.get(), 0, 2));
    // The in-file winner per id (highest key, then earliest line), then against the stored row.
    wh_.exec(
        std::string(
            "INSERT INTO fact_transactions (transaction_id, customer_id, product_id, product_name, "
            "category, supplier_id, membership_level, country, quantity, unit_price, amount, "
            "amount_class, transaction_ts, transaction_date, status, payment_method, source_file, "
            "loaded_at, run_id) SELECT DISTINCT ON (transaction_id) transaction_id, customer_id, "
            "product_id, product_name, category, supplier_id, membership_level, country, "
            "quantity, unit_price, amount, amount_class, transaction_ts, transaction_date, "
            "status, payment_method, $1, $2::timestamptz, $3 FROM fact_stage WHERE reason IS "
            "NULL ORDER BY transaction_id, order_key DESC, line ASC ON CONFLICT (transaction_id) "
            "DO UPDATE SET customer_id = EXCLUDED.customer_id, product_id = EXCLUDED.product_id, "
            "product_name = EXCLUDED.product_name, category = EXCLUDED.category, supplier_id = "
            "EXCLUDED.supplier_id, membership_level = EXCLUDED.membership_level, country = "
            "EXCLUDED.country, quantity = EXCLUDED.quantity, unit_price = EXCLUDED.unit_price, "
            "amount = EXCLUDED.amount, amount_class = EXCLUDED.amount_class, transaction_ts = "
            "EXCLUDED.transaction_ts, transaction_date = EXCLUDED.transaction_date, status = "
            "EXCLUDED.status, payment_method = EXCLUDED.payment_method, source_file = "
            "EXCLUDED.source_file, loaded_at = EXCLUDED.loaded_at, run_id = EXCLUDED.run_id "
            "WHERE (EXCLUDED.transaction_ts, ") +
            kRankExcluded + ") > (fact_transactions.transaction_ts, " + kRankStored + ")",
        p);
    txn_.commit();
    return c;
  }

 private:
  void flush_if_full() {
    if (buf_.size() >= kCopyFlush) {
      wh_.copy_data(buf_);
      buf_.clear();
    }
  }

  PgWarehouse& wh_;
  PgTxn txn_;
  std::string source_file_;
  Lineage lineage_;
  std::string buf_;
  bool copying_ = false;
};

}  // namespace

void copy_append(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\0': out += "\xEF\xBF\xBD"; break;  // PostgreSQL text cannot hold NUL: U+FFFD
      default: out += c;
    }
  }
}

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

void PgWarehouse::upsert_products(const std::vector<Product>& rows, const std::string& source_file,
                                  const Lineage& lineage) {
  PgTxn txn(*this);
  exec("CREATE TEMP TABLE dim_stage (product_id TEXT, product_name TEXT, category TEXT, price "
       "NUMERIC, supplier_id TEXT) ON COMMIT DROP");
  copy_begin("COPY dim_stage FROM STDIN");
  std::string buf;
  for (const Product& p : rows) {
    for (const std::string* v : {&p.id, &p.name, &p.category, &p.price}) {
      copy_append(buf, *v);
      buf += '\t';
    }
    copy_append(buf, p.supplier_id);
    buf += '\n';
    if (buf.size() >= kCopyFlush) {
      copy_data(buf);
      buf.clear();
    }
  }
  if (!buf.empty()) copy_data(buf);
  copy_end();
  exec("INSERT INTO dim_products (product_id, product_name, category, price, supplier_id, "
       "source_file, loaded_at) SELECT product_id, product_name, category, price, supplier_id, "
       "$1, $2::timestamptz FROM dim_stage ON CONFLICT (product_id) DO UPDATE SET product_name "
       "= EXCLUDED.product_name, category = EXCLUDED.category, price = EXCLUDED.price, "
       "supplier_id = EXCLUDED.supplier_id, source_file = EXCLUDED.source_file, loaded_at = "
       "EXCLUDED.loaded_at",
       {source_file.c_str(), lineage.loaded_at.c_str()});
  store_snapshot(build_dimensions());
  txn.commit();
}

void PgWarehouse::upsert_customers(const std::vector<Customer>& rows,
                                   const std::string& source_file, const Lineage& lineage) {
  PgTxn txn(*this);
  exec("CREATE TEMP TABLE dim_stage (customer_id TEXT, first_name TEXT, last_name TEXT, email "
       "TEXT, membership_level TEXT, country TEXT) ON COMMIT DROP");
  copy_begin("COPY dim_stage FROM STDIN");
  std::string buf;
  for (const Customer& c : rows) {
    for (const std::string* v : {&c.id, &c.first_name, &c.last_name, &c.email, &c.membership_level}) {
      copy_append(buf, *v);
      buf += '\t';
    }
    copy_append(buf, c.country);
    buf += '\n';
    if (buf.size() >= kCopyFlush) {
      copy_data(buf);
      buf.clear();
    }
  }
  if (!buf.empty()) copy_data(buf);
  copy_end();
  exec("INSERT INTO dim_customers (customer_id, first_name, last_name, email, membership_level, "
       "country, source_file, loaded_at) SELECT customer_id, first_name, last_name, email, "
       "membership_level, country, $1, $2::timestamptz FROM dim_stage ON CONFLICT (customer_id) "
       "DO UPDATE SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, email = "
       "EXCLUDED.email, membership_level = EXCLUDED.membership_level, country = "
       "EXCLUDED.country, source_file = EXCLUDED.source_file, loaded_at = EXCLUDED.loaded_at",
       {source_file.c_str(), lineage.loaded_at.c_str()});
  store_snapshot(build_dimensions());
  txn.commit();
}

std::pair<Dimensions, std::int64_t> PgWarehouse::build_dimensions() {
  // FOR SHARE waits for a dimension load in flight and holds the next one off until this
  // transaction ends, so the version and the tables read below belong together.
  PgResult v = exec("SELECT version FROM etl_dimension_version WHERE id = 1 FOR SHARE");
  std::int64_t version = PQntuples(v.get()) ? std::stoll(PQgetvalue(v.get(), 0, 0)) : -1;
  PgResult p = exec("SELECT product_id, product_name, category, price::text, supplier_id FROM dim_products");
  PgResult c = exec("SELECT customer_id, membership_level, country FROM dim_customers");
  DimensionsBuilder b;
  b.reserve(static_cast<std::size_t>(PQntuples(p.get())), static_cast<std::size_t>(PQntuples(c.get())));
  auto at = [](const PgResult& r, int i, int j) {
    return std::string_view(PQgetvalue(r.get(), i, j), static_cast<std::size_t>(PQgetlength(r.get(), i, j)));
  };
  for (int i = 0, n = PQntuples(p.get()); i < n; ++i) {
    auto e4 = parse_price(at(p, i, 3));
    if (!e4) throw WarehouseError("dim_products holds a bad price '" + std::string(at(p, i, 3)) + "'");
    b.add_product(at(p, i, 0), at(p, i, 1), at(p, i, 2), at(p, i, 3), *e4, at(p, i, 4));
  }
  for (int i = 0, n = PQntuples(c.get()); i < n; ++i) b.add_customer(at(c, i, 0), at(c, i, 1), at(c, i, 2));
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
    std::string_view bytes(PQgetvalue(r.get(), 0, 0), static_cast<std::size_t>(PQgetlength(r.get(), 0, 0)));
    if (auto dims = Dimensions::from_snapshot(bytes)) return std::move(*dims);
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
