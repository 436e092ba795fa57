// docs/config-reference.md is generated from the schema tables; this test fails when they drift.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "rules/schemas.h"

using namespace hivehook;

TEST(Reference, DocsMatchTheSchema) {
  std::filesystem::path doc = std::filesystem::path(HIVEHOOK_TEST_DATA).parent_path().parent_path() / "docs" /
                              "config-reference.md";
  std::string generated = config_reference_markdown();
  if (const char* update = std::getenv("HIVEHOOK_UPDATE_DOCS"); update && *update == '1') {
    std::ofstream(doc) << generated;
  }
  std::ifstream in(doc);
  std::stringstream buf;
  buf << in.rdbuf();
  EXPECT_EQ(buf.str(), generated) << "regenerate with HIVEHOOK_UPDATE_DOCS=1 unit_rules --gtest_filter='Reference.*'";
}

TEST(Reference, EveryTableIsDocumented) {
  std::string md = config_reference_markdown();
  for (const char* key : {"`landing`", "`notify`", "`webhook`", "`max_attempts`", "`initial`", "`level`", "`name`",
                          "`retries`", "`glob`", "`command`", "`handler`", "`action`", "`notify_each_run`"})
    EXPECT_NE(md.find(key), std::string::npos) << key;
}
