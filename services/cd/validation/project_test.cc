// Argo CD's project semantics, table-tested: the glob dialect, repo URL normalization, source
// repos with `!` negation, destinations by server or name with negation, cluster- and
// namespace-scoped resource lists, and CheckApplication over all sources and the destination.

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "nlohmann/json.hpp"
#include "services/cd/validation/glob.h"
#include "services/cd/validation/validate.h"

namespace argonaut::cd::validation {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST(GlobTest, Table) {
  struct Case {
    std::string pattern, text;
    char sep;
    bool match;
  };
  const std::vector<Case> cases = {
      {"*", "", '\0', true},
      {"*", "a/b", '\0', true},
      {"*", "a/b", '/', false},
      {"**", "a/b", '/', true},
      {"a*", "abc", '/', true},
      {"a*c", "abbbc", '/', true},
      {"a*c", "ab/c", '/', false},
      {"a**c", "ab/c", '/', true},
      {"a?c", "abc", '/', true},
      {"a?c", "a/c", '/', false},
      {"a?c", "a/c", '\0', true},
      {"a?c", "ac", '\0', false},
      {"[ab]x", "bx", '\0', true},
      {"[ab]x", "cx", '\0', false},
      {"[!ab]x", "cx", '\0', true},
      {"[^ab]x", "ax", '\0', false},
      {"[a-c]", "b", '\0', true},
      {"[a-c]", "d", '\0', false},
      {"{dev,prod}-*", "prod-eu", '\0', true},
      {"{dev,prod}-*", "qa-eu", '\0', false},
      {"x{a,{b,c}}y", "xcy", '\0', true},
      {"\\*", "*", '\0', true},
      {"\\*", "a", '\0', false},
      {"team-*", "team-a", '\0', true},
      {"team-*", "other", '\0', false},
      {"https://github.com/argoproj/*", "https://github.com/argoproj/argo-cd", '/', true},
      {"https://github.com/argoproj/*", "https://github.com/argoproj/a/b", '/', false},
      {"https://github.com/*", "https://github.com/argoproj/argo-cd", '/', false},
      {"https://github.com/**", "https://github.com/argoproj/argo-cd", '/', true},
      {"[a", "[a", '\0', false},  // invalid: never matches
  };
  for (const Case& c : cases) {
    EXPECT_EQ(GlobMatch(c.pattern, c.text, c.sep), c.match)
        << c.pattern << " vs " << c.text << " sep '" << c.sep << "'";
  }
  EXPECT_OK(CheckGlob("{a,b}*[x-z]?\\{"));
  EXPECT_FALSE(CheckGlob("[a").ok());
  EXPECT_FALSE(CheckGlob("{a,b").ok());
  EXPECT_FALSE(CheckGlob("a\\").ok());
  EXPECT_FALSE(CheckGlob("[z-a]").ok());
  // Alternatives multiply; a hostile pattern is refused, not expanded forever.
  std::string many;
  for (int i = 0; i < 20; ++i) many += "{a,b}";
  EXPECT_FALSE(CheckGlob(many).ok());
  // Long texts with many stars finish (no backtracking blow-up, no recursion), and an
  // absurdly long URL is just not matched.
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*a*a*b", std::string(2000, 'a')));
  EXPECT_TRUE(GlobMatch("*a*a*a*a*a*a*a*a*a*a*b", std::string(2000, 'a') + "b"));
  EXPECT_TRUE(GlobMatch("https://**", "https://" + std::string(1 << 20, 'x'), '/'));
  EXPECT_FALSE(CheckGlob(std::string(5000, 'a')).ok());
}

TEST(NormalizeGitUrlTest, Table) {
  EXPECT_EQ(NormalizeGitUrl("https://GitHub.com/ArgoProj/Argo-CD.git"),
            "https://github.com/argoproj/argo-cd");
  EXPECT_EQ(NormalizeGitUrl("  https://github.com/a/b  "), "https://github.com/a/b");
  EXPECT_EQ(NormalizeGitUrl("git@github.com:argoproj/argo-cd.git"),
            "git@github.com/argoproj/argo-cd");
  EXPECT_EQ(NormalizeGitUrl("ssh://git@github.com/argoproj/argo-cd.git"),
            "git@github.com/argoproj/argo-cd");
  EXPECT_EQ(NormalizeGitUrl("https://user@host/x.git"), "https://user@host/x");
  EXPECT_EQ(NormalizeGitUrl("file:///srv/git/repo"), "file:///srv/git/repo");
}

json Project(json spec) {
  return {{"apiVersion", "argoproj.io/v1alpha1"},
          {"kind", "AppProject"},
          {"metadata", {{"name", "p"}, {"namespace", "argocd"}}},
          {"spec", std::move(spec)}};
}

TEST(CheckSourcePermittedTest, Table) {
  struct Case {
    std::vector<std::string> repos;
    std::string url;
    bool ok;
  };
  const std::vector<Case> cases = {
      {{"*"}, "https://anything/x.git", true},
      {{"*"}, "git@github.com:a/b.git", true},
      {{}, "https://github.com/a/b", false},
      {{"https://github.com/a/b.git"}, "https://GITHUB.com/a/b", true},
      {{"https://github.com/a/b"}, "https://github.com/a/c", false},
      {{"https://github.com/argoproj/*"},
       "https://github.com/argoproj/argocd-example-apps.git",
       true},
      {{"https://github.com/argoproj/*"}, "https://github.com/other/x", false},
      {{"git@github.com:argoproj/*"}, "ssh://git@github.com/argoproj/x.git", true},
      // Negation: a deny entry that matches refuses, whatever else matches.
      {{"*", "!https://github.com/bad/*"}, "https://github.com/bad/repo", false},
      {{"*", "!https://github.com/bad/*"}, "https://github.com/good/repo", true},
      {{"!https://github.com/bad/*", "*"}, "https://github.com/bad/repo", false},
      // As in Argo CD, an unmatched deny entry counts as a match: deny-only lists allow the rest.
      {{"!https://github.com/bad/*"}, "https://github.com/good/repo", true},
      {{"file:///srv/git/*"}, "file:///srv/git/demo", true},
  };
  for (const Case& c : cases) {
    absl::Status s = CheckSourcePermitted(Project({{"sourceRepos", c.repos}}), c.url);
    EXPECT_EQ(s.ok(), c.ok) << c.url << " " << json(c.repos).dump() << " " << s;
  }
  EXPECT_THAT(
      CheckSourcePermitted(Project({{"sourceRepos", {"https://y/*"}}}), "https://x"),
      argonaut::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                  "application repo https://x is not permitted in project 'p'"));
}

TEST(CheckDestinationPermittedTest, Table) {
  const std::string in = kInClusterServer;
  struct Case {
    json destinations;
    std::string server, name, ns;
    bool ok;
  };
  const std::vector<Case> cases = {
      {json::array({{{"server", "*"}, {"namespace", "*"}}}), in, "", "any", true},
      {json::array({{{"server", "*"}, {"namespace", "*"}}}), "", "in-cluster", "any", true},
      {json::array(), in, "", "any", false},
      {json::array({{{"server", in}, {"namespace", "guestbook"}}}), in, "", "guestbook", true},
      {json::array({{{"server", in}, {"namespace", "guestbook"}}}), in, "", "other", false},
      {json::array({{{"server", in}, {"namespace", "team-*"}}}), in, "", "team-a", true},
      {json::array({{{"server", "https://other"}, {"namespace", "*"}}}), in, "", "x", false},
      // By name only: a server-only entry does not match a name-only destination (except
      // in-cluster, which resolves to the in-cluster server).
      {json::array({{{"server", "*"}, {"namespace", "*"}}}), "", "edge", "x", false},
      {json::array({{{"server", in}, {"namespace", "*"}}}), "", "in-cluster", "x", true},
      {json::array({{{"name", "edge"}, {"namespace", "*"}}}), "", "edge", "x", true},
      {json::array({{{"name", "in-*"}, {"namespace", "*"}}}), "", "in-cluster", "x", true},
      {json::array({{{"name", "in-cluster"}, {"namespace", "*"}}}), in, "in-cluster", "x", true},
      // Negation: an allow-all plus a denied namespace.
      {json::array({{{"server", "*"}, {"namespace", "*"}},
                    {{"server", "*"}, {"namespace", "!kube-system"}}}),
       in, "", "kube-system", false},
      {json::array({{{"server", "*"}, {"namespace", "*"}},
                    {{"server", "*"}, {"namespace", "!kube-system"}}}),
       in, "", "default", true},
      {json::array({{{"server", "*"}, {"namespace", "*"}},
                    {{"server", "!https://prod"}, {"namespace", "*"}}}),
       "https://prod", "", "default", false},
      {json::array({{{"server", "!https://prod"}, {"namespace", "*"}}}), in, "", "default", true},
  };
  for (const Case& c : cases) {
    absl::Status s = CheckDestinationPermitted(Project({{"destinations", c.destinations}}),
                                               c.server, c.name, c.ns);
    EXPECT_EQ(s.ok(), c.ok) << c.destinations.dump() << " " << c.server << "|" << c.name << "|"
                            << c.ns << " " << s;
  }
  EXPECT_THAT(CheckDestinationPermitted(Project({{"destinations", json::array()}}), in, "", "ns"),
              argonaut::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                          "application destination "
                                          "{https://kubernetes.default.svc ns} is not permitted "
                                          "in project 'p'"));
}

TEST(CheckResourcePermittedTest, Table) {
  struct Case {
    json spec;
    std::string group, kind;
    bool namespaced, ok;
  };
  const json any_cluster = {{"clusterResourceWhitelist", {{{"group", "*"}, {"kind", "*"}}}}};
  const std::vector<Case> cases = {
      // Namespaced: no whitelist allows all.
      {json::object(), "apps", "Deployment", true, true},
      // Cluster-scoped: no whitelist allows none.
      {json::object(), "", "Namespace", false, false},
      {any_cluster, "", "Namespace", false, true},
      {{{"clusterResourceWhitelist", {{{"group", ""}, {"kind", "Namespace"}}}}},
       "",
       "Namespace",
       false,
       true},
      {{{"clusterResourceWhitelist", {{{"group", ""}, {"kind", "Namespace"}}}}},
       "rbac.authorization.k8s.io",
       "ClusterRole",
       false,
       false},
      {{{"clusterResourceWhitelist", {{{"group", "*"}, {"kind", "*"}}}},
        {"clusterResourceBlacklist", {{{"group", "apiextensions.k8s.io"}, {"kind", "*"}}}}},
       "apiextensions.k8s.io",
       "CustomResourceDefinition",
       false,
       false},
      {{{"namespaceResourceBlacklist", {{{"group", ""}, {"kind", "ResourceQuota"}}}}},
       "",
       "ResourceQuota",
       true,
       false},
      {{{"namespaceResourceBlacklist", {{{"group", ""}, {"kind", "ResourceQuota"}}}}},
       "",
       "ConfigMap",
       true,
       true},
      {{{"namespaceResourceWhitelist", {{{"group", "apps"}, {"kind", "*"}}}}},
       "apps",
       "StatefulSet",
       true,
       true},
      {{{"namespaceResourceWhitelist", {{{"group", "apps"}, {"kind", "*"}}}}},
       "",
       "ConfigMap",
       true,
       false},
      // Present but empty whitelist: nothing namespaced is allowed.
      {{{"namespaceResourceWhitelist", json::array()}}, "", "ConfigMap", true, false},
      {{{"namespaceResourceWhitelist", {{{"group", "*"}, {"kind", "Config*"}}}}},
       "",
       "ConfigMap",
       true,
       true},
  };
  for (const Case& c : cases) {
    absl::Status s = CheckResourcePermitted(Project(c.spec), c.group, c.kind, c.namespaced);
    EXPECT_EQ(s.ok(), c.ok) << c.spec.dump() << " " << c.group << "/" << c.kind << " " << s;
  }
  EXPECT_THAT(CheckResourcePermitted(Project(json::object()), "", "Namespace", false),
              argonaut::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                          "resource :Namespace is not permitted in project 'p'"));
}

TEST(DefaultProjectTest, AllowsEverything) {
  const json p = DefaultProject("argocd");
  EXPECT_EQ(p["metadata"]["name"], "default");
  EXPECT_EQ(p["metadata"]["namespace"], "argocd");
  EXPECT_OK(CheckSourcePermitted(p, "git@github.com:any/repo.git"));
  EXPECT_OK(CheckSourcePermitted(p, "file:///tmp/x"));
  EXPECT_OK(CheckDestinationPermitted(p, kInClusterServer, "", "anything"));
  EXPECT_OK(CheckDestinationPermitted(p, "", "in-cluster", "anything"));
  EXPECT_OK(CheckResourcePermitted(p, "", "Namespace", false));
  EXPECT_OK(CheckResourcePermitted(p, "apps", "Deployment", true));
}

TEST(CheckApplicationTest, SourcesAndDestination) {
  const json project =
      Project({{"sourceRepos", {"https://github.com/argoproj/*"}},
               {"destinations", {{{"server", kInClusterServer}, {"namespace", "guestbook"}}}}});
  json app = {{"metadata", {{"name", "a"}}},
              {"spec",
               {{"source",
                 {{"repoURL", "https://github.com/argoproj/argocd-example-apps.git"},
                  {"path", "guestbook"}}},
                {"destination", {{"server", kInClusterServer}, {"namespace", "guestbook"}}}}}};
  EXPECT_OK(CheckApplication(app, project));

  // `in-cluster` by name stands for the in-cluster server.
  json by_name = app;
  by_name["spec"]["destination"] = {{"name", "in-cluster"}, {"namespace", "guestbook"}};
  EXPECT_OK(CheckApplication(by_name, project));

  json bad = app;
  bad["spec"]["source"]["repoURL"] = "https://gitlab.com/x/y";
  bad["spec"]["destination"]["namespace"] = "prod";
  absl::Status s = CheckApplication(bad, project);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "application repo https://gitlab.com/x/y is not permitted in project 'p'; "
            "application destination {https://kubernetes.default.svc prod} is not permitted in "
            "project 'p'");

  // With sources, every source is checked and `source` is ignored.
  json multi = app;
  multi["spec"]["sources"] = {app["spec"]["source"], {{"repoURL", "https://evil/x"}, {"ref", "v"}}};
  EXPECT_THAT(CheckApplication(multi, project),
              argonaut::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("application repo https://evil/x")));
  EXPECT_OK(CheckApplication(app, DefaultProject("argocd")));
}

}  // namespace
}  // namespace argonaut::cd::validation
