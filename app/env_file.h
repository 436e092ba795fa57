// systemd's EnvironmentFile= format (systemd.exec(5), "EnvironmentFile="), read the way systemd
// reads it (src/basic/env-file.c), so `hivehook check --env-file` sees what the service will see.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hivehook::cli {

struct EnvFileWarning {
  size_t line;       // 1-based
  std::string text;  // "no '=' in 'FOO'; line ignored"
};

struct EnvFile {
  std::vector<std::pair<std::string, std::string>> vars;  // in file order; a later one wins
  std::vector<EnvFileWarning> warnings;                  // lines systemd ignores
};

// Parses `text`:
// - blank lines and lines starting with '#' or ';' are ignored; a line without '=' is ignored (warned);
// - KEY=VALUE with whitespace around KEY and before VALUE skipped; KEY must be a valid variable
//   name ([A-Za-z_][A-Za-z0-9_]*), else the line is ignored (warned);
// - VALUE unquoted: a backslash escapes the next character, a backslash at the end of a line
//   continues the value on the next line, trailing whitespace is dropped;
// - '...' keeps everything literally; "..." where \" \\ \` \$ and backslash-newline are escapes
//   (any other backslash is kept); quoted and unquoted parts concatenate.
// Never throws; any bytes are accepted.
EnvFile parse_env_file(std::string_view text);

}  // namespace hivehook::cli
