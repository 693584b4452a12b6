#include "gateway/argo_server_rest.h"

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/rest.h"
#include "httplib.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/grpc_service.h"

namespace argonaut::gateway {
namespace {

using nlohmann::json;
using Stub = api::v1::ResourceService::StubInterface;

constexpr char kName[] = "([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)";
constexpr char kKey[] = "([-._a-zA-Z0-9]+)";

void SendError(httplib::Response& res, int code, const std::string& message) {
  res.status = HttpStatusFor(code);
  res.set_content(
      manifest::ToJsonText(json{{"code", code}, {"message", message}, {"details", json::array()}},
                           false),
      "application/json");
}

void SendStatus(httplib::Response& res, const grpc::Status& s) {
  SendError(res, s.error_code(), s.error_message());
}

void SendJson(httplib::Response& res, const json& body) {
  res.set_content(manifest::ToJsonText(body, false), "application/json");
}

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

grpc::Status GetObject(Stub* api, const std::string& kind, const std::string& ns,
                       const std::string& name, json* out) {
  api::v1::GetRequest gr;
  gr.set_kind(kind);
  gr.set_namespace_(ns);
  gr.set_name(name);
  api::v1::Object obj;
  grpc::Status s = api->Get(Ctx().get(), gr, &obj);
  if (!s.ok()) return s;
  *out = json::parse(obj.json(), nullptr, false);
  if (!out->is_object()) return grpc::Status(grpc::StatusCode::INTERNAL, "stored object: not JSON");
  return grpc::Status::OK;
}

grpc::Status UpdateObject(Stub* api, const std::string& kind, const json& object, json* out) {
  api::v1::UpdateRequest ur;
  ur.set_kind(kind);
  ur.set_json(manifest::ToJsonText(object, false));
  api::v1::Object obj;
  grpc::Status s = api->Update(Ctx().get(), ur, &obj);
  if (s.ok() && out != nullptr) *out = json::parse(obj.json(), nullptr, false);
  return s;
}

// ---- sync limits

struct SyncRequest {
  std::string ns, key, cm_name;
  int64_t limit = 0;
};

// The request's `type` (body or query): CONFIGMAP (the default) or DATABASE, which has no store
// here.
grpc::Status CheckSyncType(const std::string& type) {
  if (type.empty() || type == "CONFIGMAP") return grpc::Status::OK;
  if (type == "DATABASE") {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "type: DATABASE sync limits need a synchronization database, which this "
                        "server does not have; use CONFIGMAP");
  }
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      absl::StrCat("type: \"", type, "\" is not CONFIGMAP or DATABASE"));
}

// The body's fields for create/update; the path's namespace and key win over the body's.
grpc::Status ParseSyncBody(const httplib::Request& req, bool need_key_in_body, SyncRequest* out) {
  absl::StatusOr<json> body = ParseObjectBody(req.body);
  if (!body.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(body.status().message()));
  }
  auto str = [&](const char* field) -> std::string {
    auto it = body->find(field);
    return it != body->end() && it->is_string() ? it->get<std::string>() : "";
  };
  grpc::Status type = CheckSyncType(str("type"));
  if (!type.ok()) return type;
  out->cm_name = str("cmName");
  if (need_key_in_body) out->key = str("key");
  auto limit = body->find("limit");
  if (limit == body->end() || limit->is_null()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "limit: required");
  }
  if (limit->is_number_integer()) {
    out->limit = limit->get<int64_t>();
  } else if (!limit->is_string() || !absl::SimpleAtoi(limit->get<std::string>(), &out->limit)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("limit: expected an integer, got ", limit->dump()));
  }
  if (out->limit <= 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "limit: must be greater than zero");
  }
  return grpc::Status::OK;
}

grpc::Status CheckNames(const SyncRequest& r) {
  if (r.cm_name.empty())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "cmName: required");
  if (r.key.empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "key: required");
  return grpc::Status::OK;
}

json SyncLimitBody(const SyncRequest& r) {
  return {{"cmName", r.cm_name},
          {"key", r.key},
          {"namespace", r.ns},
          {"limit", r.limit},
          {"type", "CONFIGMAP"}};
}

std::string DataValue(const json& cm, const std::string& key) {
  if (!cm.contains("data") || !cm["data"].is_object()) return "";
  auto it = cm["data"].find(key);
  return it != cm["data"].end() && it->is_string() ? it->get<std::string>() : "";
}

bool HasKey(const json& cm, const std::string& key) {
  return cm.contains("data") && cm["data"].is_object() && cm["data"].contains(key);
}

grpc::Status NoKey(const SyncRequest& r) {
  return grpc::Status(
      grpc::StatusCode::NOT_FOUND,
      absl::StrCat("sync limit \"", r.key, "\" not found in ConfigMap ", r.ns, "/", r.cm_name));
}

void HandleCreateSync(Stub* api, const httplib::Request& req, httplib::Response& res) {
  SyncRequest r;
  r.ns = req.matches[1];
  grpc::Status s = ParseSyncBody(req, /*need_key_in_body=*/true, &r);
  if (s.ok()) s = CheckNames(r);
  if (!s.ok()) return SendStatus(res, s);
  json cm;
  s = GetObject(api, "ConfigMap", r.ns, r.cm_name, &cm);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
    cm = {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", r.cm_name}, {"namespace", r.ns}}},
          {"data", {{r.key, std::to_string(r.limit)}}}};
    api::v1::CreateRequest cr;
    cr.set_kind("ConfigMap");
    cr.set_json(manifest::ToJsonText(cm, false));
    api::v1::Object created;
    s = api->Create(Ctx().get(), cr, &created);
    if (!s.ok()) return SendStatus(res, s);
    return SendJson(res, SyncLimitBody(r));
  }
  if (!s.ok()) return SendStatus(res, s);
  if (HasKey(cm, r.key)) {
    return SendError(res, grpc::StatusCode::ALREADY_EXISTS,
                     absl::StrCat("sync limit \"", r.key, "\" already exists in ConfigMap ", r.ns,
                                  "/", r.cm_name, " (update it instead)"));
  }
  if (!cm.contains("data") || !cm["data"].is_object()) cm["data"] = json::object();
  cm["data"][r.key] = std::to_string(r.limit);
  s = UpdateObject(api, "ConfigMap", cm, nullptr);
  if (!s.ok()) return SendStatus(res, s);
  SendJson(res, SyncLimitBody(r));
}

void HandleGetSync(Stub* api, const httplib::Request& req, httplib::Response& res) {
  SyncRequest r{.ns = req.matches[1], .key = req.matches[2]};
  r.cm_name = req.get_param_value("cmName");
  grpc::Status s = CheckSyncType(req.get_param_value("type"));
  if (s.ok()) s = CheckNames(r);
  if (!s.ok()) return SendStatus(res, s);
  json cm;
  s = GetObject(api, "ConfigMap", r.ns, r.cm_name, &cm);
  if (!s.ok()) return SendStatus(res, s);
  if (!HasKey(cm, r.key)) return SendStatus(res, NoKey(r));
  const std::string value = DataValue(cm, r.key);
  if (!absl::SimpleAtoi(value, &r.limit)) {
    return SendError(res, grpc::StatusCode::FAILED_PRECONDITION,
                     absl::StrCat("ConfigMap ", r.ns, "/", r.cm_name, " data.", r.key,
                                  ": not an integer limit"));
  }
  SendJson(res, SyncLimitBody(r));
}

void HandleUpdateSync(Stub* api, const httplib::Request& req, httplib::Response& res) {
  SyncRequest r;
  r.ns = req.matches[1];
  r.key = req.matches[2];
  grpc::Status s = ParseSyncBody(req, /*need_key_in_body=*/false, &r);
  if (s.ok()) s = CheckNames(r);
  if (!s.ok()) return SendStatus(res, s);
  json cm;
  s = GetObject(api, "ConfigMap", r.ns, r.cm_name, &cm);
  if (!s.ok()) return SendStatus(res, s);
  if (!HasKey(cm, r.key)) return SendStatus(res, NoKey(r));
  cm["data"][r.key] = std::to_string(r.limit);
  s = UpdateObject(api, "ConfigMap", cm, nullptr);
  if (!s.ok()) return SendStatus(res, s);
  SendJson(res, SyncLimitBody(r));
}

void HandleDeleteSync(Stub* api, const httplib::Request& req, httplib::Response& res) {
  SyncRequest r{.ns = req.matches[1], .key = req.matches[2]};
  r.cm_name = req.get_param_value("cmName");
  grpc::Status s = CheckSyncType(req.get_param_value("type"));
  if (s.ok()) s = CheckNames(r);
  if (!s.ok()) return SendStatus(res, s);
  json cm;
  s = GetObject(api, "ConfigMap", r.ns, r.cm_name, &cm);
  if (!s.ok()) return SendStatus(res, s);
  if (!HasKey(cm, r.key)) return SendStatus(res, NoKey(r));
  cm["data"].erase(r.key);
  s = UpdateObject(api, "ConfigMap", cm, nullptr);
  if (!s.ok()) return SendStatus(res, s);
  SendJson(res, json::object());
}

// ---- CronWorkflow suspend / resume

void HandleCronSuspend(Stub* api, bool suspend, const httplib::Request& req,
                       httplib::Response& res) {
  const std::string ns = req.matches[1], name = req.matches[2];
  json cron;
  grpc::Status s = GetObject(api, "CronWorkflow", ns, name, &cron);
  if (!s.ok()) return SendStatus(res, s);
  if (!cron.contains("spec") || !cron["spec"].is_object()) cron["spec"] = json::object();
  cron["spec"]["suspend"] = suspend;
  json updated;
  s = UpdateObject(api, "CronWorkflow", cron, &updated);
  if (!s.ok()) return SendStatus(res, s);
  SendJson(res, updated);
}

}  // namespace

json ArgoVersionBody(const api::v1::VersionResponse& v) {
  auto or_unknown = [](const std::string& s) { return s.empty() ? std::string("unknown") : s; };
  const std::string version = v.version().empty() ? resource::kArgonautVersion : v.version();
#if defined(__x86_64__)
  constexpr char kArch[] = "amd64";
#elif defined(__aarch64__)
  constexpr char kArch[] = "arm64";
#else
  constexpr char kArch[] = "unknown";
#endif
  return {
    {"version", version}, {"buildDate", or_unknown(v.build_date())},
        {"gitCommit", or_unknown(v.git_commit())}, {"gitTag", version},
        // Not stamped by the build: the tree's state at build time is not known.
        {"gitTreeState", "unknown"},
        // Argonaut is C++: no Go toolchain built it.
        {"goVersion", "none"},
#if defined(__clang__)
        {"compiler", absl::StrCat("clang ", __clang_version__)},
#elif defined(__GNUC__)
        {"compiler", absl::StrCat("gcc ", __VERSION__)},
#else
        {"compiler", "unknown"},
#endif
    {
      "platform", absl::StrCat("linux/", kArch)
    }
  };
}

void RegisterArgoServerRestRoutes(httplib::Server& http, Stub* api) {
  http.Get("/api/v1/info/?", [](const httplib::Request&, httplib::Response& res) {
    // No links, columns or colour are configured; the UI's pop-ups stay off. Every namespace is
    // served, so there is no managedNamespace.
    SendJson(res,
             {{"links", json::array()},
              {"columns", json::array()},
              {"navColor", ""},
              {"modals", {{"feedback", false}, {"firstTimeUser", false}, {"newVersion", false}}}});
  });
  http.Post("/api/v1/tracking/event/?",
            [](const httplib::Request&, httplib::Response& res) { SendJson(res, json::object()); });
  http.Post(absl::StrCat("/api/v1/sync/", kName, "/?"),
            [api](const httplib::Request& req, httplib::Response& res) {
              HandleCreateSync(api, req, res);
            });
  const std::string keyed = absl::StrCat("/api/v1/sync/", kName, "/", kKey, "/?");
  http.Get(keyed, [api](const httplib::Request& req, httplib::Response& res) {
    HandleGetSync(api, req, res);
  });
  http.Put(keyed, [api](const httplib::Request& req, httplib::Response& res) {
    HandleUpdateSync(api, req, res);
  });
  http.Delete(keyed, [api](const httplib::Request& req, httplib::Response& res) {
    HandleDeleteSync(api, req, res);
  });
  for (const bool suspend : {true, false}) {
    http.Put(absl::StrCat("/api/v1/cron-workflows/", kName, "/", kName, "/",
                          suspend ? "suspend" : "resume", "/?"),
             [api, suspend](const httplib::Request& req, httplib::Response& res) {
               HandleCronSuspend(api, suspend, req, res);
             });
  }
}

}  // namespace argonaut::gateway
