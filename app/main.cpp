// hivehook: parse the command line and hand over to one command.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "app/commands.h"

int main(int argc, char** argv) {
  using namespace hivehook::cli;
  CLI::App app{"hivehook: S3 + Lambda + Glue + SNS for one Linux machine's folders", "hivehook"};
  app.set_version_flag("--version", std::string("hivehook ") + HIVEHOOK_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // -c works before or after the command
  Globals g;
  app.add_option("-c,--config", g.config, "config file (default: $HIVEHOOK_CONFIG, else ./hivehook.yaml)");

  add_run(app, g);
  add_scan(app, g);
  add_check(app, g);
  add_match(app, g);
  add_status(app, g);
  add_audit(app, g);
  add_runs(app, g);
  add_retry(app, g);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "hivehook: " << e.what() << "\n";
    return kExitUsage;
  }
  return g.exit_code;
}
