// Shell completion scripts for bash and zsh, generated from the same CLI11 tree as --help: the
// commands, each command's options (FILE/DIR values complete paths) and its positional words.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace hivehook::cli {

// The bash script (`complete -F _hivehook hivehook`); needs nothing but bash itself.
std::string bash_completion(CLI::App& root);
// The zsh script (`#compdef hivehook`, for a folder on $fpath).
std::string zsh_completion(CLI::App& root);

}  // namespace hivehook::cli
