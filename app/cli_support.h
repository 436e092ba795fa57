// What the read-only commands share: the config, the store opened read-only, printing.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "app/commands.h"
#include "rules/config.h"
#include "store/store.h"

namespace hivehook::cli {

// Loads the config; on error prints the diagnostics and sets g.exit_code = 2.
std::optional<Config> load_config_or_report(Globals& g);  // lenient: secrets may be unset
// Opens the state DB read-only; nullptr (message printed, exit 2) when there is none yet.
std::unique_ptr<Store> open_reader(const Config& config, Globals& g);
// "2023-03-15T13:45:12.345Z" from unix ms.
std::string time_text(int64_t ms);
// A key or other byte string made printable on one line (control bytes and invalid UTF-8 escaped).
std::string printable(const std::string& s);

}  // namespace hivehook::cli
