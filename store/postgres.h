// The PostgreSQL backend of the store's SQL interface (store/sql.h), over libpq: `state:
// postgresql://USER@HOST:PORT/DB` (any libpq connection URI or key=value string).
// - `?` parameters are numbered $1..$n (outside quoted strings and identifiers); parameters are
//   sent as text with their bound type (bigint or text; NULL lets the server infer it).
// - A statement is prepared on the server at its second execution (one-off queries never leave a
//   prepared statement behind); prepared names are per connection and redone after a reconnect.
// - The database must be byte-transparent, as SQLite's TEXT is: a key is whatever bytes the file
//   name holds, not necessarily UTF-8. The store refuses (require_byte_transparent) a database
//   whose server_encoding is not SQL_ASCII, naming the CREATE DATABASE that makes one. PostgreSQL text cannot hold a NUL
//   byte: a bound NUL (only job output can have one) is stored as 0x1A (ASCII SUB), byte for byte.
// - Failures carry a code in SQLite's vocabulary (sql::StoreError): a lost connection or a server
//   shutting down is SQLITE_IOERR, disk full (53100) SQLITE_FULL, a serialization failure or
//   deadlock SQLITE_BUSY, an integrity violation SQLITE_CONSTRAINT. A connection lost outside a
//   transaction is re-established at the next statement; lost inside one, every statement fails
//   until the caller's ROLLBACK (the batch is never half-applied on a fresh connection).
#pragma once

#include <string>

#include "store/sql.h"

namespace hivehook::sql {

// True for "postgresql://..." and "postgres://..." (the URI schemes libpq accepts).
bool is_postgres_url(std::string_view state);

// `url` with the session's application_name set to `name`, so that it survives a reconnect (libpq
// PQreset reuses the connection string) and other sessions can read it from pg_stat_activity. A
// URI gets a percent-encoded `application_name` query parameter (RFC 3986 section 2.1; libpq's
// "Connection URIs"); a key=value string gets `application_name='...'` (quotes and backslashes
// escaped, libpq's "Keyword/Value Connection Strings").
std::string with_application_name(const std::string& url, const std::string& name);

// Connects. Throws StoreError (SQLITE_CANTOPEN) with libpq's message, the password masked.
Db open_postgres(const std::string& url);

// Takes the session-level advisory lock `key` on this connection and keeps it: after a reconnect
// the lock is taken again before any statement is sent, and when another session holds it by then,
// this connection is fenced — every statement fails (SQLITE_PERM: not a passing fault to wait
// out, the owner must stop) from then on. The store's owner
// holds its writer lock this way, so a daemon whose session was cut off (a server restart, a
// partition) never writes beside the one that took the state over. Throws StoreError
// (SQLITE_BUSY, `holder_message`) when the lock is held elsewhere now.
void hold_session_lock(Db& db, int64_t key, const std::string& holder_message);

// Throws StoreError (SQLITE_CANTOPEN) naming the CREATE DATABASE to use unless the database's
// server_encoding is SQL_ASCII (see above). The store checks this at open.
void require_byte_transparent(Db& db, const std::string& url);

// The URL with any password replaced by "***", for messages and `status`.
std::string redact_url(const std::string& url);

}  // namespace hivehook::sql
