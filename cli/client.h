// The CLI's connection to the gateway, with CLI-friendly errors.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "argonaut/api/v1/resource.grpc.pb.h"
#include "argonaut/cluster/v1/cluster_service.grpc.pb.h"
#include "argonaut/rollout/v1/rollout_service.grpc.pb.h"
#include "argonaut/workflow/v1/workflow_service.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace argonaut::cli {

// --server, else $ARGONAUT_SERVER, else localhost:2746.
std::string ServerAddress(const std::string& flag_value);

// The connection flags every command takes, wherever they stand on the command line:
// --token TOKEN, --secure (TLS, verified against --tls-ca FILE or the system's roots),
// --insecure-skip-tls-verify (alias --insecure-skip-verify: TLS, any certificate). They are
// removed from `args`; ARGONAUT_SECURE / ARGO_SECURE=true and ARGONAUT_INSECURE_SKIP_VERIFY /
// ARGO_INSECURE_SKIP_VERIFY=true do the same as the flags. Call once, before any channel is made.
absl::Status TakeConnectionFlags(std::vector<std::string>& args);

// The data directory `argonaut up` uses by default: $ARGONAUT_DATA, else ~/.argonaut/data.
std::string DefaultDataDir();

// The caller's token: --token, else $ARGONAUT_TOKEN, else the admin token `argonaut up` wrote to
// <DefaultDataDir()>/admin.token (readable only by the user who ran it). Empty when none.
std::string CallerToken();

// A channel to the server at `address` carrying CallerToken() as `authorization: Bearer` on every
// call, over TLS when the connection flags ask for it. A bad TLS setting (unreadable CA file) ends
// the process with an error naming the flag.
std::shared_ptr<grpc::Channel> ConnectChannel(const std::string& address);

// The hint printed with an UNAUTHENTICATED answer: where a token comes from.
std::string TokenHint();

class Client {
 public:
  explicit Client(std::string address);

  absl::StatusOr<nlohmann::json> Create(const std::string& kind, const nlohmann::json& object,
                                        bool upsert);
  absl::StatusOr<nlohmann::json> Get(const std::string& kind, const std::string& ns,
                                     const std::string& name);
  // Returns {items, resourceVersion}.
  absl::StatusOr<std::pair<std::vector<nlohmann::json>, std::string>> List(
      const std::string& kind, const std::string& ns, const std::string& selector);
  absl::Status Delete(const std::string& kind, const std::string& ns, const std::string& name);
  absl::StatusOr<api::v1::VersionResponse> Version();
  // Streams one container's log to `sink`; with follow, until it ends.
  absl::Status PodLogs(const std::string& ns, const std::string& name, const std::string& container,
                       bool follow, const std::function<void(std::string_view)>& sink);

  // The workflow service's own API on the same connection (cli/workflow_commands.cc).
  workflow::v1::WorkflowService::Stub& workflows() { return *workflow_stub_; }
  // The rollout service's API (cli/rollout_commands.cc).
  rollout::v1::RolloutService::Stub& rollouts() { return *rollout_stub_; }
  // A failed call as a CLI error (an unreachable server is named as such).
  absl::Status Convert(const grpc::Status& s) const;

 private:
  using Stub = api::v1::ResourceService::Stub;

  // One unary call with a deadline, its failure turned into a CLI error.
  template <typename Req, typename Resp>
  absl::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& req, Resp* resp,
                    std::chrono::seconds timeout = std::chrono::seconds(30)) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    return Convert((stub_.get()->*method)(&ctx, req, resp));
  }

  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<api::v1::ResourceService::Stub> stub_;
  std::unique_ptr<cluster::v1::ClusterService::Stub> cluster_stub_;
  std::unique_ptr<workflow::v1::WorkflowService::Stub> workflow_stub_;
  std::unique_ptr<rollout::v1::RolloutService::Stub> rollout_stub_;
};

}  // namespace argonaut::cli
