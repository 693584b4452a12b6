#include "gateway/rest.h"

#include <map>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gateway/argo_server_rest.h"
#include "gateway/rest_stream.h"
#include "google/protobuf/stubs/common.h"
#include "httplib.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/kinds.h"
#include "nlohmann/json.hpp"

namespace argonaut::gateway {
namespace {

using nlohmann::json;

const std::map<std::string, std::string>& Segments() {
  static const auto* m = new std::map<std::string, std::string>{
      {"Workflow", "workflows"},
      {"WorkflowTemplate", "workflow-templates"},
      {"ClusterWorkflowTemplate", "cluster-workflow-templates"},
      {"CronWorkflow", "cron-workflows"},
      {"WorkflowEventBinding", "workflow-event-bindings"},
      {"Rollout", "rollouts"},
      {"AnalysisTemplate", "analysis-templates"},
      {"ClusterAnalysisTemplate", "cluster-analysis-templates"},
      {"AnalysisRun", "analysis-runs"},
      {"Experiment", "experiments"},
      {"EventSource", "event-sources"},
      {"Sensor", "sensors"},
      {"EventBus", "event-bus"},
      {"Application", "applications"},
      {"AppProject", "projects"},
  };
  return *m;
}

const resource::KindInfo* KindForSegment(const std::string& segment) {
  for (const auto& [kind, seg] : Segments()) {
    if (seg == segment) return resource::FindKind(kind);
  }
  return resource::FindKind(segment);
}

void SendError(httplib::Response& res, int grpc_code, const std::string& message) {
  res.status = HttpStatusFor(grpc_code);
  // Messages can echo user bytes; ToJsonText replaces invalid UTF-8 instead of throwing.
  res.set_content(
      manifest::ToJsonText(
          json{{"code", grpc_code}, {"message", message}, {"details", json::array()}}, false),
      "application/json");
}

void SendMethodNotAllowed(httplib::Response& res) {
  res.status = 405;
  res.set_content(R"({"code":12,"message":"method not allowed","details":[]})", "application/json");
}

void SendStatus(httplib::Response& res, const grpc::Status& s) {
  SendError(res, s.error_code(), s.error_message());
}

std::string Selector(const httplib::Request& req) {
  if (req.has_param("listOptions.labelSelector")) {
    return req.get_param_value("listOptions.labelSelector");
  }
  return req.get_param_value("labelSelector");
}

// Argo Server wraps the object ({"namespace": "x", "workflow": {...}}); plain
// Kubernetes clients send the object itself. Accept both.
bool UnwrapBody(const std::string& body, json* object, std::string* error) {
  absl::StatusOr<json> parsed = manifest::ParseJsonText(body);
  if (!parsed.ok()) {
    *error = absl::StrCat("request body: ", parsed.status().message());
    return false;
  }
  json& doc = *parsed;
  if (!doc.is_object()) {
    *error = "request body must be a JSON object";
    return false;
  }
  if (doc.contains("kind") || doc.contains("metadata") || doc.contains("apiVersion")) {
    *object = std::move(doc);
    return true;
  }
  for (auto& [key, value] : doc.items()) {
    if (value.is_object() && value.contains("metadata")) {
      *object = std::move(value);
      return true;
    }
  }
  *error = "request body holds no object (expected the object or {\"<kind>\": {...}})";
  return false;
}

// Streams changes as newline-delimited JSON, one {"result": {"type",
// "object"}} per line, the shape Argo Server's watch endpoints use.
void HandleWatch(api::v1::ResourceService::StubInterface* api, const resource::KindInfo& kind,
                 const std::string& ns, const std::string& selector, const httplib::Request& req,
                 httplib::Response& res) {
  auto watch = std::make_shared<StreamPump<api::v1::WatchEvent>>();
  api::v1::WatchRequest wr;
  wr.set_kind(kind.kind);
  wr.set_namespace_(ns);
  wr.set_label_selector(selector);
  wr.set_resource_version(req.has_param("listOptions.resourceVersion")
                              ? req.get_param_value("listOptions.resourceVersion")
                              : req.get_param_value("resourceVersion"));
  watch->reader = api->Watch(&watch->ctx, wr);
  ServeStream<api::v1::WatchEvent>(
      watch,
      [](const api::v1::WatchEvent& event) {
        return json{{"type", event.type()},
                    {"object", json::parse(event.object().json(), nullptr, false)}};
      },
      res);
}

void HandleList(api::v1::ResourceService::StubInterface* api, const resource::KindInfo& kind,
                const std::string& ns, const httplib::Request& req, httplib::Response& res) {
  const std::string selector = Selector(req);
  // protobuf strings must be UTF-8; refuse here rather than fail the call.
  if (!google::protobuf::internal::IsStructurallyValidUTF8(selector.data(),
                                                           static_cast<int>(selector.size()))) {
    return SendError(res, grpc::StatusCode::INVALID_ARGUMENT, "labelSelector: invalid UTF-8");
  }
  if (req.get_param_value("watch") == "true" ||
      req.get_param_value("listOptions.watch") == "true") {
    return HandleWatch(api, kind, ns, selector, req, res);
  }
  api::v1::ListRequest lr;
  lr.set_kind(kind.kind);
  lr.set_namespace_(ns);
  lr.set_label_selector(selector);
  api::v1::ListResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = api->List(&ctx, lr, &resp);
  if (!s.ok()) return SendStatus(res, s);
  json items = json::array();
  for (const auto& item : resp.items()) {
    items.push_back(json::parse(item.json(), nullptr, false));
  }
  json out = {{"apiVersion", kind.api_version},
              {"kind", kind.kind + "List"},
              {"metadata", {{"resourceVersion", resp.resource_version()}}},
              {"items", std::move(items)}};
  res.set_content(out.dump(), "application/json");
}

void HandleCreate(api::v1::ResourceService::StubInterface* api, const resource::KindInfo& kind,
                  const std::string& ns, const httplib::Request& req, httplib::Response& res) {
  json object;
  std::string error;
  if (!UnwrapBody(req.body, &object, &error)) {
    return SendError(res, grpc::StatusCode::INVALID_ARGUMENT, error);
  }
  if (!ns.empty()) {
    json& meta = object["metadata"];
    if (!meta.is_object()) return SendError(res, 3, "metadata: expected object");
    // As Kubernetes: an absent, null or empty namespace comes from the path.
    if (!meta.contains("namespace") || meta["namespace"].is_null() || meta["namespace"] == "") {
      meta["namespace"] = ns;
    }
    if (meta["namespace"] != ns) {
      return SendError(res, grpc::StatusCode::INVALID_ARGUMENT,
                       "metadata.namespace does not match the namespace in the path");
    }
  }
  api::v1::CreateRequest cr;
  cr.set_kind(kind.kind);
  cr.set_json(object.dump());
  api::v1::Object out;
  grpc::ClientContext ctx;
  grpc::Status s = api->Create(&ctx, cr, &out);
  if (!s.ok()) return SendStatus(res, s);
  res.set_content(out.json(), "application/json");
}

void HandleObject(api::v1::ResourceService::StubInterface* api, const resource::KindInfo& kind,
                  const std::string& ns, const std::string& name, const httplib::Request& req,
                  httplib::Response& res) {
  grpc::ClientContext ctx;
  if (req.method == "GET") {
    api::v1::GetRequest gr;
    gr.set_kind(kind.kind);
    gr.set_namespace_(ns);
    gr.set_name(name);
    api::v1::Object out;
    grpc::Status s = api->Get(&ctx, gr, &out);
    if (!s.ok()) return SendStatus(res, s);
    return res.set_content(out.json(), "application/json");
  }
  if (req.method == "DELETE") {
    api::v1::DeleteRequest dr;
    dr.set_kind(kind.kind);
    dr.set_namespace_(ns);
    dr.set_name(name);
    api::v1::DeleteResponse out;
    grpc::Status s = api->Delete(&ctx, dr, &out);
    if (!s.ok()) return SendStatus(res, s);
    return res.set_content("{}", "application/json");
  }
  // PUT: replace.
  json object;
  std::string error;
  if (!UnwrapBody(req.body, &object, &error)) {
    return SendError(res, grpc::StatusCode::INVALID_ARGUMENT, error);
  }
  json& meta = object["metadata"];
  if (!meta.is_object()) return SendError(res, 3, "metadata: expected object");
  if (!meta.contains("name")) meta["name"] = name;
  if (kind.namespaced &&
      (!meta.contains("namespace") || meta["namespace"].is_null() || meta["namespace"] == "")) {
    meta["namespace"] = ns;
  }
  if (meta["name"] != name || (kind.namespaced && meta["namespace"] != ns)) {
    return SendError(res, grpc::StatusCode::INVALID_ARGUMENT,
                     "metadata.name/namespace do not match the path");
  }
  api::v1::UpdateRequest ur;
  ur.set_kind(kind.kind);
  ur.set_json(object.dump());
  api::v1::Object out;
  grpc::Status s = api->Update(&ctx, ur, &out);
  if (!s.ok()) return SendStatus(res, s);
  res.set_content(out.json(), "application/json");
}

}  // namespace

std::string RestSegment(std::string_view kind) {
  auto it = Segments().find(std::string(kind));
  return it == Segments().end() ? std::string() : it->second;
}

absl::StatusOr<json> ParseObjectBody(const std::string& body) {
  if (body.empty()) return json::object();
  absl::StatusOr<json> parsed = manifest::ParseJsonText(body);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("request body: ", parsed.status().message()));
  }
  if (!parsed->is_object()) return absl::InvalidArgumentError("request body must be a JSON object");
  return parsed;
}

int HttpStatusFor(int code) {
  switch (static_cast<grpc::StatusCode>(code)) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    default:
      return 500;
  }
}

void RegisterRestRoutes(httplib::Server& http, api::v1::ResourceService::StubInterface* api) {
  http.Get("/api/v1/version", [api](const httplib::Request&, httplib::Response& res) {
    api::v1::VersionResponse v;
    grpc::ClientContext ctx;
    grpc::Status s = api->Version(&ctx, api::v1::VersionRequest(), &v);
    if (!s.ok()) return SendStatus(res, s);
    res.set_content(ArgoVersionBody(v).dump(), "application/json");
  });
  http.Get("/api/v1/kinds", [](const httplib::Request&, httplib::Response& res) {
    json out = json::array();
    for (const auto& k : resource::AllKinds()) {
      out.push_back({{"kind", k.kind},
                     {"apiVersion", k.api_version},
                     {"plural", k.plural},
                     {"shortNames", k.short_names},
                     {"namespaced", k.namespaced},
                     {"service", k.service},
                     {"path", "/api/v1/" + RestSegment(k.kind)}});
    }
    res.set_content(out.dump(), "application/json");
  });

  // One dispatcher for the three path shapes; the kind decides whether the
  // second segment is a namespace or a cluster-scoped object's name.
  auto dispatch = [api](const httplib::Request& req, httplib::Response& res) {
    const std::string segment = req.matches[1];
    const std::string second = req.matches.size() > 2 ? std::string(req.matches[2]) : "";
    const std::string third = req.matches.size() > 3 ? std::string(req.matches[3]) : "";
    const resource::KindInfo* kind = KindForSegment(segment);
    if (kind == nullptr) {
      return SendError(res, grpc::StatusCode::NOT_FOUND,
                       absl::StrCat("no API for \"", segment, "\""));
    }
    const bool collection = kind->namespaced ? third.empty() : second.empty();
    if (!kind->namespaced && !third.empty()) {
      return SendError(
          res, grpc::StatusCode::NOT_FOUND,
          absl::StrCat(kind->kind, " is cluster-scoped: use /api/v1/", segment, "/{name}"));
    }
    if (collection) {
      const std::string ns = kind->namespaced ? second : "";
      if (req.method == "GET") return HandleList(api, *kind, ns, req, res);
      if (req.method == "POST") return HandleCreate(api, *kind, ns, req, res);
      return SendMethodNotAllowed(res);
    }
    if (req.method == "POST") {
      return SendMethodNotAllowed(res);
    }
    if (kind->namespaced) return HandleObject(api, *kind, second, third, req, res);
    return HandleObject(api, *kind, "", second, req, res);
  };
  for (const char* pattern : {R"(/api/v1/([a-z-]+)/?)", R"(/api/v1/([a-z-]+)/([a-z0-9.-]+)/?)",
                              R"(/api/v1/([a-z-]+)/([a-z0-9.-]+)/([a-z0-9.-]+)/?)"}) {
    http.Get(pattern, dispatch);
    http.Post(pattern, dispatch);
    http.Put(pattern, dispatch);
    http.Delete(pattern, dispatch);
  }
}

}  // namespace argonaut::gateway
