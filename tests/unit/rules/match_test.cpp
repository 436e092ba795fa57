#include <gtest/gtest.h>
// Designated initializers leave the other filters unset on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "rules/rule.h"

using namespace hivehook;

namespace {
ObjectKey key(std::string_view k) {
  auto p = parse_key(k);
  EXPECT_TRUE(p) << k;
  return p ? *p : ObjectKey{};
}
Rule rule(std::string name, MatchSpec m) {
  Rule r;
  r.name = std::move(name);
  r.match = std::move(m);
  return r;
}
}  // namespace

TEST(Match, EachFilterAlone) {
  auto k = key("transactions/year=2023/month=03/x.csv");
  EXPECT_TRUE(rule_matches({.prefix = "transactions/"}, k));
  EXPECT_FALSE(rule_matches({.prefix = "trans/"}, k));
  EXPECT_TRUE(rule_matches({.suffix = ".csv"}, k));
  EXPECT_FALSE(rule_matches({.suffix = ".json"}, k));
  EXPECT_FALSE(rule_matches({.suffix = "much-longer-than-the-key-itself/transactions/year=2023/x.csv"}, k));
  EXPECT_TRUE(rule_matches({.glob = "transactions/**/*.csv"}, k));
  EXPECT_FALSE(rule_matches({.glob = "transactions/*.csv"}, k));
  EXPECT_TRUE(rule_matches({.partition = {{"year", "2023"}, {"month", "03"}}}, k));
  EXPECT_FALSE(rule_matches({.partition = {{"month", "3"}}}, k));
  EXPECT_FALSE(rule_matches({.partition = {{"day", "15"}}}, k));
}

TEST(Match, PartitionComparesDecodedValues) {
  auto k = key("t/city=New%20York/f");
  EXPECT_TRUE(rule_matches({.partition = {{"city", "New York"}}}, k));
  EXPECT_FALSE(rule_matches({.partition = {{"city", "New%20York"}}}, k));
}

TEST(Match, AllFiltersMustHold) {
  auto k = key("orders/year=2024/o.json");
  MatchSpec m{.prefix = "orders/", .suffix = ".csv"};
  EXPECT_FALSE(rule_matches(m, k));
  m.suffix = ".json";
  m.partition = {{"year", "2024"}};
  m.glob = "orders/*/o.json";
  EXPECT_TRUE(rule_matches(m, k));
}

TEST(Match, EveryMatchingRuleInRuleOrder) {
  RuleSet rs;
  rs.rules.push_back(rule("csv", {.suffix = ".csv"}));
  rs.rules.push_back(rule("json", {.suffix = ".json"}));
  rs.rules.push_back(rule("all-t", {.prefix = "t/"}));
  rs.rules.push_back(rule("y23", {.partition = {{"year", "2023"}}}));
  auto got = match_rules(rs, key("t/year=2023/a.csv"));
  std::vector<std::string> names;
  for (const Rule* r : got) names.push_back(r->name);
  EXPECT_EQ(names, (std::vector<std::string>{"csv", "all-t", "y23"}));
  EXPECT_TRUE(match_rules(rs, key("u/b.txt")).empty());
}
