#include "services/rollout/analysis/analysis_controller.h"

namespace argonaut::rollout::analysis {

// Placeholder until the controller lands: the header is the contract others
// wire against.
struct AnalysisRunController::Impl {};

AnalysisRunController::AnalysisRunController(resource::ResourceApi*, cluster::Cluster*,
                                             AnalysisControllerOptions)
    : impl_(std::make_unique<Impl>()) {}
AnalysisRunController::~AnalysisRunController() = default;
absl::Status AnalysisRunController::Start() { return absl::OkStatus(); }
void AnalysisRunController::Stop() {}
absl::StatusOr<controller::Result> AnalysisRunController::Reconcile(const std::string&) {
  return controller::Result{};
}

}  // namespace argonaut::rollout::analysis
