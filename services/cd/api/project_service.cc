// ProjectService over the cd store's AppProjects. The "default" project exists in every
// installation: when the store holds none, Get and List answer the built-in one and Update stores
// it.
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "lib/server/grpc_status.h"
#include "services/cd/api/app_ops.h"
#include "services/cd/api/cd_api.h"
#include "services/cd/api/json_fields.h"
#include "services/cd/validation/validate.h"

namespace argonaut::cd::api {
namespace {

using internal::Field;
using internal::Str;
using nlohmann::json;

constexpr char kAppProject[] = "AppProject";

std::string NamespaceOr(const std::string& ns) { return ns.empty() ? kDefaultNamespace : ns; }

grpc::Status Reply(const absl::StatusOr<json>& project, v1::ProjectReply* reply) {
  if (!project.ok()) return ToGrpcStatus(project.status());
  reply->set_json(manifest::ToJsonText(*project, false));
  return grpc::Status::OK;
}

absl::StatusOr<json> ParseProject(const std::string& text) {
  ASSIGN_OR_RETURN(json project, manifest::ParseJsonText(text));
  if (!project.is_object()) return absl::InvalidArgumentError("project: expected an object");
  if (!project.contains("kind")) project["kind"] = kAppProject;
  if (!project.contains("apiVersion")) project["apiVersion"] = "argoproj.io/v1alpha1";
  if (project["kind"] != kAppProject)
    return absl::InvalidArgumentError("kind: expected AppProject");
  if (!project["metadata"].is_object()) project["metadata"] = json::object();
  if (Str(project["metadata"], "name").empty()) {
    return absl::InvalidArgumentError("metadata.name: required");
  }
  if (Str(project["metadata"], "namespace").empty()) {
    project["metadata"]["namespace"] = kDefaultNamespace;
  }
  if (!project["spec"].is_object()) project["spec"] = json::object();
  project.erase("status");
  return project;
}

absl::StatusOr<json> GetProject(resource::ResourceApi* store, const std::string& ns,
                                const std::string& name) {
  absl::StatusOr<json> project = store->GetObject(kAppProject, ns, name);
  if (absl::IsNotFound(project.status())) {
    if (name == validation::kDefaultProjectName) return validation::DefaultProject(ns);
    return absl::NotFoundError(absl::StrCat("appprojects.argoproj.io \"", name, "\" not found"));
  }
  return project;
}

}  // namespace

grpc::Status ProjectGrpcService::Create(grpc::ServerContext*, const v1::ProjectCreateRequest* req,
                                        v1::ProjectReply* reply) {
  absl::StatusOr<json> project = ParseProject(req->json());
  if (!project.ok()) return ToGrpcStatus(project.status());
  const std::string ns = NamespaceOf(*project), name = NameOf(*project);
  absl::StatusOr<json> existing = store_->GetObject(kAppProject, ns, name);
  if (existing.ok()) {
    if (Field(*existing, "spec") == (*project)["spec"]) return Reply(existing, reply);
    if (!req->upsert()) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          "existing project spec is different, use upsert flag to force update"));
    }
    json updated = *existing;
    updated["spec"] = (*project)["spec"];
    return Reply(store_->UpdateObject(kAppProject, updated), reply);
  }
  if (!absl::IsNotFound(existing.status())) return ToGrpcStatus(existing.status());
  return Reply(store_->CreateObject(kAppProject, *std::move(project), false), reply);
}

grpc::Status ProjectGrpcService::Get(grpc::ServerContext*, const v1::ProjectQuery* req,
                                     v1::ProjectReply* reply) {
  return Reply(GetProject(store_, NamespaceOr(req->namespace_()), req->name()), reply);
}

grpc::Status ProjectGrpcService::List(grpc::ServerContext*, const v1::ProjectQuery* req,
                                      v1::ProjectListReply* reply) {
  const std::string ns = NamespaceOr(req->namespace_());
  absl::StatusOr<std::vector<json>> projects = store_->ListObjects(kAppProject, ns, "");
  if (!projects.ok()) return ToGrpcStatus(projects.status());
  bool has_default = false;
  for (const json& p : *projects) has_default = has_default || NameOf(p) == "default";
  if (!has_default) reply->add_items(manifest::ToJsonText(validation::DefaultProject(ns), false));
  for (const json& p : *projects) reply->add_items(manifest::ToJsonText(p, false));
  return grpc::Status::OK;
}

grpc::Status ProjectGrpcService::Update(grpc::ServerContext*, const v1::ProjectUpdateRequest* req,
                                        v1::ProjectReply* reply) {
  absl::StatusOr<json> project = ParseProject(req->json());
  if (!project.ok()) return ToGrpcStatus(project.status());
  const std::string ns = NamespaceOf(*project), name = NameOf(*project);
  absl::StatusOr<json> existing = store_->GetObject(kAppProject, ns, name);
  if (absl::IsNotFound(existing.status()) && name == validation::kDefaultProjectName) {
    return Reply(store_->CreateObject(kAppProject, *std::move(project), false), reply);
  }
  if (!existing.ok()) return ToGrpcStatus(existing.status());
  json updated = *existing;
  updated["spec"] = (*project)["spec"];
  for (const char* k : {"labels", "annotations"}) {
    const json& v = Field((*project)["metadata"], k);
    if (!v.is_null()) updated["metadata"][k] = v;
  }
  // The caller's resourceVersion, when given, guards against overwriting a concurrent change.
  const std::string rv = Str((*project)["metadata"], "resourceVersion");
  if (!rv.empty()) updated["metadata"]["resourceVersion"] = rv;
  return Reply(store_->UpdateObject(kAppProject, updated), reply);
}

grpc::Status ProjectGrpcService::Delete(grpc::ServerContext*, const v1::ProjectQuery* req,
                                        v1::ProjectDeleteReply*) {
  if (req->name() == validation::kDefaultProjectName) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("name '", req->name(), "' is reserved and cannot be deleted")));
  }
  const std::string ns = NamespaceOr(req->namespace_());
  absl::StatusOr<std::vector<json>> apps = store_->ListObjects("Application", "", "");
  if (!apps.ok()) return ToGrpcStatus(apps.status());
  int referencing = 0;
  for (const json& app : *apps) {
    if (Str(Field(app, "spec"), "project") == req->name()) ++referencing;
  }
  if (referencing > 0) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("project is referenced by ", referencing, " applications")));
  }
  return ToGrpcStatus(store_->Delete(kAppProject, ns, req->name(), ""));
}

}  // namespace argonaut::cd::api
