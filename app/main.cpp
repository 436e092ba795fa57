// hivehook: parse the command line and hand over to one command (app/cli_app.h).
#include "app/cli_app.h"

int main(int argc, char** argv) { return hivehook::cli::run_cli(argc, argv); }
