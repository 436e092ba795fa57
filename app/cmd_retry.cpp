// `hivehook retry KEY... | --all-failed`: put quarantined objects back into landing, where the
// daemon (or the next scan) discovers them as new arrivals.
#include <fcntl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "app/cli_support.h"
#include "store/queries.h"

namespace hivehook::cli {

namespace {
struct RetryOptions {
  std::vector<std::string> keys;
  bool all_failed = false;
};

int run_retry(Globals& g, const RetryOptions& o) {
  if (o.keys.empty() == !o.all_failed) {
    std::cerr << "hivehook retry: give KEY... or --all-failed\n";
    return kExitUsage;
  }
  auto config = load_config_or_report(g);
  if (!config) return kExitUsage;
  auto store = open_reader(*config, g);
  if (!store) return kExitUsage;
  std::vector<ObjectRecord> todo;
  int rc = kExitOk;
  if (o.all_failed) {
    todo = quarantined_objects(*store);
  } else {
    for (const auto& k : o.keys) {
      auto found = quarantined_objects(*store, k);
      if (found.empty()) {
        std::cerr << "hivehook retry: " << printable(k) << " is not quarantined\n";
        rc = kExitFailure;
      }
      todo.insert(todo.end(), found.begin(), found.end());
    }
  }
  int moved = 0;
  for (const auto& obj : todo) {
    std::filesystem::path from = obj.final_path;
    std::filesystem::path to = config->landing / obj.key;
    std::error_code ec;
    if (!std::filesystem::exists(from, ec)) {
      std::cerr << "hivehook retry: " << from.string() << " is gone\n";
      rc = kExitFailure;
      continue;
    }
    std::filesystem::create_directories(to.parent_path(), ec);
    // RENAME_NOREPLACE: never clobber a file that landed at that key meanwhile.
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
      std::cerr << "hivehook retry: cannot move " << from.string() << " to " << to.string() << ": "
                << std::strerror(errno) << "\n";
      rc = kExitFailure;
      continue;
    }
    std::filesystem::remove(std::filesystem::path(from.string() + ".error.json"), ec);
    std::cout << "retry: " << printable(obj.key) << "\n";
    ++moved;
  }
  std::cout << moved << " object(s) put back into landing\n";
  return rc;
}
}  // namespace

void add_retry(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("retry", "Put quarantined objects back into landing to run again.");
  auto o = std::make_shared<RetryOptions>();
  cmd->add_option("keys", o->keys, "keys of quarantined objects");
  cmd->add_flag("--all-failed", o->all_failed, "every object whose latest arrival is quarantined");
  cmd->callback([&g, o] { g.exit_code = run_retry(g, *o); });
}

}  // namespace hivehook::cli
