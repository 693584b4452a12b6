#include "gateway/cd_rest.h"

#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/rest.h"
#include "gateway/rest_stream.h"
#include "httplib.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"
#include "services/cd/engine/sync_windows.h"

namespace argonaut::gateway {
namespace {

using nlohmann::json;
namespace cd1 = ::argonaut::cd::v1;

constexpr char kApps[] = "/api/v1/applications";
constexpr char kName[] = "([a-z0-9.-]+)";

void SendError(httplib::Response& res, int code, const std::string& message) {
  res.status = HttpStatusFor(code);
  res.set_content(
      manifest::ToJsonText(json{{"error", message}, {"code", code}, {"message", message}}, false),
      "application/json");
}

void SendBody(httplib::Response& res, const json& body) {
  res.set_content(manifest::ToJsonText(body, false), "application/json");
}

// `reply` is read after the call: argument evaluation order would not guarantee that.
template <typename Reply>
void SendJson(httplib::Response& res, const grpc::Status& s, const Reply& reply) {
  if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
  res.set_content(reply.json(), "application/json");
}

void SendEmpty(httplib::Response& res, const grpc::Status& s) {
  if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
  SendBody(res, json::object());
}

bool Body(const httplib::Request& req, httplib::Response& res, json* out) {
  absl::StatusOr<json> parsed = ParseObjectBody(req.body);
  if (!parsed.ok()) {
    SendError(res, grpc::StatusCode::INVALID_ARGUMENT, std::string(parsed.status().message()));
    return false;
  }
  *out = *std::move(parsed);
  return true;
}

json ParseOrNull(const std::string& text) { return json::parse(text, nullptr, false); }

bool Truthy(const std::string& v) {
  const std::string s = absl::AsciiStrToLower(v);
  return s == "true" || s == "1" || s == "yes";
}

// A query flag; `fallback` when absent.
bool QueryBool(const httplib::Request& req, const char* key, bool fallback) {
  if (!req.has_param(key)) return fallback;
  return Truthy(req.get_param_value(key));
}

bool BodyBool(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end()) return false;
  return (it->is_boolean() && it->get<bool>()) || (it->is_string() && Truthy(*it));
}

std::string BodyStr(const json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

// A list response in Kubernetes' shape: {"metadata": {...}, "items": [...]}.
template <typename Items>
json ListBody(const Items& items, uint64_t resource_version) {
  json out = {{"metadata", json::object()}, {"items", json::array()}};
  if (resource_version > 0) out["metadata"]["resourceVersion"] = std::to_string(resource_version);
  for (const std::string& item : items) out["items"].push_back(ParseOrNull(item));
  return out;
}

cd1::ApplicationQuery AppQuery(const httplib::Request& req) {
  cd1::ApplicationQuery q;
  if (req.has_param("name")) q.set_name(req.get_param_value("name"));
  if (req.has_param("refresh")) q.set_refresh(req.get_param_value("refresh"));
  for (size_t i = 0; i < req.get_param_value_count("projects"); ++i) {
    q.add_projects(req.get_param_value("projects", i));
  }
  for (size_t i = 0; i < req.get_param_value_count("project"); ++i) {
    q.add_projects(req.get_param_value("project", i));
  }
  if (req.has_param("selector")) q.set_selector(req.get_param_value("selector"));
  if (req.has_param("repo")) q.set_repo(req.get_param_value("repo"));
  if (req.has_param("appNamespace")) q.set_app_namespace(req.get_param_value("appNamespace"));
  if (req.has_param("resourceVersion")) {
    q.set_resource_version(req.get_param_value("resourceVersion"));
  }
  return q;
}

std::string AppNamespace(const httplib::Request& req) {
  return req.has_param("appNamespace") ? req.get_param_value("appNamespace") : "";
}

// Argo CD's ApplicationSyncRequest body into the service's request.
bool SyncRequest(const json& body, cd1::ApplicationSyncRequest* r, std::string* error) {
  r->set_revision(BodyStr(body, "revision"));
  r->set_prune(BodyBool(body, "prune"));
  r->set_dry_run(BodyBool(body, "dryRun"));
  if (!BodyStr(body, "appNamespace").empty()) r->set_app_namespace(BodyStr(body, "appNamespace"));
  if (auto it = body.find("resources"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) {
      *error = "resources: expected an array";
      return false;
    }
    for (const json& res : *it) {
      if (!res.is_object()) {
        *error = "resources: expected objects";
        return false;
      }
      cd1::SyncResource* out = r->add_resources();
      out->set_group(BodyStr(res, "group"));
      out->set_kind(BodyStr(res, "kind"));
      out->set_name(BodyStr(res, "name"));
      out->set_namespace_(BodyStr(res, "namespace"));
    }
  }
  if (auto it = body.find("syncOptions"); it != body.end() && it->is_object()) {
    const json& items = it->value("items", json::array());
    for (const json& item : items) {
      if (item.is_string()) r->add_sync_options(item.get<std::string>());
    }
  }
  if (auto it = body.find("strategy"); it != body.end() && it->is_object()) {
    for (const char* s : {"apply", "hook"}) {
      if (!it->contains(s)) continue;
      r->set_strategy(s);
      const json& inner = (*it)[s];
      r->set_force(inner.is_object() && BodyBool(inner, "force"));
    }
  }
  if (auto it = body.find("retryStrategy"); it != body.end() && it->is_object()) {
    r->set_retry_json(manifest::ToJsonText(*it, false));
  }
  return true;
}

void RegisterApplications(httplib::Server& http, cd1::ApplicationService::StubInterface* stub,
                          cd1::ApplicationService::StubInterface* webhook) {
  http.Get(absl::StrCat(kApps, "/?"), [stub](const httplib::Request& req, httplib::Response& res) {
    cd1::ApplicationListReply reply;
    grpc::ClientContext ctx;
    grpc::Status s = stub->List(&ctx, AppQuery(req), &reply);
    if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
    SendBody(res, ListBody(reply.items(), reply.resource_version()));
  });
  http.Post(absl::StrCat(kApps, "/?"), [stub](const httplib::Request& req, httplib::Response& res) {
    json body;
    if (!Body(req, res, &body)) return;
    cd1::ApplicationCreateRequest r;
    r.set_json(manifest::ToJsonText(body, false));
    r.set_upsert(QueryBool(req, "upsert", false));
    r.set_validate(QueryBool(req, "validate", true));
    cd1::ApplicationReply reply;
    grpc::ClientContext ctx;
    SendJson(res, stub->Create(&ctx, r, &reply), reply);
  });
  http.Get(absl::StrCat(kApps, "/", kName, "/?"),
           [stub](const httplib::Request& req, httplib::Response& res) {
             cd1::ApplicationQuery q = AppQuery(req);
             q.set_name(req.matches[1]);
             cd1::ApplicationReply reply;
             grpc::ClientContext ctx;
             SendJson(res, stub->Get(&ctx, q, &reply), reply);
           });
  http.Put(absl::StrCat(kApps, "/", kName, "/?"),
           [stub](const httplib::Request& req, httplib::Response& res) {
             json body;
             if (!Body(req, res, &body)) return;
             // The path names the app: a body without a name takes it, one with another is wrong.
             json& meta = body["metadata"];
             if (!meta.is_object()) meta = json::object();
             const std::string name = req.matches[1];
             if (meta.value("name", name) != name) {
               return SendError(res, grpc::StatusCode::INVALID_ARGUMENT,
                                "metadata.name: does not match the path");
             }
             meta["name"] = name;
             cd1::ApplicationUpdateRequest r;
             r.set_json(manifest::ToJsonText(body, false));
             r.set_validate(QueryBool(req, "validate", true));
             cd1::ApplicationReply reply;
             grpc::ClientContext ctx;
             SendJson(res, stub->Update(&ctx, r, &reply), reply);
           });
  http.Delete(absl::StrCat(kApps, "/", kName, "/?"),
              [stub](const httplib::Request& req, httplib::Response& res) {
                cd1::ApplicationDeleteRequest r;
                r.set_name(req.matches[1]);
                r.set_app_namespace(AppNamespace(req));
                if (req.has_param("cascade")) r.set_cascade(Truthy(req.get_param_value("cascade")));
                if (req.has_param("propagationPolicy")) {
                  r.set_propagation_policy(req.get_param_value("propagationPolicy"));
                }
                cd1::ApplicationDeleteReply reply;
                grpc::ClientContext ctx;
                SendEmpty(res, stub->Delete(&ctx, r, &reply));
              });
  http.Post(absl::StrCat(kApps, "/", kName, "/sync/?"),
            [stub](const httplib::Request& req, httplib::Response& res) {
              json body;
              if (!Body(req, res, &body)) return;
              cd1::ApplicationSyncRequest r;
              std::string error;
              if (!SyncRequest(body, &r, &error)) {
                return SendError(res, grpc::StatusCode::INVALID_ARGUMENT, error);
              }
              r.set_name(req.matches[1]);
              cd1::ApplicationReply reply;
              grpc::ClientContext ctx;
              SendJson(res, stub->Sync(&ctx, r, &reply), reply);
            });
  http.Post(absl::StrCat(kApps, "/", kName, "/rollback/?"), [stub](const httplib::Request& req,
                                                                   httplib::Response& res) {
    json body;
    if (!Body(req, res, &body)) return;
    int64_t id = 0;
    const json idv = body.value("id", json(0));
    // int64 travels as a decimal string in grpc-gateway's JSON; a number works too.
    if (idv.is_number_integer()) {
      id = idv.get<int64_t>();
    } else if (!idv.is_string() || !absl::SimpleAtoi(idv.get<std::string>(), &id)) {
      return SendError(res, grpc::StatusCode::INVALID_ARGUMENT, "id: expected an integer");
    }
    cd1::ApplicationRollbackRequest r;
    r.set_name(req.matches[1]);
    r.set_id(id);
    r.set_prune(BodyBool(body, "prune"));
    r.set_dry_run(BodyBool(body, "dryRun"));
    r.set_app_namespace(BodyStr(body, "appNamespace"));
    cd1::ApplicationReply reply;
    grpc::ClientContext ctx;
    SendJson(res, stub->Rollback(&ctx, r, &reply), reply);
  });
  http.Get(absl::StrCat(kApps, "/", kName, "/manifests/?"),
           [stub](const httplib::Request& req, httplib::Response& res) {
             cd1::ApplicationManifestQuery q;
             q.set_name(req.matches[1]);
             q.set_app_namespace(AppNamespace(req));
             if (req.has_param("revision")) q.set_revision(req.get_param_value("revision"));
             cd1::ManifestReply reply;
             grpc::ClientContext ctx;
             grpc::Status s = stub->GetManifests(&ctx, q, &reply);
             if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
             json out = {{"manifests", json::array()},
                         {"revision", reply.revision()},
                         {"sourceType", reply.source_type()},
                         {"namespace", reply.namespace_()},
                         {"server", reply.server()}};
             for (const std::string& m : reply.manifests()) out["manifests"].push_back(m);
             SendBody(res, out);
           });
  auto resources_query = [](const httplib::Request& req) {
    cd1::ResourcesQuery q;
    q.set_application_name(req.matches[1]);
    q.set_app_namespace(AppNamespace(req));
    for (const char* k : {"namespace", "name", "group", "kind"}) {
      if (!req.has_param(k)) continue;
      const std::string v = req.get_param_value(k);
      if (std::string(k) == "namespace") q.set_namespace_(v);
      if (std::string(k) == "name") q.set_name(v);
      if (std::string(k) == "group") q.set_group(v);
      if (std::string(k) == "kind") q.set_kind(v);
    }
    return q;
  };
  http.Get(absl::StrCat(kApps, "/", kName, "/managed-resources/?"),
           [stub, resources_query](const httplib::Request& req, httplib::Response& res) {
             cd1::ManagedResourcesReply reply;
             grpc::ClientContext ctx;
             grpc::Status s = stub->ManagedResources(&ctx, resources_query(req), &reply);
             if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
             json out = {{"items", json::array()}};
             for (const std::string& item : reply.items())
               out["items"].push_back(ParseOrNull(item));
             SendBody(res, out);
           });
  http.Get(absl::StrCat(kApps, "/", kName, "/resource-tree/?"),
           [stub, resources_query](const httplib::Request& req, httplib::Response& res) {
             cd1::ResourceTreeReply reply;
             grpc::ClientContext ctx;
             SendJson(res, stub->ResourceTree(&ctx, resources_query(req), &reply), reply);
           });
  http.Delete(absl::StrCat(kApps, "/", kName, "/operation/?"),
              [stub](const httplib::Request& req, httplib::Response& res) {
                cd1::ApplicationName r;
                r.set_name(req.matches[1]);
                r.set_app_namespace(AppNamespace(req));
                cd1::OperationTerminateReply reply;
                grpc::ClientContext ctx;
                SendEmpty(res, stub->TerminateOperation(&ctx, r, &reply));
              });
  http.Put(absl::StrCat(kApps, "/", kName, "/spec/?"),
           [stub](const httplib::Request& req, httplib::Response& res) {
             json body;
             if (!Body(req, res, &body)) return;
             cd1::ApplicationUpdateSpecRequest r;
             r.set_name(req.matches[1]);
             r.set_spec_json(manifest::ToJsonText(body, false));
             r.set_validate(QueryBool(req, "validate", true));
             r.set_app_namespace(AppNamespace(req));
             cd1::ApplicationSpecReply reply;
             grpc::ClientContext ctx;
             SendJson(res, stub->UpdateSpec(&ctx, r, &reply), reply);
           });
  http.Get("/api/v1/stream/applications/?",
           [stub](const httplib::Request& req, httplib::Response& res) {
             auto pump = std::make_shared<StreamPump<cd1::ApplicationWatchEvent>>();
             pump->reader = stub->Watch(&pump->ctx, AppQuery(req));
             ServeStream<cd1::ApplicationWatchEvent>(
                 pump,
                 [](const cd1::ApplicationWatchEvent& e) {
                   return json{{"type", e.type()}, {"application", ParseOrNull(e.json())}};
                 },
                 res);
           });
  http.Post("/api/webhook/?", [webhook](const httplib::Request& req, httplib::Response& res) {
    cd1::WebhookRequest r;
    for (const auto& [k, v] : req.headers) (*r.mutable_headers())[absl::AsciiStrToLower(k)] = v;
    r.set_body(req.body);
    cd1::WebhookReply reply;
    grpc::ClientContext ctx;
    grpc::Status s = webhook->Webhook(&ctx, r, &reply);
    if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
    SendBody(res, json{{"repoURLs", std::vector<std::string>(reply.repo_urls().begin(),
                                                             reply.repo_urls().end())},
                       {"revision", reply.revision()}});
  });
}

void RegisterRepositories(httplib::Server& http, cd1::RepositoryService::StubInterface* stub) {
  http.Get("/api/v1/repositories/?", [stub](const httplib::Request& req, httplib::Response& res) {
    cd1::RepoQuery q;
    if (req.has_param("repo")) q.set_repo(req.get_param_value("repo"));
    cd1::RepositoryListReply reply;
    grpc::ClientContext ctx;
    grpc::Status s = stub->List(&ctx, q, &reply);
    if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
    SendBody(res, ListBody(reply.items(), 0));
  });
  http.Post("/api/v1/repositories/?", [stub](const httplib::Request& req, httplib::Response& res) {
    json body;
    if (!Body(req, res, &body)) return;
    cd1::RepoCreateRequest r;
    r.set_json(manifest::ToJsonText(body, false));
    r.set_upsert(QueryBool(req, "upsert", false));
    r.set_skip_validation(QueryBool(req, "skipValidation", false) ||
                          QueryBool(req, "credsOnly", false));
    cd1::RepositoryReply reply;
    grpc::ClientContext ctx;
    SendJson(res, stub->Create(&ctx, r, &reply), reply);
  });
  // The repo is a URL, escaped in the path; httplib hands the path over decoded, slashes and all.
  http.Post("/api/v1/repositories/(.+)/validate/?",
            [stub](const httplib::Request& req, httplib::Response& res) {
              cd1::RepoAccessQuery q;
              q.set_repo(req.matches[1]);
              if (req.has_param("username")) q.set_username(req.get_param_value("username"));
              if (req.has_param("password")) q.set_password(req.get_param_value("password"));
              if (req.has_param("sshPrivateKey")) {
                q.set_ssh_private_key(req.get_param_value("sshPrivateKey"));
              }
              q.set_insecure(QueryBool(req, "insecure", false));
              cd1::RepoValidateReply reply;
              grpc::ClientContext ctx;
              SendEmpty(res, stub->ValidateAccess(&ctx, q, &reply));
            });
  http.Get("/api/v1/repositories/(.+)",
           [stub](const httplib::Request& req, httplib::Response& res) {
             cd1::RepoQuery q;
             q.set_repo(req.matches[1]);
             cd1::RepositoryReply reply;
             grpc::ClientContext ctx;
             SendJson(res, stub->Get(&ctx, q, &reply), reply);
           });
  http.Delete("/api/v1/repositories/(.+)",
              [stub](const httplib::Request& req, httplib::Response& res) {
                cd1::RepoQuery q;
                q.set_repo(req.matches[1]);
                cd1::RepoDeleteReply reply;
                grpc::ClientContext ctx;
                SendEmpty(res, stub->Delete(&ctx, q, &reply));
              });
}

// Argo CD's ProjectCreateRequest / ProjectUpdateRequest wrap the project: {"project": {...}}.
json Unwrapped(const json& body) {
  auto it = body.find("project");
  return it != body.end() && it->is_object() ? *it : body;
}

void RegisterProjects(httplib::Server& http, cd1::ProjectService::StubInterface* stub) {
  http.Get("/api/v1/projects/?", [stub](const httplib::Request&, httplib::Response& res) {
    cd1::ProjectListReply reply;
    grpc::ClientContext ctx;
    grpc::Status s = stub->List(&ctx, cd1::ProjectQuery(), &reply);
    if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
    SendBody(res, ListBody(reply.items(), 0));
  });
  http.Post("/api/v1/projects/?", [stub](const httplib::Request& req, httplib::Response& res) {
    json body;
    if (!Body(req, res, &body)) return;
    cd1::ProjectCreateRequest r;
    r.set_json(manifest::ToJsonText(Unwrapped(body), false));
    r.set_upsert(BodyBool(body, "upsert") || QueryBool(req, "upsert", false));
    cd1::ProjectReply reply;
    grpc::ClientContext ctx;
    SendJson(res, stub->Create(&ctx, r, &reply), reply);
  });
  http.Get(absl::StrCat("/api/v1/projects/", kName, "/?"),
           [stub](const httplib::Request& req, httplib::Response& res) {
             cd1::ProjectQuery q;
             q.set_name(req.matches[1]);
             cd1::ProjectReply reply;
             grpc::ClientContext ctx;
             SendJson(res, stub->Get(&ctx, q, &reply), reply);
           });
  http.Put(absl::StrCat("/api/v1/projects/", kName, "/?"),
           [stub](const httplib::Request& req, httplib::Response& res) {
             json body;
             if (!Body(req, res, &body)) return;
             json project = Unwrapped(body);
             json& meta = project["metadata"];
             if (!meta.is_object()) meta = json::object();
             const std::string name = req.matches[1];
             if (meta.value("name", name) != name) {
               return SendError(res, grpc::StatusCode::INVALID_ARGUMENT,
                                "metadata.name: does not match the path");
             }
             meta["name"] = name;
             cd1::ProjectUpdateRequest r;
             r.set_json(manifest::ToJsonText(project, false));
             cd1::ProjectReply reply;
             grpc::ClientContext ctx;
             SendJson(res, stub->Update(&ctx, r, &reply), reply);
           });
  http.Delete(absl::StrCat("/api/v1/projects/", kName, "/?"),
              [stub](const httplib::Request& req, httplib::Response& res) {
                cd1::ProjectQuery q;
                q.set_name(req.matches[1]);
                cd1::ProjectDeleteReply reply;
                grpc::ClientContext ctx;
                SendEmpty(res, stub->Delete(&ctx, q, &reply));
              });
}

// Argo CD's GetApplicationSyncWindows: the app's windows in its project, evaluated now.
void RegisterSyncWindows(httplib::Server& http, cd1::ApplicationService::StubInterface* apps,
                         cd1::ProjectService::StubInterface* projects) {
  http.Get(absl::StrCat(kApps, "/", kName, "/syncwindows/?"),
           [apps, projects](const httplib::Request& req, httplib::Response& res) {
             cd1::ApplicationQuery q;
             q.set_name(req.matches[1]);
             q.set_app_namespace(AppNamespace(req));
             cd1::ApplicationReply app_reply;
             grpc::ClientContext app_ctx;
             grpc::Status s = apps->Get(&app_ctx, q, &app_reply);
             if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
             const json app = ParseOrNull(app_reply.json());
             const json& spec = app.contains("spec") ? app["spec"] : json();
             cd1::ProjectQuery pq;
             pq.set_name(spec.is_object() && spec.value("project", "") != ""
                             ? spec.value("project", "")
                             : std::string("default"));
             cd1::ProjectReply project_reply;
             grpc::ClientContext project_ctx;
             s = projects->Get(&project_ctx, pq, &project_reply);
             json project = json::object();  // a missing default project has no windows
             if (s.ok()) {
               project = ParseOrNull(project_reply.json());
             } else if (s.error_code() != grpc::StatusCode::NOT_FOUND) {
               return SendError(res, s.error_code(), s.error_message());
             }
             SendBody(res, cd::engine::SyncWindowsResponse(
                               cd::engine::EvaluateSyncWindows(project, app, absl::Now())));
           });
}

}  // namespace

void RegisterCdRestRoutes(httplib::Server& http, CdStubs stubs) {
  if (stubs.applications != nullptr && stubs.projects != nullptr) {
    RegisterSyncWindows(http, stubs.applications, stubs.projects);
  }
  if (stubs.applications != nullptr) {
    RegisterApplications(http, stubs.applications,
                         stubs.webhook != nullptr ? stubs.webhook : stubs.applications);
  }
  if (stubs.repositories != nullptr) RegisterRepositories(http, stubs.repositories);
  if (stubs.projects != nullptr) RegisterProjects(http, stubs.projects);
}

}  // namespace argonaut::gateway
