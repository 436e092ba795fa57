// The rows being loaded, shown to SQLite as eponymous virtual tables (hivehook_facts,
// hivehook_rejects, hivehook_products, hivehook_customers), so that a whole batch is upserted by
// one prepared INSERT ... SELECT instead of a bind/step/reset per row: SQLite's counterpart of
// PostgreSQL's COPY. (One statement per row would also make SQLite copy every page it touches
// into a statement journal per row once triggers are involved.) The values are read in
// place (SQLITE_STATIC): nothing is copied until SQLite builds the record it stores.
// https://www.sqlite.org/vtab.html#eponymous_only_virtual_tables
#pragma once

#include <sqlite3.h>

#include <span>

#include "etl/warehouse.h"

namespace hivehook::etl {

class SqliteRowSource {
 public:
  // Registers both tables on `db`; this object must outlive every statement that reads them.
  // Throws WarehouseError.
  explicit SqliteRowSource(sqlite3* db);
  SqliteRowSource(const SqliteRowSource&) = delete;
  SqliteRowSource& operator=(const SqliteRowSource&) = delete;

  // What the next scans return, in this order. hivehook_facts columns: transaction_id,
  // customer_id, product_id, product_name, category, supplier_id, membership_level, country,
  // quantity, unit_price, amount, amount_class, transaction_ts, transaction_date, status,
  // payment_method. hivehook_rejects: line, reason, raw.
  void show(std::span<const LoadRow* const> facts, std::span<const LoadRow* const> rejects) {
    facts_ = facts;
    rejects_ = rejects;
  }
  // hivehook_products: product_id, product_name, category, price, supplier_id.
  // hivehook_customers: customer_id, first_name, last_name, email, membership_level, country.
  void show(std::span<const ProductRow> products) { products_ = products; }
  void show(std::span<const CustomerRow> customers) { customers_ = customers; }

  // Read by the virtual tables.
  std::span<const LoadRow* const> facts_, rejects_;
  std::span<const ProductRow> products_;
  std::span<const CustomerRow> customers_;
};

}  // namespace hivehook::etl
