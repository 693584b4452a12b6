#include "services/workflow/artifact_gc.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::artifact_gc {
namespace {

using nlohmann::json;

// A workflow whose template `gen` declares outputs a (no strategy), b
// (OnWorkflowDeletion) and c (Never); node n1 produced all three.
json Workflow(const std::string& wf_strategy, const std::string& phase, bool finalizer,
              bool deleting) {
  json wf = json::parse(R"({
    "metadata": {"name": "w", "namespace": "default"},
    "spec": {"entrypoint": "gen", "templates": [{"name": "gen", "outputs": {"artifacts": [
      {"name": "a", "path": "/a"},
      {"name": "b", "path": "/b", "artifactGC": {"strategy": "OnWorkflowDeletion"}},
      {"name": "c", "path": "/c", "artifactGC": {"strategy": "Never"}}]}}]},
    "status": {"nodes": {
      "w": {"id": "w", "type": "Steps", "outputs": {"artifacts": [
        {"name": "a", "local": {"key": "w/p/a.tgz"}}]}},
      "n1": {"id": "n1", "type": "Pod", "templateName": "gen", "outputs": {"artifacts": [
        {"name": "a", "local": {"key": "w/p/a.tgz"}},
        {"name": "b", "s3": {"bucket": "x", "key": "w/p/b.tgz"}},
        {"name": "c", "local": {"key": "w/p/c.tgz"}},
        {"name": "p"}]}}}}})");
  if (!wf_strategy.empty()) wf["spec"]["artifactGC"]["strategy"] = wf_strategy;
  if (!phase.empty()) wf["status"]["phase"] = phase;
  if (finalizer) wf["metadata"]["finalizers"] = {kFinalizer};
  if (deleting) wf["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  return wf;
}

std::vector<std::string> Names(const Plan& plan) {
  std::vector<std::string> out;
  for (const Target& t : plan.targets) out.push_back(t.artifact["name"].get<std::string>());
  return out;
}

TEST(ArtifactGcTest, DecideTable) {
  struct Row {
    std::string name;
    std::string wf_strategy;
    std::string phase;
    bool finalizer;
    bool deleting;
    std::vector<std::string> strategies;
    std::vector<std::string> targets;
  };
  const std::vector<Row> rows = {
      {"no finalizer: nothing", "OnWorkflowCompletion", "Succeeded", false, true, {}, {}},
      {"running: nothing yet", "OnWorkflowCompletion", "Running", true, false, {}, {}},
      {"completed: completion artifacts",
       "OnWorkflowCompletion",
       "Succeeded",
       true,
       false,
       {"OnWorkflowCompletion"},
       {"a"}},
      {"completed, workflow strategy unset: a is kept",
       "",
       "Failed",
       true,
       false,
       {"OnWorkflowCompletion"},
       {}},
      {"deleting a completed workflow: both strategies",
       "OnWorkflowCompletion",
       "Succeeded",
       true,
       true,
       {"OnWorkflowCompletion", "OnWorkflowDeletion"},
       {"a", "b"}},
      {"deleting a running workflow",
       "OnWorkflowDeletion",
       "Running",
       true,
       true,
       {"OnWorkflowCompletion", "OnWorkflowDeletion"},
       {"a", "b"}},
      {"workflow Never, artifact b still its own",
       "Never",
       "Error",
       true,
       true,
       {"OnWorkflowCompletion", "OnWorkflowDeletion"},
       {"b"}},
  };
  for (const Row& r : rows) {
    const json wf = Workflow(r.wf_strategy, r.phase, r.finalizer, r.deleting);
    const Plan plan = Decide(wf, EffectiveSpec(wf, nullptr));
    EXPECT_EQ(plan.strategies, r.strategies) << r.name;
    EXPECT_EQ(Names(plan), r.targets) << r.name;
    for (const Target& t : plan.targets) EXPECT_EQ(t.node_id, "n1") << r.name;
  }
}

TEST(ArtifactGcTest, ProcessedStrategiesAndDeletedArtifactsAreSkipped) {
  json wf = Workflow("OnWorkflowCompletion", "Succeeded", true, true);
  wf["status"]["artifactGCStatus"]["strategiesProcessed"]["OnWorkflowCompletion"] = true;
  wf["status"]["nodes"]["n1"]["outputs"]["artifacts"][1]["deleted"] = true;
  const Plan plan = Decide(wf, EffectiveSpec(wf, nullptr));
  EXPECT_EQ(plan.strategies, std::vector<std::string>{"OnWorkflowDeletion"});
  EXPECT_TRUE(plan.targets.empty());
}

TEST(ArtifactGcTest, StrategyOfTable) {
  const json spec = json::parse(R"({"artifactGC": {"strategy": "OnWorkflowDeletion"},
    "templates": [{"name": "t", "outputs": {"artifacts": [
      {"name": "x", "artifactGC": {"strategy": "Never"}}, {"name": "y"}]}}]})");
  struct Row {
    json artifact;
    std::string tmpl;
    std::string want;
  };
  const std::vector<Row> rows = {
      {{{"name", "x"}}, "t", "Never"},
      {{{"name", "y"}}, "t", "OnWorkflowDeletion"},
      {{{"name", "x"}, {"artifactGC", {{"strategy", "OnWorkflowCompletion"}}}},
       "t",
       "OnWorkflowCompletion"},
      {{{"name", "x"}}, "other", "OnWorkflowDeletion"},
  };
  for (const Row& r : rows) EXPECT_EQ(StrategyOf(r.artifact, r.tmpl, spec), r.want) << r.artifact;
}

TEST(ArtifactGcTest, EffectiveSpecTakesTheTemplateUnderTheWorkflow) {
  json wf = {{"spec",
              {{"workflowTemplateRef", {{"name", "tpl"}}},
               {"arguments", json::object()},
               {"templates", {{{"name", "own"}}}}}}};
  const json tpl = {{"artifactGC", {{"strategy", "OnWorkflowCompletion"}}},
                    {"entrypoint", "main"},
                    {"templates", {{{"name", "main"}}}}};
  const json spec = EffectiveSpec(wf, tpl);
  EXPECT_EQ(spec["artifactGC"]["strategy"], "OnWorkflowCompletion");
  EXPECT_EQ(spec["entrypoint"], "main");
  EXPECT_EQ(spec["templates"].size(), 2u);
  EXPECT_FALSE(spec.contains("workflowTemplateRef"));
  EXPECT_TRUE(HasArtifactGC(spec));
  wf["status"]["storedWorkflowTemplateSpec"] = {{"entrypoint", "stored"}};
  EXPECT_EQ(EffectiveSpec(wf, tpl)["entrypoint"], "stored");
}

TEST(ArtifactGcTest, PrepareWriteTable) {
  {
    json wf = Workflow("OnWorkflowCompletion", "Running", false, false);
    EXPECT_TRUE(PrepareWrite(wf, EffectiveSpec(wf, nullptr)));
    EXPECT_TRUE(HasFinalizer(wf));
    EXPECT_FALSE(PrepareWrite(wf, EffectiveSpec(wf, nullptr))) << "only once";
  }
  {
    json wf = {{"metadata", {{"name", "plain"}}}, {"spec", {{"templates", json::array()}}}};
    EXPECT_TRUE(PrepareWrite(wf, EffectiveSpec(wf, nullptr)));
    EXPECT_FALSE(HasFinalizer(wf));
    EXPECT_EQ(wf["status"]["artifactGCStatus"]["notSpecified"], true);
    EXPECT_FALSE(PrepareWrite(wf, EffectiveSpec(wf, nullptr)));
  }
  {
    // The finalizer was removed after completion GC: it must not come back.
    json wf = Workflow("OnWorkflowCompletion", "Succeeded", false, false);
    wf["status"]["artifactGCStatus"]["strategiesProcessed"]["OnWorkflowCompletion"] = true;
    EXPECT_FALSE(PrepareWrite(wf, EffectiveSpec(wf, nullptr)));
    EXPECT_FALSE(HasFinalizer(wf));
  }
  {
    json wf = Workflow("OnWorkflowCompletion", "Running", false, true);
    EXPECT_FALSE(PrepareWrite(wf, EffectiveSpec(wf, nullptr))) << "being deleted";
  }
}

TEST(ArtifactGcTest, ApplySuccessMarksDeletedAndFreesTheFinalizerWhenNothingIsLeft) {
  // Completion only: b (OnWorkflowDeletion) remains, so the finalizer stays.
  json wf = Workflow("OnWorkflowCompletion", "Succeeded", true, false);
  json spec = EffectiveSpec(wf, nullptr);
  Plan plan = Decide(wf, spec);
  Outcome out = Apply(wf, spec, plan, {absl::OkStatus()}, 1, 3, "now");
  EXPECT_FALSE(out.retry);
  EXPECT_TRUE(out.failures.empty());
  EXPECT_EQ(out.status["nodes"]["n1"]["outputs"]["artifacts"][0]["deleted"], true);
  EXPECT_FALSE(out.status["nodes"]["n1"]["outputs"]["artifacts"][1].contains("deleted"));
  EXPECT_EQ(out.status["artifactGCStatus"]["strategiesProcessed"]["OnWorkflowCompletion"], true);
  EXPECT_FALSE(out.remove_finalizer);

  // Then the deletion: b goes, and with it the finalizer.
  wf["status"] = out.status;
  wf["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  plan = Decide(wf, spec);
  ASSERT_EQ(Names(plan), std::vector<std::string>{"b"});
  out = Apply(wf, spec, plan, {absl::OkStatus()}, 1, 3, "now");
  EXPECT_TRUE(out.remove_finalizer);
  EXPECT_EQ(out.status["nodes"]["n1"]["outputs"]["artifacts"][1]["deleted"], true);
  EXPECT_EQ(out.status["artifactGCStatus"]["strategiesProcessed"]["OnWorkflowDeletion"], true);
}

TEST(ArtifactGcTest, ApplyFailuresTable) {
  struct Row {
    std::string name;
    bool force;
    int attempt;
    bool retry;
    bool processed;
    bool remove_finalizer;
  };
  const std::vector<Row> rows = {
      {"first failure: retried, finalizer kept", false, 1, true, false, false},
      {"last attempt: given up, finalizer kept", false, 3, false, true, false},
      {"forced, attempts remain: retried first", true, 2, true, false, false},
      {"forced, last attempt: finalizer removed", true, 3, false, true, true},
  };
  for (const Row& r : rows) {
    json wf = Workflow("OnWorkflowDeletion", "Succeeded", true, true);
    wf["spec"]["artifactGC"]["forceFinalizerRemoval"] = r.force;
    const json spec = EffectiveSpec(wf, nullptr);
    const Plan plan = Decide(wf, spec);
    ASSERT_EQ(Names(plan), (std::vector<std::string>{"a", "b"})) << r.name;
    const Outcome out =
        Apply(wf, spec, plan, {absl::OkStatus(), absl::PermissionDeniedError("AccessDenied")},
              r.attempt, 3, "2026-01-01T00:00:01Z");
    EXPECT_EQ(out.retry, r.retry) << r.name;
    EXPECT_EQ(out.remove_finalizer, r.remove_finalizer) << r.name;
    EXPECT_EQ(
        out.status["artifactGCStatus"]["strategiesProcessed"].value("OnWorkflowDeletion", false),
        r.processed)
        << r.name;
    ASSERT_EQ(out.failures.size(), 1u) << r.name;
    EXPECT_NE(out.failures[0].find("\"b\" of node n1: AccessDenied"), std::string::npos);
    // The failure is in the status, never dropped.
    bool found = false;
    for (const json& c : out.status["conditions"]) {
      if (c["type"] == kConditionType) {
        found = true;
        EXPECT_EQ(c["status"], "True");
        EXPECT_NE(c["message"].get<std::string>().find("AccessDenied"), std::string::npos);
      }
    }
    EXPECT_TRUE(found) << r.name;
    // The one that worked is recorded as deleted.
    EXPECT_EQ(out.status["nodes"]["n1"]["outputs"]["artifacts"][0]["deleted"], true) << r.name;
  }
}

}  // namespace
}  // namespace argonaut::workflow::artifact_gc
