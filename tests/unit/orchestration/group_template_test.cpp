// Batch group templates: which keys share a group, and the templates refused.
#include <gtest/gtest.h>

#include "orchestration/group_template.h"

namespace hivehook {
namespace {

TEST(GroupTemplate, RendersTableAndPartitions) {
  auto t = *GroupTemplate::parse("{table}/{partition.year}/{partition.month}/{partition.day}");
  auto a = *parse_key("transactions/year=2023/month=03/day=15/part-0001.csv");
  auto b = *parse_key("transactions/year=2023/month=03/day=15/_SUCCESS");
  auto c = *parse_key("transactions/year=2023/month=03/day=16/part-0001.csv");
  EXPECT_EQ(t.render(a, "landing"), "transactions/2023/03/15");
  EXPECT_EQ(t.render(a, "landing"), t.render(b, "landing"));
  EXPECT_NE(t.render(a, "landing"), t.render(c, "landing"));
  EXPECT_FALSE(t.render(*parse_key("transactions/year=2023/x.csv"), "landing"));
  EXPECT_EQ(t.partition_names(), (std::vector<std::string>{"year", "month", "day"}));
  EXPECT_TRUE(t.uses_table());
  EXPECT_EQ(GroupTemplate::parse("{bucket}:{{{partition.d}}}")->render(*parse_key("t/d=1/x"), "b"), "b:{1}");
}

TEST(GroupTemplate, RefusesPerObjectAndUnknownPlaceholders) {
  std::string err;
  size_t at = 99;
  EXPECT_FALSE(GroupTemplate::parse("{table}/{key}", &err, &at));
  EXPECT_NE(err.find("each would be a group of its own"), std::string::npos);
  EXPECT_EQ(at, 8u);
  EXPECT_FALSE(GroupTemplate::parse("{tabel}", &err));
  EXPECT_NE(err.find("unknown placeholder '{tabel}'"), std::string::npos);
  EXPECT_FALSE(GroupTemplate::parse("all", &err));
  EXPECT_NE(err.find("no placeholder"), std::string::npos);
  EXPECT_FALSE(GroupTemplate::parse("{table", &err));
  EXPECT_FALSE(GroupTemplate::parse("", &err));
  EXPECT_FALSE(GroupTemplate::parse("{partition.}", &err));
}

}  // namespace
}  // namespace hivehook
