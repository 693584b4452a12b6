#include "lib/auth/policy.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::auth {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(GlobMatchTest, Table) {
  struct Case {
    std::string pattern, text;
    bool want;
  };
  const std::vector<Case> cases = {
      {"*", "", true},
      {"*", "default/hello", true},
      {"default/*", "default/hello", true},
      {"default/*", "default/", true},
      {"default/*", "prod/hello", false},
      {"default/*", "default", false},
      {"*/hello", "a/b/hello", true},
      {"default/hello", "default/hello", true},
      {"default/hello", "default/hello2", false},
      {"default/hel?o", "default/hello", true},
      {"default/hel?o", "default/helo", false},
      {"*-prod/*", "team-prod/app", true},
      {"*-prod/*", "team-dev/app", false},
      {"a*b*c", "aXXbYYc", true},
      {"a*b*c", "aXXcYYb", false},
      {"", "", true},
      {"", "x", false},
      // Objects with a literal `*` (lists across namespaces).
      {"*", "*/*", true},
      {"*", "*/x", true},
      {"*/*", "*/*", true},
      {"default/*", "*/*", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(GlobMatch(c.pattern, c.text), c.want) << c.pattern << " vs " << c.text;
  }
}

TEST(PolicyParseTest, ToleratesBlankLinesCommentsAndWhitespace) {
  auto policy = Policy::Parse(
      "\n# developers\n   p ,  role:dev , workflows , create , default/* , allow  \r\n"
      "\t\n  # bind\ng, alice, role:dev\n");
  ASSERT_OK(policy.status());
  EXPECT_TRUE(policy->Enforce("alice", "workflows", "create", "default/hello"));
}

TEST(PolicyParseTest, LocatedErrors) {
  struct Case {
    std::string csv, want;
  };
  const std::vector<Case> cases = {
      {"p, role:a, workflows, get", "policy.csv line 1: a p line has 5 or 6 fields"},
      {"# c\n\np, role:a, workflows, get, *, allow, extra", "policy.csv line 3: a p line"},
      {"p, , workflows, get, *", "policy.csv line 1: subject (field 2) is empty"},
      {"p, role:a, , get, *", "policy.csv line 1: resource (field 3) is empty"},
      {"p, role:a, workflows, , *", "policy.csv line 1: action (field 4) is empty"},
      {"p, role:a, workflows, get, ", "policy.csv line 1: object (field 5) is empty"},
      {"p, role:a, workflows, get, *, maybe",
       "policy.csv line 1: effect (field 6) \"maybe\" is neither allow nor deny"},
      {"g, alice", "policy.csv line 1: a g line has 3 fields"},
      {"g, alice, role:a, x", "policy.csv line 1: a g line has 3 fields"},
      {"g, , role:a", "policy.csv line 1: subject (field 2) is empty"},
      {"g, alice,", "policy.csv line 1: role (field 3) is empty"},
      {"x, alice, role:a", "policy.csv line 1: line type (field 1) \"x\" is neither p nor g"},
      {"p, role:a, workflows, get, *\nq", "policy.csv line 2: line type"},
      {"p, role:a, workflows, get, \"default/*", "policy.csv line 1: field 5 has an unterminated"},
      {"p, role:a, workflows, \"get\"x, *", "policy.csv line 1: field 4 has text after"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(Policy::Parse(c.csv).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.want)))
        << c.csv;
  }
}

TEST(PolicyParseTest, QuotedFields) {
  auto policy = Policy::Parse(
      "p, \"role:dev\" , workflows, \"create\", \"default/a,b\", \"allow\"\n"
      "p, role:dev, workflows, get, \"default/say \"\"hi\"\"\"\n"
      "g, alice, \"role:dev\"");
  ASSERT_OK(policy.status());
  EXPECT_TRUE(policy->Enforce("alice", "workflows", "create", "default/a,b"));
  EXPECT_FALSE(policy->Enforce("alice", "workflows", "create", "default/a"));
  EXPECT_TRUE(policy->Enforce("alice", "workflows", "get", "default/say \"hi\""));
}

TEST(PolicyParseTest, EffectIsCaseInsensitive) {
  auto policy = Policy::Parse("p, alice, workflows, get, *, DENY\ng, alice, role:readonly");
  ASSERT_OK(policy.status());
  EXPECT_FALSE(policy->Enforce("alice", "workflows", "get", "default/x"));
  EXPECT_TRUE(policy->Enforce("alice", "rollouts", "get", "default/x"));
}

struct Check {
  std::string account, resource, action, object;
  bool want;
};

void ExpectChecks(const Policy& policy, const std::vector<Check>& checks) {
  for (const Check& c : checks) {
    EXPECT_EQ(policy.Enforce(c.account, c.resource, c.action, c.object), c.want)
        << c.account << " " << c.action << " " << c.resource << " " << c.object;
  }
}

TEST(PolicyEnforceTest, BuiltIns) {
  ExpectChecks(Policy::BuiltIn(), {
                                      {"admin", "workflows", "create", "default/x", true},
                                      {"admin", "secrets", "get", "default/s", true},
                                      {"admin", "anything", "whatever", "", true},
                                      {"system:service", "rollouts", "update", "a/b", true},
                                      {"alice", "workflows", "get", "default/x", false},
                                      {"", "workflows", "get", "default/x", false},
                                  });
  auto ro = Policy::Parse("g, viewer, role:readonly");
  ASSERT_OK(ro.status());
  ExpectChecks(*ro, {
                        {"viewer", "workflows", "get", "default/x", true},
                        {"viewer", "applications", "get", "argocd/guestbook", true},
                        {"viewer", "logs", "get", "default/pod", true},
                        {"viewer", "secrets", "get", "default/s", false},
                        {"viewer", "workflows", "create", "default/x", false},
                        {"viewer", "workflows", "delete", "default/x", false},
                        {"viewer", "applications", "sync", "argocd/guestbook", false},
                    });
}

TEST(PolicyEnforceTest, GlobsDenyAndInheritance) {
  auto policy = Policy::Parse(R"csv(
p, role:dev, workflows, *, default/*
p, role:dev, workflows, delete, default/keep-*, deny
p, role:dev, cronworkflows, get, *
p, role:lead, rollouts, update, prod/*
g, role:lead, role:dev
g, alice, role:dev
g, bob, role:lead
p, carol, applications, sync, argocd/guest*
g, dave, role:loop1
g, role:loop1, role:loop2
g, role:loop2, role:loop1
p, role:loop2, pods, get, */*
)csv");
  ASSERT_OK(policy.status());
  ExpectChecks(*policy, {
                            {"alice", "workflows", "create", "default/hello", true},
                            {"alice", "workflows", "delete", "default/hello", true},
                            {"alice", "workflows", "delete", "default/keep-me", false},
                            {"alice", "workflows", "create", "prod/hello", false},
                            {"alice", "rollouts", "update", "prod/r", false},
                            {"alice", "cronworkflows", "get", "any/thing", true},
                            {"bob", "rollouts", "update", "prod/r", true},
                            {"bob", "workflows", "create", "default/x", true},
                            {"bob", "workflows", "delete", "default/keep-x", false},
                            {"carol", "applications", "sync", "argocd/guestbook", true},
                            {"carol", "applications", "delete", "argocd/guestbook", false},
                            {"dave", "pods", "get", "default/p", true},
                            {"nobody", "workflows", "get", "default/x", false},
                        });
}

TEST(PolicyEnforceTest, DenyOverridesAdmin) {
  auto policy = Policy::Parse("p, role:admin, secrets, *, kube-system/*, deny");
  ASSERT_OK(policy.status());
  ExpectChecks(*policy, {
                            {"admin", "secrets", "get", "kube-system/token", false},
                            {"admin", "secrets", "get", "default/token", true},
                        });
}

TEST(PolicyEnforceTest, DefaultRoleAppliesToEveryAccount) {
  auto policy = Policy::Parse("p, role:dev, workflows, create, default/*\ng, alice, role:dev",
                              "role:readonly");
  ASSERT_OK(policy.status());
  ExpectChecks(*policy, {
                            {"stranger", "workflows", "get", "default/x", true},
                            {"stranger", "secrets", "get", "default/x", false},
                            {"stranger", "workflows", "create", "default/x", false},
                            {"alice", "workflows", "create", "default/x", true},
                            {"alice", "rollouts", "get", "default/x", true},
                        });
  EXPECT_EQ(policy->default_role(), "role:readonly");
  EXPECT_THAT(policy->RolesOf("alice"), ElementsAre("role:dev", "role:readonly"));
  EXPECT_THAT(policy->RolesOf("stranger"), ElementsAre("role:readonly"));
}

TEST(PolicyEnforceTest, ReadonlyPlusExplicitSecretsAllow) {
  // readonly's secrets exclusion is an absence, not a deny: an operator can
  // grant secrets to a role that also inherits readonly.
  auto policy =
      Policy::Parse("g, ops, role:ops\ng, role:ops, role:readonly\np, role:ops, secrets, get, */*");
  ASSERT_OK(policy.status());
  EXPECT_TRUE(policy->Enforce("ops", "secrets", "get", "default/s"));
}

TEST(PolicyRolesTest, RolesOfAdminAndTransitive) {
  auto policy = Policy::Parse("g, bob, role:lead\ng, role:lead, role:dev");
  ASSERT_OK(policy.status());
  EXPECT_THAT(policy->RolesOf("admin"), ElementsAre("role:admin"));
  EXPECT_THAT(policy->RolesOf("bob"), ElementsAre("role:dev", "role:lead"));
  EXPECT_TRUE(policy->RolesOf("nobody").empty());
}

}  // namespace
}  // namespace argonaut::auth
