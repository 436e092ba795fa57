// The PostgreSQL warehouse (libpq): COPY into a TEMP staging table, then one set-based upsert.
#pragma once

#include <libpq-fe.h>

#include <string>
#include <vector>

#include "etl/warehouse.h"

namespace hivehook::etl {

// Move-only owner of a PGresult.
class PgResult {
 public:
  explicit PgResult(PGresult* r = nullptr) : r_(r) {}
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  PgResult(PgResult&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  ~PgResult() { PQclear(r_); }
  PGresult* get() const { return r_; }
  PGresult* release() { return std::exchange(r_, nullptr); }

 private:
  PGresult* r_;
};

class PgWarehouse final : public Warehouse {
 public:
  explicit PgWarehouse(const std::string& url);
  ~PgWarehouse() override;
  PgWarehouse(const PgWarehouse&) = delete;
  PgWarehouse& operator=(const PgWarehouse&) = delete;

  std::string name() const override { return name_; }
  std::unique_ptr<DimensionLoad> begin_dimension_load(DimensionTable table,
                                                      const std::string& source_file,
                                                      const Lineage& lineage) override;
  Dimensions load_dimensions() override;
  std::unique_ptr<FactLoad> begin_fact_load(const std::string& source_file,
                                            const Lineage& lineage) override;
  QueryResult query(const std::string& sql) override;

  // Runs SQL that returns no rows or rows; throws WarehouseError on failure.
  PgResult exec(const std::string& sql, const std::vector<const char*>& params = {});
  // COPY ... FROM STDIN: start, stream data, finish.
  void copy_begin(const std::string& sql);
  void copy_data(const std::string& chunk);
  void copy_end();
  PGconn* conn() const { return conn_; }

 private:
  friend class PgDimensionLoad;
  std::pair<Dimensions, std::int64_t> build_dimensions();  // from the tables, with their version
  void store_snapshot(const std::pair<Dimensions, std::int64_t>& dims);

  PGconn* conn_ = nullptr;
  std::string name_;
};


}  // namespace hivehook::etl
