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

}  // namespace hivehook
