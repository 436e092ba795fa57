// Loading hivehook.yaml: read the YAML, walk the config table, then the checks that span keys.
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

#include "base/host_port.h"
#include "base/node_name.h"
#include "rules/config_keys.h"
#include "rules/s3_buckets.h"
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

// The place of the first of `keys` the file gives (a null mark when it gives none of them).
YAML::Mark first_mark(const YAML::Node& root, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (auto m = mark_of(root, k); !m.is_null()) return m;
  return YAML::Mark::null_mark();
}

// A path as the daemon will reach it: symlinks in the part that exists resolved, the rest
// normalised (the daemon creates what is missing below the resolved part).
fs::path resolved(const fs::path& p) {
  std::error_code ec;
  fs::path r = fs::weakly_canonical(p, ec);
  if (ec) r = p.lexically_normal();
  if (!r.has_filename() && r.has_relative_path()) r = r.parent_path();  // "a/b/" is "a/b"
  return r;
}

// (st_dev, st_ino) of folder `p` and of each folder above it on its path, `p`'s own first; empty
// when `p` does not exist (yet).
std::vector<std::pair<dev_t, ino_t>> identities_up(const fs::path& p) {
  std::vector<std::pair<dev_t, ino_t>> ids;
  for (fs::path at = p;; at = at.parent_path()) {
    struct stat st;
    if (::stat(at.c_str(), &st) != 0) break;
    ids.emplace_back(st.st_dev, st.st_ino);
    if (at == at.parent_path()) break;
  }
  return ids;
}

// Trees that are one folder, or one inside another, by what they are rather than by their paths:
// a bind mount (two container volumes of one host folder) gives one folder two unrelated paths
// (issue 10 retest T16: `check` said OK, and the mover deleted an archived file). Pairs the path
// comparison already caught are left to it.
template <typename Place, typename Error>
void check_tree_identities(const Place (&trees)[3], Error error) {
  std::vector<std::pair<dev_t, ino_t>> ids[3];
  for (std::size_t i = 0; i < 3; ++i) ids[i] = identities_up(trees[i].real);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      if (i == j || ids[i].empty() || ids[j].empty() || path_within(trees[i].real, trees[j].real)) continue;
      if (path_within(trees[j].real, trees[i].real)) continue;
      const auto& self = ids[j].front();
      auto at = std::find(ids[i].begin(), ids[i].end(), self);
      if (at == ids[i].end() || (at == ids[i].begin() && i < j)) continue;  // a same-folder pair once
      error(trees[i], trees[j], at == ids[i].begin());
    }
}

// "'a/b'", or "'a/b' (resolves to '/x/b')" when a symlink takes it elsewhere.
std::string shown(const fs::path& configured, const fs::path& real) {
  std::string s = "'" + display_path(configured) + "'";
  if (real != configured.lexically_normal()) s += " (resolves to '" + display_path(real) + "')";
  return s;
}

// The folders hivehook serves or scans (landing, archive, quarantine) and the places it writes its
// own files outside them (state, state_dir, audit_log): no tree inside another, none of its own
// files inside a tree, no tree inside a folder of its own it writes and clears. Compared after
// resolving symlinks, as the daemon's file operations will.
void check_overlaps(const Config& c, const YAML::Node& root, schema::Reader& rd) {
  struct Place {
    std::string key;
    fs::path path, real;
  };
  auto place = [](std::string key, const fs::path& p) { return Place{std::move(key), p, resolved(p)}; };
  auto mark = [&root](std::initializer_list<const char*> keys) { return first_mark(root, keys); };
  // (each error at the key to change, else at the other key involved: a default is not in the file)
  const Place trees[] = {place("landing", c.landing), place("archive", c.archive), place("quarantine", c.quarantine)};
  auto tree_text = [&](const Place& t) {
    return t.key == "landing" ? std::string("landing") : t.key + " " + shown(t.path, t.real);
  };

  // Trees: archive and quarantine inside landing; landing inside either; one inside the other.
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      if (i == j) continue;
      const Place& in = trees[i];
      const Place& out = trees[j];
      if (!path_within(in.real, out.real)) continue;
      if (in.real == out.real) {
        if (i > j)
          rd.error(mark({in.key.c_str(), out.key.c_str()}), in.key + " " + shown(in.path, in.real) +
                                                                " is the same folder as " + out.key +
                                                                ": each needs its own folder, none inside another");
      } else if (out.key == "landing") {
        rd.error(
            mark({in.key.c_str(), out.key.c_str()}),
            in.key + " " + shown(in.path, in.real) + " is inside landing: its files would be picked up as new objects");
      } else {
        rd.error(mark({in.key.c_str(), out.key.c_str()}),
                 in.key + (in.key == "landing" ? "" : " " + shown(in.path, in.real)) + " is inside " + tree_text(out) +
                     ": each needs its own folder, none inside another");
      }
    }

  check_tree_identities(trees, [&](const Place& in, const Place& out, bool same) {
    rd.error(mark({in.key.c_str(), out.key.c_str()}),
             in.key + " " + shown(in.path, in.real) + (same ? " is the same folder as " : " is inside ") + out.key +
                 " " + shown(out.path, out.real) +
                 " (one folder reached by two paths: a bind mount?): each needs its own folder, none inside another");
  });

  // Its own files: what the daemon writes outside the trees.
  std::vector<std::pair<Place, const char*>> own;  // and the key of its own default
  const bool postgres = is_postgres_state(c.state.string());
  if (!postgres) own.push_back({place("state", c.state), "state"});
  // state_dir defaults to the SQLite file's folder: the state's own check covers it then.
  const bool state_dir_given = !mark_of(root, "state_dir").is_null();
  if (postgres || state_dir_given) own.push_back({place("state_dir", c.state_dir), "state"});
  if (c.audit_log) own.push_back({place("audit_log", *c.audit_log), "audit_log"});
  for (const auto& [p, from] : own)
    for (const auto& t : trees) {
      if (!path_within(p.real, t.real)) continue;
      const YAML::Mark m = mark({p.key.c_str(), from, t.key.c_str()});
      if (t.key == "landing")
        rd.error(
            m, p.key + " " + shown(p.path, p.real) + " is inside landing: its files would be picked up as new objects");
      else
        rd.error(m, p.key + " " + shown(p.path, p.real) + " is inside " + tree_text(t) +
                        ": hivehook's own files would sit among the " +
                        (t.key == "archive" ? "archived" : "quarantined") + " objects, served as objects of the " +
                        t.key +
                        " bucket by the S3 API; put it outside landing, "
                        "archive and quarantine");
    }

  // Folders of its own it fills and clears (job results, S3 upload staging): no tree inside them.
  const Place cleared[] = {place("state_dir", c.state_dir / "results"), place("state_dir", c.state_dir / "s3-uploads")};
  for (const auto& t : trees)
    for (const auto& f : cleared)
      if (path_within(t.real, f.real))
        rd.error(mark({t.key.c_str(), "state_dir", "state"}), t.key + " " + shown(t.path, t.real) + " is inside " +
                                                                  shown(f.path, f.real) +
                                                                  ", where hivehook keeps (and clears) its own files");
  if (!postgres)
    for (const auto& t : trees)
      if (path_within(t.real, resolved(c.state)))
        rd.error(mark({t.key.c_str(), "state"}), t.key + " " + shown(t.path, t.real) + " is the state file's path");
}

// Checks that need several keys at once.
void check_layout(const Config& c, const YAML::Node& root, schema::Reader& rd) {
  std::error_code ec;
  if (!fs::exists(c.rules, ec))
    rd.error(mark_of(root, "rules"),
             "rules: '" + display_path(c.rules) + "' does not exist (a file or a folder of *.yaml)");
  if (path_within(resolved(c.rules), resolved(c.landing)))
    rd.error(first_mark(root, {"rules", "landing"}),
             "rules '" + display_path(c.rules) + "' is inside landing: its files would be picked up as new objects");
  check_overlaps(c, root, rd);
  if (c.s3)
    for (const auto& p : s3_bucket_problems(c.landing, c.bucket, c.archive, c.quarantine))
      // At the key to change; a default folder's problem at the other folder of the pair.
      rd.error(first_mark(root, {p.key.c_str(), "archive", "quarantine", "landing"}), "s3: " + p.message);
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

std::string http_exposed_warning(const std::string& listen) { return http_exposed_warning("http.listen", listen); }

}  // namespace hivehook
