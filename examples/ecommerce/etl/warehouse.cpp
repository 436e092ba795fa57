#include "etl/warehouse.h"

#include "etl/pg_warehouse.h"
#include "etl/sqlite_warehouse.h"

namespace hivehook::etl {

std::unique_ptr<Warehouse> open_warehouse(const std::string& spec) {
  if (spec.starts_with("sqlite:")) {
    std::string path = spec.substr(7);
    if (path.empty()) throw std::invalid_argument("--warehouse sqlite:PATH needs a path");
    return std::make_unique<SqliteWarehouse>(path);
  }
  if (spec.starts_with("postgresql://") || spec.starts_with("postgres://"))
    return std::make_unique<PgWarehouse>(spec);
  throw std::invalid_argument("unknown warehouse '" + spec +
                              "': expected sqlite:PATH or postgresql://...");
}

}  // namespace hivehook::etl
