// `hivehook retry KEY... | --all-failed`: put quarantined objects back into landing, where the
// daemon (or the next scan) discovers them as new arrivals.
#include <fcntl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "app/cli_support.h"
#include "archive/mover.h"
#include "store/queries.h"

namespace hivehook::cli {

namespace {
struct RetryOptions {
  std::vector<std::string> keys;
  bool all_failed = false;
};

int run_retry(Globals& g, const RetryOptions& o) {
  if (o.keys.empty() == !o.all_failed) {
    error(g) << "give KEY... or --all-failed\n";
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
        error(g) << "" << printable(k) << " is not quarantined\n";
        rc = kExitFailure;
      }
      todo.insert(todo.end(), found.begin(), found.end());
    }
  }
  auto quarantine = Tree::open(config->quarantine);
  auto landing = Tree::open(config->landing);
  if (!quarantine || !landing) {
    error(g) << (quarantine ? landing.message() : quarantine.message()) << "\n";
    return kExitFailure;
  }
  int moved = 0;
  for (const auto& obj : todo) {
    std::filesystem::path from = obj.final_path;
    const std::string rel = std::filesystem::relative(from, config->quarantine).string();
    // Beneath both trees, across filesystems too, never over a file that landed at the key meanwhile.
    auto m = move_object(*quarantine, rel, *landing, obj.key, "");
    if (!m.ok) {
      error(g) << (m.source_missing ? from.string() + " is gone" : m.error) << "\n";
      rc = kExitFailure;
      continue;
    }
    (void)quarantine->unlink(rel + ".error.json");  // beneath quarantine too; already gone is fine
    std::cout << "retry: " << printable(obj.key) << "\n";
    ++moved;
  }
  std::cout << moved << " object(s) put back into landing\n";
  return rc;
}
}  // namespace

void add_retry(CLI::App& app, Globals& g) {
  auto* cmd = add_command(
      app, g,
      {.name = "retry",
       .summary = "Put quarantined objects back into landing to run again",
       .details = "Moves each quarantined object (the latest arrival at its key) from quarantine/ back to its key "
                  "in landing, never over a file that landed there meanwhile, and removes its .error.json. The "
                  "daemon (or the next scan) discovers it as a new arrival and runs every matching rule again.",
       .exit_status = "0 every object moved; 1 a key was not quarantined or could not be moved; 2 usage error "
                      "(neither KEY nor --all-failed) or invalid config.",
       .examples = "  hivehook retry transactions/year=2023/month=03/day=16/transactions_2023-03-16.csv\n"
                   "  hivehook retry --all-failed"});
  auto o = std::make_shared<RetryOptions>();
  cmd->add_option("KEY", o->keys, "keys of quarantined objects");
  cmd->add_flag("--all-failed", o->all_failed, "every object whose latest arrival is quarantined");
  cmd->callback([&g, o] { g.exit_code = run_retry(g, *o); });
}

}  // namespace hivehook::cli
