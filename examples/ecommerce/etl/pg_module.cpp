// The entry point of hivehook-etl-postgresql.so: PostgreSQL support lives in a module that
// hivehook-etl loads only for a postgresql:// warehouse, so a SQLite job never maps libpq and the
// twenty libraries it brings (OpenSSL, Kerberos, LDAP...): 4 ms less start-up and about 5 MB less
// resident per process (docs/performance.md, ETL).
#include "etl/pg_warehouse.h"

// Connects (throws WarehouseError like PgWarehouse's constructor); the caller owns the result.
extern "C" __attribute__((visibility("default"))) hivehook::etl::Warehouse*
hivehook_etl_open_postgresql(const char* url) {
  return new hivehook::etl::PgWarehouse(url);
}
