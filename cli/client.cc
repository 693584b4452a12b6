#include "cli/client.h"

#include <chrono>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/json_text.h"
#include "lib/server/grpc_status.h"

namespace argonaut::cli {
namespace {

absl::StatusOr<nlohmann::json> ParseObject(const std::string& text) {
  absl::StatusOr<nlohmann::json> j = manifest::ParseJsonText(text);
  if (!j.ok()) return absl::InternalError("server returned invalid JSON");
  return j;
}

}  // namespace

std::string ServerAddress(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  const char* env = std::getenv("ARGONAUT_SERVER");
  if (env != nullptr && *env != '\0') return env;
  return "localhost:2746";
}

namespace {
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) {
  // Lists are not paginated yet: accept as much as the server may send.
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}
}  // namespace

Client::Client(std::string address)
    : address_(std::move(address)),
      channel_(MakeChannel(address_)),
      stub_(api::v1::ResourceService::NewStub(channel_)),
      cluster_stub_(cluster::v1::ClusterService::NewStub(channel_)),
      workflow_stub_(workflow::v1::WorkflowService::NewStub(channel_)),
      rollout_stub_(rollout::v1::RolloutService::NewStub(channel_)) {}

absl::Status Client::PodLogs(const std::string& ns, const std::string& name,
                             const std::string& container, bool follow,
                             const std::function<void(std::string_view)>& sink) {
  grpc::ClientContext ctx;
  if (!follow) ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  cluster::v1::PodLogsRequest req;
  req.set_namespace_(ns);
  req.set_name(name);
  req.set_container(container);
  req.set_follow(follow);
  auto reader = cluster_stub_->PodLogs(&ctx, req);
  cluster::v1::LogChunk chunk;
  while (reader->Read(&chunk)) sink(chunk.data());
  return Convert(reader->Finish());
}

absl::Status Client::Convert(const grpc::Status& s) const {
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach the Argonaut server at ", address_,
                     " (is `argonaut up` running?): ", s.error_message()));
  }
  return FromGrpcStatus(s);
}

absl::StatusOr<nlohmann::json> Client::Create(const std::string& kind, const nlohmann::json& object,
                                              bool upsert) {
  api::v1::CreateRequest req;
  req.set_kind(kind);
  req.set_json(object.dump());
  req.set_upsert(upsert);
  api::v1::Object resp;
  RETURN_IF_ERROR(Call(&Stub::Create, req, &resp));
  return ParseObject(resp.json());
}

absl::StatusOr<nlohmann::json> Client::Get(const std::string& kind, const std::string& ns,
                                           const std::string& name) {
  api::v1::GetRequest req;
  req.set_kind(kind);
  req.set_namespace_(ns);
  req.set_name(name);
  api::v1::Object resp;
  RETURN_IF_ERROR(Call(&Stub::Get, req, &resp));
  return ParseObject(resp.json());
}

absl::StatusOr<std::pair<std::vector<nlohmann::json>, std::string>> Client::List(
    const std::string& kind, const std::string& ns, const std::string& selector) {
  api::v1::ListRequest req;
  req.set_kind(kind);
  req.set_namespace_(ns);
  req.set_label_selector(selector);
  api::v1::ListResponse resp;
  RETURN_IF_ERROR(Call(&Stub::List, req, &resp));
  std::vector<nlohmann::json> items;
  for (const auto& item : resp.items()) {
    auto j = ParseObject(item.json());
    if (!j.ok()) return j.status();
    items.push_back(std::move(*j));
  }
  return std::make_pair(std::move(items), resp.resource_version());
}

absl::Status Client::Delete(const std::string& kind, const std::string& ns,
                            const std::string& name) {
  api::v1::DeleteRequest req;
  req.set_kind(kind);
  req.set_namespace_(ns);
  req.set_name(name);
  api::v1::DeleteResponse resp;
  return Call(&Stub::Delete, req, &resp);
}

absl::StatusOr<std::string> Client::Version() {
  api::v1::VersionResponse resp;
  RETURN_IF_ERROR(Call(&Stub::Version, api::v1::VersionRequest(), &resp, std::chrono::seconds(5)));
  return resp.version();
}

}  // namespace argonaut::cli
