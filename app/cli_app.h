// The command tree: hivehook's root options, every command, and one style of error message.
#pragma once

#include <CLI/CLI.hpp>

#include "app/cli_support.h"

namespace hivehook::cli {

// hivehook itself, documented like a command: the source of hivehook(1) and of `hivehook --help`.
const CommandDoc& program_doc();

// Registers -c/--config, --version and every command (app/cmd_*.cpp) on `app`; errors print as
// "hivehook <command>: <message>" plus where to find help.
void build_cli(CLI::App& app, Globals& g);

// Parses argv and runs the command; returns the exit status (0, 1, or 2 for usage errors).
int run_cli(int argc, char** argv);

}  // namespace hivehook::cli
