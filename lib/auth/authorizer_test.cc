#include "lib/auth/authorizer.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::auth {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

class AuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = TokenStore::Open(absl::StrCat(
        ::testing::TempDir(), "/authz_",
        ::testing::UnitTest::GetInstance()->current_test_info()->name(), "/tokens.json"));
    ASSERT_OK(store.status());
    tokens_ = std::move(*store);
    auto policy = Policy::Parse("g, viewer, role:readonly\np, dev, workflows, *, default/*");
    ASSERT_OK(policy.status());
    authz_ = std::make_unique<Authorizer>(tokens_.get(), *policy, &clock_, &metrics_);
  }

  std::string Token(const std::string& account, absl::Duration expires_in = absl::ZeroDuration()) {
    auto token = tokens_->CreateToken(account, expires_in, clock_.Now());
    EXPECT_OK(token.status());
    return token.value_or("");
  }

  // The value of one sample line of the exposition, or "" when absent.
  std::string Sample(const std::string& prefix) {
    const std::string text = metrics_.Serialize();
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (absl::StartsWith(line, prefix)) return std::string(line.substr(prefix.size()));
    }
    return "";
  }

  controller::FakeClock clock_;
  metrics::MetricsRegistry metrics_{metrics::MetricsRegistry::Options{.process_metrics = false}};
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<Authorizer> authz_;
};

TEST_F(AuthorizerTest, Authenticate) {
  const std::string token = Token("viewer");
  auto who = authz_->Authenticate("Bearer " + token);
  ASSERT_OK(who.status());
  EXPECT_EQ(who->account, "viewer");
  EXPECT_OK(authz_->Authenticate("bearer   " + token + " ").status());

  struct Case {
    std::string header, message;
  };
  const std::vector<Case> cases = {
      {"", "missing bearer token"},        {"Bearer", "missing bearer token"},
      {"Bearer ", "missing bearer token"}, {"Basic dXNlcjpwYXNz", "missing bearer token"},
      {token, "missing bearer token"},     {"Bearer argn_000000000000_nope", "invalid token"},
  };
  for (const Case& c : cases) {
    absl::Status s = authz_->Authenticate(c.header).status();
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated, c.message)) << c.header;
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr(token.substr(18))));
  }
  EXPECT_EQ(Sample("argonaut_auth_unauthenticated_total "), std::to_string(cases.size()));
}

TEST_F(AuthorizerTest, ExpiryFollowsTheInjectedClock) {
  const std::string token = Token("dev", absl::Minutes(10));
  EXPECT_OK(authz_->Authenticate("Bearer " + token).status());
  clock_.Advance(absl::Minutes(10));
  EXPECT_THAT(authz_->Authenticate("Bearer " + token).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, "token expired"));
  EXPECT_EQ(Sample("argonaut_auth_unauthenticated_total "), "1");
}

TEST_F(AuthorizerTest, AuthorizeNamesWhatWasRefusedAndCountsIt) {
  const Subject viewer{"viewer", "id"};
  EXPECT_OK(authz_->Authorize(viewer, {"workflows", "get", "default/hello"}));
  EXPECT_THAT(authz_->Authorize(viewer, {"workflows", "create", "default/hello"}),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "account \"viewer\" may not create workflows \"default/hello\""));
  EXPECT_THAT(authz_->Authorize(viewer, {"secrets", "get", "default/db"}),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "account \"viewer\" may not get secrets \"default/db\""));
  EXPECT_THAT(authz_->Authorize(viewer, {"secrets", "get", "default/db"}),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // A made-up resource from a request is counted under "other".
  EXPECT_THAT(authz_->Authorize(viewer, {"x-attacker-123", "frob", "a/b"}),
              StatusIs(absl::StatusCode::kPermissionDenied));

  EXPECT_EQ(Sample("argonaut_auth_denied_total{action=\"create\",resource=\"workflows\"} "), "1");
  EXPECT_EQ(Sample("argonaut_auth_denied_total{action=\"get\",resource=\"secrets\"} "), "2");
  EXPECT_EQ(Sample("argonaut_auth_denied_total{action=\"other\",resource=\"other\"} "), "1");
  EXPECT_EQ(Sample("argonaut_auth_denied_total{action=\"get\",resource=\"workflows\"} "), "");
}

TEST_F(AuthorizerTest, CanCountsNothing) {
  const Subject dev{"dev", "id"};
  EXPECT_TRUE(authz_->Can(dev, {"workflows", "delete", "default/x"}));
  EXPECT_FALSE(authz_->Can(dev, {"workflows", "delete", "prod/x"}));
  EXPECT_EQ(Sample("argonaut_auth_denied_total{"), "");
}

TEST_F(AuthorizerTest, SetPolicyReplacesThePolicy) {
  const Subject dev{"dev", "id"};
  EXPECT_TRUE(authz_->Can(dev, {"workflows", "create", "default/x"}));
  auto next = Policy::Parse("p, dev, rollouts, update, */*", "role:readonly");
  ASSERT_OK(next.status());
  authz_->SetPolicy(*next);
  EXPECT_FALSE(authz_->Can(dev, {"workflows", "create", "default/x"}));
  EXPECT_TRUE(authz_->Can(dev, {"rollouts", "update", "prod/web"}));
  EXPECT_TRUE(authz_->Can(dev, {"pods", "get", "prod/p"}));
  EXPECT_EQ(authz_->policy().default_role(), "role:readonly");
  EXPECT_TRUE(authz_->Can({"admin", ""}, {"secrets", "delete", "a/b"}));
}

TEST_F(AuthorizerTest, ConcurrentUseWithPolicySwaps) {
  const std::string token = Token("dev");
  auto strict = Policy::Parse("");
  auto loose = Policy::Parse("p, dev, workflows, *, */*");
  ASSERT_OK(strict.status());
  ASSERT_OK(loose.status());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto who = authz_->Authenticate("Bearer " + token);
        if (!who.ok()) ++failures;
        (void)authz_->Can(*who, {"workflows", "get", "default/x"});
      }
    });
  }
  for (int i = 0; i < 100; ++i) authz_->SetPolicy(i % 2 ? *strict : *loose);
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(AuthorizerNoMetricsTest, WorksWithoutARegistry) {
  auto store = TokenStore::Open(absl::StrCat(::testing::TempDir(), "/authz_nometrics/tokens.json"));
  ASSERT_OK(store.status());
  controller::FakeClock clock;
  Authorizer authz(store->get(), Policy::BuiltIn(), &clock, nullptr);
  EXPECT_THAT(authz.Authenticate("").status(), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(authz.Authorize({"nobody", ""}, {"workflows", "get", "a/b"}),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

}  // namespace
}  // namespace argonaut::auth
