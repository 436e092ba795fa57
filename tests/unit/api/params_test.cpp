// The request inputs the API reads itself (also fuzzed: tests/fuzz/fuzz_api_params.cpp).
#include <gtest/gtest.h>

#include "api/params.h"

using namespace hivehook;
using namespace hivehook::api;

TEST(Params, QueryStringsDecodeFormStyle) {
  auto q = parse_query("key=transactions%2Fyear%3D2023%2F&flag&a=1&&a=2&sp=a+b&bad=%zz%4");
  EXPECT_EQ(query_value(q, "key"), "transactions/year=2023/");
  EXPECT_EQ(query_value(q, "flag"), "");
  EXPECT_EQ(query_value(q, "a"), "2");
  EXPECT_EQ(query_values(q, "a"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(query_value(q, "sp"), "a b");
  EXPECT_EQ(query_value(q, "bad"), "%zz%4");  // malformed escapes stay literal
  EXPECT_FALSE(query_value(q, "missing"));
  EXPECT_EQ(parse_query(std::string(10000, '&') + "x=1").size(), 1u);
  EXPECT_EQ(parse_query("a&b&c&d", 2).size(), 2u);
}

TEST(Params, IntegersAndFlagsAreStrict) {
  EXPECT_EQ(parse_int("42", 0, 100), 42);
  EXPECT_EQ(parse_int("-3", -5, 5), -3);
  for (const char* bad : {"", "-", "4 2", "+4", "0x10", "101", "99999999999999999999", "1e3"})
    EXPECT_FALSE(parse_int(bad, 0, 100)) << bad;
  EXPECT_EQ(parse_flag(""), true);
  EXPECT_EQ(parse_flag("TRUE"), true);
  EXPECT_EQ(parse_flag("0"), false);
  EXPECT_FALSE(parse_flag("maybe"));
}

TEST(Params, LastEventIdIsAStoreId) {
  EXPECT_EQ(parse_event_id("17"), 17);
  EXPECT_EQ(parse_event_id(" 17 "), 17);
  EXPECT_FALSE(parse_event_id(""));
  EXPECT_FALSE(parse_event_id("-1"));
  EXPECT_FALSE(parse_event_id("17abc"));
  EXPECT_FALSE(parse_event_id("1\n2"));
}

TEST(Params, BearerTokensFollowRfc6750) {
  EXPECT_EQ(bearer_token("Bearer abc.DEF-123_~+/=="), "abc.DEF-123_~+/==");
  EXPECT_EQ(bearer_token("bearer   tok"), "tok");
  for (const char* bad : {"", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearertok", "Bearer a b", "Bearer =abc", "Bearer a=b"})
    EXPECT_FALSE(bearer_token(bad)) << bad;
  EXPECT_TRUE(token_matches("s3cret", "s3cret"));
  EXPECT_FALSE(token_matches("s3cre", "s3cret"));
  EXPECT_FALSE(token_matches("", ""));  // no configured token never matches
}

TEST(Params, PartitionFiltersAndPathParameters) {
  std::string err;
  EXPECT_EQ(parse_partition_filter("day=15", &err), std::make_pair(std::string("day"), std::string("15")));
  EXPECT_EQ(parse_partition_filter("note=", &err), std::make_pair(std::string("note"), std::string("")));
  EXPECT_FALSE(parse_partition_filter("day", &err));
  EXPECT_NE(err.find("NAME=VALUE"), std::string::npos);
  EXPECT_FALSE(parse_partition_filter("=15", &err));
  EXPECT_FALSE(parse_partition_filter("a/b=1", &err));
  EXPECT_EQ(path_parameter("/api/v1/runs/ab%2Fc", "/api/v1/runs/"), "ab/c");
  EXPECT_FALSE(path_parameter("/api/v1/runs/", "/api/v1/runs/"));
  EXPECT_FALSE(path_parameter("/api/v1/runs/a/b", "/api/v1/runs/"));
  EXPECT_FALSE(path_parameter("/api/v1/run", "/api/v1/runs/"));
}

TEST(Params, ReplayAndRetryBodies) {
  std::string err;
  auto r = parse_replay_body(R"({"rule":"etl","key":"t/","partition":["day=15"],"from":"a","to":"b","failed":true,"dry_run":true})",
                             false, &err);
  ASSERT_TRUE(r) << err;
  EXPECT_EQ(r->filter.rules, (std::vector<std::string>{"etl"}));
  EXPECT_EQ(r->filter.key_prefix, "t/");
  EXPECT_EQ(r->filter.partition.size(), 1u);
  EXPECT_TRUE(r->filter.failed_only);
  EXPECT_TRUE(r->dry_run);
  EXPECT_FALSE(r->retry);
  auto m = parse_replay_body(R"({"partition":{"year":"2023","month":"03"}})", false, &err);
  ASSERT_TRUE(m) << err;
  EXPECT_EQ(m->filter.partition.size(), 2u);
  EXPECT_TRUE(parse_replay_body("{}", false, &err));
  for (const char* bad : {"", "[]", "{", R"({"rule":1})", R"({"nope":1})", R"({"from":"a"})", R"({"partition":["x"]})",
                          R"({"keys":["a"]})", R"({"dry_run":"yes"})"})
    EXPECT_FALSE(parse_replay_body(bad, false, &err)) << bad;
  auto t = parse_replay_body(R"({"keys":["a/b.csv"]})", true, &err);
  ASSERT_TRUE(t) << err;
  EXPECT_TRUE(t->retry);
  EXPECT_TRUE(t->filter.failed_only);
  EXPECT_EQ(t->keys, (std::vector<std::string>{"a/b.csv"}));
  EXPECT_TRUE(parse_replay_body(R"({"all_failed":true})", true, &err));
  EXPECT_FALSE(parse_replay_body("{}", true, &err));
  EXPECT_FALSE(parse_replay_body(R"({"rule":"x","all_failed":true})", true, &err));
}

// Issue 15 retest X3: {"dry_run": true, "dry_run": false} ran a real replay (the parser kept the
// last); a name given twice, at any depth, is refused as a repeated query parameter is.
TEST(ReplayBody, X3_AFieldGivenTwiceIsRefused) {
  std::string err;
  EXPECT_FALSE(parse_replay_body(R"({"key":"t/","dry_run":true,"dry_run":false})", false, &err));
  EXPECT_EQ(err, "'dry_run' is given more than once");
  EXPECT_FALSE(parse_replay_body(R"({"partition":{"day":"01","day":"02"}})", false, &err));
  EXPECT_EQ(err, "'day' is given more than once");
  EXPECT_FALSE(parse_replay_body(R"({"key":"t/","rule":"a","rules":["b"]})", false, &err));
  // The same name in two objects is not a repeat.
  EXPECT_TRUE(parse_replay_body(R"({"partition":{"key":"01"},"key":"t/"})", false, &err)) << err;
  EXPECT_TRUE(parse_replay_body(R"({"key":"t/","dry_run":true})", false, &err)) << err;
}

// Issue 15 retest X8: two values for one partition name planned 0 objects without a word.
TEST(ReplayBody, X8_OnePartitionNameWithTwoValuesIsRefused) {
  std::string err;
  EXPECT_FALSE(parse_replay_body(R"({"partition":["day=02","day=03"]})", false, &err));
  EXPECT_NE(err.find("partition 'day' is given twice (day=02, day=03)"), std::string::npos) << err;
  EXPECT_TRUE(parse_replay_body(R"({"partition":["day=02","day=02","month=03"]})", false, &err)) << err;
  EXPECT_FALSE(api::repeated_partition_name({{"year", "2023"}, {"month", "03"}}));
}

// Issue 14 G12: POST /api/v1/retry {"schedules": ["rule"]} runs a schedule rule's failed firing
// again; the field is as strict as the others (a list of non-empty names, alone, once), and the
// body replay_body writes for `hivehook retry --schedule` reads back the same.
TEST(ReplayBody, G12_SchedulesOfARetry) {
  std::string err;
  auto r = parse_replay_body(R"({"schedules":["nightly","hourly"],"dry_run":true})", true, &err);
  ASSERT_TRUE(r) << err;
  EXPECT_TRUE(r->retry);
  EXPECT_TRUE(r->dry_run);
  EXPECT_EQ(r->schedules, (std::vector<std::string>{"nightly", "hourly"}));
  EXPECT_TRUE(r->keys.empty());
  EXPECT_FALSE(r->filter.failed_only) << "a schedule retry takes no quarantined objects";
  EXPECT_TRUE(r->asked_by.empty()) << "who asked is never read from the body";

  auto refused = [&](const char* body, const char* why) {
    EXPECT_FALSE(parse_replay_body(body, true, &err)) << body;
    EXPECT_EQ(err, why) << body;
  };
  refused(R"({"schedules":"nightly"})", "'schedules' must be a list of one or more schedule rule names");
  refused(R"({"schedules":[]})", "'schedules' must be a list of one or more schedule rule names");
  refused(R"({"schedules":[1]})", "'schedules[]' must be a string");
  refused(R"({"schedules":[""]})", "'schedules[]' must not be empty");
  refused(R"({"schedules":["a"],"keys":["t/a.csv"]})", "give 'schedules', 'keys' or 'all_failed', not more than one");
  refused(R"({"schedules":["a"],"all_failed":true})", "give 'schedules', 'keys' or 'all_failed', not more than one");
  refused(R"({"schedules":["a"],"schedules":["b"]})", "'schedules' is given more than once");
  refused(R"({"schedules":["a"],"by":"me"})", "unknown field 'by'");
  refused(R"({"schedules":["a"],"asked_by":"me"})", "unknown field 'asked_by'");
  refused("{}", "give 'keys', 'all_failed': true or 'schedules'");
  // Not a field of a replay.
  EXPECT_FALSE(parse_replay_body(R"({"schedules":["a"]})", false, &err));
  EXPECT_EQ(err, "unknown field 'schedules'");

  // The CLI's body, read back.
  ReplayRequest req;
  req.retry = true;
  req.schedules = {"nightly"};
  req.asked_by = "cli: user x (uid 1)";
  const std::string body = api::replay_body(req);
  EXPECT_EQ(body, R"({"dry_run":false,"schedules":["nightly"]})");
  auto back = parse_replay_body(body, true, &err);
  ASSERT_TRUE(back) << err;
  EXPECT_EQ(back->schedules, req.schedules);
  EXPECT_FALSE(back->dry_run);
}
