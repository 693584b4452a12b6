// Real Argo examples (../shared/corpus/argo-workflows/examples) through the simulated kubelet,
// each ending in the phase Argo reaches with it (read from the example and its no-test label),
// plus the outputs the example passes along.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"
#include "services/workflow/engine/sim.h"

namespace argonaut::workflow::engine {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ARGONAUT_CORPUS_DIR overrides; otherwise the runfile testdata/corpus_anchor.txt resolves (via
// its symlink) into the workspace, and the corpus sits next to the workspace.
fs::path CorpusDir() {
  if (const char* env = std::getenv("ARGONAUT_CORPUS_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  const std::string anchor = "services/workflow/engine/testdata/corpus_anchor.txt";
  std::vector<fs::path> candidates = {anchor};
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir != nullptr && workspace != nullptr) {
    candidates.push_back(fs::path(srcdir) / workspace / anchor);
  }
  for (const fs::path& a : candidates) {
    std::error_code ec;
    fs::path real = fs::canonical(a, ec);
    if (ec) continue;
    for (int i = 0; i < 5; ++i) real = real.parent_path();
    return real.parent_path() / "shared" / "corpus";
  }
  return {};
}

std::vector<json> Documents(const std::string& file) {
  const fs::path path = CorpusDir() / "argo-workflows" / "examples" / file;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing " << path << "; set ARGONAUT_CORPUS_DIR";
  std::stringstream ss;
  ss << in.rdbuf();
  absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(ss.str());
  EXPECT_TRUE(docs.ok()) << file << ": " << docs.status();
  return docs.ok() ? *docs : std::vector<json>{};
}

// The (Cluster)WorkflowTemplates the workflow-template examples refer to, as `argonaut up` has
// them after the conformance runner applied both template files.
void AddCorpusTemplates(Sim& sim) {
  for (const char* file :
       {"workflow-template/templates.yaml", "cluster-workflow-template/clustertemplates.yaml"}) {
    for (const json& doc : Documents(file)) {
      sim.templates[doc.value("kind", "") + "/" + doc["metadata"].value("name", "")] = doc;
    }
  }
}

json Example(const std::string& file) {
  const fs::path path = CorpusDir() / "argo-workflows" / "examples" / file;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing " << path << "; set ARGONAUT_CORPUS_DIR";
  std::stringstream ss;
  ss << in.rdbuf();
  absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(ss.str());
  EXPECT_TRUE(docs.ok()) << file << ": " << docs.status();
  if (!docs.ok() || docs->empty()) return json::object();
  json wf = (*docs)[0];
  wf["metadata"]["name"] = "ex";
  return wf;
}

const json& NodeOrNull(const Sim& sim, const std::string& name) {
  static const json kNull;
  const json* n = sim.Node(name);
  return n == nullptr ? kNull : *n;
}

std::string PhaseOf(const Sim& sim, const std::string& name) {
  const json& n = NodeOrNull(sim, name);
  return n.is_object() ? n.value("phase", "") : "<none>";
}

std::string InputValue(const Sim& sim, const std::string& name, size_t i = 0) {
  const json& n = NodeOrNull(sim, name);
  if (!n.is_object() || !n.contains("inputs")) return "<none>";
  return n["inputs"]["parameters"][i].value("value", "");
}

int CountCreated(const Sim& sim, const std::string& prefix) {
  int n = 0;
  for (const auto& batch : sim.created) {
    for (const std::string& c : batch) n += absl::StartsWith(c, prefix) ? 1 : 0;
  }
  return n;
}

TEST(CorpusTest, CorpusIsThere) {
  ASSERT_TRUE(fs::exists(CorpusDir() / "argo-workflows" / "examples" / "steps.yaml"))
      << CorpusDir();
}

TEST(CorpusTest, Steps) {
  Sim sim(Example("steps.yaml"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(sim.workflow()["status"]["progress"], "3/3");
  EXPECT_EQ(InputValue(sim, "ex[1].hello2b"), "hello2b");
}

TEST(CorpusTest, DagDiamond) {
  Sim sim(Example("dag-diamond.yaml"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  for (const char* t : {"A", "B", "C", "D"})
    EXPECT_EQ(PhaseOf(sim, std::string("ex.") + t), "Succeeded");
  EXPECT_EQ(InputValue(sim, "ex.D"), "D");
}

TEST(CorpusTest, CoinflipBothOutcomes) {
  for (const std::string side : {"heads", "tails"}) {
    Sim sim(Example("coinflip.yaml"), [side](const std::string& node, const json& t) {
      PodRun r = DefaultBehaviour(node, t);
      if (absl::StrContains(node, "flip-coin")) r.result = side;
      return r;
    });
    ASSERT_OK(sim.Run());
    EXPECT_EQ(sim.phase(), "Succeeded") << side;
    const std::string other = side == "heads" ? "tails" : "heads";
    EXPECT_EQ(PhaseOf(sim, "ex[1]." + side), "Succeeded") << side;
    EXPECT_EQ(PhaseOf(sim, "ex[1]." + other), "Skipped") << side;
  }
}

TEST(CorpusTest, LoopsMaps) {
  std::set<std::string> images;
  Sim sim(Example("loops-maps.yaml"), [&](const std::string& node, const json& t) {
    images.insert(t["container"].value("image", ""));
    return DefaultBehaviour(node, t);
  });
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(images,
            (std::set<std::string>{"debian:9.1", "debian:8.9", "alpine:3.6", "ubuntu:17.10"}));
  EXPECT_EQ(PhaseOf(sim, "ex[0].test-linux(3:image:ubuntu,tag:17.10)"), "Succeeded");
}

TEST(CorpusTest, LoopsParamResult) {
  Sim sim(Example("loops-param-result.yaml"), [](const std::string& node, const json& t) {
    PodRun r = DefaultBehaviour(node, t);
    if (absl::StrContains(node, "generate"))
      r.result = "[20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]";
    return r;
  });
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(CountCreated(sim, "ex[1].sleep("), 11);
  EXPECT_EQ(InputValue(sim, "ex[1].sleep(10:30)"), "30");
}

TEST(CorpusTest, RetryWithSteps) {
  // random.choice([0, 1, 1]): every first attempt fails here, every second one succeeds.
  Sim sim(Example("retry-with-steps.yaml"), [](const std::string& node, const json&) {
    PodRun r;
    r.exit_code = absl::EndsWith(node, "(0)") ? 1 : 0;
    return r;
  });
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  for (const char* s : {"ex[0].hello1", "ex[1].hello2a", "ex[1].hello2b"}) {
    const json& n = NodeOrNull(sim, s);
    ASSERT_TRUE(n.is_object()) << s;
    EXPECT_EQ(n["type"], "Retry") << s;
    EXPECT_EQ(n["children"].size(), 2u) << s;
    EXPECT_EQ(PhaseOf(sim, std::string(s) + "(0)"), "Failed") << s;
  }
}

TEST(CorpusTest, ExitHandlers) {
  Sim sim(Example("exit-handlers.yaml"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Failed");  // upstream no-test=expected-failure
  EXPECT_EQ(PhaseOf(sim, "ex.onExit"), "Succeeded");
  EXPECT_EQ(PhaseOf(sim, "ex.onExit[0].notify"), "Succeeded");
  EXPECT_EQ(PhaseOf(sim, "ex.onExit[0].cry"), "Succeeded");
  EXPECT_EQ(PhaseOf(sim, "ex.onExit[0].celebrate"), "Skipped");
}

TEST(CorpusTest, OutputParameter) {
  Sim sim(Example("output-parameter.yaml"), [](const std::string& node, const json& t) {
    PodRun r = DefaultBehaviour(node, t);
    if (absl::StrContains(node, "generate-parameter")) r.params = {{"hello-param", "hello world"}};
    return r;
  });
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(InputValue(sim, "ex[1].consume-parameter"), "hello world");
}

TEST(CorpusTest, DagContinueOnFail) {
  Sim sim(Example("dag-continue-on-fail.yaml"));
  ASSERT_OK(sim.Run());
  // B's failure is handled by D (B.Failed); E's reaches the target G, omitted because of it.
  EXPECT_EQ(sim.phase(), "Failed");
  EXPECT_EQ(PhaseOf(sim, "ex.B"), "Failed");
  EXPECT_EQ(PhaseOf(sim, "ex.D"), "Succeeded");
  EXPECT_EQ(PhaseOf(sim, "ex.E"), "Failed");
  EXPECT_EQ(PhaseOf(sim, "ex.G"), "Omitted");
}

TEST(CorpusTest, ParallelismLimit) {
  Sim sim(Example("parallelism-limit.yaml"), [](const std::string&, const json&) {
    PodRun r;
    r.running_ticks = 3;
    return r;
  });
  size_t max_active = 0;
  for (int i = 0; i < 200 && sim.phase() != "Succeeded" && sim.phase() != "Failed"; ++i) {
    ASSERT_OK(sim.Step());
    size_t active = 0;
    for (const auto& [id, n] : sim.workflow()["status"]["nodes"].items()) {
      active += n["type"] == "Pod" && (n["phase"] == "Pending" || n["phase"] == "Running");
    }
    max_active = std::max(max_active, active);
  }
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(max_active, 2u);
  EXPECT_EQ(CountCreated(sim, "ex[0].sleep("), 10);
}

TEST(CorpusTest, SuspendTemplateResumed) {
  Sim sim(Example("suspend-template.yaml"));
  json* approve = nullptr;
  for (int i = 0; i < 20 && approve == nullptr; ++i) {
    ASSERT_OK(sim.Step());
    for (auto& [id, n] : sim.workflow()["status"]["nodes"].items()) {
      if (n["name"] == "ex[1].approve" && n["phase"] == "Running") approve = &n;
    }
  }
  ASSERT_NE(approve, nullptr);
  for (int i = 0; i < 5; ++i) ASSERT_OK(sim.Step());
  EXPECT_EQ(sim.phase(), "Running");
  EXPECT_EQ(PhaseOf(sim, "ex[2].delay"), "<none>");
  for (auto& [id, n] : sim.workflow()["status"]["nodes"].items()) {
    if (n["name"] == "ex[1].approve") n["phase"] = "Succeeded";  // argonaut resume
  }
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(PhaseOf(sim, "ex[3].release"), "Succeeded");
  bool waited20 = false;
  for (const auto& r : sim.requeues) waited20 |= r.has_value() && *r == absl::Seconds(20);
  EXPECT_TRUE(waited20);
}

TEST(CorpusTest, Conditionals) {
  Sim sim(Example("conditionals.yaml"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  for (const char* s :
       {"ex[0].print-hello-govaluate", "ex[0].print-hello-expr", "ex[0].print-hello-expr-json"}) {
    EXPECT_EQ(PhaseOf(sim, s), "Succeeded") << s;
  }
  json wf = Example("conditionals.yaml");
  wf["spec"]["arguments"]["parameters"][0]["value"] = "false";
  Sim off(wf);
  ASSERT_OK(off.Run());
  EXPECT_EQ(off.phase(), "Succeeded");
  EXPECT_EQ(PhaseOf(off, "ex[0].print-hello-expr"), "Skipped");
  EXPECT_EQ(PhaseOf(off, "ex[0].print-hello-expr-json"), "Skipped");
}

TEST(CorpusTest, GlobalOutputs) {
  Sim sim(Example("global-outputs.yaml"), [](const std::string& node, const json& t) {
    PodRun r = DefaultBehaviour(node, t);
    if (absl::StrContains(node, "generate")) {
      r.params = {{"hello-param", "hello world"}};
      r.artifacts = {{{"name", "hello-art"},
                      {"path", "/tmp/hello_world.txt"},
                      {"local", {{"key", "ex/ex-global-output/hello-art.tgz"}}}}};
    }
    return r;
  });
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(sim.workflow()["status"]["outputs"]["parameters"][0],
            (json{{"name", "my-global-param"}, {"value", "hello world"}}));
  EXPECT_EQ(InputValue(sim, "ex[1].consume-globals[0].consume-global-param"), "hello world");
  EXPECT_EQ(InputValue(sim, "ex.onExit[0].consume-global-param"), "hello world");
  // The global artifact reaches the exit handler too.
  const json* art = sim.Node("ex.onExit[0].consume-global-art");
  ASSERT_NE(art, nullptr);
  EXPECT_EQ((*art)["inputs"]["artifacts"][0]["local"]["key"], "ex/ex-global-output/hello-art.tgz");
}

TEST(CorpusTest, ParameterAggregation) {
  Sim sim(Example("parameter-aggregation.yaml"), [](const std::string& node, const json& t) {
    PodRun r = DefaultBehaviour(node, t);
    int64_t num = 0;
    const json params = t.value("inputs", json::object()).value("parameters", json::array());
    if (!params.empty()) (void)absl::SimpleAtoi(params[0].value("value", ""), &num);
    if (absl::StrContains(node, "odd-or-even")) {
      r.params = {{"num", std::to_string(num)}, {"evenness", num % 2 == 0 ? "even" : "odd"}};
    } else if (absl::StrContains(node, "divide-by-2")) {
      r.result = std::to_string(num / 2);
    }
    return r;
  });
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(InputValue(sim, "ex[1].print-nums"), "[1,2,3,4]");
  EXPECT_EQ(InputValue(sim, "ex[2].print-evenness"), R"(["odd","even","odd","even"])");
  EXPECT_EQ(PhaseOf(sim, "ex[3].divide-by-2(0:evenness:odd,num:1)"), "Skipped");
  EXPECT_EQ(PhaseOf(sim, "ex[3].divide-by-2(1:evenness:even,num:2)"), "Succeeded");
  EXPECT_EQ(CountCreated(sim, "ex[4].print("), 2);
  EXPECT_EQ(InputValue(sim, "ex[4].print(1:2)"), "2");
}

TEST(CorpusTest, TemplateRefHelloWorld) {
  Sim sim(Example("workflow-template/hello-world.yaml"));
  AddCorpusTemplates(sim);
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded") << sim.workflow()["status"].value("message", "");
  const json& n = NodeOrNull(sim, "ex[0].call-print-message");
  ASSERT_TRUE(n.is_object());
  EXPECT_EQ(n["templateRef"]["name"], "workflow-template-print-message");
  EXPECT_EQ(InputValue(sim, "ex[0].call-print-message"), "hello world");
}

TEST(CorpusTest, TemplateRefSteps) {
  Sim sim(Example("workflow-template/steps.yaml"));
  AddCorpusTemplates(sim);
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded") << sim.workflow()["status"].value("message", "");
  // inner-hello2b names a template of the WorkflowTemplate the outer templateRef led to.
  EXPECT_EQ(InputValue(sim, "ex[1].hello2a[1].inner-hello2b"), "inner-hello2b");
  EXPECT_EQ(InputValue(sim, "ex[1].hello2b"), "hello2b");
  EXPECT_EQ(NodeOrNull(sim, "ex[1].hello2a[1].inner-hello2b")["displayName"], "inner-hello2b");
}

TEST(CorpusTest, TemplateRefMixedClusterAndNamespaced) {
  Sim sim(Example("cluster-workflow-template/mixed-cluster-namespaced-wftmpl-steps.yaml"));
  AddCorpusTemplates(sim);
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded") << sim.workflow()["status"].value("message", "");
  EXPECT_EQ(InputValue(sim, "ex[0].hello1"), "hello1");
  EXPECT_EQ(InputValue(sim, "ex[1].hello2a[1].inner-hello2b"), "inner-hello2b");
  EXPECT_EQ(NodeOrNull(sim, "ex[1].hello2a")["templateScope"],
            "cluster/cluster-workflow-template-inner-steps");
}

TEST(CorpusTest, TemplateRefDags) {
  for (const char* file :
       {"workflow-template/dag.yaml", "cluster-workflow-template/cluster-wftmpl-dag.yaml"}) {
    Sim sim(Example(file));
    AddCorpusTemplates(sim);
    ASSERT_OK(sim.Run()) << file;
    EXPECT_EQ(sim.phase(), "Succeeded") << file;
    for (const char* t : {"A", "B", "D"}) {
      EXPECT_EQ(InputValue(sim, std::string("ex.") + t), t) << file;
    }
    for (const char* t : {"inner-A", "inner-B", "inner-C", "inner-D"}) {
      EXPECT_EQ(InputValue(sim, std::string("ex.C.") + t), t) << file;
      EXPECT_EQ(NodeOrNull(sim, std::string("ex.C.") + t)["displayName"], t) << file;
    }
  }
}

TEST(CorpusTest, TemplateRefRetryWithSteps) {
  Sim sim(Example("workflow-template/retry-with-steps.yaml"),
          [](const std::string& node, const json&) {
            PodRun r;
            r.exit_code = absl::EndsWith(node, "(0)") ? 1 : 0;
            return r;
          });
  AddCorpusTemplates(sim);
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded") << sim.workflow()["status"].value("message", "");
  EXPECT_EQ(PhaseOf(sim, "ex[1].hello2b"), "Succeeded");
  EXPECT_EQ(PhaseOf(sim, "ex[1].hello2b(0)"), "Failed");
}

TEST(CorpusTest, TemplateRefToMissingTemplateFails) {
  Sim sim(Example("workflow-template/hello-world.yaml"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Failed");
  EXPECT_TRUE(absl::StrContains(NodeOrNull(sim, "ex[0].call-print-message").value("message", ""),
                                "workflow-template-print-message"));
}

// The env of the executed pod: the sim hands the behaviour the resolved template.
std::map<std::string, std::string> EnvOf(const json& t) {
  std::map<std::string, std::string> env;
  for (const char* kind : {"container", "script"}) {
    if (!t.contains(kind)) continue;
    for (const json& e : t[kind].value("env", json::array())) env[e["name"]] = e.value("value", "");
  }
  return env;
}

TEST(CorpusTest, ExpressionsInInputValues) {
  std::map<std::string, std::string> env;
  auto capture = [&](const std::string& node, const json& t) {
    env = EnvOf(t);
    return DefaultBehaviour(node, t);
  };
  Sim plain(Example("expression-destructure-json.yaml"), capture);
  ASSERT_OK(plain.Run());
  EXPECT_EQ(plain.phase(), "Succeeded");
  EXPECT_EQ(env, (std::map<std::string, std::string>{{"A", "1"}, {"B", "2"}, {"C", "3"}}));
  EXPECT_EQ(InputValue(plain, "ex", 0), "1");

  Sim complex(Example("expression-destructure-json-complex.yaml"), capture);
  ASSERT_OK(complex.Run());
  EXPECT_EQ(complex.phase(), "Succeeded");
  // Compared as JSON: lib/template prints an integral float as 43.0 where Argo (Go) prints 43.
  EXPECT_EQ(json::parse(env["A"], nullptr, false), json::array({43}));
  EXPECT_EQ(json::parse(env["B"], nullptr, false), json::array({43}));
  EXPECT_EQ(env["D"], R"(["Baris","Mo","Jai"])");

  Sim snippets(Example("expression-reusing-verbose-snippets.yaml"), capture);
  ASSERT_OK(snippets.Run());
  EXPECT_EQ(snippets.phase(), "Succeeded");
  EXPECT_EQ(env["AVG"], "35.8");
  double min = 0, max = 0;
  EXPECT_TRUE(absl::SimpleAtod(env["MIN"], &min)) << env["MIN"];
  EXPECT_TRUE(absl::SimpleAtod(env["MAX"], &max)) << env["MAX"];
  EXPECT_EQ(min, 15);
  EXPECT_EQ(max, 57);
}

TEST(CorpusTest, StepExitHooksAreNamedAfterTheirStep) {
  Sim sim(Example("exit-handler-step-level.yaml"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  int hooks = 0;
  for (const auto& [id, n] : sim.workflow()["status"]["nodes"].items()) {
    hooks += absl::EndsWith(n.value("displayName", ""), ".onExit");
  }
  EXPECT_EQ(hooks, 3);
  const json& h = NodeOrNull(sim, "ex[0].hello1.onExit");
  ASSERT_TRUE(h.is_object());
  EXPECT_EQ(h["displayName"], "hello1.onExit");
  EXPECT_EQ(h["phase"], "Succeeded");
  EXPECT_EQ(NodeOrNull(sim, "ex[1].hello2b.onExit")["displayName"], "hello2b.onExit");

  Sim on_exit(Example("template-on-exit.yaml"));
  ASSERT_OK(on_exit.Run());
  EXPECT_EQ(on_exit.phase(), "Succeeded");
  EXPECT_EQ(NodeOrNull(on_exit, "ex[1].stepB.onExit")["displayName"], "stepB.onExit");
}

TEST(CorpusTest, TaskExitHooksAreNamedAfterTheirTask) {
  Sim sim(Example("exit-handler-dag-level.yaml"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  int hooks = 0;
  for (const auto& [id, n] : sim.workflow()["status"]["nodes"].items()) {
    hooks += absl::EndsWith(n.value("displayName", ""), ".onExit");
  }
  EXPECT_EQ(hooks, 4);
  EXPECT_EQ(NodeOrNull(sim, "ex.D.onExit")["displayName"], "D.onExit");
  EXPECT_EQ(PhaseOf(sim, "ex.D.onExit"), "Succeeded");
}

TEST(CorpusTest, DisplayNameAnnotation) {
  Sim sim(Example("loops-param-argument.yaml"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  std::set<std::string> shown;
  for (const auto& [id, n] : sim.workflow()["status"]["nodes"].items()) {
    if (n["type"] == "Pod") shown.insert(n.value("displayName", ""));
  }
  EXPECT_EQ(shown, (std::set<std::string>{"os-debian-9.1", "os-debian-8.9", "os-alpine-3.6",
                                          "os-ubuntu-17.10"}));
  // Only the display name changes: the node keeps its Argo name (and so its id and pod name).
  const json& n = NodeOrNull(sim, "ex[0].test-linux(0:image:debian,tag:9.1)");
  ASSERT_TRUE(n.is_object());
  EXPECT_EQ(n["displayName"], "os-debian-9.1");
}

TEST(CorpusTest, DagTargetFromParameter) {
  Sim sim(Example("dag-targets.yaml"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded") << sim.workflow()["status"].value("message", "");
  for (const char* t : {"A", "C", "E"})
    EXPECT_EQ(PhaseOf(sim, std::string("ex.") + t), "Succeeded");
  EXPECT_EQ(PhaseOf(sim, "ex.B"), "<none>");
  EXPECT_EQ(PhaseOf(sim, "ex.D"), "<none>");
}

}  // namespace
}  // namespace argonaut::workflow::engine
