// hivehook.yaml: the daemon's configuration, typed and validated (see DESIGN.md "Config").
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "base/clock.h"
#include "rules/diagnostics.h"

namespace hivehook {

// "250ms", "30s", "10m", "1h" (and "0"); nullopt when malformed.
std::optional<Duration> parse_duration(std::string_view text);
std::string format_duration(Duration d);

// "${VAR}" expansion from the environment; "$$" is a literal '$' (a lone '$' is kept). A missing
// variable is an error: returns nullopt and sets *error to a sentence naming it (or to a syntax
// complaint).
std::optional<std::string> expand_env(std::string_view text, std::string* error);

struct BackoffPolicy {
  Duration initial = std::chrono::seconds(1);
  Duration max = std::chrono::minutes(5);
};

struct WebhookTarget {
  std::string url;
  std::string secret;  // empty: unsigned
  std::map<std::string, std::string> headers;
};

enum class TlsMode { none, starttls, tls };

struct SmtpTarget {
  std::string url;  // smtp://host:port or smtps://host:port
  TlsMode tls = TlsMode::none;
  std::string from;
  std::vector<std::string> to;
  std::string username;  // optional
  std::string password;  // optional
};

struct NotifyTarget {
  std::string name;
  std::variant<WebhookTarget, SmtpTarget> kind;
  Duration timeout = std::chrono::seconds(5);
  int max_attempts = 10;                        // delivery attempts before notify.dead
  Duration max_age = std::chrono::hours(1);     // or this long after the first attempt
  BackoffPolicy backoff{std::chrono::seconds(2), std::chrono::minutes(5)};
};

struct LogConfig {
  std::string level = "info";   // trace | debug | info | warn | error
  std::string format = "text";  // text | json
};

// The S3 API (DESIGN.md "S3 API (local S3)"): an S3-compatible endpoint over landing, archive and
// quarantine, every request signed with this one key pair (SigV4).
struct S3Config {
  std::string listen;             // "HOST:PORT"
  std::string access_key_id;
  std::string secret_access_key;  // usually ${S3_SECRET}
  std::string region = "us-east-1";
  bool fsync = true;                                  // an object is on disk before the client's 200
  Duration multipart_expiry = std::chrono::hours(24);  // idle multipart uploads are aborted after this
  std::size_t max_connections_per_client = 512;        // per remote IP address (loopback clients share one)

  // "http://127.0.0.1:9000" for clients on this machine (a wildcard listen address becomes loopback),
  // e.g. AWS_ENDPOINT_URL_S3 for jobs.
  std::string endpoint_url() const;
  // Every field: a reload compares whole sections, so a key added here is never silently ignored
  // on SIGHUP (the S3 endpoint applies none without a restart).
  bool operator==(const S3Config&) const = default;
};

// True when a config's `state:` names a PostgreSQL database ("postgresql://", "postgres://").
bool is_postgres_state(std::string_view state);

// The daemon's HTTP listener (`http:`; `metrics: HOST:PORT` is the short form of `http: {listen: HOST:PORT}`).
struct HttpConfig {
  std::string listen;  // "HOST:PORT", as base/host_port.h parses it
  std::string token;   // the bearer token POST /api/v1/replay and /retry need; "" = the API is read-only
  // http.read_auth: token — the API's reads (GET /api/v1/...) need http.token or the daemon's local
  // token too; /metrics, /healthz and the console's own files stay open (issue 16 P11). false = open.
  bool read_needs_token = false;
};

// The warning `check` and the daemon's start-up give when http.listen is reachable beyond this
// machine (not loopback) and there is no http.token: who reaches it reads runs, output, keys and
// rules (masked, but still the pipeline's inner workings).
std::string http_exposed_warning(const std::string& listen);

struct Config {
  std::filesystem::path file;  // the config file itself (absolute)
  // landing, archive, quarantine: absolute. state: an absolute SQLite path, or a postgresql:// URL
  // as written (is_postgres_state). state_dir: absolute, this node's local files (job results,
  // S3 staging); empty until load fills it in (see state_folder()).
  std::filesystem::path landing, archive, quarantine, state, state_dir;
  std::optional<std::filesystem::path> audit_log;             // absolute
  std::string bucket;                                          // default: landing's basename
  int workers = 4;
  std::vector<std::string> ignore{".*", "*.tmp", "*.part", "*~", "_COPYING_"};
  std::filesystem::path rules;  // file or folder (absolute)
  Duration shutdown_grace = std::chrono::seconds(30);
  Duration reconcile = std::chrono::minutes(10);  // 0 = off
  Duration move_alert_after = std::chrono::minutes(5);  // /healthz 503 while a move fails longer
  // Cluster mode (docs/cluster.md): this daemon's node name (`node:`, `run --node`; default: the
  // host name, base/node_name.h) and its lease.
  std::string node;
  Duration node_lease = std::chrono::seconds(15);
  std::map<std::string, NotifyTarget> notify;
  // Secrets of the notify targets: the names of every ${VAR} they use (never passed to a job) and
  // those variables' values (redacted wherever text is written).
  std::set<std::string> secret_env;
  std::vector<std::string> secret_values;
  std::optional<HttpConfig> http;  // /metrics, /healthz, the console and /api/v1 (off when absent)
  std::optional<S3Config> s3;
  LogConfig log;
};

// Loads and validates a config file. Every problem goes to `diags` as file:line:col; returns
// nullopt when there is any error. Relative paths resolve against the config file's folder.
std::optional<Config> load_config(const std::filesystem::path& file, Diagnostics& diags);

// Like load_config, but returns whatever could be read even when some keys have errors (nullopt
// only when the file is unreadable or not YAML), so `check` can go on and report rule errors too.
std::optional<Config> load_config_lenient(const std::filesystem::path& file, Diagnostics& diags);

// A path as shown in messages: relative to the current directory when below it, else absolute.
std::string display_path(const std::filesystem::path& path);

// The installed service's config: HIVEHOOK_SYSCONFDIR (/etc) + "/hivehook/hivehook.yaml".
std::filesystem::path system_config_path();
// Where the config comes from: -c FILE, else $HIVEHOOK_CONFIG, else ./hivehook.yaml, else
// `system_config` (default: system_config_path()) when ./hivehook.yaml does not exist and it does.
std::filesystem::path resolve_config_path(const std::string& cli_value,
                                          const std::filesystem::path& system_config = system_config_path());

}  // namespace hivehook
