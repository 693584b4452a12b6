#include "cli/client.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "lib/auth/channel.h"
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

struct ConnectionFlags {
  std::optional<std::string> token;
  auth::ClientChannelOptions::Tls tls = auth::ClientChannelOptions::Tls::kNone;
  std::string ca_file;
};

ConnectionFlags& Flags() {
  static ConnectionFlags* flags = new ConnectionFlags();
  return *flags;
}

bool EnvTrue(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && (absl::EqualsIgnoreCase(v, "true") || std::string_view(v) == "1");
}

// "--name" (value: the next argument) or "--name=value". Boolean flags take only the second form
// for a value.
bool MatchFlag(const std::vector<std::string>& args, size_t i, const std::string& name,
               bool takes_value, std::optional<std::string>* value, size_t* consumed) {
  const std::string& a = args[i];
  const std::string flag = absl::StrCat("--", name);
  if (a == flag) {
    if (takes_value) {
      if (i + 1 >= args.size()) return false;
      *value = args[i + 1];
      *consumed = 2;
    } else {
      *value = "true";
      *consumed = 1;
    }
    return true;
  }
  if (absl::StartsWith(a, flag + "=")) {
    *value = a.substr(flag.size() + 1);
    *consumed = 1;
    return true;
  }
  return false;
}

}  // namespace

absl::Status TakeConnectionFlags(std::vector<std::string>& args) {
  ConnectionFlags& f = Flags();
  bool secure = EnvTrue("ARGONAUT_SECURE") || EnvTrue("ARGO_SECURE");
  bool skip_verify =
      EnvTrue("ARGONAUT_INSECURE_SKIP_VERIFY") || EnvTrue("ARGO_INSECURE_SKIP_VERIFY");
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size();) {
    std::optional<std::string> v;
    size_t n = 0;
    if (args[i] == "--token" && i + 1 >= args.size()) {
      return absl::InvalidArgumentError("--token: missing value");
    }
    if (args[i] == "--tls-ca" && i + 1 >= args.size()) {
      return absl::InvalidArgumentError("--tls-ca: missing value");
    }
    if (MatchFlag(args, i, "token", true, &v, &n)) {
      if (v->empty()) return absl::InvalidArgumentError("--token: empty");
      f.token = *v;
    } else if (MatchFlag(args, i, "tls-ca", true, &v, &n)) {
      f.ca_file = *v;
      secure = true;
    } else if (MatchFlag(args, i, "secure", false, &v, &n)) {
      secure = *v != "false";
    } else if (MatchFlag(args, i, "insecure-skip-tls-verify", false, &v, &n) ||
               MatchFlag(args, i, "insecure-skip-verify", false, &v, &n)) {
      skip_verify = *v != "false";
    } else {
      rest.push_back(args[i]);
      ++i;
      continue;
    }
    i += n;
  }
  args = std::move(rest);
  f.tls = skip_verify ? auth::ClientChannelOptions::Tls::kSkipVerify
          : secure    ? auth::ClientChannelOptions::Tls::kVerify
                      : auth::ClientChannelOptions::Tls::kNone;
  if (!f.ca_file.empty() && access(f.ca_file.c_str(), R_OK) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("--tls-ca: cannot read ", f.ca_file));
  }
  return absl::OkStatus();
}

std::string DefaultDataDir() {
  const char* data = std::getenv("ARGONAUT_DATA");
  if (data != nullptr && *data != '\0') return data;
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr ? home : ".", "/.argonaut/data");
}

std::string CallerToken() {
  if (Flags().token.has_value()) return *Flags().token;
  const char* env = std::getenv("ARGONAUT_TOKEN");
  if (env != nullptr && *env != '\0') return std::string(absl::StripAsciiWhitespace(env));
  absl::StatusOr<std::string> token =
      auth::ReadTokenFile(absl::StrCat(DefaultDataDir(), "/admin.token"));
  return token.ok() ? *token : "";
}

std::string TokenHint() {
  return absl::StrCat(
      "the server wants a token: pass --token or set ARGONAUT_TOKEN (`argonaut account "
      "create-token`), or run as the user who ran `argonaut up`, whose admin token is in ",
      DefaultDataDir(), "/admin.token");
}

std::shared_ptr<grpc::Channel> ConnectChannel(const std::string& address) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      auth::MakeClientChannel({.address = address,
                               .token = CallerToken(),
                               .tls = Flags().tls,
                               .ca_file = Flags().ca_file,
                               // Lists are not paginated yet: accept as much as the server sends.
                               .max_receive_message_size = 64 << 20});
  if (!channel.ok()) {
    std::cerr << "error: " << channel.status().message() << "\n";
    std::exit(1);
  }
  return *std::move(channel);
}

Client::Client(std::string address)
    : address_(std::move(address)),
      channel_(ConnectChannel(address_)),
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

absl::StatusOr<api::v1::VersionResponse> Client::Version() {
  api::v1::VersionResponse resp;
  RETURN_IF_ERROR(Call(&Stub::Version, api::v1::VersionRequest(), &resp, std::chrono::seconds(5)));
  return resp;
}

}  // namespace argonaut::cli
