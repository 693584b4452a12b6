// Every Rollout in Argo's examples (../shared/corpus/argo-rollouts/examples) through the engine
// on the simulated cluster: the first version deploys, then an image update is driven to the
// end (pauses promoted, analysis runs reported Successful). ARGONAUT_CORPUS_DIR overrides the
// corpus location.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/base/test_corpus.h"
#include "lib/manifest/yaml.h"
#include "services/rollout/engine/test_sim.h"

namespace argonaut::rollout::engine {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Sim;

// Drives an update to completion; returns the final phase. `promoted_experiments` counts the
// experiments (no duration, no requiredForCompletion: they run until someone moves on) that the
// driver promoted past once their analyses had passed.
std::string DriveUpdate(Sim& sim, int* promoted_experiments) {
  for (int round = 0; round < 60; ++round) {
    sim.Settle();
    const json& st = sim.status();
    if (sim.Phase() == "Healthy" && st.value("stableRS", "") == st.value("currentPodHash", "")) {
      return "Healthy";
    }
    if (sim.Phase() == "Degraded") return "Degraded";
    if (st.contains("pauseConditions")) sim.Promote();
    for (const auto& [name, run] : sim.runs()) {
      if (run["status"].value("phase", "") == "Running") sim.SetRunPhase(name, "Successful");
    }
    bool runs_passed = true;
    for (const auto& [name, run] : sim.experiment_runs()) {
      if (run["status"].value("phase", "") == "Running" && !run["spec"].value("terminate", false)) {
        sim.SetExperimentRunPhase(name, "Successful");
        runs_passed = false;
      }
    }
    const std::string current =
        st.contains("canary") ? st["canary"].value("currentExperiment", "") : "";
    if (runs_passed && !current.empty() && sim.experiments().count(current) > 0 &&
        sim.experiments().at(current)["status"].value("phase", "") == "Running" &&
        !sim.experiments().at(current)["spec"].contains("duration")) {
      sim.SkipStep();  // `rollouts promote` in the middle of a step
      ++*promoted_experiments;
    }
    sim.Advance(absl::Minutes(1));
  }
  return sim.Phase();
}

TEST(RolloutEngineCorpusTest, ExamplesDeployAndUpdate) {
  auto dir = argonaut::testing::TestCorpusDir("services/rollout/engine/testdata/corpus_anchor.txt");
  const fs::path root = dir.ok() ? *dir / "argo-rollouts" / "examples" : fs::path();
  if (!dir.ok() || !fs::is_directory(root)) {
    GTEST_SKIP() << "Argo Rollouts corpus not found; set ARGONAUT_CORPUS_DIR";
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::map<std::string, int> outcomes;
  int rollouts = 0;
  for (const fs::path& path : files) {
    const std::string rel = fs::relative(path, root).string();
    auto text = argonaut::testing::ReadTestFile(path);
    ASSERT_TRUE(text.ok());
    auto docs = manifest::ParseDocuments(*text);
    if (!docs.ok()) continue;  // not YAML as shipped: the validation corpus test covers it
    std::map<std::string, json> deployments;
    for (const json& d : *docs) {
      if (d.value("kind", "") == "Deployment") deployments[d["metadata"].value("name", "")] = d;
    }
    for (const json& doc : *docs) {
      if (doc.value("kind", "") != "Rollout") continue;
      ++rollouts;
      SCOPED_TRACE(rel);
      Sim sim(doc);
      const json* ref = doc.contains("spec") ? &doc["spec"] : nullptr;
      if (ref != nullptr && ref->contains("workloadRef")) {
        auto it = deployments.find((*ref)["workloadRef"].value("name", ""));
        if (it != deployments.end()) sim.workload = it->second;
      }
      sim.Settle();
      if (sim.Phase() == "Degraded") {
        // Refused: the message must say which field.
        EXPECT_NE(sim.Message().find("spec"), std::string::npos) << sim.Message();
        std::cout << "refused    " << rel << ": " << sim.Message() << "\n";
        ++outcomes["refused"];
        continue;
      }
      EXPECT_EQ(sim.Phase(), "Healthy") << sim.Message();
      const json* tmpl = sim.workload.has_value() ? &(*sim.workload)["spec"]["template"]
                                                  : &sim.rollout()["spec"]["template"];
      const std::string image = (*tmpl)["spec"]["containers"][0].value("image", "img");
      sim.SetImage(image + "-next");
      int promoted = 0;
      const std::string phase = DriveUpdate(sim, &promoted);
      outcomes["experiments promoted"] += promoted;
      std::cout << (phase == "Healthy" ? "updated    " : "stopped    ") << rel << ": " << phase
                << (sim.Message().empty() ? "" : " - " + sim.Message()) << "\n";
      const bool weighted =
          sim.Message().find("weighted experiment templates need a traffic router") !=
          std::string::npos;
      ++outcomes[phase == "Healthy" ? "updated"
                 : weighted         ? "stopped: weighted experiment"
                                    : phase];
    }
  }
  std::cout << rollouts << " Rollouts:";
  for (const auto& [k, v] : outcomes) std::cout << " " << k << "=" << v;
  std::cout << "\n";
  EXPECT_GE(rollouts, 20);
  // Every example deploys and completes an update, experiments included, except the three
  // whose experiment templates carry a traffic `weight` (Istio, ALB, SMI routing to the
  // experiment's pods), which the local Service proxy cannot do: they abort saying so.
  EXPECT_EQ(outcomes["refused"], 0);
  EXPECT_EQ(outcomes["stopped: weighted experiment"], 3);
  EXPECT_EQ(outcomes["updated"] + outcomes["stopped: weighted experiment"], rollouts);
  EXPECT_GE(outcomes["experiments promoted"], 2);
}

}  // namespace
}  // namespace argonaut::rollout::engine
