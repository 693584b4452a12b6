// Every YAML document of Argo Events' examples goes through the manifest codec into the
// events.v1 messages and the validator. An EventSource, Sensor or EventBus must be accepted, or
// refused with an error that names a field path and is listed in ExpectedRefusals() with the
// reason. Documents of other kinds (RBAC, Workflows ...) are counted, not judged. Accepted
// documents must also round-trip through the typed message unchanged.
//
// Counts per source type and per trigger type are printed: accepted, refused, and how many of
// the accepted ones the Argonaut runtime cannot run (the gap).
//
// The corpus lives next to the workspace (<workspace>/../shared/corpus); ARGONAUT_CORPUS_DIR
// overrides. Without it the test skips with a message.

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "argonaut/events/v1/events.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/test_corpus.h"
#include "lib/manifest/codec.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"
#include "services/events/validation/validate.h"

namespace argonaut::events::validation {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kAnchor[] = "services/events/validation/testdata/corpus_anchor.txt";

struct ExpectedRefusal {
  std::string file;      // relative to examples/
  std::string document;  // metadata.name (or generateName) of the document
  std::string error;     // substring of the error, starting with its location
  std::string reason;
};

// Each entry must be hit: a stale one (the example changed, or the rule did) fails the test.
const std::vector<ExpectedRefusal>& ExpectedRefusals() {
  static const auto* table = new std::vector<ExpectedRefusal>{
      // Keys Argo's types do not have: Go's encoding/json drops them silently, so the
      // example "works" upstream while the key has no effect. Argonaut's codec is strict.
      {"event-sources/stripe.yaml", "stripe", "spec.stripe.example.namespace: unknown field",
       "StripeEventSource has no `namespace` (an old API field); Argo ignores it"},
      {"tutorials/03-trigger-sources/sensor-cm.yaml", "webhook",
       "spec.triggers[0].template.k8s.source.configmap.namespace: unknown field",
       "a ConfigMapKeySelector has no `namespace` (the sensor's namespace is used); Argo "
       "ignores it"},
      {"tutorials/03-trigger-sources/sensor-git.yaml", "webhook",
       "spec.triggers[0].template.k8s.source.git.",
       "GitArtifact has neither `namespace` nor `sshKeyPath` (now `sshKeySecret`); Argo ignores "
       "both, so the SSH key is never used"},
      {"tutorials/06-trigger-conditions/minio-event-source.yaml", "minio",
       "spec.type: unknown field", "`spec.type` is the pre-v1.0 EventSource API; Argo ignores it"},
      {"tutorials/06-trigger-conditions/webhook-event-source.yaml", "webhook-event-source",
       "spec.type: unknown field", "`spec.type` is the pre-v1.0 EventSource API; Argo ignores it"},
      {"tutorials/09-http-trigger/minio-event-source.yaml", "minio-event-source",
       "spec.type: unknown field", "`spec.type` is the pre-v1.0 EventSource API; Argo ignores it"},
      // Argo would refuse these too: with `serverURL` ignored, the http trigger has no url.
      {"tutorials/09-http-trigger/sensor-01.yaml", "minio",
       "spec.triggers[0].template.http.serverURL: unknown field",
       "`serverURL` is the pre-v1.0 name of `url`; Argo's own validation then fails with "
       "\"server URL is not specified\""},
      {"tutorials/09-http-trigger/sensor-02.yaml", "minio",
       "spec.triggers[0].template.http.serverURL: unknown field",
       "`serverURL` is the pre-v1.0 name of `url`; Argo's own validation then fails with "
       "\"server URL is not specified\""},
      // Known upstream data issues (corpus SOURCE.md): keys in the wrong place or case.
      {"sensors/trigger-openwhisk.yaml", "trigger-openwhisk",
       "spec.triggers[0].template.openwhisk: unknown field",
       "the key is `openWhisk`; Argo matches keys case-insensitively, Argonaut does not"},
      {"sensors/url-sensor.yaml", "url-sensor",
       "spec.triggers[0].template.k8s.source.url.verifycert: unknown field",
       "the key is `verifyCert`; Argo matches keys case-insensitively, Argonaut does not"},
      {"sensors/trigger-with-atleast-once-semantics.yaml", "trigger-with-atleast-once-semantics",
       "spec.triggers[0].template.atLeastOnce: unknown field",
       "`atLeastOnce` belongs to the trigger, not its template; Argo ignores it there, so the "
       "example silently runs at-most-once"},
      {"sensors/trigger-with-policy.yaml", "trigger-with-policy",
       "spec.triggers[0].template.policy: unknown field",
       "`policy` belongs to the trigger, not its template; Argo ignores it there, so the "
       "example's policy never applies"},
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

std::string Str(const json& doc, const char* a, const char* b = nullptr) {
  const json* v = &doc;
  for (const char* k : {a, b}) {
    if (k == nullptr) break;
    if (!v->is_object() || !v->contains(k)) return "";
    v = &(*v)[k];
  }
  return v->is_string() ? v->get<std::string>() : "";
}

struct Counts {
  int accepted = 0;
  int refused = 0;
  int unsupported = 0;  // accepted but not run by the Argonaut runtime
};

template <typename T>
void ExpectRoundTrip(const json& doc) {
  T msg;
  ASSERT_TRUE(manifest::FromJson(doc, &msg).ok());
  EXPECT_EQ(manifest::ToJson(msg), doc) << "round trip changed the document";
}

// The source types of an EventSource document and the trigger types of a Sensor, read from the
// JSON so refused documents are counted too.
std::vector<std::string> DocTypes(const json& doc, const std::string& kind) {
  std::vector<std::string> out;
  if (!doc.contains("spec") || !doc["spec"].is_object()) return out;
  const json& spec = doc["spec"];
  if (kind == "EventSource") {
    static const std::set<std::string> kNotTypes = {"eventBusName", "template", "service",
                                                    "replicas"};
    for (const auto& [k, v] : spec.items()) {
      if (kNotTypes.count(k) == 0) out.push_back(k);
    }
  } else if (kind == "Sensor" && spec.contains("triggers") && spec["triggers"].is_array()) {
    static const std::set<std::string> kNotTypes = {"name", "conditions", "conditionsReset",
                                                    "atLeastOnce", "policy"};
    for (const json& t : spec["triggers"]) {
      if (!t.is_object() || !t.contains("template") || !t["template"].is_object()) continue;
      for (const auto& [k, v] : t["template"].items()) {
        if (kNotTypes.count(k) == 0) out.push_back(k);
      }
    }
  }
  return out;
}

TEST(EventsCorpusTest, EveryExampleAcceptedOrRefusedAsExpected) {
  absl::StatusOr<fs::path> dir = argonaut::testing::TestCorpusDir(kAnchor);
  const fs::path root = dir.ok() ? *dir / "argo-events" / "examples" : fs::path();
  if (!dir.ok() || !fs::is_directory(root)) {
    GTEST_SKIP() << "Argo Events corpus not found (" << (dir.ok() ? root.string() : "no anchor")
                 << "); set ARGONAUT_CORPUS_DIR to the directory holding argo-events/";
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());

  std::map<std::string, Counts> by_kind, by_source, by_trigger;
  std::map<std::string, int> others;
  std::set<const ExpectedRefusal*> hit;
  for (const fs::path& path : files) {
    const std::string rel = fs::relative(path, root).string();
    SCOPED_TRACE(rel);
    absl::StatusOr<std::string> text = argonaut::testing::ReadTestFile(path);
    ASSERT_TRUE(text.ok()) << text.status();
    absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(*text);
    ASSERT_TRUE(docs.ok()) << docs.status();
    for (const json& doc : *docs) {
      const std::string kind = Str(doc, "kind");
      if (!IsEventsKind(kind) || !absl::StartsWith(Str(doc, "apiVersion"), "argoproj.io/")) {
        ++others[kind.empty() ? "(no kind)" : kind];
        continue;
      }
      std::string name = Str(doc, "metadata", "name");
      if (name.empty()) name = Str(doc, "metadata", "generateName");
      const absl::Status status = ValidateManifest(doc);
      const ExpectedRefusal* e = FindExpected(rel, name);
      const std::vector<std::string> types = DocTypes(doc, kind);
      if (status.ok()) {
        ++by_kind[kind].accepted;
        EXPECT_EQ(e, nullptr) << name << ": accepted, but listed as an expected refusal";
        for (const std::string& t : types) {
          Counts& c = kind == "EventSource" ? by_source[t] : by_trigger[t];
          ++c.accepted;
          const bool runs =
              kind == "EventSource" ? RuntimeSupportsSource(t) : RuntimeSupportsTrigger(t);
          if (!runs) ++c.unsupported;
        }
        if (kind == "EventSource") ExpectRoundTrip<v1::EventSource>(doc);
        if (kind == "Sensor") ExpectRoundTrip<v1::Sensor>(doc);
        if (kind == "EventBus") ExpectRoundTrip<v1::EventBus>(doc);
        continue;
      }
      ++by_kind[kind].refused;
      for (const std::string& t : types) {
        ++(kind == "EventSource" ? by_source[t] : by_trigger[t]).refused;
      }
      const std::string message(status.message());
      EXPECT_TRUE(Located(message)) << message;
      EXPECT_NE(e, nullptr) << kind << " " << name << ": unexpected refusal: " << message;
      if (e == nullptr) continue;
      EXPECT_THAT(message, ::testing::HasSubstr(e->error)) << name;
      hit.insert(e);
      std::cout << "refused  " << rel << " (" << kind << " " << name << "): " << message
                << "\n         (" << e->reason << ")\n";
    }
  }
  for (const ExpectedRefusal& e : ExpectedRefusals()) {
    EXPECT_TRUE(hit.count(&e) > 0) << "stale expected refusal: " << e.file << " " << e.document;
  }
  const auto print = [](const char* title, const std::map<std::string, Counts>& counts,
                        bool with_runtime) {
    std::cout << title << "\n";
    for (const auto& [type, c] : counts) {
      std::cout << "  " << type << ": accepted " << c.accepted << ", refused " << c.refused;
      if (with_runtime) {
        std::cout << ", not supported at runtime " << c.unsupported;
      }
      std::cout << "\n";
    }
  };
  print("documents per kind:", by_kind, false);
  print("event sources per type (documents using it):", by_source, true);
  print("triggers per type:", by_trigger, true);
  std::cout << "other kinds (not judged):";
  for (const auto& [kind, n] : others) std::cout << " " << kind << "=" << n;
  std::cout << "\n";
}

}  // namespace
}  // namespace argonaut::events::validation
