// The standalone cd service: the resource API for Application and AppProject
// (checked by the cd validator), the cd API (ApplicationService,
// RepositoryService, ProjectService) and the repo-server and application
// controller — the same CdServer `argonaut up` runs. Apps deploy to the
// cluster service at --cluster; Argo kinds they hold go to the
// ResourceService at --resources (the gateway, which routes each kind to its
// service). Flags may be written with dashes (--repo-poll-interval) or
// underscores. Other flags: see lib/server/service_main.h.
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "lib/auth/channel.h"
#include "lib/cluster/remote_cluster.h"
#include "lib/server/service_main.h"
#include "services/cd/cd_server.h"
#include "services/cd/validation/validate.h"

ABSL_FLAG(std::string, cluster, "",
          "host:port of the cluster service (e.g. 127.0.0.1:7005); without it the application "
          "controller does not run");
ABSL_FLAG(std::string, resources, "",
          "host:port of a ResourceService for Argo kinds (the gateway, e.g. 127.0.0.1:2746): "
          "Rollouts, Workflows ... in a repository go to their own service");
ABSL_FLAG(absl::Duration, repo_poll_interval, absl::Minutes(3),
          "how often every application's revision is resolved again (Argo CD's default: 3m)");
ABSL_FLAG(std::string, webhook_github_secret, "",
          "secret of GitHub push webhooks (X-Hub-Signature-256); empty: not checked");
ABSL_FLAG(std::string, webhook_gitlab_secret, "",
          "secret of GitLab push webhooks (X-Gitlab-Token); empty: not checked");
ABSL_FLAG(std::string, webhook_bitbucket_uuid, "",
          "UUID of Bitbucket push webhooks (X-Hook-UUID); empty: not checked");

namespace {

// Destroyed in reverse: the server before the clients it calls.
struct Parts {
  std::unique_ptr<argonaut::cluster::RemoteCluster> remote;
  std::unique_ptr<argonaut::api::v1::ResourceService::Stub> resources;
  std::unique_ptr<argonaut::cd::CdServer> cd;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace argonaut;  // NOLINT: a main of wiring only
  std::vector<std::string> storage;
  std::vector<char*> args = argonaut::server::Underscored(argc, argv, storage);
  return server::RunServiceMain(
      static_cast<int>(args.size()), args.data(), "cd",
      server::ServiceMainOptions{
          .validator = cd::validation::CdValidator(),
          .setup = [](resource::ServiceBundle& bundle, server::Server& srv,
                      metrics::MetricsRegistry& registry) -> absl::StatusOr<server::StopFn> {
            auto parts = std::make_shared<Parts>();
            if (const std::string a = absl::GetFlag(FLAGS_cluster); !a.empty()) {
              parts->remote = cluster::RemoteCluster::Connect(a);
            }
            if (const std::string a = absl::GetFlag(FLAGS_resources); !a.empty()) {
              parts->resources = api::v1::ResourceService::NewStub(auth::ServiceChannel(a));
            }
            parts->cd = std::make_unique<cd::CdServer>(
                &bundle.api(),
                cd::CdServerOptions{
                    .data_dir = server::ServiceDataDir("cd"),
                    .cluster = parts->remote.get(),
                    .resources = parts->resources.get(),
                    .metrics = &registry,
                    .repo_poll_interval = absl::GetFlag(FLAGS_repo_poll_interval),
                    .webhook_secrets = {
                        .github = absl::GetFlag(FLAGS_webhook_github_secret),
                        .gitlab = absl::GetFlag(FLAGS_webhook_gitlab_secret),
                        .bitbucket_uuid = absl::GetFlag(FLAGS_webhook_bitbucket_uuid)}});
            for (grpc::Service* s : parts->cd->grpc_services()) srv.AddService(s);
            if (absl::Status s = parts->cd->Start(); !s.ok()) return s;
            return [parts] { parts->cd->Stop(); };
          }});
}
