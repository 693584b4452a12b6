// Round trip over the real Argo Rollouts examples: every manifest of a kind in
// argonaut/rollout/v1/rollout.proto must decode and come back exactly, and every document of any
// kind must survive ToYaml -> ParseDocuments.
//
// The corpus lives next to the workspace (<workspace>/../shared/corpus), outside Bazel's view.
// It is found from ARGONAUT_CORPUS_DIR if set (pass --test_env=ARGONAUT_CORPUS_DIR=...),
// otherwise by resolving the symlinked runfile testdata/corpus_anchor.txt to its real path in the
// source tree and walking up from lib/manifest/testdata to the workspace root.

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "argonaut/rollout/v1/rollout.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/base/test_corpus.h"
#include "lib/manifest/codec.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"

namespace argonaut::manifest {
namespace {

namespace fs = std::filesystem;
using ::nlohmann::json;

constexpr char kCorpusAnchor[] = "lib/manifest/testdata/corpus_anchor.txt";

// The source line an error of the form "doc N: line L: ..." points at, or "" if none.
std::string ErrorLine(const std::string& text, const absl::Status& status) {
  const std::string message(status.message());
  const size_t at = message.find(": line ");
  if (at == std::string::npos) return "";
  const int line = std::atoi(message.c_str() + at + 7);
  std::istringstream in(text);
  std::string current;
  for (int i = 1; std::getline(in, current); ++i) {
    if (i == line) return current;
  }
  return "";
}

const google::protobuf::Descriptor* RolloutKind(const json& doc) {
  if (!doc.is_object() || !doc.contains("kind") || !doc["kind"].is_string()) return nullptr;
  if (!doc.contains("apiVersion") || !doc["apiVersion"].is_string() ||
      !absl::StartsWith(doc["apiVersion"].get<std::string>(), "argoproj.io/")) {
    return nullptr;
  }
  // Referencing the generated type makes sure rollout.pb.cc is linked and registered.
  const google::protobuf::FileDescriptor* file =
      argonaut::rollout::v1::Rollout::descriptor()->file();
  return file->FindMessageTypeByName(doc["kind"].get<std::string>());
}

TEST(CorpusTest, ArgoRolloutsExamplesRoundTrip) {
  const absl::StatusOr<fs::path> corpus_dir = argonaut::testing::TestCorpusDir(kCorpusAnchor);
  ASSERT_TRUE(corpus_dir.ok()) << corpus_dir.status();
  const fs::path root = *corpus_dir / "argo-rollouts";
  ASSERT_TRUE(fs::is_directory(root))
      << "corpus not found at " << root << "; set ARGONAUT_CORPUS_DIR";

  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && entry.path().extension() == ".yaml") {
      files.push_back(entry.path());
    }
  }
  ASSERT_FALSE(files.empty());

  int decoded = 0;
  int templated = 0;
  int documents = 0;
  std::set<std::string> kinds;
  for (const fs::path& path : files) {
    SCOPED_TRACE(path.string());
    const absl::StatusOr<std::string> read = argonaut::testing::ReadTestFile(path);
    ASSERT_TRUE(read.ok()) << read.status();
    const std::string& text = *read;
    absl::StatusOr<std::vector<json>> docs = ParseDocuments(text);
    if (!docs.ok()) {
      // Helm chart templates, and one example with an unquoted Argo `{{args.x}}` value, are
      // not valid Kubernetes YAML (kubectl rejects them too). Nothing else may fail, and the
      // error must point at a templated line.
      const std::string line = ErrorLine(text, docs.status());
      EXPECT_THAT(line, ::testing::HasSubstr("{{")) << docs.status();
      std::cerr << "skipped " << path.string() << ": " << docs.status() << "\n";
      ++templated;
      continue;
    }
    for (size_t i = 0; i < docs->size(); ++i) {
      SCOPED_TRACE(absl::StrCat("doc ", i + 1));
      const json& doc = (*docs)[i];
      ++documents;
      absl::StatusOr<std::vector<json>> reparsed = ParseDocuments(ToYaml(doc));
      ASSERT_OK(reparsed);
      ASSERT_EQ(reparsed->size(), 1u);
      EXPECT_EQ((*reparsed)[0], doc) << ToYaml(doc);

      const google::protobuf::Descriptor* type = RolloutKind(doc);
      if (type == nullptr) continue;
      std::unique_ptr<google::protobuf::Message> msg(
          google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
      ASSERT_OK(FromJson(doc, msg.get()));
      EXPECT_EQ(ToJson(*msg), doc) << "got:\n" << ToYaml(ToJson(*msg)) << "want:\n" << ToYaml(doc);
      // The message also survives its own YAML text.
      absl::StatusOr<std::vector<json>> again = ParseDocuments(ToYaml(ToJson(*msg)));
      ASSERT_OK(again);
      std::unique_ptr<google::protobuf::Message> msg2(msg->New());
      ASSERT_OK(FromJson((*again)[0], msg2.get()));
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*msg, *msg2));
      ++decoded;
      kinds.insert(type->name());
    }
  }
  std::cerr << "corpus: " << files.size() << " files, " << documents << " documents, " << decoded
            << " decoded as rollout.v1 kinds (" << absl::StrJoin(kinds, ", ") << "), " << templated
            << " templated files skipped\n";
  // Guards against the test silently matching nothing (moved corpus, renamed kinds).
  EXPECT_GE(decoded, 20);
  EXPECT_GE(kinds.size(), 3u);
}

}  // namespace
}  // namespace argonaut::manifest
