// Named values the daemon keeps in the state DB beside its state machines (table `meta`): small
// facts that must outlive a restart and that read-only commands show, such as the last good rules.
#pragma once

#include <optional>
#include <string>

#include "store/store.h"

namespace hivehook {

// Sets `name` to `value` (owner). Joins the store's open batch when there is one (committed with
// it), else commits at once. Throws sql::StoreError.
void put_meta(Store& store, const std::string& name, const std::string& value);
// Removes `name` (owner); nothing when it is not set. Same transaction rules as put_meta.
void erase_meta(Store& store, const std::string& name);
// The value of `name`, or nullopt when it is not set (owner or reader).
std::optional<std::string> get_meta(Store& store, const std::string& name);

}  // namespace hivehook
