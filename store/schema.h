// The store's schema, versioned (SQLite: PRAGMA user_version; PostgreSQL: the hivehook_schema
// table); migrate() brings any older state up to date, on either backend.
#pragma once

#include <string>

#include "store/sql.h"

namespace hivehook {

inline constexpr int kSchemaVersion = 7;

// Applies every migration above the state's version (SQLite: each in its own transaction;
// PostgreSQL: all in one, under an advisory lock so that nodes starting together migrate once).
// Throws StoreError when the state is newer than this build understands.
void migrate(sql::Db& db);

// The state's schema version (0: empty).
int schema_version(sql::Db& db);

// A migration's SQLite DDL as PostgreSQL DDL: INTEGER PRIMARY KEY (SQLite's rowid alias) → BIGINT
// identity primary key; INTEGER → BIGINT (SQLite's integers are 64-bit); REAL → DOUBLE PRECISION;
// BLOB → BYTEA; WITHOUT ROWID dropped; REFERENCES clauses dropped (SQLite runs with
// foreign_keys=OFF, and both backends must accept the same writes); `INSERT OR IGNORE INTO ...;`
// → `INSERT INTO ... ON CONFLICT DO NOTHING;`.
std::string postgres_ddl(std::string ddl);

}  // namespace hivehook
