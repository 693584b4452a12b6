// The gateway's REST/JSON face: Argo Server-style paths under /api/v1 that
// call the same ResourceService the gRPC clients use.
//
//   GET    /api/v1/workflows/{namespace}[?listOptions.labelSelector=...]
//   POST   /api/v1/workflows/{namespace}         body: the object, or Argo's
//                                                {"workflow": {...}} wrapper
//   GET    /api/v1/workflows/{namespace}/{name}
//   PUT    /api/v1/workflows/{namespace}/{name}
//   DELETE /api/v1/workflows/{namespace}/{name}
//   GET    /api/v1/cluster-workflow-templates[/{name}]   (cluster-scoped kinds)
//   GET    /api/v1/workflows/{namespace}?watch=true   (or listOptions.watch=true):
//          newline-delimited {"result":{"type":"ADDED","object":{...}}}
//   GET    /api/v1/version, /api/v1/kinds
//
// Each kind's path segment is Argo Server's (workflow-templates,
// cron-workflows, ...), and the kind's plural (workflowtemplates) works too.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "argonaut/api/v1/resource.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace httplib {
class Server;
}

namespace argonaut::gateway {

// `api` must outlive the server.
void RegisterRestRoutes(httplib::Server& http, api::v1::ResourceService::StubInterface* api);

// The REST path segment of a kind ("workflow-templates" for WorkflowTemplate).
std::string RestSegment(std::string_view kind);

// HTTP status for a gRPC status code, as grpc-gateway maps them.
int HttpStatusFor(int grpc_code);

// A service REST route's request body as a JSON object; an empty body is an empty object (PUT
// .../suspend sends none). Anything else is InvalidArgument with a message for the caller.
absl::StatusOr<nlohmann::json> ParseObjectBody(const std::string& body);

// Fields of a parsed request body, as grpc-gateway reads them into a request
// message: a missing or mistyped field is the zero value ("true" counts as a
// boolean), and non-strings in a string list are skipped.
inline std::string StrField(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

inline bool BoolField(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && ((it->is_boolean() && it->get<bool>()) || *it == "true");
}

template <typename Repeated>
void AddStrings(const nlohmann::json& body, const char* key, Repeated* out) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_array()) return;
  for (const nlohmann::json& v : *it) {
    if (v.is_string()) out->Add(v.get<std::string>());
  }
}

}  // namespace argonaut::gateway
