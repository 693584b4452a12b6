#include "services/cd/repo/generate.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "services/cd/repo/test_git.h"
#include "services/cd/repo/util.h"

namespace argonaut::cd::repo {
namespace {

namespace fs = std::filesystem;
using ::argonaut::testing::StatusIs;
using nlohmann::json;
using ::testing::ElementsAre;
using testing::FreshDir;
using ::testing::HasSubstr;
using testing::WriteFile;

std::vector<std::string> Names(const std::vector<json>& manifests) {
  std::vector<std::string> names;
  for (const json& m : manifests) {
    names.push_back(m["kind"].get<std::string>() + "/" + m["metadata"]["name"].get<std::string>());
  }
  return names;
}

std::string ConfigMap(const std::string& name) {
  return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n";
}

RenderRequest Request(const std::string& root, const std::string& path, json source = json()) {
  RenderRequest r{.repo_root = root, .path = path, .source = std::move(source)};
  r.app_name = "app";
  r.scratch_dir = root + ".scratch";
  fs::create_directories(r.scratch_dir);
  return r;
}

TEST(DetectTest, ExplicitBlockWinsThenFilesThenDirectory) {
  std::string root = FreshDir("detect");
  WriteFile(root, "k/kustomization.yaml", "resources: []\n");
  WriteFile(root, "k2/Kustomization", "resources: []\n");
  WriteFile(root, "h/Chart.yaml", "name: x\n");
  WriteFile(root, "d/a.yaml", ConfigMap("a"));
  EXPECT_EQ(*DetectSourceType(json(), root + "/k"), "Kustomize");
  EXPECT_EQ(*DetectSourceType(json(), root + "/k2"), "Kustomize");
  EXPECT_EQ(*DetectSourceType(json(), root + "/h"), "Helm");
  EXPECT_EQ(*DetectSourceType(json(), root + "/d"), "Directory");
  EXPECT_EQ(*DetectSourceType({{"directory", {{"recurse", true}}}}, root + "/k"), "Directory");
  EXPECT_EQ(*DetectSourceType({{"kustomize", json::object()}}, root + "/d"), "Kustomize");
  EXPECT_EQ(*DetectSourceType({{"chart", "nginx"}}, root + "/d"), "Helm");
  EXPECT_THAT(DetectSourceType({{"helm", json::object()}, {"kustomize", json::object()}}, root),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("multiple")));
  EXPECT_THAT(DetectSourceType({{"plugin", {{"name", "x"}}}}, root),
              StatusIs(absl::StatusCode::kUnimplemented));
}

TEST(DirectoryTest, YamlJsonMultiDocumentAndLists) {
  std::string root = FreshDir("dir_basic");
  WriteFile(root, "app/a.yaml", ConfigMap("a") + "---\n" + ConfigMap("b") + "---\n");
  WriteFile(root, "app/c.json",
            R"({"apiVersion":"v1","kind":"List","items":[)"
            R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"c1"}},)"
            R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"c2"}}]})");
  WriteFile(root, "app/d.yml", ConfigMap("d"));
  WriteFile(root, "app/values.yaml", "replicas: 3\nimage: x\n");  // not a manifest: skipped
  WriteFile(root, "app/README.md", "# not read");
  WriteFile(root, "app/sub/e.yaml", ConfigMap("e"));
  auto r = Render(Request(root, "app"));
  ASSERT_OK(r);
  EXPECT_EQ(r->source_type, "Directory");
  EXPECT_THAT(Names(r->manifests),
              ElementsAre("ConfigMap/a", "ConfigMap/b", "Secret/c1", "Secret/c2", "ConfigMap/d"));
}

TEST(DirectoryTest, RecurseIncludeExclude) {
  std::string root = FreshDir("dir_globs");
  WriteFile(root, "a.yaml", ConfigMap("a"));
  WriteFile(root, "b.yaml", ConfigMap("b"));
  WriteFile(root, "sub/c.yaml", ConfigMap("c"));
  WriteFile(root, "sub/deeper/d.yaml", ConfigMap("d"));
  WriteFile(root, ".hidden/h.yaml", ConfigMap("h"));
  auto all = Render(Request(root, ".", {{"directory", {{"recurse", true}}}}));
  ASSERT_OK(all);
  EXPECT_THAT(Names(all->manifests),
              ElementsAre("ConfigMap/a", "ConfigMap/b", "ConfigMap/c", "ConfigMap/d"));
  auto include = Render(
      Request(root, "", {{"directory", {{"recurse", true}, {"include", "{a.yaml,sub/*}"}}}}));
  ASSERT_OK(include);
  EXPECT_THAT(Names(include->manifests), ElementsAre("ConfigMap/a", "ConfigMap/c", "ConfigMap/d"));
  auto exclude = Render(Request(
      root, "", {{"directory", {{"recurse", true}, {"include", "*.yaml"}, {"exclude", "sub/*"}}}}));
  ASSERT_OK(exclude);
  EXPECT_THAT(Names(exclude->manifests), ElementsAre("ConfigMap/a", "ConfigMap/b"));
}

TEST(DirectoryTest, BrokenManifestIsAnErrorNamingTheFile) {
  std::string root = FreshDir("dir_broken");
  WriteFile(root, "bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n");
  EXPECT_THAT(Render(Request(root, "")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("\"bad.yaml\"")));
  std::string root2 = FreshDir("dir_nokind");
  WriteFile(root2, "x.json", R"({"apiVersion":"v1","metadata":{"name":"x"}})");
  EXPECT_THAT(Render(Request(root2, "")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("Kind")));
}

TEST(DirectoryTest, PathMustExistAndStayInside) {
  std::string root = FreshDir("dir_paths");
  WriteFile(root, "a.yaml", ConfigMap("a"));
  EXPECT_THAT(Render(Request(root, "missing")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("app path does not exist")));
  EXPECT_THAT(Render(Request(root, "../")), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(JsonnetTest, TlasExtVarsAndLibs) {
  std::string root = FreshDir("jsonnet");
  WriteFile(root, "lib/k.libsonnet",
            "{ cm(name, data):: {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: name}, "
            "data: data} }\n");
  WriteFile(root, "app/params.libsonnet", "{ suffix: '-p' }\n");
  WriteFile(root, "app/main.jsonnet",
            "local k = import 'k.libsonnet';\n"
            "local p = import 'params.libsonnet';\n"
            "function(name, replicas=1) [k.cm(name + p.suffix, {env: std.extVar('env'), "
            "n: std.toString(replicas), debug: std.toString(std.extVar('debug'))})]\n");
  json source = {{"directory",
                  {{"jsonnet",
                    {{"tlas",
                      {{{"name", "name"}, {"value", "web"}},
                       {{"name", "replicas"}, {"value", "3"}, {"code", true}}}},
                     {"extVars",
                      {{{"name", "env"}, {"value", "prod"}},
                       {{"name", "debug"}, {"value", "1 == 1"}, {"code", true}}}},
                     {"libs", {"lib"}}}}}}};
  auto r = Render(Request(root, "app", source));
  ASSERT_OK(r);
  ASSERT_EQ(r->manifests.size(), 1u);
  EXPECT_EQ(r->manifests[0]["metadata"]["name"], "web-p");
  EXPECT_EQ(r->manifests[0]["data"], json({{"env", "prod"}, {"n", "3"}, {"debug", "true"}}));
  EXPECT_EQ(r->source_type, "Directory");
}

TEST(JsonnetTest, BuildEnvironmentInVariables) {
  EXPECT_EQ(Envsubst("$A-${B}-$$-$C.", {{"A", "x"}, {"B", "y"}}), "x-y-$-.");
  EXPECT_EQ(Envsubst("cost: 5$", {}), "cost: 5$");
  std::string root = FreshDir("jsonnet_env");
  WriteFile(root, "app/main.jsonnet",
            "function(name) {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: name}, "
            "data: {rev: std.extVar('rev')}}\n");
  json source = {
      {"directory",
       {{"jsonnet",
         {{"tlas", {{{"name", "name"}, {"value", "$ARGOCD_APP_NAME-cm"}}}},
          {"extVars", {{{"name", "rev"}, {"value", "${ARGOCD_APP_REVISION_SHORT}"}}}}}}}}};
  RenderRequest request = Request(root, "app", source);
  request.revision = "0123456789abcdef0123456789abcdef01234567";
  auto r = Render(request);
  ASSERT_OK(r);
  EXPECT_EQ(r->manifests[0]["metadata"]["name"], "app-cm");
  EXPECT_EQ(r->manifests[0]["data"]["rev"], "0123456");
}

TEST(JsonnetTest, ErrorsAndEscapes) {
  std::string root = FreshDir("jsonnet_err");
  WriteFile(root, "app/bad.jsonnet", "{ a: error 'boom' }\n");
  EXPECT_THAT(Render(Request(root, "app")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::AllOf(HasSubstr("bad.jsonnet"), HasSubstr("boom"))));
  std::string root2 = FreshDir("jsonnet_escape");
  WriteFile(root2, "app/steal.jsonnet", "{kind: 'ConfigMap', data: importstr '/etc/hostname'}\n");
  EXPECT_THAT(Render(Request(root2, "app")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("outside the repository")));
  EXPECT_THAT(
      Render(Request(root2, "app", {{"directory", {{"jsonnet", {{"libs", {"../.."}}}}}}})),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("source.directory.jsonnet.libs[0]")));
}

TEST(KustomizeOverridesTest, AppliedAsKustomizeEditWould) {
  json k = {{"resources", {"a.yaml"}},
            {"namePrefix", "old-"},
            {"images", {{{"name", "nginx"}, {"newTag", "1.0"}}}},
            {"commonLabels", {{"team", "a"}}}};
  json o = {{"namePrefix", "new-"},
            {"nameSuffix", "-x"},
            {"namespace", "prod"},
            {"images", {"nginx:1.25", "redis=myregistry:5000/redis:7", "busybox@sha256:abc"}},
            {"replicas", {{{"name", "web"}, {"count", 4}}, {{"name", "db"}, {"count", "2"}}}},
            {"commonLabels", {{"team", "b"}, {"tier", "web"}}},
            {"commonAnnotations", {{"owner", "me"}}}};
  auto out = ApplyKustomizeOverrides(k, o);
  ASSERT_OK(out);
  EXPECT_EQ((*out)["namePrefix"], "new-");
  EXPECT_EQ((*out)["nameSuffix"], "-x");
  EXPECT_EQ((*out)["namespace"], "prod");
  EXPECT_EQ((*out)["images"], json::parse(R"([{"name":"nginx","newTag":"1.25"},
                            {"name":"redis","newName":"myregistry:5000/redis","newTag":"7"},
                            {"name":"busybox","digest":"sha256:abc"}])"));
  EXPECT_EQ((*out)["replicas"],
            json::parse(R"([{"name":"web","count":4},{"name":"db","count":2}])"));
  EXPECT_EQ((*out)["commonLabels"], json({{"team", "b"}, {"tier", "web"}}));
  EXPECT_EQ((*out)["commonAnnotations"], json({{"owner", "me"}}));
  EXPECT_THAT(
      ApplyKustomizeOverrides(k, {{"images", {3}}}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("source.kustomize.images[0]")));
}

TEST(KustomizeTest, BuildsWithOverridesOnACopy) {
  if (FindOnPath("kustomize").empty() && FindOnPath("kubectl").empty()) {
    GTEST_SKIP() << "neither kustomize nor kubectl on PATH";
  }
  std::string root = FreshDir("kustomize");
  WriteFile(root, "base/cm.yaml", ConfigMap("settings"));
  WriteFile(
      root, "base/deploy.yaml",
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n"
      "  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: "
      "{app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.0\n");
  WriteFile(root, "base/kustomization.yaml", "resources:\n- cm.yaml\n- deploy.yaml\n");
  WriteFile(root, "overlay/kustomization.yaml", "resources:\n- ../base\nnamePrefix: dev-\n");
  json source = {{"kustomize",
                  {{"namePrefix", "prod-"},
                   {"images", {"nginx:1.25"}},
                   {"replicas", {{{"name", "web"}, {"count", 3}}}},
                   {"commonLabels", {{"env", "prod"}}},
                   {"namespace", "shop"}}}};
  auto r = Render(Request(root, "overlay", source));
  ASSERT_OK(r);
  EXPECT_EQ(r->source_type, "Kustomize");
  EXPECT_THAT(Names(r->manifests), ElementsAre("ConfigMap/prod-settings", "Deployment/prod-web"));
  const json& d = r->manifests[1];
  EXPECT_EQ(d["metadata"]["namespace"], "shop");
  EXPECT_EQ(d["metadata"]["labels"]["env"], "prod");
  EXPECT_EQ(d["spec"]["replicas"], 3);
  EXPECT_EQ(d["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.25");
  // The shared checkout is untouched.
  auto plain = Render(Request(root, "overlay"));
  ASSERT_OK(plain);
  EXPECT_THAT(Names(plain->manifests), ElementsAre("ConfigMap/dev-settings", "Deployment/dev-web"));
}

TEST(KustomizeTest, BuildFailureNamesTheTool) {
  if (FindOnPath("kustomize").empty() && FindOnPath("kubectl").empty()) {
    GTEST_SKIP() << "neither kustomize nor kubectl on PATH";
  }
  std::string root = FreshDir("kustomize_bad");
  WriteFile(root, "kustomization.yaml", "resources:\n- missing.yaml\n");
  EXPECT_THAT(Render(Request(root, "")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::AllOf(HasSubstr("kustomize"), HasSubstr("missing.yaml"))));
}

TEST(HelmTest, NeedsAHelmBinary) {
  if (!FindOnPath("helm").empty()) GTEST_SKIP() << "a helm binary is on PATH";
  std::string root = FreshDir("helm");
  WriteFile(root, "chart/Chart.yaml", "apiVersion: v2\nname: x\nversion: 0.1.0\n");
  EXPECT_THAT(Render(Request(root, "chart")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("helm source type needs a helm binary on PATH")));
}

}  // namespace
}  // namespace argonaut::cd::repo
