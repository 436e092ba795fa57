#include "etl/sqlite_row_source.h"

#include <new>
#include <string>

namespace hivehook::etl {

namespace {

enum class Kind { facts, rejects, products, customers };

struct Table : sqlite3_vtab {
  const SqliteRowSource* source = nullptr;
  Kind kind = Kind::facts;
  std::size_t size() const {
    switch (kind) {
      case Kind::facts: return source->facts_.size();
      case Kind::rejects: return source->rejects_.size();
      case Kind::products: return source->products_.size();
      case Kind::customers: return source->customers_.size();
    }
    return 0;
  }
};

struct Cursor : sqlite3_vtab_cursor {
  std::size_t at = 0;
};

const Table& table_of(sqlite3_vtab_cursor* c) { return *static_cast<const Table*>(c->pVtab); }

constexpr const char* kSchema[] = {
    "CREATE TABLE x(transaction_id TEXT, customer_id TEXT, product_id TEXT, product_name TEXT, "
    "category TEXT, supplier_id TEXT, membership_level TEXT, country TEXT, quantity INTEGER, "
    "unit_price TEXT, amount TEXT, amount_class TEXT, transaction_ts TEXT, transaction_date TEXT, "
    "status TEXT, payment_method TEXT)",
    "CREATE TABLE x(line INTEGER, reason TEXT, raw TEXT)",
    "CREATE TABLE x(product_id TEXT, product_name TEXT, category TEXT, price TEXT, supplier_id TEXT)",
    "CREATE TABLE x(customer_id TEXT, first_name TEXT, last_name TEXT, email TEXT, "
    "membership_level TEXT, country TEXT)"};

template <Kind K>
int connect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
  int rc = sqlite3_declare_vtab(db, kSchema[static_cast<int>(K)]);
  if (rc != SQLITE_OK) return rc;
  auto* t = new (std::nothrow) Table();
  if (!t) return SQLITE_NOMEM;
  t->source = static_cast<const SqliteRowSource*>(aux);
  t->kind = K;
  *out = t;
  return SQLITE_OK;
}

int disconnect(sqlite3_vtab* t) {
  delete static_cast<Table*>(t);
  return SQLITE_OK;
}

int best_index(sqlite3_vtab* t, sqlite3_index_info* info) {  // a plain scan, in order
  info->estimatedRows = static_cast<sqlite3_int64>(static_cast<Table*>(t)->size());
  info->estimatedCost = static_cast<double>(info->estimatedRows);
  return SQLITE_OK;
}

int open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  auto* c = new (std::nothrow) Cursor();
  if (!c) return SQLITE_NOMEM;
  *out = c;
  return SQLITE_OK;
}

int close(sqlite3_vtab_cursor* c) {
  delete static_cast<Cursor*>(c);
  return SQLITE_OK;
}

int filter(sqlite3_vtab_cursor* c, int, const char*, int, sqlite3_value**) {
  static_cast<Cursor*>(c)->at = 0;
  return SQLITE_OK;
}

int next(sqlite3_vtab_cursor* c) {
  ++static_cast<Cursor*>(c)->at;
  return SQLITE_OK;
}

int eof(sqlite3_vtab_cursor* c) {
  return static_cast<Cursor*>(c)->at >= table_of(c).size();
}

int rowid(sqlite3_vtab_cursor* c, sqlite3_int64* out) {
  *out = static_cast<sqlite3_int64>(static_cast<Cursor*>(c)->at);
  return SQLITE_OK;
}

void text(sqlite3_context* ctx, std::string_view v) {
  sqlite3_result_text(ctx, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

int column(sqlite3_vtab_cursor* c, sqlite3_context* ctx, int i) {
  const Table& t = table_of(c);
  const std::size_t at = static_cast<Cursor*>(c)->at;
  if (t.kind == Kind::products) {
    const ProductRow& r = t.source->products_[at];
    const std::string_view v[] = {r.id, r.name, r.category, r.price, r.supplier_id};
    text(ctx, v[i]);
    return SQLITE_OK;
  }
  if (t.kind == Kind::customers) {
    const CustomerRow& r = t.source->customers_[at];
    const std::string_view v[] = {r.id, r.first_name, r.last_name, r.email, r.membership_level, r.country};
    text(ctx, v[i]);
    return SQLITE_OK;
  }
  if (t.kind == Kind::rejects) {
    const LoadRow& row = *t.source->rejects_[at];
    switch (i) {
      case 0: sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(row.line)); break;
      case 1: text(ctx, reason_name(static_cast<Reason>(row.reason))); break;
      default: text(ctx, row.raw);
    }
    return SQLITE_OK;
  }
  const Fact& f = t.source->facts_[at]->fact;
  switch (i) {
    case 0: text(ctx, f.transaction_id); break;
    case 1: text(ctx, f.customer_id); break;
    case 2: text(ctx, f.product_id); break;
    case 3: text(ctx, f.product.name); break;
    case 4: text(ctx, f.product.category); break;
    case 5: text(ctx, f.product.supplier_id); break;
    case 6: text(ctx, f.customer.membership_level); break;
    case 7: text(ctx, f.customer.country); break;
    case 8: sqlite3_result_int64(ctx, f.quantity); break;
    case 9: text(ctx, f.product.price); break;
    case 10: text(ctx, f.amount()); break;
    case 11: text(ctx, amount_class_name(f.amount_class)); break;
    case 12: text(ctx, f.transaction_ts); break;
    case 13: text(ctx, f.transaction_date); break;
    case 14: text(ctx, f.status); break;
    default: text(ctx, f.payment_method);
  }
  return SQLITE_OK;
}

// Read-only, no transactions of its own. A null xCreate makes it eponymous-only: the module name
// is the table name, and no CREATE VIRTUAL TABLE ever touches the warehouse's schema.
template <Kind K>
constexpr sqlite3_module kModule = {
    .iVersion = 0,
    .xCreate = nullptr,
    .xConnect = connect<K>,
    .xBestIndex = best_index,
    .xDisconnect = disconnect,
    .xDestroy = nullptr,
    .xOpen = open,
    .xClose = close,
    .xFilter = filter,
    .xNext = next,
    .xEof = eof,
    .xColumn = column,
    .xRowid = rowid,
    .xUpdate = nullptr,
    .xBegin = nullptr,
    .xSync = nullptr,
    .xCommit = nullptr,
    .xRollback = nullptr,
    .xFindFunction = nullptr,
    .xRename = nullptr,
    .xSavepoint = nullptr,
    .xRelease = nullptr,
    .xRollbackTo = nullptr,
    .xShadowName = nullptr,
};

}  // namespace

SqliteRowSource::SqliteRowSource(sqlite3* db) {
  const std::pair<const char*, const sqlite3_module*> tables[] = {
      {"hivehook_facts", &kModule<Kind::facts>},
      {"hivehook_rejects", &kModule<Kind::rejects>},
      {"hivehook_products", &kModule<Kind::products>},
      {"hivehook_customers", &kModule<Kind::customers>}};
  for (const auto& [name, module] : tables)
    if (sqlite3_create_module_v2(db, name, module, this, nullptr) != SQLITE_OK)
      throw WarehouseError(std::string("sqlite: register ") + name + ": " + sqlite3_errmsg(db));
}

}  // namespace hivehook::etl
