// Repository resolution, table-tested over ConfigMaps held in a map (Argo's
// artifactrepositories_test cases and the errors that name what is missing).
#include "services/workflow/artifact_repository.h"

#include <map>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/yaml.h"

namespace argonaut::workflow {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json Yaml(const std::string& text) {
  auto docs = manifest::ParseDocuments(text);
  EXPECT_TRUE(docs.ok()) << docs.status();
  return docs.ok() && !docs->empty() ? (*docs)[0] : json();
}

const char kRepoBar[] = "s3:\n  bucket: bar\n";
const char kRepoCtl[] = "s3:\n  bucket: ctl\n";

json ConfigMap(const std::string& ns, const std::string& name, json data,
               const std::string& default_key = "") {
  json cm = {{"metadata", {{"namespace", ns}, {"name", name}}}, {"data", std::move(data)}};
  if (!default_key.empty()) {
    cm["metadata"]["annotations"] = {{kDefaultArtifactRepositoryAnnotation, default_key}};
  }
  return cm;
}

json Workflow(const std::string& ref_yaml) {
  json wf = {{"metadata", {{"name", "wf"}, {"namespace", "my-wf-ns"}}}, {"spec", json::object()}};
  if (!ref_yaml.empty()) wf["spec"]["artifactRepositoryRef"] = Yaml(ref_yaml);
  return wf;
}

struct Case {
  std::string name;
  std::string ref;               // spec.artifactRepositoryRef (YAML), "" for none
  std::vector<json> configmaps;  // what exists
  json want;                     // the recorded ref, or null when an error is expected
  std::string error;             // substring of the error
  absl::StatusCode code = absl::StatusCode::kOk;
};

TEST(ArtifactRepositoryTest, ResolvesAsArgoDoes) {
  const json bar = Yaml(kRepoBar);
  const json ctl = Yaml(kRepoCtl);
  const json controller_cm =
      ConfigMap("argo", kControllerConfigMap, {{"artifactRepository", kRepoCtl}});
  const std::vector<Case> cases = {
      {"nothing configured: the default without a repository (the local folder)",
       "",
       {},
       {{"default", true}}},
      {"the controller's ConfigMap names the default",
       "",
       {controller_cm},
       {{"default", true}, {"artifactRepository", ctl}}},
      {"older layout: artifactRepository inside data.config",
       "",
       {ConfigMap("argo", kControllerConfigMap,
                  {{"config", "artifactRepository:\n  s3: {bucket: ctl}\n"}})},
       {{"default", true}, {"artifactRepository", ctl}}},
      {"the workflow namespace's artifact-repositories with the annotation wins",
       "",
       {controller_cm,
        ConfigMap("my-wf-ns", "artifact-repositories", {{"default-v1", kRepoBar}}, "default-v1")},
       {{"namespace", "my-wf-ns"},
        {"configMap", "artifact-repositories"},
        {"key", "default-v1"},
        {"artifactRepository", bar}}},
      {"artifact-repositories without the annotation: the default",
       "",
       {controller_cm, ConfigMap("my-wf-ns", "artifact-repositories", {{"x", kRepoBar}})},
       {{"default", true}, {"artifactRepository", ctl}}},
      {"an explicit ref in the workflow's namespace",
       "{key: my-key}",
       {ConfigMap("my-wf-ns", "artifact-repositories", {{"my-key", kRepoBar}})},
       {{"namespace", "my-wf-ns"},
        {"configMap", "artifact-repositories"},
        {"key", "my-key"},
        {"artifactRepository", bar}}},
      {"an explicit ref found in the controller's namespace",
       "{configMap: repos, key: my-key}",
       {ConfigMap("argo", "repos", {{"my-key", kRepoBar}})},
       {{"namespace", "argo"},
        {"configMap", "repos"},
        {"key", "my-key"},
        {"artifactRepository", bar}}},
      {"an explicit ref without key takes the annotation",
       "{configMap: repos}",
       {ConfigMap("my-wf-ns", "repos", {{"k2", kRepoBar}}, "k2")},
       {{"namespace", "my-wf-ns"},
        {"configMap", "repos"},
        {"key", "k2"},
        {"artifactRepository", bar}}},
      {"a missing key in the workflow namespace falls through to the controller's",
       "{key: my-key}",
       {ConfigMap("my-wf-ns", "artifact-repositories", {{"other", kRepoBar}}),
        ConfigMap("argo", "artifact-repositories", {{"my-key", kRepoCtl}})},
       {{"namespace", "argo"},
        {"configMap", "artifact-repositories"},
        {"key", "my-key"},
        {"artifactRepository", ctl}}},
      {"an explicit ref found nowhere is an error naming both places",
       "{configMap: nope}",
       {controller_cm},
       nullptr,
       "spec.artifactRepositoryRef {configMap: nope, key: (default)}: ConfigMap \"nope\" not "
       "found in namespace \"my-wf-ns\"; ConfigMap \"nope\" not found in namespace \"argo\"",
       absl::StatusCode::kFailedPrecondition},
      {"a missing key is an error naming the key",
       "{key: missing}",
       {ConfigMap("my-wf-ns", "artifact-repositories", {{"other", kRepoBar}})},
       nullptr,
       "ConfigMap \"artifact-repositories\" in namespace \"my-wf-ns\" has no key \"missing\"",
       absl::StatusCode::kFailedPrecondition},
      {"bad YAML at the key names it",
       "{key: k}",
       {ConfigMap("my-wf-ns", "artifact-repositories", {{"k", "s3: [unclosed"}})},
       nullptr,
       "ConfigMap \"artifact-repositories\" in namespace \"my-wf-ns\" key \"k\"",
       absl::StatusCode::kInvalidArgument},
      {"a bad controller ConfigMap names its key",
       "",
       {ConfigMap("argo", kControllerConfigMap, {{"artifactRepository", "- a\n- b\n"}})},
       nullptr,
       "ConfigMap \"workflow-controller-configmap\" key \"artifactRepository\"",
       absl::StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    std::map<std::pair<std::string, std::string>, json> objects;
    for (const json& cm : c.configmaps) {
      objects[{cm["metadata"]["namespace"], cm["metadata"]["name"]}] = cm;
    }
    ConfigMapGetter get = [&](const std::string& ns,
                              const std::string& name) -> absl::StatusOr<json> {
      auto it = objects.find({ns, name});
      if (it == objects.end()) return absl::NotFoundError("not found");
      return it->second;
    };
    absl::StatusOr<json> got = ResolveArtifactRepositoryRef(Workflow(c.ref), "argo", get);
    if (c.code == absl::StatusCode::kOk) {
      ASSERT_OK(got.status()) << c.name;
      EXPECT_EQ(*got, c.want) << c.name;
    } else {
      EXPECT_EQ(got.status().code(), c.code) << c.name;
      EXPECT_THAT(got.status().message(), HasSubstr(c.error)) << c.name;
    }
  }
}

TEST(ArtifactRepositoryTest, AWorkflowTemplatesRefAppliesUnlessTheWorkflowHasItsOwn) {
  std::map<std::string, json> cms = {
      {"a", ConfigMap("my-wf-ns", "a", {{"k", kRepoBar}})},
      {"b", ConfigMap("my-wf-ns", "b", {{"k", kRepoCtl}})},
  };
  ConfigMapGetter get = [&](const std::string& ns,
                            const std::string& name) -> absl::StatusOr<json> {
    if (ns != "my-wf-ns" || !cms.count(name)) return absl::NotFoundError("not found");
    return cms[name];
  };
  const json tmpl_spec = Yaml("{artifactRepositoryRef: {configMap: a, key: k}}");
  absl::StatusOr<json> from_template =
      ResolveArtifactRepositoryRef(Workflow(""), "argo", get, &tmpl_spec);
  ASSERT_OK(from_template.status());
  EXPECT_EQ((*from_template)["configMap"], "a");
  absl::StatusOr<json> own =
      ResolveArtifactRepositoryRef(Workflow("{configMap: b, key: k}"), "argo", get, &tmpl_spec);
  ASSERT_OK(own.status());
  EXPECT_EQ((*own)["configMap"], "b");
  EXPECT_EQ((*own)["artifactRepository"], Yaml(kRepoCtl));
}

TEST(ArtifactRepositoryTest, ReadFailuresOtherThanNotFoundAreReturnedForARetry) {
  ConfigMapGetter get = [](const std::string&, const std::string&) -> absl::StatusOr<json> {
    return absl::UnavailableError("store down");
  };
  EXPECT_EQ(ResolveArtifactRepositoryRef(Workflow(""), "argo", get).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace argonaut::workflow
