#include "lib/server/auth_setup.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/controller/clock.h"

namespace argonaut::server {
namespace {

using ::argonaut::testing::IsOk;
using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

std::string NewDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/authXXXXXX";
  return mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(CreateTokenFileTest, WritesATokenTheStoreAccepts) {
  const std::string dir = NewDir();
  const std::string store = dir + "/auth/tokens.json";
  const std::string out = dir + "/service.token";
  ASSERT_THAT(CreateTokenFile(store, "system:service", out), IsOk());
  struct stat st {};
  ASSERT_EQ(stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string token = Slurp(out);
  ASSERT_FALSE(token.empty());
  token.pop_back();  // the newline
  auto tokens = auth::TokenStore::Open(store);
  ASSERT_THAT(tokens.status(), IsOk());
  auto who = (*tokens)->Authenticate(token, controller::RealClock::Get()->Now());
  ASSERT_THAT(who.status(), IsOk());
  EXPECT_EQ(who->account, "system:service");

  // An existing file is never replaced, and nothing is minted for it.
  const size_t before = (*tokens)->ListTokens().size();
  EXPECT_THAT(CreateTokenFile(store, "admin", out),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(out)));
  EXPECT_EQ((*tokens)->ListTokens().size(), before);
  EXPECT_EQ(Slurp(out), token + "\n");
}

TEST(AuthSetupTest, ClientModeHasAnAuthorizerServerModeNone) {
  const std::string dir = NewDir();
  auto client = AuthSetup::Create({.auth_file = dir + "/tokens.json"}, nullptr);
  ASSERT_THAT(client.status(), IsOk());
  EXPECT_NE((*client)->authorizer(), nullptr);
  auto server = AuthSetup::Create({.mode = "server"}, nullptr);
  ASSERT_THAT(server.status(), IsOk());
  EXPECT_EQ((*server)->authorizer(), nullptr);
}

TEST(AuthSetupTest, BadFlagsAreNamed) {
  const std::string dir = NewDir();
  EXPECT_THAT(AuthSetup::Create({.mode = "open"}, nullptr).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--auth-mode")));
  EXPECT_THAT(
      AuthSetup::Create({.auth_file = dir + "/t.json", .rbac_policy = dir + "/none.csv"}, nullptr)
          .status(),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("--rbac-policy")));
  std::ofstream(dir + "/bad.csv") << "p, role:x\n";
  EXPECT_THAT(
      AuthSetup::Create({.auth_file = dir + "/t.json", .rbac_policy = dir + "/bad.csv"}, nullptr)
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--rbac-policy")));
  EXPECT_THAT(AuthSetup::Create({.mode = "server", .service_token_file = dir + "/missing"}, nullptr)
                  .status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("--service-token-file")));
  std::ofstream(dir + "/secret.token") << "argn_bad token\n";
  EXPECT_THAT(
      AuthSetup::Create({.mode = "server", .service_token_file = dir + "/secret.token"}, nullptr)
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("argn_bad"))));
  EXPECT_THAT(AuthSetup::Create({.mode = "server", .tls_ca = "x", .insecure_skip_tls_verify = true},
                                nullptr)
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace argonaut::server
