// The CLI's connection flags and token discovery, and --expires-in.
#include "cli/account_commands.h"

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "cli/client.h"
#include "gtest/gtest.h"

namespace argonaut::cli {
namespace {

TEST(ParseExpiresInTest, Table) {
  struct Case {
    std::string text;
    bool ok;
    int64_t seconds;
  };
  for (const Case& c : std::vector<Case>{{"24h", true, 86400},
                                         {"30m", true, 1800},
                                         {"90s", true, 90},
                                         {"7d", true, 7 * 86400},
                                         {"0", true, 0},
                                         {"1h30m", true, 5400},
                                         {"-1h", false, 0},
                                         {"0d", false, 0},
                                         {"soon", false, 0},
                                         {"", false, 0},
                                         {"99999999d", false, 0}}) {
    int64_t seconds = -1;
    EXPECT_EQ(ParseExpiresIn(c.text, &seconds), c.ok) << c.text;
    if (c.ok) {
      EXPECT_EQ(seconds, c.seconds) << c.text;
    }
  }
}

// One test: the flags are process-wide, as in the CLI, so the cases run in order.
TEST(ConnectionTest, FlagsAreTakenAndTheTokenIsFoundInOrder) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/data";
  ASSERT_EQ(system(("mkdir -p " + dir).c_str()), 0);
  std::ofstream(dir + "/admin.token") << "argn_aaaaaaaaaaaa_fromfile\n";
  setenv("ARGONAUT_DATA", dir.c_str(), 1);
  unsetenv("ARGONAUT_TOKEN");
  unsetenv("ARGONAUT_SECURE");
  unsetenv("ARGO_SECURE");
  EXPECT_EQ(DefaultDataDir(), dir);

  std::vector<std::string> args = {"get", "wf", "-n", "x"};
  ASSERT_TRUE(TakeConnectionFlags(args).ok());
  EXPECT_EQ(args, (std::vector<std::string>{"get", "wf", "-n", "x"}));
  EXPECT_EQ(CallerToken(), "argn_aaaaaaaaaaaa_fromfile");  // the file, last
  setenv("ARGONAUT_TOKEN", "fromenv", 1);
  EXPECT_EQ(CallerToken(), "fromenv");  // the environment before the file

  args = {"get", "--token", "fromflag", "wf", "--insecure-skip-tls-verify", "-n", "x"};
  ASSERT_TRUE(TakeConnectionFlags(args).ok());
  EXPECT_EQ(args, (std::vector<std::string>{"get", "wf", "-n", "x"}));
  EXPECT_EQ(CallerToken(), "fromflag");  // the flag before everything

  args = {"list", "--token=other"};
  ASSERT_TRUE(TakeConnectionFlags(args).ok());
  EXPECT_EQ(args, std::vector<std::string>{"list"});
  EXPECT_EQ(CallerToken(), "other");

  args = {"list", "--token"};
  EXPECT_FALSE(TakeConnectionFlags(args).ok());
  args = {"list", "--tls-ca", dir + "/missing.pem"};
  absl::Status s = TakeConnectionFlags(args);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("--tls-ca"), std::string::npos);
  EXPECT_NE(TokenHint().find(dir + "/admin.token"), std::string::npos);
}

}  // namespace
}  // namespace argonaut::cli
