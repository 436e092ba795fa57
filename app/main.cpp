// hivehook: parse the command line and hand over to one command (app/cli_app.h).
#include "app/cli_app.h"
#include "app/journal_stderr.h"

int main(int argc, char** argv) {
  hivehook::prefix_stderr_for_journal();  // under systemd, refusals on stderr reach the journal as errors
  return hivehook::cli::run_cli(argc, argv);
}
