// Reload: which config settings apply live and which need a restart (apply_live_settings), and
// the last good rules kept in the store (kept_rules.h).
#include <gtest/gtest.h>

#include "unit/support/temp_dir.h"
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "daemon/kept_rules.h"
#include "daemon/reload.h"
#include "store/meta.h"

namespace hivehook {
namespace {

namespace fs = std::filesystem;

Config base() {
  Config c;
  c.landing = "/srv/landing";
  c.archive = "/srv/archive";
  c.quarantine = "/srv/quarantine";
  c.state = "/var/lib/hivehook/hivehook.db";
  c.rules = "/etc/hivehook/rules";
  c.bucket = "landing";
  return c;
}

TEST(ApplyLiveSettings, NothingChangedIsEmpty) {
  Config in_force = base();
  EXPECT_TRUE(apply_live_settings(in_force, base()).empty());
}

TEST(ApplyLiveSettings, LiveSettingsAreCopiedAndNamedWithOldAndNewValues) {
  Config in_force = base();
  Config fresh = base();
  fresh.workers = 8;
  fresh.ignore = {"*.skip"};
  fresh.log.level = "debug";
  fresh.shutdown_grace = std::chrono::seconds(5);
  fresh.notify["ops"] = NotifyTarget{.name = "ops", .kind = WebhookTarget{.url = "http://127.0.0.1:1/h"}};
  auto c = apply_live_settings(in_force, fresh);
  EXPECT_EQ(c.applied, (std::vector<std::string>{"workers (4 -> 8)", "notify", "ignore", "log.level (info -> debug)",
                                                 "shutdown_grace (30s -> 5s)"}));
  EXPECT_TRUE(c.restart_needed.empty());
  EXPECT_EQ(in_force.workers, 8);
  EXPECT_EQ(in_force.ignore, fresh.ignore);
  EXPECT_EQ(in_force.log.level, "debug");
  EXPECT_EQ(in_force.shutdown_grace, std::chrono::seconds(5));
  EXPECT_EQ(in_force.notify.count("ops"), 1u);
}

TEST(ApplyLiveSettings, ANotifyTargetsSecretChangeIsANotifyChange) {
  Config in_force = base();
  in_force.notify["ops"] = NotifyTarget{.name = "ops", .kind = WebhookTarget{.url = "http://h/", .secret = "a"}};
  Config fresh = in_force;
  std::get<WebhookTarget>(fresh.notify["ops"].kind).secret = "b";
  EXPECT_EQ(apply_live_settings(in_force, fresh).applied, std::vector<std::string>{"notify"});
  EXPECT_EQ(std::get<WebhookTarget>(in_force.notify["ops"].kind).secret, "b");
}

// A SIGHUP changing only s3.max_connections_per_client was silently ignored (a new user's test,
// issue 12): every key of the s3 section needs a restart and is named.
TEST(ApplyLiveSettings, AnyChangedS3KeyIncludingMaxConnectionsPerClientIsNamedAsNeedingARestart) {
  Config in_force = base();
  in_force.s3 = S3Config{.listen = "127.0.0.1:9000", .max_connections_per_client = 4};
  Config fresh = in_force;
  fresh.s3->max_connections_per_client = 5;
  auto c = apply_live_settings(in_force, fresh);
  EXPECT_EQ(c.restart_needed, std::vector<std::string>{"s3"});
  EXPECT_EQ(in_force.s3->max_connections_per_client, 4u);
  Config same = in_force;
  EXPECT_TRUE(apply_live_settings(in_force, same).restart_needed.empty());
}

TEST(ApplyLiveSettings, SettingsFixedAtStartUpKeepTheirOldValueAndAreNamed) {
  Config in_force = base();
  Config fresh = base();
  fresh.landing = "/srv/other";
  fresh.state = "/tmp/x.db";
  fresh.http = HttpConfig{.listen = "127.0.0.1:9999", .token = "t0ken-changed"};
  fresh.reconcile = std::chrono::minutes(1);
  fresh.log.format = "json";
  fresh.s3 = S3Config{.listen = "127.0.0.1:9000"};
  auto c = apply_live_settings(in_force, fresh);
  EXPECT_TRUE(c.applied.empty());
  EXPECT_EQ(c.restart_needed,
            (std::vector<std::string>{"landing (/srv/landing -> /srv/other)", "state (/var/lib/hivehook/hivehook.db -> /tmp/x.db)",
                                      "reconcile (10m -> 1m)", "http.listen ((none) -> 127.0.0.1:9999)", "http.token", "s3",
                                      "log.format (text -> json)"}));
  EXPECT_EQ(in_force.landing, "/srv/landing");
  EXPECT_EQ(in_force.state, "/var/lib/hivehook/hivehook.db");
  EXPECT_FALSE(in_force.http.has_value());
  EXPECT_FALSE(in_force.s3.has_value());
  EXPECT_EQ(in_force.log.format, "text");
}

// Issue 16 F5: a changed `metrics: HOST:PORT` was logged as `http.listen (a -> b)`, a key the
// operator's file does not have. The name comes from how the file writes it.
TEST(ApplyLiveSettings, AListenAddressChangeIsNamedByTheKeyTheConfigFileUses) {
  const test::TempDir tmp;
  const fs::path& dir = tmp.path();
  fs::create_directories(dir / "landing");
  fs::create_directories(dir / "rules");
  auto load = [&](const std::string& text) {
    std::ofstream(dir / "hivehook.yaml") << "landing: landing\n" << text;
    Diagnostics d;
    auto c = load_config(dir / "hivehook.yaml", d);
    if (!c) ADD_FAILURE() << d.str();
    return c.value_or(Config{});
  };
  Config in_force = load("metrics: 127.0.0.1:9464\n");
  Config fresh = load("metrics: 127.0.0.1:9465\n");
  EXPECT_EQ(apply_live_settings(in_force, fresh).restart_needed,
            std::vector<std::string>{"metrics (127.0.0.1:9464 -> 127.0.0.1:9465)"});
  in_force = load("http: {listen: '127.0.0.1:9464'}\n");
  fresh = load("http: {listen: '127.0.0.1:9465'}\n");
  EXPECT_EQ(apply_live_settings(in_force, fresh).restart_needed,
            std::vector<std::string>{"http.listen (127.0.0.1:9464 -> 127.0.0.1:9465)"});
  fresh = load("");  // removed: neither key is in the file any more, so the long name
  EXPECT_EQ(apply_live_settings(in_force, fresh).restart_needed,
            std::vector<std::string>{"http.listen (127.0.0.1:9464 -> (none))"});
}

// Keys a reload ignored without a word: node, node_lease and state_dir are named as needing a
// restart, move_alert_after applies at once.
TEST(ApplyLiveSettings, EveryTopLevelKeyIsEitherAppliedOrNamed) {
  Config in_force = base();
  Config fresh = base();
  fresh.node = "other";
  fresh.node_lease = std::chrono::seconds(30);
  fresh.state_dir = "/var/lib/hivehook/elsewhere";
  fresh.move_alert_after = std::chrono::minutes(1);
  auto c = apply_live_settings(in_force, fresh);
  EXPECT_EQ(c.applied, std::vector<std::string>{"move_alert_after (5m -> 1m)"});
  EXPECT_EQ(c.restart_needed, (std::vector<std::string>{"state_dir ( -> /var/lib/hivehook/elsewhere)",
                                                         "node ( -> other)", "node_lease (15s -> 30s)"}));
  EXPECT_EQ(in_force.move_alert_after, std::chrono::minutes(1));
  EXPECT_EQ(in_force.node, "");
}

class KeptRulesTest : public ::testing::Test {
 protected:
  fs::path db() const { return dir_ / "hivehook.db"; }
  test::TempDir dir_;
};

TEST_F(KeptRulesTest, NoStateDbMeansNoKeptRules) {
  std::string why;
  EXPECT_FALSE(kept_rules_at(db(), &why));
  EXPECT_NE(why.find("no state DB at"), std::string::npos) << why;
}

TEST_F(KeptRulesTest, KeptTextsComeBackByteForByteAndParse) {
  RuleSet rules;
  const std::string text = "rules:\n  - name: a\n    match: {prefix: t/}\n    job: {command: [\"/bin/true\"]}\n";
  rules.sources = {{dir_ / "rules" / "a.yaml", text}};
  {
    Store store(db(), Store::Mode::owner);
    std::string why;
    EXPECT_FALSE(kept_rules(store, &why));
    EXPECT_NE(why.find("no last good rules"), std::string::npos) << why;
    keep_rules(store, rules, 1700000000123);
  }
  std::string why;
  auto kept = kept_rules_at(db(), &why);
  ASSERT_TRUE(kept) << why;
  EXPECT_EQ(kept->kept_at_ms, 1700000000123);
  ASSERT_EQ(kept->sources.size(), 1u);
  EXPECT_EQ(kept->sources[0].file, dir_ / "rules" / "a.yaml");
  EXPECT_EQ(kept->sources[0].text, text);
  Config config = base();
  Diagnostics diags;
  auto loaded = load_rules(kept->sources, config, diags);
  ASSERT_TRUE(loaded) << diags.str();
  EXPECT_EQ(loaded->rules.at(0).name, "a");
}

TEST_F(KeptRulesTest, RejectionKeepsItsFirstTimeUntilCleared) {
  Store store(db(), Store::Mode::owner);
  EXPECT_FALSE(rules_rejected(store));
  record_rules_rejected(store, {1000, {"r.yaml:1:2: error: x"}, 500});
  record_rules_rejected(store, {2000, {"r.yaml:3:4: error: y", "r.yaml:5:6: error: z"}, 500});
  auto r = rules_rejected(store);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->since_ms, 1000);
  EXPECT_EQ(r->errors.size(), 2u);
  EXPECT_EQ(describe_rejection(*r),
            "rules on disk rejected since 1970-01-01T00:00:01.000Z (2 errors; first: r.yaml:3:4: error: y); running "
            "the last good rules kept at 1970-01-01T00:00:00.500Z");
  clear_rules_rejected(store);
  EXPECT_FALSE(rules_rejected(store));
}

// Issue 16 F1: a refused config file was described as "rules on disk rejected". What was refused
// is kept with the rejection and named wherever it is described (log, STATUS=, /healthz, status).
TEST_F(KeptRulesTest, ARefusedConfigFileIsNamedAsTheConfigFileNotAsRules) {
  Store store(db(), Store::Mode::owner);
  record_rules_rejected(store, {1000, {"/etc/hivehook/hivehook.yaml:3:4: error: y"}, 500, "/etc/hivehook/hivehook.yaml"});
  auto r = rules_rejected(store);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->config_file, "/etc/hivehook/hivehook.yaml");
  EXPECT_EQ(rejected_what(*r), "config file /etc/hivehook/hivehook.yaml");
  EXPECT_EQ(describe_rejection(*r),
            "config file /etc/hivehook/hivehook.yaml rejected since 1970-01-01T00:00:01.000Z (1 error; first: "
            "/etc/hivehook/hivehook.yaml:3:4: error: y); running the previous config and the last good rules kept at "
            "1970-01-01T00:00:00.500Z");
  record_rules_rejected(store, {2000, {"r.yaml:1:1: error: z"}, 500});  // then the rules
  EXPECT_EQ(rejected_what(*rules_rejected(store)), "rules on disk");
}

TEST_F(KeptRulesTest, AnUnreadableKeptValueIsSaidNotThrown) {
  Store store(db(), Store::Mode::owner);
  put_meta(store, "rules.last_good", "{not json");
  std::string why;
  EXPECT_FALSE(kept_rules(store, &why));
  EXPECT_NE(why.find("unreadable"), std::string::npos) << why;
}

}  // namespace
}  // namespace hivehook
