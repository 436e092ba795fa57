#include <gtest/gtest.h>
#include <stdlib.h>

#include "rules/config.h"

using namespace hivehook;

class EnvExpand : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("HH_TEST_A", "alpha", 1);
    ::setenv("HH_TEST_EMPTY", "", 1);
    ::unsetenv("HH_TEST_MISSING");
  }
};

TEST_F(EnvExpand, ExpandsInsideText) {
  std::string err;
  EXPECT_EQ(expand_env("x-${HH_TEST_A}-y/${HH_TEST_A}", &err), "x-alpha-y/alpha");
  EXPECT_EQ(expand_env("${HH_TEST_EMPTY}", &err), "");
  EXPECT_EQ(expand_env("plain {path}", &err), "plain {path}");
}

TEST_F(EnvExpand, DollarDollarIsALiteralDollar) {
  std::string err;
  EXPECT_EQ(expand_env("$${HH_TEST_A}", &err), "${HH_TEST_A}");
  EXPECT_EQ(expand_env("cost: $$5", &err), "cost: $5");
  EXPECT_EQ(expand_env("^a$", &err), "^a$");  // a lone '$' stays
  EXPECT_EQ(expand_env("$x", &err), "$x");
}

TEST_F(EnvExpand, MissingVariableIsNamed) {
  std::string err;
  EXPECT_EQ(expand_env("a ${HH_TEST_MISSING} b", &err), std::nullopt);
  EXPECT_EQ(err, "environment variable 'HH_TEST_MISSING' is not set");
}

TEST_F(EnvExpand, SyntaxErrors) {
  std::string err;
  EXPECT_EQ(expand_env("${HH_TEST_A", &err), std::nullopt);
  EXPECT_EQ(err, "unterminated '${' (write '$$' for a literal '$')");
  EXPECT_EQ(expand_env("${}", &err), std::nullopt);
  EXPECT_EQ(err, "invalid environment variable name '' in '${...}'");
  EXPECT_EQ(expand_env("${1X}", &err), std::nullopt);
  EXPECT_EQ(expand_env("${A-B}", &err), std::nullopt);
  EXPECT_EQ(err, "invalid environment variable name 'A-B' in '${...}'");
}
