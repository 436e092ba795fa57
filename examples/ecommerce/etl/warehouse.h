// The warehouse seam: the same tables and upsert rule on SQLite and PostgreSQL.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "etl/dimension_snapshot.h"
#include "etl/dimensions.h"
#include "etl/transform.h"

namespace hivehook::etl {

// Unreachable server, SQL failure, locked database...: exit 1, the run is retried.
class WarehouseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Lineage {
  std::string loaded_at;  // RFC 3339 UTC, the same for every row of one run
  std::string run_id;     // $HIVEHOOK_RUN_ID; empty stores NULL
};

// Per valid row, what it did when applied in file order: inserted a new id, replaced the row
// stored at that moment (it ranked strictly higher), or changed nothing.
struct LoadCounts {
  std::uint64_t inserted = 0, updated = 0, unchanged = 0;
};

// One record of a transactions file after the transform: a valid fact or a reject.
struct LoadRow {
  std::uint64_t line = 0;  // the physical line where the record starts
  int reason = -1;         // a Reason, or -1: a valid fact
  Fact fact;               // valid rows
  std::string_view raw;    // rejected rows: the record's text
};

// One transactions file = one warehouse transaction. Destroying it uncommitted rolls back.
class FactLoad {
 public:
  virtual ~FactLoad() = default;
  // Applies rows in file order (the views need only live during the call): valid facts upserted
  // by the contract's rule, rejects stored with their line, reason and raw text.
  virtual void write(std::span<const LoadRow> rows) = 0;
  virtual LoadCounts commit() = 0;
};

// One dimension file = one warehouse transaction. Destroying it uncommitted rolls back.
class DimensionLoad {
 public:
  virtual ~DimensionLoad() = default;
  virtual void product(const ProductRow& row) = 0;  // upserted by product_id
  virtual void customer(const CustomerRow& row) = 0;  // upserted by customer_id
  virtual void commit() = 0;  // rebuilds and stores the dimension snapshot, then commits
};

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;  // text values, nullopt = NULL
};

class Warehouse {
 public:
  virtual ~Warehouse() = default;
  // For messages and the result JSON; never holds a password.
  virtual std::string name() const = 0;
  // Starts loading one dimension snapshot file (one transaction; a later snapshot replaces an
  // id's attributes; the transform's dimension snapshot is rebuilt inside it at commit).
  virtual std::unique_ptr<DimensionLoad> begin_dimension_load(DimensionTable table,
                                                              const std::string& source_file,
                                                              const Lineage& lineage) = 0;
  // The dimensions for enrichment: the stored snapshot when it was built from the dimension
  // tables as they are now (same version), else rebuilt from the tables and stored for the next run.
  virtual Dimensions load_dimensions() = 0;
  // Starts the file's transaction and drops the file's previous rejects inside it.
  virtual std::unique_ptr<FactLoad> begin_fact_load(const std::string& source_file,
                                                    const Lineage& lineage) = 0;
  virtual QueryResult query(const std::string& sql) = 0;
};

// "sqlite:PATH" or "postgresql://..." / "postgres://..."; creates the tables when missing.
// Throws WarehouseError (unreachable) or std::invalid_argument (not a warehouse spec).
std::unique_ptr<Warehouse> open_warehouse(const std::string& spec);

}  // namespace hivehook::etl
