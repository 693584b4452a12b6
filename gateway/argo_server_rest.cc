#include "gateway/argo_server_rest.h"

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/rest.h"
#include "httplib.h"
#include "lib/buildinfo/build_info.h"
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

// ---- info

// The workflow controller's configuration, as the workflow service reads it.
constexpr char kControllerNamespace[] = "argo";
constexpr char kControllerConfigMap[] = "workflow-controller-configmap";

// data[key] of the ConfigMap: a YAML document in a string (as Argo writes nested config), or,
// under `config`, already a tree.
absl::StatusOr<json> ConfigValue(const json& data, const json& config, const std::string& key) {
  if (auto it = data.find(key); it != data.end() && !it->is_null()) {
    if (!it->is_string()) return *it;
    if (key == "navColor") return *it;
    absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(it->get<std::string>());
    if (!docs.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("ConfigMap ", kControllerConfigMap, " data.",
                                                     key, ": ", docs.status().message()));
    }
    return docs->empty() ? json(nullptr) : (*docs)[0];
  }
  if (auto it = config.find(key); it != config.end()) return *it;
  return json(nullptr);
}

// A list of objects whose `fields` are strings; `optional` ones default to "".
absl::StatusOr<json> StringRecords(const json& value, const std::string& where,
                                   std::initializer_list<const char*> fields,
                                   std::initializer_list<const char*> optional) {
  json out = json::array();
  if (value.is_null()) return out;
  if (!value.is_array()) return absl::InvalidArgumentError(absl::StrCat(where, ": not a list"));
  for (size_t i = 0; i < value.size(); ++i) {
    const json& item = value[i];
    const std::string at = absl::StrCat(where, "[", i, "]");
    if (!item.is_object()) return absl::InvalidArgumentError(at + ": not a map");
    json record = json::object();
    for (const char* f : fields) {
      auto it = item.find(f);
      if (it == item.end() || !it->is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(at, ".", f, ": a string is required"));
      }
      record[f] = *it;
    }
    for (const char* f : optional) {
      auto it = item.find(f);
      if (it != item.end() && !it->is_null() && !it->is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(at, ".", f, ": not a string"));
      }
      record[f] = it != item.end() && it->is_string() ? it->get<std::string>() : "";
    }
    out.push_back(std::move(record));
  }
  return out;
}

}  // namespace

absl::StatusOr<json> ArgoInfoBody(const json& configmap) {
  json body = {{"links", json::array()},
               {"columns", json::array()},
               {"navColor", ""},
               // The UI's pop-ups (feedback survey, first-time tour, new-version notice) stay off.
               {"modals", {{"feedback", false}, {"firstTimeUser", false}, {"newVersion", false}}}};
  // Every namespace is served, so there is no managedNamespace.
  if (!configmap.is_object()) return body;
  const json data = configmap.value("data", json::object());
  if (!data.is_object()) return body;
  json config = json::object();
  if (auto it = data.find("config"); it != data.end() && it->is_string()) {
    absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(it->get<std::string>());
    if (!docs.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("ConfigMap ", kControllerConfigMap,
                                                     " data.config: ", docs.status().message()));
    }
    if (!docs->empty() && (*docs)[0].is_object()) config = (*docs)[0];
  }
  const std::string where = absl::StrCat("ConfigMap ", kControllerConfigMap, " ");
  absl::StatusOr<json> links = ConfigValue(data, config, "links");
  if (!links.ok()) return links.status();
  absl::StatusOr<json> link_list =
      StringRecords(*links, where + "links", {"name", "scope", "url"}, {"target"});
  if (!link_list.ok()) return link_list.status();
  body["links"] = *std::move(link_list);
  absl::StatusOr<json> columns = ConfigValue(data, config, "columns");
  if (!columns.ok()) return columns.status();
  absl::StatusOr<json> column_list =
      StringRecords(*columns, where + "columns", {"name", "type", "key"}, {});
  if (!column_list.ok()) return column_list.status();
  for (size_t i = 0; i < column_list->size(); ++i) {
    const std::string type = (*column_list)[i]["type"];
    if (type != "label" && type != "annotation") {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "columns[", i, "].type: \"", type, "\" is not label or annotation"));
    }
  }
  body["columns"] = *std::move(column_list);
  absl::StatusOr<json> nav = ConfigValue(data, config, "navColor");
  if (!nav.ok()) return nav.status();
  if (!nav->is_null() && !nav->is_string()) {
    return absl::InvalidArgumentError(where + "navColor: not a string");
  }
  if (nav->is_string()) body["navColor"] = *nav;
  return body;
}

json ArgoVersionBody(const api::v1::VersionResponse& v) {
  // What this binary's build stamped (lib/buildinfo); the answering server's own fields win.
  const buildinfo::BuildInfo& stamp = buildinfo::Stamp();
  auto first_known = [](const std::string& a, const std::string& b) {
    return !a.empty() && a != "unknown" ? a : b;
  };
  const std::string version = v.version().empty() ? resource::kArgonautVersion : v.version();
#if defined(__x86_64__)
  constexpr char kArch[] = "amd64";
#elif defined(__aarch64__)
  constexpr char kArch[] = "arm64";
#else
  constexpr char kArch[] = "unknown";
#endif
#if defined(__clang__)
  const std::string compiler = absl::StrCat("clang ", __clang_version__);
#elif defined(__GNUC__)
  const std::string compiler = absl::StrCat("gcc ", __VERSION__);
#else
  const std::string compiler = "unknown";
#endif
  return {{"version", version},
          {"buildDate", first_known(v.build_date(), stamp.build_date)},
          {"gitCommit", first_known(v.git_commit(), stamp.git_commit)},
          {"gitTag", stamp.git_tag},
          {"gitTreeState", stamp.git_tree_state},
          // Argonaut is C++: no Go toolchain built it.
          {"goVersion", "none"},
          {"compiler", compiler},
          {"platform", absl::StrCat("linux/", kArch)}};
}

void RegisterArgoServerRestRoutes(httplib::Server& http, Stub* api, Stub* config_api) {
  // Read at each request (one small object): a changed ConfigMap shows at once.
  http.Get("/api/v1/info/?", [config = config_api != nullptr ? config_api : api](
                                 const httplib::Request&, httplib::Response& res) {
    json cm;
    grpc::Status s =
        GetObject(config, "ConfigMap", kControllerNamespace, kControllerConfigMap, &cm);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      cm = nullptr;
    } else if (!s.ok()) {
      return SendStatus(res, s);
    }
    absl::StatusOr<json> body = ArgoInfoBody(cm);
    if (!body.ok()) {
      return SendError(res, grpc::StatusCode::FAILED_PRECONDITION,
                       std::string(body.status().message()));
    }
    SendJson(res, *body);
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
