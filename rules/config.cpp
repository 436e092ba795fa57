// Loading hivehook.yaml: read the YAML, walk the config table, then the checks that span keys.
#include <cstdlib>

#include "base/host_port.h"
#include "base/node_name.h"
#include "rules/schemas.h"
#include "rules/yaml_reader.h"

namespace hivehook {

namespace fs = std::filesystem;

bool path_within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // a trailing '/' on outer
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

std::string display_path(const fs::path& path) {
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  // Not from "/" (a service's working directory under systemd): "etc/hivehook/rules/x.yaml" would
  // read as a path relative to wherever the operator stands.
  if (!ec && path.is_absolute() && cwd != cwd.root_path() && path_within(path, cwd) && path != cwd)
    return path.lexically_relative(cwd).string();
  return path.string();
}

fs::path system_config_path() {
#ifdef HIVEHOOK_SYSCONFDIR
  return fs::path(HIVEHOOK_SYSCONFDIR) / "hivehook" / "hivehook.yaml";
#else
  return "/etc/hivehook/hivehook.yaml";
#endif
}

fs::path resolve_config_path(const std::string& cli_value, const fs::path& system_config) {
  if (!cli_value.empty()) return cli_value;
  if (const char* env = std::getenv("HIVEHOOK_CONFIG"); env && *env) return env;
  std::error_code ec;
  // An installed service's config, for `hivehook status` typed on the server.
  if (!fs::exists("hivehook.yaml", ec) && !system_config.empty() && fs::exists(system_config, ec)) return system_config;
  return "hivehook.yaml";
}

namespace {

YAML::Mark mark_of(const YAML::Node& root, const char* key) {
  if (root.IsMap() && root[key]) return root[key].Mark();
  return YAML::Mark::null_mark();
}

// Checks that need several keys at once.
void check_layout(const Config& c, const YAML::Node& root, schema::Reader& rd) {
  std::error_code ec;
  if (!fs::exists(c.rules, ec))
    rd.error(mark_of(root, "rules"), "rules: '" + display_path(c.rules) + "' does not exist (a file or a folder of *.yaml)");
  struct Place {
    const char* key;
    fs::path path;
  };
  std::vector<Place> inside{{"archive", c.archive}, {"quarantine", c.quarantine},
                            {"state", is_postgres_state(c.state.string()) ? c.state_dir : c.state},
                            {"rules", c.rules}};
  if (c.audit_log) inside.push_back({"audit_log", *c.audit_log});
  for (const auto& p : inside) {
    if (path_within(p.path, c.landing))
      rd.error(mark_of(root, p.key), std::string(p.key) + " '" + display_path(p.path) +
                                         "' is inside landing: its files would be picked up as new objects");
    else if (std::string(p.key) != "rules" && std::string(p.key) != "audit_log" && path_within(c.landing, p.path))
      rd.error(mark_of(root, "landing"), "landing is inside " + std::string(p.key) + " '" + display_path(p.path) + "'");
  }
}

std::optional<Config> load(const fs::path& file, Diagnostics& out, bool lenient) {
  Diagnostics diags;
  struct Flush {  // report in file order whatever way we leave
    Diagnostics& from;
    Diagnostics& to;
    ~Flush() {
      from.sort();
      to.append(from);
    }
  } flush{diags, out};
  fs::path abs = fs::absolute(file).lexically_normal();
  std::string display = display_path(abs);
  auto root = read_yaml_file(abs, display, diags);
  if (!root) return std::nullopt;

  Config c;
  c.file = abs;
  fs::path dir = abs.parent_path();
  c.archive = dir / "archive";
  c.quarantine = dir / "quarantine";
  c.state = dir / "state" / "hivehook.db";
  c.rules = dir / "rules";

  schema::Reader rd(display, dir, diags);
  if (root->IsNull()) {
    rd.error(YAML::Mark::null_mark(), "the config file is empty (at least 'landing' is required)");
    return lenient ? std::optional<Config>(c) : std::nullopt;
  }
  bool ok = schema::parse_mapping(*root, config_schema(), c, rd);
  if (c.bucket.empty() && !c.landing.empty()) c.bucket = c.landing.filename().string();
  if (c.node.empty()) c.node = default_node_name();
  if (c.state_dir.empty()) c.state_dir = is_postgres_state(c.state.string()) ? dir / "state" : c.state.parent_path();
  if (ok) check_layout(c, *root, rd);
  if (rd.error_count() > 0 && !lenient) return std::nullopt;
  return c;
}

}  // namespace

bool is_postgres_state(std::string_view state) {
  return state.rfind("postgresql://", 0) == 0 || state.rfind("postgres://", 0) == 0;
}

std::optional<Config> load_config(const fs::path& file, Diagnostics& diags) { return load(file, diags, false); }

std::optional<Config> load_config_lenient(const fs::path& file, Diagnostics& diags) {
  return load(file, diags, true);
}

}  // namespace hivehook

namespace hivehook {

std::string S3Config::endpoint_url() const {
  auto hp = parse_host_port(listen, nullptr);  // checked when the config was read
  return hp ? local_url(*hp, hp->port) : "";
}

std::string http_exposed_warning(const std::string& listen) {
  return "http.listen " + listen + " is reachable from other machines and there is no http.token: anyone who "
         "reaches it reads the console and the API (runs, job output, keys, rules); reads never need the token, so "
         "bind 127.0.0.1 and put an authenticating reverse proxy in front, or set http.token (replay and retry) and "
         "firewall the port (docs/console.md)";
}

}  // namespace hivehook
