// The standalone rollout service: the resource API for the rollout kinds and
// the rollout and AnalysisRun controllers (the same RolloutServer `argonaut
// up` runs), with ReplicaSets, Services and analysis Jobs on the cluster
// service at --cluster. Other flags: see lib/server/service_main.h.
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "lib/cluster/remote_cluster.h"
#include "lib/server/service_main.h"
#include "services/rollout/rollout_server.h"
#include "services/rollout/validation/validate.h"

ABSL_FLAG(std::string, cluster, "",
          "host:port of the cluster service (e.g. 127.0.0.1:7005); without it the rollout "
          "controllers do not run");

namespace {

// Destroyed in reverse: the controllers before the cluster they call.
struct Parts {
  std::unique_ptr<argonaut::cluster::RemoteCluster> remote;
  std::unique_ptr<argonaut::rollout::RolloutServer> rollout;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace argonaut;  // NOLINT: a main of wiring only
  return server::RunServiceMain(
      argc, argv, "rollout",
      server::ServiceMainOptions{
          .validator = rollout::validation::RolloutValidator(),
          .setup = [](resource::ServiceBundle& bundle, server::Server& srv,
                      metrics::MetricsRegistry& registry) -> absl::StatusOr<server::StopFn> {
            auto parts = std::make_shared<Parts>();
            if (const std::string address = absl::GetFlag(FLAGS_cluster); !address.empty()) {
              parts->remote = cluster::RemoteCluster::Connect(address);
            }
            parts->rollout = std::make_unique<rollout::RolloutServer>(
                &bundle.api(), rollout::RolloutServerOptions{.cluster = parts->remote.get(),
                                                             .metrics = &registry});
            srv.AddService(parts->rollout->grpc_service());
            if (absl::Status s = parts->rollout->Start(); !s.ok()) return s;
            return [parts] { parts->rollout->Stop(); };
          }});
}
