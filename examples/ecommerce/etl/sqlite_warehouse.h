// The embedded warehouse: one SQLite file, WAL, one BEGIN IMMEDIATE transaction per input file.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>

#include "etl/warehouse.h"

namespace hivehook::etl {

class SqliteRowSource;

// Move-only owner of a prepared statement; every bind and step is checked.
class SqliteStmt {
 public:
  SqliteStmt() = default;
  SqliteStmt(sqlite3* db, const char* sql);
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;
  SqliteStmt(SqliteStmt&& o) noexcept : db_(o.db_), stmt_(std::exchange(o.stmt_, nullptr)) {}
  SqliteStmt& operator=(SqliteStmt&& o) noexcept;
  ~SqliteStmt();

  void bind(int i, std::string_view text);  // SQLITE_STATIC: the text must outlive step()
  void bind(int i, std::int64_t v);
  void bind_null(int i);
  bool step();                   // true: a row is ready; false: done
  void reset();                  // ready for new bindings
  sqlite3_stmt* get() const { return stmt_; }

 private:
  void check(int rc, const char* what);
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteWarehouse final : public Warehouse {
 public:
  explicit SqliteWarehouse(const std::string& path);
  ~SqliteWarehouse() override;
  SqliteWarehouse(const SqliteWarehouse&) = delete;
  SqliteWarehouse& operator=(const SqliteWarehouse&) = delete;

  std::string name() const override { return "sqlite:" + path_; }
  std::unique_ptr<DimensionLoad> begin_dimension_load(DimensionTable table,
                                                      const std::string& source_file,
                                                      const Lineage& lineage) override;
  Dimensions load_dimensions() override;
  std::unique_ptr<FactLoad> begin_fact_load(const std::string& source_file,
                                            const Lineage& lineage) override;
  QueryResult query(const std::string& sql) override;

  void exec(const char* sql);  // throws WarehouseError

 private:
  friend class SqliteDimensionLoad;
  static constexpr int kBusyTimeoutMs = 60000;  // another job may hold the write lock this long
  void use_wal();  // PRAGMA journal_mode=WAL, retried while another opener holds the file
  int user_version();
  std::int64_t dimension_version();  // etl_dimension_version, bumped by the dim tables' triggers
  std::pair<Dimensions, std::int64_t> build_dimensions();  // from the tables, with their version
  void store_snapshot(const std::pair<Dimensions, std::int64_t>& dims);

  std::string path_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<SqliteRowSource> rows_;  // the virtual tables a fact load reads; made on first use
};

}  // namespace hivehook::etl
