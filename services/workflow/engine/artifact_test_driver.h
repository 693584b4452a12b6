// Test helper for the engine's artifact tests (artifacts_test, repository_test): steps a
// workflow through Operate() with a fake clock, feeds pod results back, and reads the
// environment and template the engine gave a pod.
#pragma once

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "nlohmann/json.hpp"
#include "services/workflow/engine/engine.h"

namespace argonaut::workflow::engine::testing {

// The value of the first container's environment variable `name`, or null.
inline nlohmann::json Env(const nlohmann::json& pod, const std::string& name) {
  for (const nlohmann::json& e : pod["spec"]["containers"][0]["env"]) {
    if (e["name"] == name) return e["value"];
  }
  return nullptr;
}

// The template argoexec gets (ARGO_TEMPLATE).
inline nlohmann::json TemplateOf(const nlohmann::json& pod) {
  return nlohmann::json::parse(Env(pod, "ARGO_TEMPLATE").get<std::string>());
}

// Runs Operate() one step at a time over a workflow, the local repository at /data/artifacts
// and, when given, a resolved artifactRepositoryRef.
class ArtifactDriver {
 public:
  explicit ArtifactDriver(nlohmann::json wf, nlohmann::json ref = nullptr) {
    in_.workflow = std::move(wf);
    in_.artifact_repository_ref = std::move(ref);
    in_.artifact_repository = "/data/artifacts";
  }
  EngineOutput Step() {
    in_.now = absl::FromUnixSeconds(1700000000 + calls_++);
    absl::StatusOr<EngineOutput> out = Operate(in_);
    EXPECT_OK(out.status());
    in_.workflow["status"] = out->status;
    return *std::move(out);
  }
  void Finish(const std::string& pod, nlohmann::json report) {
    PodState& s = in_.pods[pod];
    s.phase = "Succeeded";
    s.exit_code = 0;
    s.outputs = std::move(report);
  }
  void Fail(const std::string& pod, int code, const std::string& message, nlohmann::json report) {
    PodState& s = in_.pods[pod];
    s.phase = "Failed";
    s.exit_code = code;
    s.message = message;
    s.outputs = std::move(report);
  }
  EngineInput& in() { return in_; }
  const nlohmann::json& status() { return in_.workflow["status"]; }
  nlohmann::json NodeNamed(const std::string& display) {
    for (const nlohmann::json& n : status()["nodes"]) {
      if (n["displayName"] == display) return n;
    }
    return nullptr;
  }

 private:
  EngineInput in_;
  int calls_ = 0;
};

}  // namespace argonaut::workflow::engine::testing
