#include "store/sql.h"

namespace hivehook::sql {

Db::Reused Db::cached(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) it = cache_.emplace(sql, prepare(sql)).first;
  return Reused(it->second);
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

Transaction::Transaction(Db& db) : db_(db) { db_.exec(db_.begin_sql()); }

Transaction::Transaction(Db& db, Statement& begin, Statement& commit, Statement& rollback)
    : db_(db), commit_(&commit), rollback_(&rollback) {
  begin.run();
}

Transaction::~Transaction() {
  if (!open_ || !db_.in_transaction()) return;  // committed, or the backend rolled back itself
  try {
    if (rollback_) rollback_->run();
    else db_.exec("ROLLBACK");
  } catch (const StoreError&) {  // nothing more to do from a destructor (a lost connection rolls back)
  }
}

void Transaction::commit() {
  if (commit_) commit_->run(); else db_.exec("COMMIT");
  open_ = false;
}

}  // namespace hivehook::sql
