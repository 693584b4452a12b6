// Admission of Application and AppProject: a valid base document accepted, and each table row
// (one edit of the base) refused with an error that starts with the field path, or accepted
// where Argo CD accepts it. Then the same checks in front of a real store.

#include "services/cd/validation/validate.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/store/in_memory_store.h"
#include "nlohmann/json.hpp"

namespace argonaut::cd::validation {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json Yaml(const std::string& text) {
  absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(text);
  EXPECT_TRUE(docs.ok()) << docs.status();
  return docs.ok() && !docs->empty() ? (*docs)[0] : json();
}

constexpr char kApp[] = R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: guestbook, namespace: argocd}
spec:
  project: default
  source: {repoURL: "https://github.com/argoproj/argocd-example-apps.git", targetRevision: HEAD, path: guestbook}
  destination: {server: "https://kubernetes.default.svc", namespace: guestbook}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
    retry: {limit: 5, backoff: {duration: 5s, factor: 2, maxDuration: 3m}}
)yaml";

constexpr char kProject[] = R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: team, namespace: argocd}
spec:
  sourceRepos: ["https://github.com/argoproj/*"]
  destinations: [{server: "https://kubernetes.default.svc", namespace: "team-*"}]
  roles:
  - name: ci
    policies: ["p, proj:team:ci, applications, sync, team/*, allow"]
    groups: [my-org:team]
  syncWindows:
  - {kind: allow, schedule: "10 1 * * *", duration: 1h, applications: ["*"]}
)yaml";

struct Case {
  std::string name;
  std::function<void(json&)> edit;
  std::string error;  // "" = accepted; else a substring that starts the (first) problem
};

void RunCases(const char* base, const std::vector<Case>& cases) {
  ASSERT_OK(ValidateManifest(Yaml(base)));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    json doc = Yaml(base);
    c.edit(doc);
    absl::Status s = ValidateManifest(doc);
    if (c.error.empty()) {
      EXPECT_OK(s);
    } else {
      ASSERT_FALSE(s.ok()) << doc.dump();
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(s.message()), HasSubstr(c.error));
    }
  }
}

TEST(ValidateApplicationTest, Table) {
  RunCases(
      kApp,
      {
          {"empty project means default", [](json& d) { d["spec"].erase("project"); }, ""},
          {"source and sources",
           [](json& d) { d["spec"]["sources"] = json::array({d["spec"]["source"]}); },
           "spec: only one of source and sources may be set"},
          {"no source", [](json& d) { d["spec"].erase("source"); },
           "spec.source: required (or spec.sources)"},
          {"repoURL required", [](json& d) { d["spec"]["source"].erase("repoURL"); },
           "spec.source.repoURL: required"},
          {"path or chart", [](json& d) { d["spec"]["source"].erase("path"); },
           "spec.source: one of path and chart is required"},
          {"root path", [](json& d) { d["spec"]["source"]["path"] = "."; }, ""},
          {"absolute path", [](json& d) { d["spec"]["source"]["path"] = "/etc"; },
           "spec.source.path: \"/etc\" is absolute"},
          {"path escaping", [](json& d) { d["spec"]["source"]["path"] = "a/../../x"; },
           "spec.source.path: \"a/../../x\" points outside the repository"},
          {"chart needs targetRevision",
           [](json& d) {
             d["spec"]["source"] = {{"repoURL", "https://charts.example.com"}, {"chart", "c"}};
           },
           "spec.source.targetRevision: required for a Helm chart"},
          {"two tool blocks",
           [](json& d) {
             d["spec"]["source"]["helm"] = {{"releaseName", "x"}};
             d["spec"]["source"]["directory"] = {{"recurse", true}};
           },
           "spec.source: only one of helm, kustomize, directory and plugin may be set (got helm, "
           "directory)"},
          {"helm parameter name",
           [](json& d) {
             d["spec"]["source"]["helm"] = {{"parameters", {{{"value", "1"}}}}};
           },
           "spec.source.helm.parameters[0].name: required"},
          {"kustomize replica count",
           [](json& d) {
             d["spec"]["source"]["kustomize"] = {
                 {"replicas", {{{"name", "web"}, {"count", "three"}}}}};
           },
           "spec.source.kustomize.replicas[0].count: expected a non-negative integer"},
          {"jsonnet tla name",
           [](json& d) {
             d["spec"]["source"]["directory"] = {{"jsonnet", {{"tlas", {{{"value", "1"}}}}}}};
           },
           "spec.source.directory.jsonnet.tlas[0].name: required"},
          {"sources with ref",
           [](json& d) {
             json src = d["spec"]["source"];
             d["spec"].erase("source");
             d["spec"]["sources"] = {
                 {{"repoURL", "https://charts.example.com"},
                  {"chart", "c"},
                  {"targetRevision", "1.0.0"},
                  {"helm", {{"valueFiles", {"$values/prod.yaml"}}}}},
                 {{"repoURL", "https://github.com/org/values"}, {"ref", "values"}},
                 src};
           },
           ""},
          {"sources with a missing ref",
           [](json& d) {
             d["spec"].erase("source");
             d["spec"]["sources"] = {{{"repoURL", "https://charts.example.com"},
                                      {"chart", "c"},
                                      {"targetRevision", "1.0.0"},
                                      {"helm", {{"valueFiles", {"$vals/prod.yaml"}}}}}};
           },
           "spec.sources[0].helm.valueFiles[0]: \"$vals/prod.yaml\" refers to source ref "
           "\"vals\""},
          {"ref only in a single source",
           [](json& d) {
             d["spec"]["source"].erase("path");
             d["spec"]["source"]["ref"] = "values";
           },
           "spec.source: one of path and chart is required"},
          {"destination server and name",
           [](json& d) { d["spec"]["destination"]["name"] = "in-cluster"; },
           "spec.destination: server and name are both set"},
          {"destination by name",
           [](json& d) {
             d["spec"]["destination"].erase("server");
             d["spec"]["destination"]["name"] = "in-cluster";
           },
           ""},
          {"destination without cluster", [](json& d) { d["spec"]["destination"].erase("server"); },
           "spec.destination: one of server and name is required"},
          {"no destination", [](json& d) { d["spec"].erase("destination"); },
           "spec.destination: required"},
          {"destination namespace",
           [](json& d) { d["spec"]["destination"]["namespace"] = "Bad_NS"; },
           "spec.destination.namespace: \"Bad_NS\" is not a valid namespace name"},
          {"name too long for the instance label",
           [](json& d) { d["metadata"]["name"] = std::string(64, 'a'); },
           "metadata.name: must be at most 63 characters (got 64)"},
          {"dotted name", [](json& d) { d["metadata"]["name"] = "example.guestbook"; }, ""},
          {"bad name", [](json& d) { d["metadata"]["name"] = "Guestbook"; },
           "metadata.name: \"Guestbook\" is not a valid name"},
          {"bad project", [](json& d) { d["spec"]["project"] = "My Project"; },
           "spec.project: \"My Project\" is not a valid project name"},
          {"backoff seconds",
           [](json& d) { d["spec"]["syncPolicy"]["retry"]["backoff"]["duration"] = "10"; }, ""},
          {"backoff duration",
           [](json& d) { d["spec"]["syncPolicy"]["retry"]["backoff"]["duration"] = "soon"; },
           "spec.syncPolicy.retry.backoff.duration: invalid duration \"soon\""},
          {"backoff maxDuration",
           [](json& d) { d["spec"]["syncPolicy"]["retry"]["backoff"]["maxDuration"] = "3x"; },
           "spec.syncPolicy.retry.backoff.maxDuration: invalid duration \"3x\""},
          {"negative backoff",
           [](json& d) { d["spec"]["syncPolicy"]["retry"]["backoff"]["duration"] = "-5s"; },
           "spec.syncPolicy.retry.backoff.duration: must not be negative"},
          {"unlimited retries", [](json& d) { d["spec"]["syncPolicy"]["retry"]["limit"] = -1; },
           ""},
          {"retry limit type", [](json& d) { d["spec"]["syncPolicy"]["retry"]["limit"] = "five"; },
           "spec.syncPolicy.retry.limit"},
          {"sync option form",
           [](json& d) { d["spec"]["syncPolicy"]["syncOptions"].push_back("PruneLast"); },
           "spec.syncPolicy.syncOptions[1]: \"PruneLast\" is not of the form Key=Value"},
          {"ignoreDifferences kind",
           [](json& d) {
             d["spec"]["ignoreDifferences"] = {{{"group", "apps"}, {"jsonPointers", {"/spec"}}}};
           },
           "spec.ignoreDifferences[0].kind: required"},
          {"ignoreDifferences pointer",
           [](json& d) {
             d["spec"]["ignoreDifferences"] = {
                 {{"kind", "Deployment"}, {"jsonPointers", {"spec/replicas"}}}};
           },
           "spec.ignoreDifferences[0].jsonPointers[0]: \"spec/replicas\" is not a JSON pointer"},
          {"revisionHistoryLimit", [](json& d) { d["spec"]["revisionHistoryLimit"] = -1; },
           "spec.revisionHistoryLimit: must not be negative"},
          {"unknown field", [](json& d) { d["spec"]["sourceRepo"] = "x"; },
           "spec.sourceRepo: unknown field"},
          {"operation strategy",
           [](json& d) {
             d["operation"] = {
                 {"sync",
                  {{"syncStrategy", {{"apply", json::object()}, {"hook", json::object()}}}}}};
           },
           "operation.sync.syncStrategy: only one of apply and hook may be set"},
      });
}

TEST(ValidateApplicationTest, EveryProblemReported) {
  json doc = Yaml(kApp);
  doc["spec"]["source"].erase("repoURL");
  doc["spec"]["destination"]["name"] = "x";
  absl::Status s = ValidateManifest(doc);
  EXPECT_THAT(std::string(s.message()), HasSubstr("spec.source.repoURL: required; "));
  EXPECT_THAT(std::string(s.message()), HasSubstr("spec.destination: server and name"));
}

TEST(ValidateAppProjectTest, Table) {
  RunCases(
      kProject,
      {
          {"not-yet-negated repo",
           [](json& d) { d["spec"]["sourceRepos"].push_back("!https://github.com/argoproj/x"); },
           ""},
          {"deny everything repo", [](json& d) { d["spec"]["sourceRepos"].push_back("!*"); },
           "spec.sourceRepos[1]: '!*' would deny everything"},
          {"duplicate repo",
           [](json& d) { d["spec"]["sourceRepos"].push_back("https://github.com/argoproj/*"); },
           "spec.sourceRepos[1]: duplicate source repository"},
          {"bad glob", [](json& d) { d["spec"]["sourceRepos"].push_back("https://x/[a"); },
           "spec.sourceRepos[1]: invalid glob \"https://x/[a\": unclosed character class"},
          {"deny everything namespace",
           [](json& d) { d["spec"]["destinations"][0]["namespace"] = "!*"; },
           "spec.destinations[0].namespace: '!*'"},
          {"duplicate destination",
           [](json& d) { d["spec"]["destinations"].push_back(d["spec"]["destinations"][0]); },
           "spec.destinations[1]: duplicate destination \"https://kubernetes.default.svc/team-*\""},
          {"duplicate source namespace",
           [](json& d) {
             d["spec"]["sourceNamespaces"] = {"a", "a"};
           },
           "spec.sourceNamespaces[1]: duplicate source namespace \"a\""},
          {"role name", [](json& d) { d["spec"]["roles"][0]["name"] = "-ci"; },
           "spec.roles[0].name: \"-ci\" is not a valid role name"},
          {"duplicate role", [](json& d) { d["spec"]["roles"].push_back(d["spec"]["roles"][0]); },
           "spec.roles[1].name: duplicate role \"ci\""},
          {"policy form", [](json& d) { d["spec"]["roles"][0]["policies"] = {"p, x"}; },
           "spec.roles[0].policies[0]: \"p, x\" is not of the form"},
          {"policy subject",
           [](json& d) {
             d["spec"]["roles"][0]["policies"] = {
                 "p, proj:other:ci, applications, sync, team/*, allow"};
           },
           "spec.roles[0].policies[0]: policy subject must be 'proj:team:ci', not "
           "'proj:other:ci'"},
          {"policy object",
           [](json& d) {
             d["spec"]["roles"][0]["policies"] = {
                 "p, proj:team:ci, applications, get, other/*, allow"};
           },
           "spec.roles[0].policies[0]: policy object must be 'team/*'"},
          {"policy effect",
           [](json& d) {
             d["spec"]["roles"][0]["policies"] = {
                 "p, proj:team:ci, applications, get, team/ns/app, maybe"};
           },
           "spec.roles[0].policies[0]: policy effect must be allow or deny"},
          {"policy resource",
           [](json& d) {
             d["spec"]["roles"][0]["policies"] = {"p, proj:team:ci, pods, get, team/*, allow"};
           },
           "policy resource must be one of"},
          {"policy custom action",
           [](json& d) {
             d["spec"]["roles"][0]["policies"] = {
                 "p, proj:team:ci, applications, action/apps/Deployment/restart, team/*, allow"};
           },
           ""},
          {"group with comma", [](json& d) { d["spec"]["roles"][0]["groups"] = {"a,b"}; },
           "spec.roles[0].groups[0]: group \"a,b\" has a comma"},
          {"quoted group with comma",
           [](json& d) { d["spec"]["roles"][0]["groups"] = {"\"a,b\""}; }, ""},
          {"window kind", [](json& d) { d["spec"]["syncWindows"][0]["kind"] = "block"; },
           "spec.syncWindows[0].kind: must be allow or deny (got \"block\")"},
          {"window schedule",
           [](json& d) { d["spec"]["syncWindows"][0]["schedule"] = "61 * * * *"; },
           "spec.syncWindows[0].schedule: cannot parse \"61 * * * *\""},
          {"window descriptor", [](json& d) { d["spec"]["syncWindows"][0]["schedule"] = "@daily"; },
           "spec.syncWindows[0].schedule: \"@daily\": sync windows take a five-field cron"},
          {"window duration", [](json& d) { d["spec"]["syncWindows"][0]["duration"] = "1 hour"; },
           "spec.syncWindows[0].duration: invalid duration \"1 hour\""},
          {"window zero duration", [](json& d) { d["spec"]["syncWindows"][0]["duration"] = "0s"; },
           "spec.syncWindows[0].duration: must be positive"},
          {"window time zone",
           [](json& d) { d["spec"]["syncWindows"][0]["timeZone"] = "Mars/Olympus"; },
           "spec.syncWindows[0].timeZone: unknown time zone \"Mars/Olympus\""},
          {"window scope", [](json& d) { d["spec"]["syncWindows"][0].erase("applications"); },
           "spec.syncWindows[0]: one of applications, namespaces and clusters is required"},
          {"duplicate window",
           [](json& d) { d["spec"]["syncWindows"].push_back(d["spec"]["syncWindows"][0]); },
           "spec.syncWindows[1]: duplicate window"},
          {"service account",
           [](json& d) {
             d["spec"]["destinationServiceAccounts"] = {{{"server", "*"}, {"namespace", "x"}}};
           },
           "spec.destinationServiceAccounts[0].defaultServiceAccount: required"},
          {"resource list kind",
           [](json& d) {
             d["spec"]["namespaceResourceBlacklist"] = {{{"group", "apps"}}};
           },
           "spec.namespaceResourceBlacklist[0].kind: required"},
          {"description length", [](json& d) { d["spec"]["description"] = std::string(256, 'x'); },
           "spec.description: must be at most 255 characters (got 256)"},
      });
}

TEST(CdValidatorTest, StoreRefusesInvalidObjects) {
  auto kinds = resource::KindsOfService("cd");
  auto store =
      *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
  resource::ResourceApi api(store.get(), kinds, CdValidator());
  json bad = Yaml(kApp);
  bad["spec"]["destination"]["name"] = "in-cluster";
  absl::StatusOr<std::string> created = api.Create("Application", bad.dump(), false);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(created.status().message()),
              HasSubstr("spec.destination: server and name are both set"));
  EXPECT_EQ(api.Get("Application", "argocd", "guestbook").status().code(),
            absl::StatusCode::kNotFound);

  ASSERT_OK(api.Create("Application", Yaml(kApp).dump(), false).status());
  ASSERT_OK(api.Create("AppProject", Yaml(kProject).dump(), false).status());
  ASSERT_OK(api.Create("AppProject", DefaultProject("argocd").dump(), false).status());
  json bad_project = Yaml(kProject);
  bad_project["metadata"]["name"] = "other";
  bad_project["spec"]["syncWindows"][0]["kind"] = "sometimes";
  EXPECT_FALSE(api.Create("AppProject", bad_project.dump(), false).ok());
  // The stored object keeps explicit falses and zeros of the spec.
  absl::StatusOr<json> got = api.GetObject("Application", "argocd", "guestbook");
  ASSERT_OK(got.status());
  EXPECT_EQ((*got)["spec"]["syncPolicy"]["retry"]["limit"], 5);
}

TEST(ParseBackoffDurationTest, SecondsOrGoDuration) {
  EXPECT_EQ(*ParseBackoffDuration("5"), absl::Seconds(5));
  EXPECT_EQ(*ParseBackoffDuration("5s"), absl::Seconds(5));
  EXPECT_EQ(*ParseBackoffDuration("3m"), absl::Minutes(3));
  EXPECT_EQ(*ParseBackoffDuration("1h30m"), absl::Minutes(90));
  EXPECT_FALSE(ParseBackoffDuration("").ok());
  EXPECT_FALSE(ParseBackoffDuration("5 s").ok());
}

}  // namespace
}  // namespace argonaut::cd::validation
