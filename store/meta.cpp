#include "store/meta.h"

namespace hivehook {

void put_meta(Store& store, const std::string& name, const std::string& value) {
  auto st = store.db().cached("INSERT INTO meta(name, value) VALUES(?, ?) "
                               "ON CONFLICT(name) DO UPDATE SET value = excluded.value");
  st->bind(1, name).bind(2, value).run();
}

void erase_meta(Store& store, const std::string& name) {
  auto st = store.db().cached("DELETE FROM meta WHERE name = ?");
  st->bind(1, name).run();
}

std::optional<std::string> get_meta(Store& store, const std::string& name) {
  auto st = store.db().cached("SELECT value FROM meta WHERE name = ?");
  st->bind(1, name);
  if (!st->step()) return std::nullopt;
  return st->text(0);
}

}  // namespace hivehook
