#include "etl/warehouse.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "etl/sqlite_warehouse.h"

namespace hivehook::etl {

namespace {

// hivehook-etl-postgresql.so: $HIVEHOOK_ETL_POSTGRESQL_MODULE, else beside this program (the
// build tree), else in <prefix>/lib/hivehook/ (installed). Loaded once.
using OpenPostgresql = Warehouse* (*)(const char*);

OpenPostgresql postgresql_module() {
  static OpenPostgresql open = []() -> OpenPostgresql {
    std::vector<std::string> tried;
    std::vector<std::filesystem::path> candidates;
    if (const char* env = std::getenv("HIVEHOOK_ETL_POSTGRESQL_MODULE"); env && *env)
      candidates.emplace_back(env);
    std::error_code ec;
    std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      candidates.push_back(exe.parent_path() / "hivehook-etl-postgresql.so");
      candidates.push_back(exe.parent_path() / ".." / HIVEHOOK_ETL_MODULE_DIR / "hivehook-etl-postgresql.so");
    }
    std::string errors;
    for (const auto& path : candidates) {
      if (void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
        if (void* sym = ::dlsym(handle, "hivehook_etl_open_postgresql"))
          return reinterpret_cast<OpenPostgresql>(sym);
        errors += std::string("; ") + path.string() + ": no hivehook_etl_open_postgresql";
        continue;
      }
      errors += std::string("; ") + ::dlerror();
    }
    throw WarehouseError("postgresql: cannot load hivehook-etl-postgresql.so" + errors);
  }();
  return open;
}

}  // namespace

std::unique_ptr<Warehouse> open_warehouse(const std::string& spec) {
  if (spec.starts_with("sqlite:")) {
    std::string path = spec.substr(7);
    if (path.empty()) throw std::invalid_argument("--warehouse sqlite:PATH needs a path");
    return std::make_unique<SqliteWarehouse>(path);
  }
  if (spec.starts_with("postgresql://") || spec.starts_with("postgres://"))
    return std::unique_ptr<Warehouse>(postgresql_module()(spec.c_str()));
  throw std::invalid_argument("unknown warehouse '" + spec +
                              "': expected sqlite:PATH or postgresql://...");
}

}  // namespace hivehook::etl
