// The store's schema, versioned with PRAGMA user_version; migrate() brings any older file up to date.
#pragma once

#include "store/sqlite.h"

namespace hivehook {

inline constexpr int kSchemaVersion = 4;

// Applies every migration above the file's user_version, each in its own transaction.
// Throws StoreError when the file is newer than this build understands.
void migrate(sql::Db& db);

}  // namespace hivehook
