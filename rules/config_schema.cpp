// The tables for hivehook.yaml: every key, its type, default and checks, in one place.
// The tables use designated initializers and rely on the defaults of the keys they leave out;
// g++ 12 still warns about those under -Wextra.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <algorithm>
#include <cstdlib>

#include "base/host_port.h"
#include "base/node_name.h"
#include "rules/config_keys.h"
#include "rules/schemas.h"

namespace hivehook {

using schema::Field;
using schema::Mapping;
using schema::Reader;
using schema::Type;
using schema::Value;

namespace {

bool is_name(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

std::optional<std::string> url_scheme_check(std::string_view url, std::initializer_list<std::string_view> schemes) {
  // White space or a control character: no URL holds one (RFC 3986 section 2; curl refuses it at
  // every delivery, "URL using bad/illegal format"). The usual source is a `# comment` after the
  // value in an environment file, which systemd keeps as part of the value (issue 16 retest P1).
  // The URL itself is not repeated: it may hold a password.
  for (std::size_t i = 0; i < url.size(); ++i)
    if (static_cast<unsigned char>(url[i]) <= 0x20 || url[i] == 0x7f)
      return std::string("URL has ") + (url[i] == ' ' ? "a space" : "a control character") + " at byte " +
             std::to_string(i + 1) + ", which no URL may hold (in an environment file, a '# comment' after a value " +
             "is part of the value, as systemd reads EnvironmentFile=)";
  for (auto s : schemes)
    if (url.substr(0, s.size()) == s && url.size() > s.size()) return std::nullopt;
  std::string want;
  for (auto s : schemes) want += (want.empty() ? "" : " or ") + std::string(s);
  return "URL '" + std::string(url) + "' must start with " + want + " and name a host";
}

// HOST:PORT as base/host_port.h reads it ("127.0.0.1:9464", "[::1]:9464"); port 1..65535, or 0 (any
// free port, which the daemon logs) when `any_port`.
std::optional<std::string> host_port_check(const Value& v, std::string_view key, bool any_port) {
  const std::string k(key);
  std::string error;
  auto hp = parse_host_port(v.str, &error);
  if (!hp) {
    const std::size_t why = error.find("\": ");  // parse_host_port: invalid listen address "TEXT": WHY
    return "'" + k + "' must be HOST:PORT (e.g. 127.0.0.1:9464): " +
           (why == std::string::npos ? error : error.substr(why + 3));
  }
  if (hp->port == 0 && !any_port) return "'" + k + "' port must be 1..65535";
  return std::nullopt;
}

// Whether two HOST:PORT listen addresses would take the same socket: the same port (not 0, "any")
// and the same host, or either a wildcard (0.0.0.0, ::, which takes the port on every address);
// "localhost" counts as 127.0.0.1.
bool listen_addresses_collide(const std::string& a, const std::string& b) {
  auto x = parse_host_port(a, nullptr), y = parse_host_port(b, nullptr);
  if (!x || !y || x->port == 0 || x->port != y->port) return false;
  auto norm = [](std::string h) { return h == "localhost" ? std::string("127.0.0.1") : h; };
  auto wildcard = [](const std::string& h) { return h.empty() || h == "0.0.0.0" || h == "::"; };
  return norm(x->host) == norm(y->host) || wildcard(x->host) || wildcard(y->host);
}

const Mapping<HttpConfig>& http_schema() {
  static const Mapping<HttpConfig> m{
      .name = "http",
      .description = "The HTTP listener: Prometheus `/metrics`, `/healthz`, the web console at `/` and the JSON API "
                     "under `/api/v1/` (docs/console.md).",
      .fields = {
          {.key = "listen", .required = true, .description = "HOST:PORT to listen on (`[::1]:9464` for IPv6).",
           .check = [](const Value& v, Reader&) { return host_port_check(v, "listen", true); },
           .set = [](HttpConfig& h, const Value& v, Reader&) { h.listen = v.str; }},
          {.key = "token",
           .description = "Bearer token that `POST /api/v1/replay` and `/retry` (the console's replay button, and "
                          "`hivehook replay`/`retry` while the daemon runs) must send; without it the API is "
                          "read-only, except to the daemon's local token (`<state>.http-token`, mode 0600), which "
                          "`replay`/`retry` run as root or the daemon's user use. Write it as `${HIVEHOOK_TOKEN}`; "
                          "at least 12 characters.",
           .check = [](const Value& v, Reader&) -> std::optional<std::string> {
             if (v.str.size() < 12) return "'token' must have at least 12 characters";
             // White space or a control character cannot travel in `Authorization: Bearer` (RFC 6750
             // section 2.1, b64token); the usual source is an env file's `# comment` after the value
             // (issue 15 verification V3). The token itself is not repeated.
             for (std::size_t i = 0; i < v.str.size(); ++i)
               if (static_cast<unsigned char>(v.str[i]) <= 0x20 || v.str[i] == 0x7f)
                 return std::string("'token' has ") + (v.str[i] == ' ' ? "a space" : "a control character") +
                        " at byte " + std::to_string(i + 1) +
                        ", which no bearer token may hold (in an environment file, a '# comment' after a value is "
                        "part of the value, as systemd reads EnvironmentFile=)";
             return std::nullopt;
           },
           .set = [](HttpConfig& h, const Value& v, Reader&) { h.token = v.str; }},
          {.key = "read_auth", .default_text = "open",
           .description = "Who may read the API (`GET /api/v1/...`: runs with job output, keys, rules, events): "
                          "`open` — whoever reaches the port; `token` — only with `Authorization: Bearer` "
                          "`http.token` or the daemon's local token (the console asks for it). `/metrics`, "
                          "`/healthz` and the console's page stay open either way (Prometheus, probes). The "
                          "packaged config has `token`: on a shared server the loopback port is every local "
                          "user's.",
           .choices = {"open", "token"},
           .set = [](HttpConfig& h, const Value& v, Reader&) { h.read_needs_token = v.str == "token"; }},
      }};
  return m;
}

// Every ${VAR} a notify target names is a secret (URL passwords and query tokens, headers, SMTP
// credentials, HMAC keys): its name never reaches a job's environment and its value is redacted
// from every log line, audit event, store row and notification error (DESIGN.md "Jobs' environment").
void collect_secrets(const YAML::Node& node, Config& c) {
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) collect_secrets(it->second, c);
    return;
  }
  if (node.IsSequence()) {
    for (const auto& item : node) collect_secrets(item, c);
    return;
  }
  if (!node.IsScalar()) return;
  const std::string& text = node.Scalar();
  for (size_t open = text.find("${"); open != std::string::npos; open = text.find("${", open + 2)) {
    if (open > 0 && text[open - 1] == '$') continue;  // "$${" is a literal
    size_t close = text.find('}', open + 2);
    if (close == std::string::npos) return;
    std::string name = text.substr(open + 2, close - open - 2);
    c.secret_env.insert(name);
    if (const char* value = std::getenv(name.c_str()); value && *value) c.secret_values.push_back(value);
  }
}

// A notify target is read into a draft, then assembled once its kind (webhook | smtp) is known.
struct TargetDraft {
  NotifyTarget target;
  std::optional<WebhookTarget> webhook;
  std::optional<SmtpTarget> smtp;
  WebhookTarget w;
  SmtpTarget s;
  std::optional<TlsMode> tls;
};

const Mapping<LogConfig>& log_schema() {
  static const Mapping<LogConfig> m{
      .name = "log",
      .description = "Logging of the daemon itself (stderr).",
      .fields = {
          {.key = "level", .default_text = "info", .description = "Least severe level written.",
           .choices = {"trace", "debug", "info", "warn", "error"},
           .set = [](LogConfig& l, const Value& v, Reader&) { l.level = v.str; }},
          {.key = "format", .default_text = "text", .description = "Line format.", .choices = {"text", "json"},
           .set = [](LogConfig& l, const Value& v, Reader&) { l.format = v.str; }},
      }};
  return m;
}

const Mapping<S3Config>& s3_schema() {
  static const Mapping<S3Config> m{
      .name = "s3",
      .description = "The S3 API: an S3-compatible endpoint over landing (read-write), archive and quarantine "
                     "(read-only), path-style, every request signed with AWS Signature Version 4. See docs/s3.md.",
      .fields = {
          {.key = "listen", .required = true, .description = "HOST:PORT the endpoint listens on (e.g. 127.0.0.1:9000).",
           .check = [](const Value& v, Reader&) { return host_port_check(v, "s3.listen", false); },
           .set = [](S3Config& s, const Value& v, Reader&) { s.listen = v.str; }},
          {.key = "access_key_id", .required = true, .description = "The access key id clients sign with.",
           .nonempty = true,
           .set = [](S3Config& s, const Value& v, Reader&) { s.access_key_id = v.str; }},
          {.key = "secret_access_key", .required = true,
           .description = "The secret key clients sign with; write `${S3_SECRET}` to keep it out of the file.",
           .nonempty = true,
           .set = [](S3Config& s, const Value& v, Reader&) { s.secret_access_key = v.str; }},
          {.key = "region", .default_text = "us-east-1", .description = "The region clients must sign for.",
           .nonempty = true,
           .set = [](S3Config& s, const Value& v, Reader&) { s.region = v.str; }},
          {.key = "fsync", .type = Type::boolean, .default_text = "true",
           .description = "Flush an uploaded object to disk before answering 200 (S3's durability); `false` trades "
                          "that for speed.",
           .set = [](S3Config& s, const Value& v, Reader&) { s.fsync = v.flag; }},
          {.key = "multipart_expiry", .type = Type::duration, .default_text = "24h",
           .description = "A multipart upload with no new part for this long is aborted and its parts removed.",
           .min = 60000,
           .set = [](S3Config& s, const Value& v, Reader&) { s.multipart_expiry = v.dur; }},
          {.key = "max_connections_per_client", .type = Type::integer, .default_text = "512",
           .description = "Most connections open at once from one client: one IP address, or for a client on this "
                          "machine (every local client connects from 127.0.0.1) one process. Beyond it, the connection that has waited longest "
                          "for a request is closed to make room, or, when every one is busy, the new one gets 503 "
                          "SlowDown. At most 1024, the endpoint's total.",
           .min = 1, .max = 1024,
           .set = [](S3Config& s, const Value& v, Reader&) { s.max_connections_per_client = std::size_t(v.num); }},
      }};
  return m;
}

const Mapping<TargetDraft>& target_schema() {
  static const Mapping<TargetDraft> m{
      .name = "notify target",
      .description = "One named destination for notifications: exactly one of `webhook` or `smtp`.",
      .fields =
          {
              {.key = "webhook", .description = "POST JSON to this URL (http:// or https://).",
               .check = [](const Value& v, Reader&) { return url_scheme_check(v.str, {"http://", "https://"}); },
               .set = [](TargetDraft& d, const Value& v, Reader&) { d.w.url = v.str; d.webhook = d.w; }},
              {.key = "secret", .description = "HMAC-SHA256 key for the `X-Hivehook-Signature` header.",
               .only_with = "webhook",
               .set = [](TargetDraft& d, const Value& v, Reader&) { d.w.secret = v.str; }},
              {.key = "headers", .type = Type::string_map, .description = "Extra HTTP headers.",
               .only_with = "webhook",
               .check = [](const Value& v, Reader&) -> std::optional<std::string> {
                 for (const auto& [name, value] : v.map) {
                   if (!is_name(name)) return "header name '" + name + "' is not a valid HTTP header name";
                   if (value.find_first_of("\r\n") != std::string::npos)
                     return "header '" + name + "' must not contain a line break";
                 }
                 return std::nullopt;
               },
               .set = [](TargetDraft& d, const Value& v, Reader&) {
                 for (const auto& [name, value] : v.map) d.w.headers[name] = value;
               }},
              {.key = "smtp", .description = "Mail server URL: smtp://HOST:PORT or smtps://HOST:PORT.",
               .check = [](const Value& v, Reader&) { return url_scheme_check(v.str, {"smtp://", "smtps://"}); },
               .set = [](TargetDraft& d, const Value& v, Reader&) { d.s.url = v.str; d.smtp = d.s; }},
              {.key = "tls", .default_text = "none (tls for smtps://)",
               .description = "`starttls` upgrades a smtp:// connection.", .choices = {"none", "starttls", "tls"},
               .only_with = "smtp",
               .set = [](TargetDraft& d, const Value& v, Reader&) {
                 d.tls = v.str == "tls" ? TlsMode::tls : v.str == "starttls" ? TlsMode::starttls : TlsMode::none;
               }},
              {.key = "from", .description = "Sender address.", .nonempty = true, .only_with = "smtp",
               .required_with = "smtp", .set = [](TargetDraft& d, const Value& v, Reader&) { d.s.from = v.str; }},
              {.key = "to", .type = Type::string_list, .description = "Recipient addresses (one or a list).",
               .nonempty = true, .scalar_as_list = true, .only_with = "smtp", .required_with = "smtp",
               .set = [](TargetDraft& d, const Value& v, Reader&) { d.s.to = v.list; }},
              {.key = "username", .description = "SMTP AUTH user.", .only_with = "smtp",
               .set = [](TargetDraft& d, const Value& v, Reader&) { d.s.username = v.str; }},
              {.key = "password", .description = "SMTP AUTH password.", .only_with = "smtp",
               .set = [](TargetDraft& d, const Value& v, Reader&) { d.s.password = v.str; }},
              {.key = "timeout", .type = Type::duration, .default_text = "5s",
               .description = "Time limit of one delivery attempt.", .min = 1, .max = 3'600'000,
               .set = [](TargetDraft& d, const Value& v, Reader&) { d.target.timeout = v.dur; }},
              {.key = "max_attempts", .type = Type::integer, .default_text = "10",
               .description = "Delivery attempts before the notification is given up (`notify.dead`).",
               .min = 1, .max = 1000,
               .set = [](TargetDraft& d, const Value& v, Reader&) { d.target.max_attempts = int(v.num); }},
              {.key = "max_age", .type = Type::duration, .default_text = "1h",
               .description = "Or give up this long after the first attempt.", .min = 1,
               .set = [](TargetDraft& d, const Value& v, Reader&) { d.target.max_age = v.dur; }},
              {.key = "backoff", .type = Type::mapping, .default_text = "{initial: 2s, max: 5m}",
               .description = "Delay between delivery attempts (exponential with jitter).", .nested = "backoff",
               .set = [](TargetDraft& d, const Value& v, Reader& rd) {
                 schema::parse_mapping(v.node, backoff_schema(true), d.target.backoff, rd);
               }},
          },
      .exactly_one_of = {{"webhook", "smtp"}},
      .finish = [](TargetDraft& d, const YAML::Node& node, Reader& rd) {
        if (d.webhook) {
          d.target.kind = d.w;
        } else if (d.smtp) {
          bool smtps = d.s.url.rfind("smtps://", 0) == 0;
          if (smtps && d.tls && *d.tls != TlsMode::tls)
            rd.error(node["tls"].Mark(), "an smtps:// server always uses TLS; drop 'tls' or use smtp:// for starttls");
          d.s.tls = d.tls ? *d.tls : (smtps ? TlsMode::tls : TlsMode::none);
          d.target.kind = d.s;
        }
      }};
  return m;
}

}  // namespace

const Mapping<BackoffPolicy>& backoff_schema(bool for_notify) {
  auto make = [](std::string_view initial_default) {
    return Mapping<BackoffPolicy>{
        .name = "backoff",
        .description = "Exponential backoff with jitter: the first delay, doubled each time up to a ceiling.",
        .fields = {
            {.key = "initial", .type = Type::duration, .default_text = initial_default,
             .description = "Delay before the first retry.", .min = 1,
             .set = [](BackoffPolicy& b, const Value& v, Reader&) { b.initial = v.dur; }},
            {.key = "max", .type = Type::duration, .default_text = "5m", .description = "Longest delay.", .min = 1,
             .set = [](BackoffPolicy& b, const Value& v, Reader&) { b.max = v.dur; }},
        },
        .finish = [](BackoffPolicy& b, const YAML::Node& node, Reader& rd) {
          if (b.initial > b.max)
            rd.error(node["max"] ? node["max"].Mark() : node.Mark(),
                     "backoff 'max' (" + format_duration(b.max) + ") is shorter than 'initial' (" +
                         format_duration(b.initial) + ")");
        }};
  };
  static const Mapping<BackoffPolicy> rules = make("1s (2s for notify targets)");
  static const Mapping<BackoffPolicy> notify = make("2s");
  return for_notify ? notify : rules;
}

const Mapping<Config>& config_schema() {
  static const Mapping<Config> m{
      .name = "config",
      .description = "The daemon's configuration file, `hivehook.yaml`. Relative paths are relative to this "
                     "file's folder; `${VAR}` in any value expands from the environment.",
      .fields =
          {
              {.key = "landing", .type = Type::path, .required = true,
               .description = "The watched root; a file's key is its path below this folder.",
               .set = [](Config& c, const Value& v, Reader&) { c.landing = v.str; }},
              {.key = "archive", .type = Type::path, .default_text = "archive",
               .description = "Where objects go after success (`archive/<key>`). Landing, archive and quarantine are "
                              "three separate folders, none inside another (symlinks resolved).",
               .set = [](Config& c, const Value& v, Reader&) { c.archive = v.str; }},
              {.key = "quarantine", .type = Type::path, .default_text = "quarantine",
               .description = "Where objects go after failure, with `<key>.error.json` beside them. With `s3:`, the "
                              "archive and quarantine buckets are named after these folders' last components: "
                              "they must differ and follow S3's bucket naming rules.",
               .set = [](Config& c, const Value& v, Reader&) { c.quarantine = v.str; }},
              {.key = "state", .default_text = "state/hivehook.db",
               .description = "The audit/checkpoint store: a SQLite file (a path, relative to this file's "
                              "folder), or a PostgreSQL database (`postgresql://USER@HOST:PORT/DB`, a libpq "
                              "connection URI in a byte-transparent database; see docs/cluster.md).",
               .nonempty = true,
               .set = [](Config& c, const Value& v, Reader& rd) {
                 if (is_postgres_state(v.str)) c.state = v.str;
                 else c.state = (rd.base_dir() / v.str).lexically_normal();
               }},
              {.key = "state_dir", .type = Type::path, .default_text = "the state file's folder, or state/",
               .description = "This node's local files beside the store: job result files, S3 upload staging. "
                              "Defaults to the SQLite file's folder, or `state/` beside the config for a "
                              "PostgreSQL state. Like `state` and `audit_log`, never inside landing, archive or "
                              "quarantine (its files would become objects, served by the S3 API).",
               .set = [](Config& c, const Value& v, Reader&) { c.state_dir = std::filesystem::path(v.str); }},
              {.key = "audit_log", .type = Type::path, .description = "Optional JSON-lines mirror of audit events. Never inside landing, archive or quarantine. "
                                                                             "Rotate it by renaming it and sending SIGHUP (`systemctl reload`; the "
                                                                             "package's /etc/logrotate.d/hivehook does): the daemon reopens the path "
                                                                             "and goes on in the new file.",
               .set = [](Config& c, const Value& v, Reader&) { c.audit_log = std::filesystem::path(v.str); }},
              {.key = "bucket", .default_text = "landing's folder name",
               .description = "Reported as `s3.bucket.name` in job events; with `s3:`, the landing bucket's name (only "
                              "that one), which must follow S3's bucket naming rules (3 to 63 lowercase letters, "
                              "digits, `.` and `-`) and differ from the archive's and quarantine's.",
               .nonempty = true,
               .check = [](const Value& v, Reader&) -> std::optional<std::string> {
                 if (v.str.find('/') != std::string::npos) return "'bucket' must not contain '/'";
                 return std::nullopt;
               },
               .set = [](Config& c, const Value& v, Reader&) { c.bucket = v.str; }},
              {.key = "workers", .type = Type::integer, .default_text = "4",
               .description = "Most jobs running at once, over all rules.", .min = 1, .max = 1024,
               .set = [](Config& c, const Value& v, Reader&) { c.workers = int(v.num); }},
              {.key = "ignore", .type = Type::string_list,
               .default_text = "[\".*\", \"*.tmp\", \"*.part\", \"*~\", \"_COPYING_\"]",
               .description = "Basename globs (fnmatch: `*`, `?`, `[...]`) of files never processed. Replaces "
                              "the default list.",
               .check = [](const Value& v, Reader&) -> std::optional<std::string> {
                 for (const auto& p : v.list)
                   if (p.empty() || p.find('/') != std::string::npos)
                     return "ignore patterns match basenames: '" + p + "' must be non-empty and have no '/'";
                 return std::nullopt;
               },
               .set = [](Config& c, const Value& v, Reader&) { c.ignore = v.list; }},
              {.key = "rules", .type = Type::path, .default_text = "rules",
               .description = "A rules file, or a folder whose `*.yaml` files are read in name order.",
               .set = [](Config& c, const Value& v, Reader&) { c.rules = v.str; }},
              {.key = "node", .default_text = "the host name",
               .description = "This daemon's name in a cluster: several daemons with different names share "
                              "one PostgreSQL state (docs/cluster.md); `run --node NAME` overrides it.",
               .nonempty = true,
               .check = [](const Value& v, Reader&) -> std::optional<std::string> {
                 if (!valid_node_name(v.str))
                   return "'node' must be 1-63 of A-Z a-z 0-9 . _ - (not starting with . _ -): '" + v.str + "'";
                 return std::nullopt;
               },
               .set = [](Config& c, const Value& v, Reader&) { c.node = v.str; }},
              {.key = "node_lease", .type = Type::duration, .default_text = "15s",
               .description = "Cluster mode: how long a node's work stays its own without a renewal (renewed "
                              "every third of it on a connection of its own, whatever the batches do). A node "
                              "stopped or cut off longer (a pause, a partition) has its batches refused and stops.",
               .min = 1000, .max = 3'600'000,
               .set = [](Config& c, const Value& v, Reader&) { c.node_lease = v.dur; }},
              {.key = "shutdown_grace", .type = Type::duration, .default_text = "30s",
               .description = "On SIGTERM, how long running jobs may finish before they are killed.", .min = 0,
               .set = [](Config& c, const Value& v, Reader&) { c.shutdown_grace = v.dur; }},
              {.key = "reconcile", .type = Type::duration, .default_text = "10m",
               .description = "Period of the full scan that finds what inotify missed; `0` turns it off.",
               .min = 0,
               .check = [](const Value& v, Reader&) -> std::optional<std::string> {
                 if (v.dur.count() > 0 && v.dur < std::chrono::seconds(1))
                   return "'reconcile' must be 0 (off) or at least 1s";
                 return std::nullopt;
               },
               .set = [](Config& c, const Value& v, Reader&) { c.reconcile = v.dur; }},
              {.key = "move_alert_after", .type = Type::duration, .default_text = "5m",
               .description = "`/healthz` answers 503 while a final move (archive, delete, quarantine) has been "
                              "failing for longer than this.",
               .min = 0,
               .set = [](Config& c, const Value& v, Reader&) { c.move_alert_after = v.dur; }},
              {.key = "notify", .type = Type::named_mappings,
               .description = "Named notification targets that rules refer to.", .nested = "notify-target",
               .set = [](Config& c, const Value& v, Reader& rd) {
                 for (auto it = v.node.begin(); it != v.node.end(); ++it) {
                   const YAML::Node key = it->first, target = it->second;
                   const std::string name = key.IsScalar() ? key.Scalar() : "";
                   if (!is_name(name)) {
                     rd.error(key.Mark(), "notify target name '" + name + "' must be letters, digits, '-' or '_'");
                     continue;
                   }
                   TargetDraft d;
                   schema::parse_mapping(target, target_schema(), d, rd);
                   d.target.name = name;
                   c.notify[name] = d.target;
                   collect_secrets(target, c);
                 }
               }},
              {.key = "http", .type = Type::mapping, .description = "The HTTP listener (metrics, health, console, API).",
               .nested = "http",
               .set = [](Config& c, const Value& v, Reader& rd) {
                 HttpConfig h;
                 if (schema::parse_mapping(v.node, http_schema(), h, rd)) c.http = h;
               }},
              {.key = "metrics",
               .description = "HOST:PORT: the short form of `http: {listen: HOST:PORT}` (a read-only API). Not "
                              "together with `http`.",
               .check = [](const Value& v, Reader&) { return host_port_check(v, "metrics", true); },
               .set = [](Config& c, const Value& v, Reader&) { c.http = HttpConfig{v.str, ""}; }},
              {.key = "s3", .type = Type::mapping, .description = "Serve the trees as S3 buckets (optional).",
               .nested = "s3",
               .set = [](Config& c, const Value& v, Reader& rd) {
                 S3Config s;
                 if (schema::parse_mapping(v.node, s3_schema(), s, rd)) c.s3 = std::move(s);
               }},
              {.key = "log", .type = Type::mapping, .default_text = "{level: info, format: text}",
               .description = "Logging of the daemon.", .nested = "log",
               .set = [](Config& c, const Value& v, Reader& rd) { schema::parse_mapping(v.node, log_schema(), c.log, rd); }},
          },
      .finish = [](Config& c, const YAML::Node& node, Reader& rd) {
        if (node["http"] && node["metrics"])
          rd.error(node["metrics"].Mark(), "'metrics' is the short form of 'http: {listen: ...}': give one of them");
        // s3.listen on the HTTP listener's address (issue 12 retest R9): `run` could never start
        // (its second bind fails), and exit 75 sent the operator looking for "another process".
        if (c.http && c.s3 && node["s3"] && node["s3"].IsMap() && node["s3"]["listen"])
          if (listen_addresses_collide(c.http->listen, c.s3->listen))
            rd.error(node["s3"]["listen"].Mark(),
                     "'s3.listen' (" + c.s3->listen + ") and '" + listen_key(node) + "' (" + c.http->listen +
                         ") name the same port: each needs its own (e.g. s3.listen on another port)");
        // Beyond loopback without a token (issue 15, fault 3): said, not refused (a reverse proxy
        // with its own authentication in front is a fair set-up).
        if (c.http && c.http->token.empty())
          if (auto addr = parse_host_port(c.http->listen, nullptr); addr && !is_loopback_host(addr->host))
            rd.warning((node["http"] ? node["http"] : node["metrics"]).Mark(), http_exposed_warning(listen_key(node), c.http->listen));
      },
  };
  return m;
}

std::vector<DocSection> config_doc_sections() {
  auto section = [](std::string name, const auto& m) {
    return DocSection{std::move(name), std::string(m.description), schema::doc_rows(m)};
  };
  return {section("config", config_schema()), section("notify-target", target_schema()),
          section("backoff", backoff_schema(false)), section("http", http_schema()), section("log", log_schema()),
          section("s3", s3_schema())};
}

}  // namespace hivehook
