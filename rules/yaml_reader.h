// Reading one YAML file, with read and syntax errors reported at file:line:col.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <optional>
#include <string>

#include "rules/diagnostics.h"

namespace hivehook {

// The file's single document (a Null node when the file is empty), or nullopt after reporting why
// it could not be read or parsed. `display` is the name used in diagnostics.
std::optional<YAML::Node> read_yaml_file(const std::filesystem::path& file, const std::string& display,
                                         Diagnostics& diags);
// The same in two steps: the file's bytes (nullopt after reporting why it could not be read), and
// a text's single document (nullopt after reporting a syntax error at display:line:col).
std::optional<std::string> read_text_file(const std::filesystem::path& file, const std::string& display,
                                          Diagnostics& diags);
std::optional<YAML::Node> parse_yaml_text(const std::string& text, const std::string& display, Diagnostics& diags);

}  // namespace hivehook
