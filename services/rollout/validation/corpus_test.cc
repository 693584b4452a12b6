// Every YAML document of Argo Rollouts' examples goes through the manifest codec into the
// rollout.v1 messages and the validator. A rollout-kind document must be accepted, or refused
// with an error that names a field path and is listed in kExpectedRefusals with the reason.
// Documents of other kinds (Service, Ingress, VirtualService ...) are counted, not judged.
//
// The corpus lives next to the workspace (<workspace>/../shared/corpus); ARGONAUT_CORPUS_DIR
// overrides. Without it the test skips with a message.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/test_corpus.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"
#include "services/rollout/validation/validate.h"

namespace argonaut::rollout::validation {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kAnchor[] = "services/rollout/validation/testdata/corpus_anchor.txt";

struct ExpectedRefusal {
  std::string file;      // relative to examples/
  std::string document;  // "" for the whole file (it is not valid YAML), else metadata.name
  std::string error;     // substring of the error, starting with its location
  std::string reason;
};

// Each entry must be hit: a stale one (the example changed, or the rule did) fails the test.
const std::vector<ExpectedRefusal>& ExpectedRefusals() {
  static const auto* table = new std::vector<ExpectedRefusal>{
      {"helm-blue-green/templates/rollout.yaml", "", "doc 1: line 4: ",
       "Helm template: `{{ .Values... }}` Go templating is not YAML until `helm template` renders "
       "it"},
      {"helm-blue-green/templates/services.yaml", "", "doc 1: line 5: ",
       "Helm template: `{{ .Values... }}` Go templating is not YAML until `helm template` renders "
       "it"},
      {"traffic-management/rollout-linkerd.yaml", "", "doc 5: line 101: ",
       "invalid YAML as shipped (INDEX.tsv): an unquoted `{{args.linkerd-enabled}}` value is "
       "read as a flow mapping with a mapping key"},
  };
  return *table;
}

// A location: a YAML position ("doc N: line L: ") or a manifest field path ("spec.x[0].y: ").
bool Located(const std::string& message) {
  static const std::regex kLocated(
      R"(^(doc [0-9]+: line [0-9]+: |(metadata|spec|status|kind)([.\[][^:]*)?: ))");
  return std::regex_search(message, kLocated);
}

const ExpectedRefusal* FindExpected(const std::string& file, const std::string& document) {
  for (const ExpectedRefusal& e : ExpectedRefusals()) {
    if (e.file == file && e.document == document) return &e;
  }
  return nullptr;
}

// A multi-document stream cut at its `---` separator lines.
std::vector<std::string> Sections(const std::string& text) {
  std::vector<std::string> out(1);
  for (const absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, "---")) {
      out.emplace_back();
    } else {
      absl::StrAppend(&out.back(), line, "\n");
    }
  }
  return out;
}

TEST(RolloutCorpusTest, EveryExampleAcceptedOrRefusedAsExpected) {
  absl::StatusOr<fs::path> dir = argonaut::testing::TestCorpusDir(kAnchor);
  const fs::path root = dir.ok() ? *dir / "argo-rollouts" / "examples" : fs::path();
  if (!dir.ok() || !fs::is_directory(root)) {
    GTEST_SKIP() << "Argo Rollouts corpus not found (" << (dir.ok() ? root.string() : "no anchor")
                 << "); set ARGONAUT_CORPUS_DIR to the directory holding argo-rollouts/";
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());

  std::map<std::string, int> accepted;  // by kind
  std::map<std::string, int> refused;   // by kind ("(file)" for files that are not YAML)
  std::map<std::string, int> others;    // documents of kinds that are not ours
  std::set<const ExpectedRefusal*> hit;
  int linted = 0;
  for (const fs::path& path : files) {
    const std::string rel = fs::relative(path, root).string();
    SCOPED_TRACE(rel);
    absl::StatusOr<std::string> text = argonaut::testing::ReadTestFile(path);
    ASSERT_TRUE(text.ok()) << text.status();
    absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(*text);
    if (!docs.ok()) {
      const std::string message(docs.status().message());
      const ExpectedRefusal* e = FindExpected(rel, "");
      EXPECT_NE(e, nullptr) << "unexpected YAML refusal: " << message;
      EXPECT_TRUE(Located(message)) << message;
      if (e != nullptr) {
        EXPECT_THAT(message, ::testing::HasSubstr(e->error));
        hit.insert(e);
        std::cout << "refused  " << rel << ": " << message << "\n         (" << e->reason << ")\n";
      }
      ++refused["(file: not YAML)"];
      // The documents around the broken one still get judged: each `---` section on its own.
      docs = std::vector<json>();
      for (const std::string& section : Sections(*text)) {
        absl::StatusOr<std::vector<json>> one = manifest::ParseDocuments(section);
        if (one.ok()) docs->insert(docs->end(), one->begin(), one->end());
      }
    }
    // What `argonaut rollouts lint FILE` adds: each Rollout against the file's other objects.
    for (const std::string& problem : LintDocuments(*docs)) {
      if (absl::StrContains(problem, "Service \"") || absl::StrContains(problem, "Ingress \"") ||
          absl::StrContains(problem, "Template \"")) {
        ADD_FAILURE() << "lint: " << problem;
      }
    }
    ++linted;
    for (size_t i = 0; i < docs->size(); ++i) {
      const json& doc = (*docs)[i];
      const std::string kind = doc.is_object() && doc.contains("kind") && doc["kind"].is_string()
                                   ? doc["kind"].get<std::string>()
                                   : "";
      const std::string api =
          doc.is_object() && doc.contains("apiVersion") && doc["apiVersion"].is_string()
              ? doc["apiVersion"].get<std::string>()
              : "";
      if (!IsRolloutKind(kind) || !absl::StartsWith(api, "argoproj.io/")) {
        ++others[kind.empty() ? "(no kind)" : kind];
        continue;
      }
      std::string name;
      if (doc.contains("metadata") && doc["metadata"].is_object()) {
        name = doc["metadata"].value("name", "");
      }
      SCOPED_TRACE(absl::StrCat("doc ", i + 1, " ", kind, "/", name));
      const absl::Status s = ValidateManifest(doc);
      const ExpectedRefusal* e = FindExpected(rel, name);
      if (s.ok()) {
        EXPECT_EQ(e, nullptr) << "listed as refused but accepted";
        ++accepted[kind];
        continue;
      }
      const std::string message(s.message());
      EXPECT_NE(e, nullptr) << "unexpected refusal: " << message;
      EXPECT_TRUE(Located(message)) << message;
      if (e != nullptr) {
        EXPECT_THAT(message, ::testing::HasSubstr(e->error));
        hit.insert(e);
        std::cout << "refused  " << rel << " " << kind << "/" << name << ": " << message
                  << "\n         (" << e->reason << ")\n";
      }
      ++refused[kind];
    }
  }
  for (const ExpectedRefusal& e : ExpectedRefusals()) {
    EXPECT_TRUE(hit.count(&e)) << "stale expected refusal: " << e.file << " " << e.document;
  }

  int total_accepted = 0;
  std::cout << "rollout kinds accepted:";
  for (const auto& [kind, n] : accepted) {
    std::cout << " " << kind << "=" << n;
    total_accepted += n;
  }
  std::cout << "\nrefused:";
  for (const auto& [kind, n] : refused) std::cout << " " << kind << "=" << n;
  std::cout << "\nother kinds (not ours):";
  int total_others = 0;
  for (const auto& [kind, n] : others) {
    std::cout << " " << kind << "=" << n;
    total_others += n;
  }
  std::cout << "\n"
            << files.size() << " files; " << total_accepted << " rollout-kind documents accepted, "
            << total_others << " documents of other kinds; " << linted
            << " files linted with no reference problems (Services, Ingresses, templates)\n";
  // Guards against silently matching nothing (moved corpus, renamed kinds).
  EXPECT_GE(total_accepted, 20);
  EXPECT_GE(accepted.size(), 4u);
}

// The repository's own rollout examples (examples/rollouts, a data dependency) are all accepted,
// and lint clean against the other documents of their file.
TEST(RolloutExamplesTest, RepositoryExamplesLintClean) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  ASSERT_TRUE(srcdir != nullptr && workspace != nullptr) << "run under bazel test";
  const fs::path dir = fs::path(srcdir) / workspace / "examples" / "rollouts";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  int files = 0;
  int rollout_docs = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().filename().string());
    absl::StatusOr<std::string> text = argonaut::testing::ReadTestFile(entry.path());
    ASSERT_TRUE(text.ok()) << text.status();
    absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(*text);
    ASSERT_TRUE(docs.ok()) << docs.status();
    for (const json& doc : *docs) rollout_docs += IsRolloutKind(doc.value("kind", "")) ? 1 : 0;
    EXPECT_THAT(LintDocuments(*docs), ::testing::IsEmpty());
    ++files;
  }
  std::cout << files << " example files, " << rollout_docs
            << " rollout-kind documents, lint clean\n";
  EXPECT_GE(files, 3);
  EXPECT_GE(rollout_docs, 3);
}

}  // namespace
}  // namespace argonaut::rollout::validation
