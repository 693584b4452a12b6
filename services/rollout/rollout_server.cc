#include "services/rollout/rollout_server.h"

#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "services/rollout/validation/validate.h"

namespace argonaut::rollout {

RolloutServer::RolloutServer(resource::ResourceApi* rollouts, RolloutServerOptions options)
    : rollouts_(rollouts),
      options_(std::move(options)),
      grpc_(rollouts, options_.cluster, options_.clock,
            options_.lint_validator ? options_.lint_validator : validation::RolloutValidator()) {}

RolloutServer::~RolloutServer() { Stop(); }

absl::Status RolloutServer::Start() {
  if (options_.cluster == nullptr) {
    LogWarn("rollout",
            "no cluster: the rollout and analysis controllers do not run; rollouts are stored "
            "but never progress");
    return absl::OkStatus();
  }
  // Analysis first: the rollout controller's first pass may create runs.
  analysis_ = std::make_unique<analysis::AnalysisRunController>(
      rollouts_, options_.cluster,
      analysis::AnalysisControllerOptions{.clock = options_.clock, .metrics = options_.metrics});
  RETURN_IF_ERROR(analysis_->Start());
  experiments_ = std::make_unique<experiment::ExperimentController>(
      rollouts_, options_.cluster,
      experiment::ExperimentControllerOptions{.clock = options_.clock});
  RETURN_IF_ERROR(experiments_->Start());
  controller_ = std::make_unique<RolloutController>(
      rollouts_, options_.cluster,
      RolloutControllerOptions{.clock = options_.clock, .metrics = options_.metrics});
  return controller_->Start();
}

void RolloutServer::Stop() {
  if (controller_) controller_->Stop();
  if (experiments_) experiments_->Stop();
  if (analysis_) analysis_->Stop();
}

}  // namespace argonaut::rollout
