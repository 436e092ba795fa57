// Issue 16 N9: `hivehook retry` refused on the packaged service suggested the config line
// `http: {listen: HOST:PORT, token: ${HIVEHOOK_TOKEN}}`, which is not YAML ('}' ends a plain scalar
// in a flow mapping): followed literally it made the config invalid and the restarted service failed.
#include <gtest/gtest.h>

#include "unit/support/temp_dir.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "app/replay_client.h"
#include "rules/config.h"

namespace fs = std::filesystem;

TEST(RetrySuggestion, SuggestedHttpLineIsInvalidYaml_Issue16N9) {
  const hivehook::test::TempDir tmp;
  const fs::path& dir = tmp.path();
  fs::create_directories(dir);
  {
    std::ofstream(dir / "hivehook.yaml") << "landing: landing\narchive: archive\nquarantine: quarantine\n"
                                            "state: state.db\nrules: rules.yaml\n"
                                         << hivehook::cli::kHttpListenerYaml << "\n";
    std::ofstream(dir / "rules.yaml") << "rules: []\n";
  }
  ::setenv("HIVEHOOK_TOKEN", "a-token-of-24-characters", 1);
  hivehook::Diagnostics diags;
  auto config = hivehook::load_config(dir / "hivehook.yaml", diags);
  ::unsetenv("HIVEHOOK_TOKEN");
  ASSERT_TRUE(config.has_value()) << diags.str();
  ASSERT_TRUE(config->http.has_value());
  EXPECT_EQ(config->http->listen, "127.0.0.1:9464");
  EXPECT_EQ(config->http->token, "a-token-of-24-characters");
  EXPECT_NE(hivehook::cli::kHttpListenerSuggestion.find(hivehook::cli::kHttpListenerYaml), std::string::npos);
}
