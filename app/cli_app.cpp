#include "app/cli_app.h"
#include "base/build_info.h"

#include <iostream>
#include <optional>

#include "rules/schema.h"

namespace hivehook::cli {

const CommandDoc& program_doc() {
  static const CommandDoc doc{
      .name = "hivehook",
      .summary = "S3 + Lambda + Glue + SNS for one Linux machine's folders",
      .details =
          "Drop (or rename) a file into a hive-partitioned landing tree such as "
          "landing/transactions/year=2023/month=03/day=15/x.csv; every rule whose match fits the key runs its job "
          "(a child process that gets the S3 event JSON on stdin, as a Lambda would); every step is recorded in a "
          "SQLite store; the file moves to archive/ (or quarantine/ when its job failed for good); a notification "
          "goes out by webhook or SMTP.\n\n"
          "The config comes from -c FILE, else $HIVEHOOK_CONFIG, else ./hivehook.yaml, else " HIVEHOOK_SYSCONFDIR
          "/hivehook/hivehook.yaml. Relative paths in it are relative to its folder. Every command takes -c, before "
          "or after the command's name.",
      .exit_status = "0 success; 1 the work failed (a job, a check); 2 usage or configuration error.",
      .examples = "  hivehook check -c /etc/hivehook/hivehook.yaml\n"
                  "  hivehook run -c /etc/hivehook/hivehook.yaml\n"
                  "  hivehook status\n"
                  "  hivehook runs --failed",
  };
  return doc;
}

namespace {

// "hivehook bogus": CLI11 would say "A subcommand is required". Find the first word that is not an
// option (nor -c's value) and name it when it is no command.
std::optional<std::string> unknown_command(CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-c" || a == "--config") {
      ++i;
      continue;
    }
    if (a.rfind("-", 0) == 0) continue;
    for (const CLI::App* sub : app.get_subcommands({}))
      if (sub->get_name() == a) return std::nullopt;
    return a;
  }
  return std::nullopt;
}

std::string command_list(CLI::App& app) {
  std::string out;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App* a) { return !a->get_group().empty(); }))
    out += (out.empty() ? "" : ", ") + sub->get_name();
  return out;
}

}  // namespace

void build_cli(CLI::App& app, Globals& g) {
  const CommandDoc& doc = program_doc();
  app.description("hivehook: " + doc.summary + ".");
  app.footer("\n" + wrap(doc.details + "\n\nExit status: " + doc.exit_status +
                         "\n\nRun 'hivehook COMMAND --help' for a command's options, or 'man hivehook-COMMAND'."));
  app.set_version_flag("--version", version_line());  // version and commit (issue 16 P15)
  app.require_subcommand(1);
  app.fallthrough();  // -c works before or after the command
  app.add_option("-c,--config", g.config, kConfigHelp)->type_name("FILE");
  app.failure_message([](const CLI::App* root, const CLI::Error& e) {
    std::string who = "hivehook";
    auto parsed = root->get_subcommands();
    if (!parsed.empty()) who += " " + parsed.back()->get_name();
    return who + ": " + e.what() + "\nRun '" + who + " --help' for usage.\n";
  });

  add_run(app, g);
  add_scan(app, g);
  add_check(app, g);
  add_match(app, g);
  add_status(app, g);
  add_audit(app, g);
  add_runs(app, g);
  add_retry(app, g);
  add_partitions(app, g);
  add_replay(app, g);
  add_completion(app, g);
  add_manpages(app, g);
}

int run_cli(int argc, char** argv) {
  CLI::App app;
  app.name("hivehook");
  Globals g;
  build_cli(app, g);
  if (auto word = unknown_command(app, argc, argv)) {
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App* a) { return !a->get_group().empty(); }))
      names.push_back(sub->get_name());
    std::string hint = schema::closest(*word, std::vector<std::string_view>(names.begin(), names.end()));
    std::cerr << "hivehook: unknown command '" << *word << "'" << (hint.empty() ? "" : " (did you mean '" + hint + "'?)")
              << "\nCommands: " << command_list(app) << ". Run 'hivehook --help' for usage.\n";
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::RequiredError& e) {
    if (app.get_subcommands().empty()) {  // no command at all
      std::cerr << "hivehook: a command is required: " << command_list(app)
                << ".\nRun 'hivehook --help' for usage.\n";
      return kExitUsage;
    }
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  } catch (const std::exception& e) {
    error(g) << e.what() << "\n";
    return kExitUsage;
  }
  return g.exit_code;
}

}  // namespace hivehook::cli
