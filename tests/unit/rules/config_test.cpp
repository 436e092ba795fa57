#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "rules/config.h"
#include "rules_test_util.h"

using namespace hivehook;
using namespace hivehook::test;
using namespace std::chrono_literals;

TEST(Config, MinimalConfigGetsDefaultsAndAbsolutePaths) {
  TempDir dir;
  auto file = minimal_config(dir);
  Diagnostics d;
  auto c = load_config(file, d);
  ASSERT_TRUE(c) << d.str();
  EXPECT_EQ(c->file, file);
  EXPECT_EQ(c->landing, dir.path() / "landing");
  EXPECT_EQ(c->archive, dir.path() / "archive");
  EXPECT_EQ(c->quarantine, dir.path() / "quarantine");
  EXPECT_EQ(c->state, dir.path() / "state/hivehook.db");
  EXPECT_EQ(c->rules, dir.path() / "rules");
  EXPECT_EQ(c->bucket, "landing");
  EXPECT_EQ(c->workers, 4);
  EXPECT_EQ(c->reconcile, Duration(10min));
  EXPECT_EQ(c->shutdown_grace, Duration(30s));
  EXPECT_EQ(c->ignore.size(), 5u);
  EXPECT_FALSE(c->audit_log);
  ASSERT_EQ(c->notify.size(), 2u);
  const auto& hook = c->notify.at("ops-hook");
  EXPECT_EQ(std::get<WebhookTarget>(hook.kind).url, "http://127.0.0.1:8080/hook");
  EXPECT_EQ(hook.max_attempts, 10);
  EXPECT_EQ(hook.backoff.initial, Duration(2s));
  const auto& mail = std::get<SmtpTarget>(c->notify.at("ops-mail").kind);
  EXPECT_EQ(mail.to, std::vector<std::string>{"b@example.com"});
  EXPECT_EQ(mail.tls, TlsMode::none);
}

TEST(Config, EveryKeyRead) {
  TempDir dir;
  dir.mkdir("in");
  dir.mkdir("r");
  ::setenv("HH_SECRET", "s3cr3t", 1);
  auto file = dir.write("hivehook.yaml", R"(landing: in
archive: /tmp/hh-archive
quarantine: q
state: st/db.sqlite
audit_log: st/audit.jsonl
bucket: my-bucket
workers: 8
ignore: ["*.tmp"]
rules: r
shutdown_grace: 5s
reconcile: 0
notify:
  hook:
    webhook: https://127.0.0.1/h
    secret: ${HH_SECRET}
    headers: {X-Team: data}
    timeout: 250ms
    max_attempts: 3
    max_age: 10m
    backoff: {initial: 1s, max: 1m}
  mail:
    smtp: smtps://127.0.0.1:465
    from: a@x
    to: [b@x, c@x]
    username: u
    password: p
metrics: 127.0.0.1:9464
log: {level: debug, format: json}
)");
  Diagnostics d;
  auto c = load_config(file, d);
  ASSERT_TRUE(c) << d.str();
  EXPECT_EQ(c->archive, "/tmp/hh-archive");
  EXPECT_EQ(c->quarantine, dir.path() / "q");
  EXPECT_EQ(c->audit_log, dir.path() / "st/audit.jsonl");
  EXPECT_EQ(c->bucket, "my-bucket");
  EXPECT_EQ(c->workers, 8);
  EXPECT_EQ(c->ignore, std::vector<std::string>{"*.tmp"});
  EXPECT_EQ(c->reconcile, Duration(0));
  EXPECT_EQ(c->shutdown_grace, Duration(5s));
  const auto& hook = c->notify.at("hook");
  const auto& w = std::get<WebhookTarget>(hook.kind);
  EXPECT_EQ(w.secret, "s3cr3t");
  EXPECT_EQ(w.headers.at("X-Team"), "data");
  EXPECT_EQ(hook.timeout, Duration(250));
  EXPECT_EQ(hook.max_attempts, 3);
  EXPECT_EQ(hook.max_age, Duration(10min));
  EXPECT_EQ(hook.backoff.max, Duration(1min));
  const auto& m = std::get<SmtpTarget>(c->notify.at("mail").kind);
  EXPECT_EQ(m.tls, TlsMode::tls);  // implied by smtps://
  EXPECT_EQ(m.to.size(), 2u);
  EXPECT_EQ(m.password, "p");
  ASSERT_TRUE(c->http);
  EXPECT_EQ(c->http->listen, "127.0.0.1:9464");  // `metrics:` is the short form of `http: {listen: ...}`
  EXPECT_EQ(c->http->token, "");
  EXPECT_EQ(c->log.level, "debug");
  EXPECT_EQ(c->log.format, "json");
}

TEST(Config, UnknownKeySuggestsTheClosest) {
  TempDir dir;
  auto file = minimal_config(dir, "wrokers: 3\nlog: {levle: info}\nzzzzzz: 1\n");
  Diagnostics d;
  EXPECT_FALSE(load_config(file, d));
  EXPECT_TRUE(HasDiag(d, "hivehook.yaml", 5, 1, "unknown key 'wrokers' in config (did you mean 'workers'?)"));
  EXPECT_TRUE(HasDiag(d, "hivehook.yaml", 6, 7, "unknown key 'levle' in log (did you mean 'level'?)"));
  EXPECT_TRUE(HasDiag(d, "hivehook.yaml", 7, 1,
                      "unknown key 'zzzzzz' in config (known keys: 'landing', 'archive', 'quarantine', 'state', "
                      "'state_dir', 'audit_log', 'bucket', 'workers', 'ignore', 'rules', 'node', 'node_lease', "
                      "'shutdown_grace', 'reconcile', "
                      "'move_alert_after', 'notify', 'http', 'metrics', 's3' and 'log')"));
}

TEST(Config, EveryErrorIsReportedWithItsPlace) {
  TempDir dir;
  dir.mkdir("landing");
  ::unsetenv("HH_NOPE");
  auto file = dir.write("hivehook.yaml", R"(landing: landing
workers: 0
reconcile: 10x
shutdown_grace: [1s]
bucket: a/b
ignore: ["ok", ""]
metrics: localhost
rules: missing-rules
log: {level: loud, format: json}
notify:
  bad name: {webhook: http://x}
  hook:
    webhook: ftp://x
    secret: ${HH_NOPE}
    to: x@y
    timeout: 0
  both: {webhook: http://x, smtp: smtp://y, from: a, to: b}
  none: {timeout: 1s}
  mail: {smtp: smtps://h, tls: starttls}
  back: {webhook: http://x, backoff: {initial: 1m, max: 1s}}
)");
  Diagnostics d;
  EXPECT_FALSE(load_config(file, d));
  const std::string f = "hivehook.yaml";
  EXPECT_TRUE(HasDiag(d, f, 2, 10, "'workers' must be between 1 and 1024 (got 0)"));
  EXPECT_TRUE(HasDiag(d, f, 3, 12, "'reconcile': invalid duration '10x' (write e.g. 250ms, 30s, 10m, 1h or 0)"));
  EXPECT_TRUE(HasDiag(d, f, 4, 17, "'shutdown_grace' must be a duration such as 30s, not a list"));
  EXPECT_TRUE(HasDiag(d, f, 5, 9, "'bucket' must not contain '/'"));
  EXPECT_TRUE(HasDiag(d, f, 6, 9, "ignore patterns match basenames: '' must be non-empty and have no '/'"));
  EXPECT_TRUE(HasDiag(d, f, 7, 10, "'metrics' must be HOST:PORT (e.g. 127.0.0.1:9464): expected HOST:PORT"));
  EXPECT_TRUE(HasDiag(d, f, 9, 14, "'level' must be 'trace', 'debug', 'info', 'warn' or 'error', not 'loud'"));
  EXPECT_TRUE(HasDiag(d, f, 11, 3, "notify target name 'bad name' must be letters, digits, '-' or '_'"));
  EXPECT_TRUE(HasDiag(d, f, 13, 14, "URL 'ftp://x' must start with http:// or https:// and name a host"));
  EXPECT_TRUE(HasDiag(d, f, 14, 13, "environment variable 'HH_NOPE' is not set"));
  EXPECT_TRUE(HasDiag(d, f, 15, 5, "'to' applies only with 'smtp'"));
  EXPECT_TRUE(HasDiag(d, f, 16, 14, "'timeout' must be between 1ms and 1h (got 0)"));
  EXPECT_TRUE(HasDiag(d, f, 17, 29,
                      "'smtp' and 'webhook' cannot both be given (notify target takes exactly one of 'webhook' or "
                      "'smtp')"));
  EXPECT_TRUE(HasDiag(d, f, 18, 9, "notify target needs one of 'webhook' or 'smtp'"));
  EXPECT_TRUE(HasDiag(d, f, 19, 9, "missing key 'from' (required with 'smtp')"));
  EXPECT_TRUE(HasDiag(d, f, 19, 9, "missing key 'to' (required with 'smtp')"));
  EXPECT_TRUE(HasDiag(d, f, 20, 57, "backoff 'max' (1s) is shorter than 'initial' (1m)"));
  EXPECT_GE(error_count(d), 17);
}

TEST(Config, HttpListenerAndItsShortForm) {
  TempDir dir;
  ::setenv("HIVEHOOK_TEST_TOKEN", "0123456789abcdef", 1);
  Diagnostics d;
  auto c = load_config(minimal_config(dir, "http: {listen: \"[::1]:9464\", token: \"${HIVEHOOK_TEST_TOKEN}\"}\n"), d);
  ASSERT_TRUE(c) << d.str();
  ASSERT_TRUE(c->http);
  EXPECT_EQ(c->http->listen, "[::1]:9464");
  EXPECT_EQ(c->http->token, "0123456789abcdef");
  Diagnostics none;
  auto off = load_config(minimal_config(dir, ""), none);
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->http);
  Diagnostics both;
  EXPECT_FALSE(load_config(minimal_config(dir, "http: {listen: 127.0.0.1:1}\nmetrics: 127.0.0.1:2\n"), both));
  EXPECT_NE(both.str().find("'metrics' is the short form of 'http: {listen: ...}': give one of them"), std::string::npos)
      << both.str();
  Diagnostics bad;
  EXPECT_FALSE(load_config(minimal_config(dir, "http: {listen: ::1:80, token: short}\n"), bad));
  EXPECT_NE(bad.str().find("an IPv6 address needs brackets"), std::string::npos) << bad.str();
  EXPECT_NE(bad.str().find("'token' must have at least 12 characters"), std::string::npos) << bad.str();
  Diagnostics missing;
  EXPECT_FALSE(load_config(minimal_config(dir, "http: {token: 0123456789abcdef}\n"), missing));
  EXPECT_NE(missing.str().find("missing required key 'listen' in http"), std::string::npos) << missing.str();
}

TEST(Config, SmtpsWithStarttlsIsAContradiction) {
  TempDir dir;
  auto file = minimal_config(dir, "  m2: {smtp: smtps://h, tls: starttls, from: a, to: b}\n");
  Diagnostics d;
  EXPECT_FALSE(load_config(file, d));
  EXPECT_TRUE(HasDiag(d, "hivehook.yaml", 5, 30,
                      "an smtps:// server always uses TLS; drop 'tls' or use smtp:// for starttls"));
}

TEST(Config, MissingLandingAndEmptyFile) {
  TempDir dir;
  dir.mkdir("rules");
  Diagnostics d;
  EXPECT_FALSE(load_config(dir.write("a.yaml", "workers: 2\n"), d));
  EXPECT_TRUE(HasDiag(d, "a.yaml", 1, 1, "missing required key 'landing' in config"));
  Diagnostics e;
  EXPECT_FALSE(load_config(dir.write("b.yaml", ""), e));
  EXPECT_TRUE(HasDiag(e, "b.yaml", 0, 0, "the config file is empty (at least 'landing' is required)"));
  Diagnostics f;
  EXPECT_FALSE(load_config(dir.write("c.yaml", "- just\n- a list\n"), f));
  EXPECT_TRUE(HasDiag(f, "c.yaml", 1, 1, "config must be a mapping of keys to values, not a list"));
}

TEST(Config, YamlSyntaxErrorHasAPlace) {
  TempDir dir;
  Diagnostics d;
  EXPECT_FALSE(load_config(dir.write("h.yaml", "landing: x\nworkers: [1, 2\n"), d));
  ASSERT_EQ(d.items().size(), 1u);
  EXPECT_EQ(d.items()[0].line, 3);
  EXPECT_NE(d.items()[0].message.find("YAML syntax error"), std::string::npos);
}

TEST(Config, UnreadableFile) {
  TempDir dir;
  Diagnostics d;
  EXPECT_FALSE(load_config(dir.path() / "nope.yaml", d));
  EXPECT_TRUE(HasDiag(d, "nope.yaml", 0, 0, "cannot read: No such file or directory"));
}

TEST(Config, DuplicateKeyIsAnError) {
  TempDir dir;
  auto file = minimal_config(dir, "workers: 2\nworkers: 3\n");
  Diagnostics d;
  EXPECT_FALSE(load_config(file, d));
  EXPECT_TRUE(HasDiag(d, "hivehook.yaml", 6, 1, "duplicate key 'workers' (first given at " +
                                                    display_path(file) + ":5:1)"));
}

TEST(Config, FoldersInsideLandingAreRejected) {
  TempDir dir;
  dir.mkdir("landing");
  dir.mkdir("rules");
  auto file = dir.write("hivehook.yaml", "landing: .\narchive: archive\n");
  Diagnostics d;
  EXPECT_FALSE(load_config(file, d));
  EXPECT_TRUE(HasDiag(d, "hivehook.yaml", 2, 10,
                      "archive '" + display_path(dir.path() / "archive") +
                          "' is inside landing: its files would be picked up as new objects"));
}

TEST(Config, RulesPathMustExist) {
  TempDir dir;
  dir.mkdir("landing");
  auto file = dir.write("hivehook.yaml", "landing: landing\nrules: nowhere\n");
  Diagnostics d;
  EXPECT_FALSE(load_config(file, d));
  EXPECT_TRUE(HasDiag(d, "hivehook.yaml", 2, 8,
                      "rules: '" + display_path(dir.path() / "nowhere") +
                          "' does not exist (a file or a folder of *.yaml)"));
}

TEST(Config, LenientLoadKeepsGoing) {
  TempDir dir;
  auto file = minimal_config(dir, "workers: many\n");
  Diagnostics d;
  auto c = load_config_lenient(file, d);
  ASSERT_TRUE(c);
  EXPECT_TRUE(d.has_errors());
  EXPECT_EQ(c->notify.size(), 2u);
  EXPECT_EQ(c->rules, dir.path() / "rules");
}

// Regression: under systemd the working directory is "/", and the rejected rules file showed as
// "etc/hivehook/rules/30-broken.yaml:1:16" in the journal and `status` (found by
// tests/system/test_service_systemd.py). From "/" paths stay absolute; below another folder, relative.
TEST(Config, DisplayPathFromTheRootFolderStaysAbsolute) {
  auto before = std::filesystem::current_path();
  ASSERT_EQ(chdir("/"), 0);
  std::string from_root = display_path("/etc/hivehook/rules/30-broken.yaml");
  TempDir dir;
  ASSERT_EQ(chdir(dir.path().c_str()), 0);
  std::string from_dir = display_path(dir.path() / "rules" / "a.yaml");
  std::filesystem::current_path(before);
  EXPECT_EQ(from_root, "/etc/hivehook/rules/30-broken.yaml");
  EXPECT_EQ(from_dir, "rules/a.yaml");
}

TEST(Config, ResolveConfigPath) {
  ::setenv("HIVEHOOK_CONFIG", "/etc/hh.yaml", 1);
  EXPECT_EQ(resolve_config_path("x.yaml"), "x.yaml");
  EXPECT_EQ(resolve_config_path(""), "/etc/hh.yaml");
  ::unsetenv("HIVEHOOK_CONFIG");
  EXPECT_EQ(resolve_config_path("", ""), "hivehook.yaml");
}

TEST(Config, ResolveConfigPathFallsBackToTheSystemConfigOnlyWhenItExists) {
  ::unsetenv("HIVEHOOK_CONFIG");
  auto dir = std::filesystem::temp_directory_path() / ("hh-sysconf-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto system = dir / "hivehook.yaml";
  EXPECT_EQ(resolve_config_path("", system), "hivehook.yaml") << "absent: the local name, for its error message";
  std::ofstream(system) << "landing: l\n";
  EXPECT_EQ(resolve_config_path("", system), system);
  EXPECT_EQ(resolve_config_path("x.yaml", system), "x.yaml");
  std::filesystem::remove_all(dir);
}

TEST(Diagnostics, Format) {
  Diagnostic a{"f.yaml", 3, 5, "bad", Diagnostic::Severity::error};
  EXPECT_EQ(a.str(), "f.yaml:3:5: error: bad");
  Diagnostic b{"f.yaml", 0, 0, "hmm", Diagnostic::Severity::warning};
  EXPECT_EQ(b.str(), "f.yaml: warning: hmm");
  Diagnostics d;
  d.warning("x", 1, 2, "w");
  EXPECT_FALSE(d.has_errors());
  d.error("x", 1, 2, "e");
  EXPECT_TRUE(d.has_errors());
  EXPECT_EQ(d.str(), "x:1:2: warning: w\nx:1:2: error: e\n");
}

TEST(Config, S3SectionWithItsDefaultsAndItsErrors) {
  TempDir dir;
  ::setenv("HH_S3_SECRET", "from-env", 1);
  auto file = minimal_config(dir, "s3: {listen: \"0.0.0.0:9000\", access_key_id: k, secret_access_key: \"${HH_S3_SECRET}\"}\n");
  Diagnostics d;
  auto c = load_config(file, d);
  ASSERT_TRUE(c) << d.str();
  ASSERT_TRUE(c->s3);
  EXPECT_EQ(c->s3->secret_access_key, "from-env");
  EXPECT_EQ(c->s3->region, "us-east-1");
  EXPECT_TRUE(c->s3->fsync);
  EXPECT_EQ(c->s3->multipart_expiry, std::chrono::hours(24));
  EXPECT_EQ(c->s3->endpoint_url(), "http://127.0.0.1:9000");
  EXPECT_EQ(c->s3->max_connections_per_client, 512u);
  // Every loopback client shares one address's budget: configurable (issue 12).
  auto more = minimal_config(dir, "s3: {listen: \"127.0.0.1:9000\", access_key_id: k, secret_access_key: s, "
                                  "max_connections_per_client: 1000}\n");
  Diagnostics dm;
  auto cm = load_config(more, dm);
  ASSERT_TRUE(cm) << dm.str();
  EXPECT_EQ(cm->s3->max_connections_per_client, 1000u);
  auto too_many = minimal_config(dir, "s3: {listen: \"127.0.0.1:9000\", access_key_id: k, secret_access_key: s, "
                                      "max_connections_per_client: 5000}\n");
  Diagnostics dt;
  EXPECT_FALSE(load_config(too_many, dt));

  auto bad = minimal_config(dir, "s3: {listen: nowhere, secret_access_key: \"\", region: eu-west-1}\n");
  Diagnostics d2;
  EXPECT_FALSE(load_config(bad, d2));
  const std::string all = d2.str();
  EXPECT_NE(all.find("'s3.listen' must be HOST:PORT"), std::string::npos) << all;
  EXPECT_NE(all.find("access_key_id"), std::string::npos) << all;
  EXPECT_NE(all.find("secret_access_key"), std::string::npos) << all;
  ::unsetenv("HH_S3_SECRET");
}

// ---- Where the daemon's own files and the trees may be (issue 12, F12, F13) ---------------------

namespace {
bool has_error_containing(const Diagnostics& d, const std::string& text) {
  for (const auto& x : d.items())
    if (x.severity == Diagnostic::Severity::error && x.message.find(text) != std::string::npos) return true;
  return false;
}
}  // namespace

// F12: staged S3 upload parts and job result files became new objects.
TEST(Config, StateDirInsideLandingIsRejected) {
  TempDir dir;
  auto file = minimal_config(dir, "state_dir: landing/sd\n");
  Diagnostics d;
  EXPECT_FALSE(load_config(file, d));
  EXPECT_TRUE(HasDiag(d, "hivehook.yaml", 5, 12,
                      "state_dir '" + display_path(dir.path() / "landing/sd") +
                          "' is inside landing: its files would be picked up as new objects"));
}

// F13: the S3 API served the SQLite store and other clients' staged parts.
TEST(Config, StateAndStateDirInsideArchiveOrQuarantineAreRejected) {
  TempDir dir;
  auto file = minimal_config(dir, "state: archive/st/hivehook.db\nstate_dir: quarantine/sd\n");
  Diagnostics d;
  EXPECT_FALSE(load_config(file, d));
  EXPECT_TRUE(HasDiag(d, "hivehook.yaml", 5, 8,
                      "state '" + display_path(dir.path() / "archive/st/hivehook.db") + "' is inside archive '" +
                          display_path(dir.path() / "archive") +
                          "': hivehook's own files would sit among the archived objects, served as objects of the "
                          "archive bucket by the S3 API; put it outside landing, archive and quarantine"));
  EXPECT_TRUE(HasDiag(d, "hivehook.yaml", 6, 12,
                      "state_dir '" + display_path(dir.path() / "quarantine/sd") + "' is inside quarantine '" +
                          display_path(dir.path() / "quarantine") +
                          "': hivehook's own files would sit among the quarantined objects, served as objects of the "
                          "quarantine bucket by the S3 API; put it outside landing, archive and quarantine"));
}

TEST(Config, AuditLogInsideArchiveIsRejected) {
  TempDir dir;
  auto file = minimal_config(dir, "audit_log: archive/audit.jsonl\n");
  Diagnostics d;
  EXPECT_FALSE(load_config(file, d));
  EXPECT_TRUE(has_error_containing(d, "audit_log '" + display_path(dir.path() / "archive/audit.jsonl") +
                                          "' is inside archive")) << d.str();
}

// F13: "the three trees should not nest" (`quarantine: archive/q` passed).
TEST(Config, TreesInsideEachOtherAreRejected) {
  TempDir dir;
  auto file = minimal_config(dir, "quarantine: archive/q\n");
  Diagnostics d;
  EXPECT_FALSE(load_config(file, d));
  EXPECT_TRUE(HasDiag(d, "hivehook.yaml", 5, 13,
                      "quarantine '" + display_path(dir.path() / "archive/q") + "' is inside archive '" +
                          display_path(dir.path() / "archive") + "': each needs its own folder, none inside another"));
  TempDir dir2;
  file = minimal_config(dir2, "archive: shared\nquarantine: shared/\n");
  Diagnostics d2;
  EXPECT_FALSE(load_config(file, d2));
  EXPECT_TRUE(has_error_containing(d2, "is the same folder as archive")) << d2.str();
}

// Issue 10 retest T16: the archive a bind mount of landing (two container volumes of one host
// folder) passed `check`, and the mover deleted an archived file. Trees are compared by (st_dev,
// st_ino) too, walking up from each: the same folder, or one inside another, is refused.
TEST(Config, T16_TreesThatAreOneFolderThroughABindMountAreRejected) {
  if (::geteuid() != 0) GTEST_SKIP() << "a bind mount needs root";
  TempDir dir;
  dir.mkdir("landing");
  dir.mkdir("archive");
  if (::mount((dir.path() / "landing").c_str(), (dir.path() / "archive").c_str(), nullptr, MS_BIND, nullptr) != 0)
    GTEST_SKIP() << "cannot bind-mount here: " << std::strerror(errno);
  auto file = minimal_config(dir, "archive: archive\n");
  Diagnostics d;
  const bool loaded = static_cast<bool>(load_config(file, d));
  ::umount2((dir.path() / "archive").c_str(), MNT_DETACH);
  EXPECT_FALSE(loaded);
  EXPECT_TRUE(has_error_containing(d, "archive '" + display_path(dir.path() / "archive") + "' is the same folder as landing"))
      << d.str();
  EXPECT_TRUE(has_error_containing(d, "a bind mount?")) << d.str();
}

// The daemon's file operations follow symlinks: so does the check.
TEST(Config, StateDirReachingLandingThroughASymlinkIsRejected) {
  TempDir dir;
  auto file = minimal_config(dir, "state_dir: link/sd\n");
  std::filesystem::create_directory_symlink(dir.path() / "landing", dir.path() / "link");
  Diagnostics d;
  EXPECT_FALSE(load_config(file, d));
  EXPECT_TRUE(has_error_containing(d, "state_dir '" + display_path(dir.path() / "link/sd") + "' (resolves to '" +
                                          display_path(std::filesystem::canonical(dir.path()) / "landing/sd") +
                                          "') is inside landing")) << d.str();
}

TEST(Config, TreesInsideTheFoldersHivehookClearsAreRejected) {
  TempDir dir;
  auto file = minimal_config(dir, "state_dir: sd\narchive: sd/s3-uploads/a\n");
  Diagnostics d;
  EXPECT_FALSE(load_config(file, d));
  EXPECT_TRUE(has_error_containing(d, "archive '" + display_path(dir.path() / "sd/s3-uploads/a") + "' is inside '" +
                                          display_path(dir.path() / "sd/s3-uploads") +
                                          "', where hivehook keeps (and clears) its own files")) << d.str();
}

TEST(Config, UsualLayoutsStillPass) {
  for (const char* extra : {"", "state: hivehook.db\n", "state_dir: state\n", "state: state/x.db\nstate_dir: st\n",
                            "audit_log: audit.jsonl\n", "archive: done/archive\nquarantine: done/quarantine\n"}) {
    TempDir dir;
    auto file = minimal_config(dir, extra);
    Diagnostics d;
    EXPECT_TRUE(load_config(file, d)) << extra << d.str();
  }
}

// F5: `check` said "config OK" for what `run` refused; now the loader (check and run) reports it.
TEST(Config, S3BucketCollisionIsAConfigErrorAtItsKey) {
  TempDir dir;
  auto file = minimal_config(dir, "archive: a/out\nquarantine: b/out\ns3: {listen: \"127.0.0.1:9000\", "
                                  "access_key_id: k, secret_access_key: s}\n");
  Diagnostics d;
  EXPECT_FALSE(load_config(file, d));
  EXPECT_TRUE(HasDiag(d, "hivehook.yaml", 6, 13,
                      "s3: the archive and quarantine buckets would both be named 'out' (each is named after its "
                      "folder's last component): rename the archive or the quarantine folder (e.g. `quarantine: " +
                          display_path(dir.path() / "b/quarantine") + "`); `bucket` names only the landing bucket"));
  TempDir dir2;
  file = minimal_config(dir2, "bucket: archive\ns3: {listen: \"127.0.0.1:9000\", access_key_id: k, secret_access_key: s}\n");
  Diagnostics d2;
  EXPECT_FALSE(load_config(file, d2));
  EXPECT_TRUE(HasDiag(d2, "hivehook.yaml", 5, 9,
                      "s3: the landing and archive buckets would both be named 'archive': set `bucket:` to another "
                      "name for the landing bucket (or rename the archive folder: its bucket is named after it)"));
}

// F6: a landing folder S3 clients cannot address as a bucket.
TEST(Config, S3InvalidBucketNameIsAConfigErrorSuggestingBucket) {
  TempDir dir;
  dir.mkdir("My Landing");
  auto file = dir.write("hivehook.yaml", "landing: My Landing\ns3: {listen: \"127.0.0.1:9000\", access_key_id: k, "
                                         "secret_access_key: s}\n");
  dir.mkdir("rules");
  Diagnostics d;
  EXPECT_FALSE(load_config(file, d));
  EXPECT_TRUE(HasDiag(d, "hivehook.yaml", 1, 10,
                      "s3: the landing bucket would be named 'My Landing', after the landing folder, which S3 clients "
                      "cannot address: it has uppercase 'M' (S3 bucket names are 3 to 63 lowercase letters, digits, "
                      "'.' and '-', beginning and ending with a letter or digit); set `bucket:` to a valid name (e.g. "
                      "`bucket: my-landing`)"));
  // Without s3: the name is only a label in job events.
  dir.write("hivehook.yaml", "landing: My Landing\nbucket: ab\n");
  Diagnostics d2;
  EXPECT_TRUE(load_config(file, d2)) << d2.str();
  dir.write("hivehook.yaml", "landing: My Landing\nbucket: ab\ns3: {listen: \"127.0.0.1:9000\", access_key_id: k, "
                             "secret_access_key: s}\n");
  Diagnostics d3;
  EXPECT_FALSE(load_config(file, d3));
  EXPECT_TRUE(has_error_containing(d3, "s3: bucket 'ab' is not a name S3 clients can address: it has 2 characters"))
      << d3.str();
}

// A problem of a default folder (not in the file) is reported at the other key involved, not at
// "hivehook.yaml:" without a place.
TEST(Config, LayoutErrorOfADefaultFolderPointsAtTheKeyInTheFile) {
  TempDir dir;
  auto file = minimal_config(dir, "archive: x/quarantine\ns3: {listen: \"127.0.0.1:9000\", access_key_id: k, "
                                  "secret_access_key: s}\n");
  Diagnostics d;
  EXPECT_FALSE(load_config(file, d));
  EXPECT_TRUE(HasDiag(d, "hivehook.yaml", 5, 10,
                      "s3: the archive and quarantine buckets would both be named 'quarantine' (each is named after "
                      "its folder's last component): rename the archive or the quarantine folder (e.g. `archive: " +
                          display_path(dir.path() / "x/archive") + "`); `bucket` names only the landing bucket"));
  TempDir dir2;
  dir2.mkdir("rules");
  file = dir2.write("hivehook.yaml", "landing: .\n");
  Diagnostics d2;
  EXPECT_FALSE(load_config(file, d2));
  EXPECT_TRUE(HasDiag(d2, "hivehook.yaml", 1, 10,
                      "state '" + display_path(dir2.path() / "state/hivehook.db") +
                          "' is inside landing: its files would be picked up as new objects"));
}

// Issue 12 retest R9: s3.listen on the HTTP listener's address passed `check`, and `run` exited 75
// ("another process holds it"), restarted for ever by the unit. A config error at s3.listen now.
TEST(Config, S3ListenOnTheMetricsAddressIsAConfigErrorNamingBothKeys) {
  TempDir dir;
  const std::string s3 = "s3:\n  access_key_id: k\n  secret_access_key: s\n  listen: ";
  Diagnostics d;
  EXPECT_FALSE(load_config(minimal_config(dir, "metrics: 127.0.0.1:45555\n" + s3 + "127.0.0.1:45555\n"), d));
  EXPECT_TRUE(HasDiag(d, "hivehook.yaml", 9, 11,
                      "'s3.listen' (127.0.0.1:45555) and 'metrics' (127.0.0.1:45555) name the same port: each needs "
                      "its own (e.g. s3.listen on another port)"))
      << d.str();
  TempDir dir2;  // the long form is named as written; a wildcard takes the port on every address
  Diagnostics d2;
  EXPECT_FALSE(load_config(minimal_config(dir2, "http: {listen: \"127.0.0.1:45555\"}\n" + s3 + "\"0.0.0.0:45555\"\n"), d2));
  EXPECT_NE(d2.str().find("and 'http.listen' (127.0.0.1:45555) name the same port"), std::string::npos) << d2.str();
  for (const char* fine : {"127.0.0.1:45556", "127.0.0.2:45555"}) {
    TempDir dir3;
    Diagnostics d3;
    EXPECT_TRUE(load_config(minimal_config(dir3, "metrics: 127.0.0.1:45555\n" + s3 + fine + "\n"), d3)) << d3.str();
  }
}

// Issue 16 retest P1: `OPS_HOOK_URL=http://host/h # note` in the service's environment file (which
// systemd keeps whole) passed `check --env-file`, and every notification then failed at curl.
TEST(Config, P1_AWebhookUrlWithACommentFromAnEnvFileIsRejected) {
  TempDir dir;
  ::setenv("HH_HOOK_URL", "http://user:pw@127.0.0.1:9/h # the ops channel", 1);
  Diagnostics d;
  dir.mkdir("landing");
  EXPECT_FALSE(load_config(dir.write("hivehook.yaml", "landing: landing\nnotify:\n  ops: {webhook: \"${HH_HOOK_URL}\"}\n"), d));
  ::unsetenv("HH_HOOK_URL");
  ASSERT_EQ(error_count(d), 1) << d.str();
  EXPECT_NE(d.str().find("URL has a space at byte 29"), std::string::npos) << d.str();
  EXPECT_NE(d.str().find("'# comment' after a value"), std::string::npos) << d.str();
  EXPECT_EQ(d.str().find("pw@"), std::string::npos) << "the URL, which may hold a password, is not repeated";
}

// Issue 15 verification V3: `HIVEHOOK_TOKEN=abcdefghijklmnop # ops` in the env file passed, and the
// daemon then refused the real token (counting it toward a lockout).
TEST(Config, V3_ATokenWithACommentFromAnEnvFileIsRejected) {
  TempDir dir;
  ::setenv("HH_TOKEN", "abcdefghijklmnop # ops", 1);
  Diagnostics d;
  EXPECT_FALSE(load_config(minimal_config(dir, "http: {listen: \"127.0.0.1:0\", token: \"${HH_TOKEN}\"}\n"), d));
  ::unsetenv("HH_TOKEN");
  EXPECT_NE(d.str().find("'token' has a space at byte 17"), std::string::npos) << d.str();
  EXPECT_EQ(d.str().find("abcdefghijklmnop"), std::string::npos) << "the token is not repeated";
}
