// Job output for people: bounded, real lines, secrets masked.
#include <gtest/gtest.h>

#include "jobs/output_excerpt.h"

using namespace hivehook;

TEST(OutputExcerpt, APythonTracebackStaysReadable) {
  std::string tb =
      "loading rows\r\nTraceback (most recent call last):\n  File \"/jobs/etl.py\", line 12, in <module>\n"
      "    main()\n  File \"/jobs/etl.py\", line 9, in main\n    raise ValueError(\"bad row 3\")\nValueError: bad row 3\n\n";
  std::string x = output_excerpt(tb, 40, 4096);
  EXPECT_EQ(x,
            "loading rows\nTraceback (most recent call last):\n  File \"/jobs/etl.py\", line 12, in <module>\n"
            "    main()\n  File \"/jobs/etl.py\", line 9, in main\n    raise ValueError(\"bad row 3\")\nValueError: bad row 3\n");
}

TEST(OutputExcerpt, KeepsTheEndWithinLineAndByteBounds) {
  std::string many;
  for (int i = 0; i < 100; ++i) many += "line " + std::to_string(i) + "\n";
  std::string x = output_excerpt(many, 3, 4096);
  EXPECT_EQ(x, "…\nline 97\nline 98\nline 99\n");
  std::string y = output_excerpt(many, 100, 20);
  EXPECT_LE(y.size(), 20u + 4u);
  EXPECT_NE(y.find("line 99\n"), std::string::npos);
  std::string longline(10000, 'z');
  EXPECT_EQ(output_excerpt(longline + "END", 10, 100), "…\n" + std::string(97, 'z') + "END\n");  // one line longer than the bound keeps its end
}

TEST(OutputExcerpt, ControlBytesAndBadUtf8AreShownNotPassedOn) {
  std::string x = output_excerpt(std::string("a\x1b[31mred\x07\xff\n"), 10, 100);
  EXPECT_EQ(x, "a\\x1b[31mred\\x07\xef\xbf\xbd\n");
  EXPECT_EQ(output_excerpt("50%\r80%\r100%\n", 10, 100), "50%\n80%\n100%\n");  // a progress bar's CRs
}

TEST(OutputExcerpt, SecretsAreMasked) {
  std::string text =
      "connecting to postgresql://etl:hunter2@db/warehouse\npassword=letmein token: abc123 api_key=\"k-9\"\n"
      "Authorization: Bearer eyJhbGciOi.x-y\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI\nthe hook secret is S3CR3T-VALUE\n";
  std::string x = output_excerpt(text, 40, 4096, Redactor({"S3CR3T-VALUE"}));
  for (const char* leaked : {"hunter2", "letmein", "abc123", "k-9", "eyJhbGciOi", "wJalrXUtnFEMI", "S3CR3T-VALUE"})
    EXPECT_EQ(x.find(leaked), std::string::npos) << leaked << " in:\n" << x;
  EXPECT_NE(x.find("postgresql://etl:***@db/warehouse"), std::string::npos) << x;
  EXPECT_NE(x.find("Bearer ***"), std::string::npos) << x;
}
