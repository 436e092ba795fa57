// Man pages of the CLI, rendered in roff (man(7)) from the same CLI11 tree and CommandDoc that
// --help prints: hivehook(1) for the program and hivehook-<command>(1) for each visible command.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "app/cli_support.h"

namespace hivehook::cli {

struct ManPage {
  std::string file_name;  // "hivehook-run.1"
  std::string text;       // roff source
};

// Every page: hivehook.1 first, then one per visible command in registration order. Deterministic
// (no date), so a rebuild gives byte-identical pages.
// `program` documents hivehook itself (NAME, DESCRIPTION, EXIT STATUS, EXAMPLES of hivehook(1)).
std::vector<ManPage> man_pages(CLI::App& root, const CommandDoc& program);

}  // namespace hivehook::cli
