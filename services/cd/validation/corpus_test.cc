// The shared corpus through the cd.v1 messages and CdValidator's rules:
//  1. every Application/AppProject document in any YAML file of the corpus decodes, validates and
//     round-trips exactly; files that are not YAML must be Go templates (`{{ ... }}`), which only
//     `helm template` turns into YAML;
//  2. argocd-example-apps/apps is an app-of-apps Helm chart whose one template
//     (templates/applications.yaml) is such a file: the Applications it renders from its
//     values.yaml are built here the way the template builds them, and each must validate,
//     round-trip, pass the default project, and point at a directory that exists in the corpus.
//
// The corpus lives next to the workspace (<workspace>/../shared/corpus); ARGONAUT_CORPUS_DIR
// overrides. Without it the test skips with a message.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "argonaut/cd/v1/cd.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/base/test_corpus.h"
#include "lib/manifest/codec.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"
#include "services/cd/validation/validate.h"

namespace argonaut::cd::validation {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kAnchor[] = "services/cd/validation/testdata/corpus_anchor.txt";

absl::StatusOr<fs::path> CorpusRoot() { return argonaut::testing::TestCorpusDir(kAnchor); }

template <typename T>
void ExpectRoundTrip(const json& doc) {
  T msg;
  ASSERT_OK(manifest::FromJson(doc, &msg));
  EXPECT_EQ(manifest::ToJson(msg), doc);
}

void ExpectCdDocumentAccepted(const json& doc) {
  EXPECT_OK(ValidateManifest(doc)) << doc.dump();
  if (doc["kind"] == "Application") ExpectRoundTrip<v1::Application>(doc);
  if (doc["kind"] == "AppProject") ExpectRoundTrip<v1::AppProject>(doc);
}

bool IsCdDocument(const json& doc) {
  if (!doc.is_object() || !doc.contains("kind") || !doc["kind"].is_string()) return false;
  const std::string api = doc.value("apiVersion", "");
  return absl::StartsWith(api, "argoproj.io/") && IsCdKind(doc["kind"].get<std::string>());
}

TEST(CdCorpusTest, EveryApplicationAndAppProjectDocument) {
  absl::StatusOr<fs::path> root = CorpusRoot();
  if (!root.ok() || !fs::is_directory(*root)) {
    GTEST_SKIP() << "corpus not found (" << (root.ok() ? root->string() : "no anchor")
                 << "); set ARGONAUT_CORPUS_DIR";
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(*root)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  int cd_documents = 0, templated = 0, templated_with_cd_kind = 0;
  for (const fs::path& path : files) {
    const std::string rel = fs::relative(path, *root).string();
    SCOPED_TRACE(rel);
    absl::StatusOr<std::string> text = argonaut::testing::ReadTestFile(path);
    ASSERT_TRUE(text.ok()) << text.status();
    absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(*text);
    if (!docs.ok()) {
      EXPECT_TRUE(absl::StrContains(*text, "{{"))
          << "not YAML and not a Go template: " << docs.status();
      ++templated;
      if (absl::StrContains(*text, "kind: Application") ||
          absl::StrContains(*text, "kind: AppProject")) {
        ++templated_with_cd_kind;
        std::cout << "templated " << rel << " (Applications rendered by the chart test)\n";
      }
      continue;
    }
    for (const json& doc : *docs) {
      if (!IsCdDocument(doc)) continue;
      ++cd_documents;
      ExpectCdDocumentAccepted(doc);
    }
  }
  std::cout << files.size() << " YAML files: " << cd_documents
            << " Application/AppProject documents, " << templated << " Go templates ("
            << templated_with_cd_kind << " of them Applications)\n";
  // The corpus's one Application manifest is a Helm template; the chart test renders it.
  EXPECT_GE(templated_with_cd_kind, 1);
}

// What `helm template` makes of argocd-example-apps/apps: one Application per entry of
// .Values.applications (see templates/applications.yaml).
std::vector<json> RenderAppOfApps(const json& values) {
  std::vector<json> out;
  const json& config = values["config"]["spec"];
  for (const json& a : values["applications"]) {
    const std::string name = a["name"].get<std::string>();
    json source = {{"path", a.value("path", name)},
                   {"repoURL", config["source"]["repoURL"]},
                   {"targetRevision", config["source"]["targetRevision"]}};
    if (a.contains("tool")) source.update(a["tool"]);
    out.push_back({
        {"apiVersion", "argoproj.io/v1alpha1"},
        {"kind", "Application"},
        {"metadata",
         {{"name", "example." + name},
          {"namespace", "argocd"},
          {"finalizers", {"resources-finalizer.argocd.argoproj.io"}}}},
        {"spec",
         {{"destination",
           {{"namespace", a.value("namespace", name)},
            {"server", config["destination"]["server"]}}},
          {"project", "default"},
          {"source", source},
          {"syncPolicy",
           {{"syncOptions", {"CreateNamespace=true"}},
            {"automated", {{"prune", true}, {"selfHeal", true}}}}}}},
    });
  }
  return out;
}

TEST(CdCorpusTest, AppOfAppsChartRendersValidApplications) {
  absl::StatusOr<fs::path> root = CorpusRoot();
  const fs::path chart = root.ok() ? *root / "argocd-example-apps" / "apps" : fs::path();
  if (!root.ok() || !fs::is_directory(chart)) {
    GTEST_SKIP() << "argocd-example-apps corpus not found; set ARGONAUT_CORPUS_DIR";
  }
  absl::StatusOr<std::string> tmpl =
      argonaut::testing::ReadTestFile(chart / "templates" / "applications.yaml");
  ASSERT_OK(tmpl.status());
  // The rendering above follows this template; fail if the template moved away from it.
  for (const char* needle :
       {"kind: Application", "printf \"example.%s\" .name", "namespace: argocd",
        "resources-finalizer.argocd.argoproj.io", "project: default", ".path | default .name",
        ".namespace | default .name", "- CreateNamespace=true", "prune: true", "selfHeal: true",
        "with .tool"}) {
    EXPECT_TRUE(absl::StrContains(*tmpl, needle)) << needle;
  }
  absl::StatusOr<std::string> values_text = argonaut::testing::ReadTestFile(chart / "values.yaml");
  ASSERT_OK(values_text.status());
  absl::StatusOr<std::vector<json>> values = manifest::ParseDocuments(*values_text);
  ASSERT_OK(values.status());
  ASSERT_EQ(values->size(), 1u);
  const std::vector<json> apps = RenderAppOfApps((*values)[0]);
  EXPECT_EQ(apps.size(), 14u);
  std::map<std::string, int> tools;
  for (const json& app : apps) {
    SCOPED_TRACE(app["metadata"]["name"].get<std::string>());
    ExpectCdDocumentAccepted(app);
    EXPECT_OK(CheckApplication(app, DefaultProject("argocd")));
    const std::string path = app["spec"]["source"]["path"].get<std::string>();
    EXPECT_TRUE(fs::is_directory(chart.parent_path() / path)) << path;
    std::string tool = "directory";
    for (const char* t : {"helm", "kustomize", "directory", "plugin"}) {
      if (app["spec"]["source"].contains(t)) tool = t;
    }
    ++tools[tool];
  }
  EXPECT_EQ(tools["helm"], 3);
  EXPECT_EQ(tools["plugin"], 3);
}

// The repository's own CD examples (examples/cd, a data dependency): every Application and
// AppProject is accepted and allowed by the default project.
TEST(CdExamplesTest, RepositoryExamplesAccepted) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  ASSERT_TRUE(srcdir != nullptr && workspace != nullptr) << "run under bazel test";
  const fs::path dir = fs::path(srcdir) / workspace / "examples" / "cd";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  int cd_documents = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    absl::StatusOr<std::string> text = argonaut::testing::ReadTestFile(entry.path());
    ASSERT_TRUE(text.ok()) << text.status();
    absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(*text);
    ASSERT_TRUE(docs.ok()) << docs.status();
    for (const json& doc : *docs) {
      if (!IsCdDocument(doc)) continue;
      ++cd_documents;
      ExpectCdDocumentAccepted(doc);
      if (doc["kind"] == "Application") {
        EXPECT_OK(CheckApplication(doc, DefaultProject("argocd")));
      }
    }
  }
  std::cout << cd_documents << " Application/AppProject documents in examples/cd\n";
  EXPECT_GE(cd_documents, 1);
}

}  // namespace
}  // namespace argonaut::cd::validation
