// Config keys as the operator's file spells them, for messages about a setting (a reload's "needs a
// restart", a listen error at start, a warning). The parsed Config keeps values, not spellings:
// `metrics: HOST:PORT` is the short form of `http: {listen: HOST:PORT}`, and a message about the
// address names whichever of the two the file has.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>

namespace hivehook {

// "metrics" when the config's root mapping has `metrics:`, else "http.listen".
std::string listen_key(const YAML::Node& root);
// The same, read from the config file as it is on disk now; "http.listen" when it cannot be read.
std::string listen_key(const std::filesystem::path& config_file);
// The warning `check` and the daemon's start-up give when the listen address is reachable beyond
// this machine (not loopback) and there is no http.token, naming the key as written ("metrics
// 0.0.0.0:9464 is reachable from other machines ...").
std::string http_exposed_warning(const std::string& key, const std::string& listen);

}  // namespace hivehook
