// The SQLite backend of the store's SQL interface (store/sql.h): one sqlite3 connection, statements
// prepared with SQLITE_PREPARE_PERSISTENT, extended result codes, a 5 s busy timeout.
#pragma once

#include <sqlite3.h>

#include <string>

#include "store/sql.h"

namespace hivehook::sql {

// Opens the file. flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, or SQLITE_OPEN_READONLY.
// Throws StoreError ("cannot open PATH: reason") with SQLite's result code.
Db open_sqlite(const std::string& path, int flags);

}  // namespace hivehook::sql
