// The cd service as the API tests (here, the gateway's cd_rest_test and the CLI's cd_cli_test) run
// it: a real LocalCluster of plain processes, an in-memory cd store with the cd validator, the
// CdServer (repo-server, repository store, controller, API) and a server::Server hosting its gRPC
// services in-process, plus a git repository made with the `git` binary holding `app/` (a
// ConfigMap and a Service: both healthy without pods). Test-only.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "httplib.h"
#include "lib/resource/resource_api.h"
#include "lib/server/server.h"
#include "lib/store/in_memory_store.h"
#include "nlohmann/json.hpp"
#include "services/cd/cd_server.h"
#include "services/rollout/test_util.h"

namespace argonaut::cd::test_env {

struct CdTestEnv {
  rollout::test_util::TestCluster cluster;
  std::unique_ptr<store::InMemoryStore> store;
  std::unique_ptr<resource::ResourceApi> apps;
  std::unique_ptr<CdServer> cd;
  std::unique_ptr<server::Server> server;
  std::string repo_dir;  // the git work tree; its URL is file://<repo_dir>

  ~CdTestEnv();
  std::string RepoUrl() const { return "file://" + repo_dir; }
  // Runs `git ARGS` in the repository.
  absl::Status Git(const std::string& args) const;
  // Writes app/configmap.yaml with data.color = `color` and commits it; returns the commit.
  absl::StatusOr<std::string> CommitColor(const std::string& color) const;
  // An Application of app/ in namespace argocd, deploying to `dest_ns` of the in-cluster server.
  nlohmann::json App(const std::string& name, const std::string& dest_ns, bool automated) const;
  // Polls the stored app until `done` holds (10 s at most).
  absl::StatusOr<nlohmann::json> WaitApp(const std::string& name,
                                         const std::function<bool(const nlohmann::json&)>& done);
};

// `http` (may be empty) adds REST routes to the server's HTTP listener, given the in-process
// channel to its gRPC services; without it the server has no HTTP listener. `with_controller`
// false: no cluster, so the API answers store-only. `grpc_listener`: also serve gRPC on an
// ephemeral loopback port (server->BoundGrpcPort()), for clients that dial an address.
absl::StatusOr<std::unique_ptr<CdTestEnv>> Start(
    const std::string& prefix, bool with_controller = true,
    std::function<void(httplib::Server&, std::shared_ptr<grpc::Channel>)> http = {},
    bool grpc_listener = false);

}  // namespace argonaut::cd::test_env
