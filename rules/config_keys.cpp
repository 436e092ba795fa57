#include "rules/config_keys.h"

namespace hivehook {

std::string listen_key(const YAML::Node& root) {
  return root.IsMap() && root["metrics"] ? "metrics" : "http.listen";
}

std::string listen_key(const std::filesystem::path& config_file) {
  if (config_file.empty()) return "http.listen";
  try {
    return listen_key(YAML::LoadFile(config_file.string()));
  } catch (const YAML::Exception&) {
    return "http.listen";
  }
}

std::string http_exposed_warning(const std::string& key, const std::string& listen) {
  return key + " " + listen + " is reachable from other machines and there is no http.token: anyone who "
         "reaches it reads the console and the API (runs, job output, keys, rules); reads never need the token, so "
         "bind 127.0.0.1 and put an authenticating reverse proxy in front, or set http.token (replay and retry) and "
         "firewall the port (docs/console.md)";
}

}  // namespace hivehook
