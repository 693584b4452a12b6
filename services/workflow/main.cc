// The standalone workflow service: the resource API for the workflow kinds,
// WorkflowService and the workflow and CronWorkflow controllers (the same
// WorkflowServer `argonaut up` runs), with pods on the cluster service at
// --cluster. Other flags: see lib/server/service_main.h.
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "lib/cluster/remote_cluster.h"
#include "lib/controller/clock.h"
#include "lib/server/service_main.h"
#include "services/workflow/api/validator.h"
#include "services/workflow/workflow_server.h"

ABSL_FLAG(std::string, cluster, "",
          "host:port of the cluster service (e.g. 127.0.0.1:7005); without it the workflow "
          "controller does not run");
ABSL_FLAG(std::string, artifact_dir, "",
          "host directory of the local artifact repository, as the cluster's pods see it (the "
          "cluster service must run on the same host or share the volume); empty: none");

namespace {

// Destroyed in reverse: the controller before the cluster it calls.
struct Parts {
  std::unique_ptr<argonaut::cluster::RemoteCluster> remote;
  std::unique_ptr<argonaut::workflow::WorkflowServer> workflow;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace argonaut;  // NOLINT: a main of wiring only
  // The validator looks WorkflowTemplates up in the store it guards, which
  // exists only once RunServiceMain has opened it.
  static resource::ResourceApi* workflows = nullptr;
  return server::RunServiceMain(
      argc, argv, "workflow",
      server::ServiceMainOptions{
          .validator =
              workflow::api::WorkflowValidator(workflow::api::StoreTemplateLookup(&workflows)),
          .setup = [](resource::ServiceBundle& bundle, server::Server& srv,
                      metrics::MetricsRegistry& registry) -> absl::StatusOr<server::StopFn> {
            workflows = &bundle.api();
            auto parts = std::make_shared<Parts>();
            if (const std::string address = absl::GetFlag(FLAGS_cluster); !address.empty()) {
              parts->remote = cluster::RemoteCluster::Connect(address);
            }
            parts->workflow = std::make_unique<workflow::WorkflowServer>(
                workflows, workflow::WorkflowServerOptions{
                               .cluster = parts->remote.get(),
                               .artifact_repository = absl::GetFlag(FLAGS_artifact_dir),
                               .metrics = &registry,
                               .store = &bundle.store(),
                               .clock = controller::RealClock::Get()});
            srv.AddService(parts->workflow->grpc_service());
            srv.AddService(parts->workflow->archive_grpc_service());
            if (absl::Status s = parts->workflow->Start(); !s.ok()) return s;
            return [parts] { parts->workflow->Stop(); };
          }});
}
