#include <optional>

#include "lib/manifest/yaml.h"
#include "lib/server/grpc_status.h"
#include "services/cd/api/app_ops.h"
#include "services/cd/api/cd_api.h"
#include "services/cd/api/json_fields.h"
#include "services/cd/engine/compare.h"
#include "services/cd/engine/diff.h"

namespace argonaut::cd::api {
namespace {

using internal::Field;
using internal::Str;
using nlohmann::json;

// Argo CD's ResourceDiff JSON strings: an absent side is "null", as Go marshals a nil object.
std::string StateText(const std::optional<json>& obj) {
  return obj.has_value() ? manifest::ToJsonText(*obj, false) : "null";
}

std::optional<json> Present(const json& obj) {
  if (obj.is_null()) return std::nullopt;
  return obj;
}

std::optional<json> Hidden(const std::optional<json>& obj) {
  if (!obj.has_value()) return obj;
  return engine::HideSecretValues(*obj);
}

}  // namespace

grpc::Status ApplicationGrpcService::ManagedResources(grpc::ServerContext*,
                                                      const v1::ResourcesQuery* req,
                                                      v1::ManagedResourcesReply* reply) {
  if (options_.state == nullptr) return ToGrpcStatus(ControllerNotRunning());
  absl::StatusOr<json> app =
      GetApp(req->app_namespace().empty() ? kDefaultNamespace : req->app_namespace(),
             req->application_name());
  if (!app.ok()) return ToGrpcStatus(app.status());
  absl::StatusOr<engine::CompareResult> compared = options_.state->CompareNow(*app);
  if (!compared.ok()) return ToGrpcStatus(compared.status());
  for (const engine::ResourceState& r : compared->resources) {
    if ((!req->group().empty() && r.key.group != req->group()) ||
        (!req->kind().empty() && r.key.kind != req->kind()) ||
        (!req->namespace_().empty() && r.key.ns != req->namespace_()) ||
        (!req->name().empty() && r.key.name != req->name())) {
      continue;
    }
    json item = {{"group", r.key.group},
                 {"kind", r.key.kind},
                 {"namespace", r.key.ns},
                 {"name", r.key.name},
                 // Secret values never leave the API (the diff masks them too).
                 {"targetState", StateText(Hidden(r.target))},
                 {"liveState", StateText(Hidden(r.live))},
                 {"normalizedLiveState", StateText(Present(r.diff.normalized_live))},
                 {"predictedLiveState", StateText(Present(r.diff.predicted_live))},
                 {"diff", r.diff.text},
                 {"modified", r.diff.modified},
                 {"hook", r.hook}};
    if (r.live.has_value()) {
      const std::string rv = Str(Field(*r.live, "metadata"), "resourceVersion");
      if (!rv.empty()) item["resourceVersion"] = rv;
    }
    reply->add_items(manifest::ToJsonText(item, false));
  }
  return grpc::Status::OK;
}

}  // namespace argonaut::cd::api
