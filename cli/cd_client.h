// Internal to the cd commands (cd_commands.cc, cd_repo_commands.cc): the connection to the cd
// services on the gateway and the small helpers both files use.
#pragma once

#include <chrono>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "argonaut/cd/v1/cd_service.grpc.pb.h"
#include "cli/args.h"
#include "cli/cli_util.h"
#include "cli/client.h"
#include "grpcpp/grpcpp.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "lib/server/grpc_status.h"
#include "nlohmann/json.hpp"

namespace argonaut::cli::cd_internal {

using nlohmann::json;
namespace cd1 = ::argonaut::cd::v1;

inline const FlagSpec kOutput{"output", "o"};
inline const FlagSpec kAppNamespace{"app-namespace", "N"};
inline const FlagSpec kTimeout{"timeout", ""};

// The cd services on the gateway connection.
class CdClient {
 public:
  explicit CdClient(const std::string& server_flag) : address_(ServerAddress(server_flag)) {
    channel_ = ConnectChannel(address_);
    apps_ = cd1::ApplicationService::NewStub(channel_);
    repos_ = cd1::RepositoryService::NewStub(channel_);
    projects_ = cd1::ProjectService::NewStub(channel_);
  }

  cd1::ApplicationService::Stub& apps() { return *apps_; }
  cd1::RepositoryService::Stub& repos() { return *repos_; }
  cd1::ProjectService::Stub& projects() { return *projects_; }
  std::string url() const { return absl::StrCat("http://", address_); }

  // A context with a deadline for one unary call.
  static std::unique_ptr<grpc::ClientContext> Context(int seconds = 60) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
    return ctx;
  }

  absl::Status Convert(const grpc::Status& s) const {
    // The service's own UNAVAILABLE ("cd controller not running") is not a connection problem.
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE &&
        s.error_message() == "cd controller not running") {
      return FromGrpcStatus(s);
    }
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
        s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      return absl::UnavailableError(
          absl::StrCat("cannot reach the Argonaut server at ", address_,
                       " (is `argonaut up` running?): ", s.error_message()));
    }
    return FromGrpcStatus(s);
  }

  absl::StatusOr<json> GetApp(const std::string& name, const std::string& ns,
                              const std::string& refresh = "") {
    cd1::ApplicationQuery q;
    q.set_name(name);
    q.set_app_namespace(ns);
    q.set_refresh(refresh);
    cd1::ApplicationReply reply;
    RETURN_IF_ERROR(Convert(apps_->Get(Context().get(), q, &reply)));
    return Parse(reply.json());
  }

  static absl::StatusOr<json> Parse(const std::string& text) {
    absl::StatusOr<json> j = manifest::ParseJsonText(text);
    if (!j.ok()) return absl::InternalError("server returned invalid JSON");
    return j;
  }

 private:
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<cd1::ApplicationService::Stub> apps_;
  std::unique_ptr<cd1::RepositoryService::Stub> repos_;
  std::unique_ptr<cd1::ProjectService::Stub> projects_;
};

inline const json& F(const json& obj, const char* key) {
  static const json* const kNull = new json();
  if (!obj.is_object()) return *kNull;
  auto it = obj.find(key);
  return it != obj.end() ? *it : *kNull;
}

inline std::string S(const json& obj, const char* key) {
  const json& v = F(obj, key);
  return v.is_string() ? v.get<std::string>() : "";
}

// Boolean switches in their `--flag=false` / `--flag=true` forms, which the argument parser does
// not take for switches: `=true` becomes the switch, `=false` is removed and remembered.
inline std::vector<std::string> NormalizeBools(const std::vector<std::string>& argv,
                                               const std::set<std::string>& switches,
                                               std::set<std::string>* falses) {
  std::vector<std::string> out;
  for (const std::string& a : argv) {
    const size_t eq = a.find('=');
    if (absl::StartsWith(a, "--") && eq != std::string::npos &&
        switches.count(a.substr(2, eq - 2)) > 0) {
      const std::string name = a.substr(2, eq - 2);
      const std::string value = absl::AsciiStrToLower(a.substr(eq + 1));
      if (value == "false" || value == "0") {
        falses->insert(name);
      } else {
        out.push_back("--" + name);
      }
      continue;
    }
    out.push_back(a);
  }
  return out;
}

inline absl::Status Usage(const char* usage) { return absl::InvalidArgumentError(usage); }

// Prints objects as -o json|yaml (true), or leaves the table to the caller (false).
inline bool PrintStructured(const std::string& format, const json& value, std::ostream& out) {
  if (format == "json") {
    out << value.dump(2) << "\n";
    return true;
  }
  if (format == "yaml") {
    out << manifest::ToYaml(value);
    return true;
  }
  return false;
}

inline absl::Status CheckFormat(const std::string& format, const std::set<std::string>& allowed) {
  if (format.empty() || allowed.count(format) > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("--output: unknown format \"", format, "\""));
}

inline std::string OneName(const Args& args) {
  return args.positional.size() == 1 ? args.positional[0] : "";
}

inline bool IsHelp(const std::vector<std::string>& argv) {
  return argv.empty() || argv[0] == "help" || argv[0] == "--help" || argv[0] == "-h";
}

}  // namespace argonaut::cli::cd_internal
