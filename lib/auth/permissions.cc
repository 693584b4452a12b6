#include "lib/auth/permissions.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"
#include "lib/resource/kinds.h"
#include "nlohmann/json.hpp"

namespace argonaut::auth {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using json = nlohmann::json;

// How the object of a permission is read from the request.
enum class Obj {
  kNone,   // access is not kAuthorized
  kNamed,  // NS/NAME; empty namespace: the service's default, empty name: *
  kList,   // NS/NAME with * for an empty namespace or name (lists, watches, log streams)
  // NS/NAME of the object in the request's `json` (name or generateName),
  // falling back to the request's fields: the services write where the body
  // says when the request leaves a field empty.
  kBody,
  kSubmit,    // NS/NAME of the workflow a submit creates (name or generate_name)
  kUrl,       // the repository URL (`repo`, or `repo` inside `json`)
  kAnything,  // * (calls that reach across every object, e.g. webhooks)
  kAccount,   // the account named in the request
};

struct Spec {
  Access access;
  const char* resource = "";
  const char* action = "";
  Obj object = Obj::kNone;
  const char* default_namespace = "default";
  const char* namespace_field = "namespace";
  const char* name_field = "name";
};

constexpr char kArgoCD[] = "argocd";

Spec Public() { return {Access::kPublic}; }
Spec Authenticated() { return {Access::kAuthenticated}; }
Spec Rbac(const char* resource, const char* action, Obj object) {
  return {Access::kAuthorized, resource, action, object};
}
// Argo CD's requests name an application's namespace `app_namespace`,
// defaulting to argocd.
Spec App(const char* action, Obj object, const char* name_field = "name") {
  return {Access::kAuthorized, "applications", action, object, kArgoCD,
          "app_namespace",     name_field};
}
Spec Project(const char* action, Obj object) {
  return {Access::kAuthorized, "projects", action, object, kArgoCD};
}
Spec WithName(Spec spec, const char* name_field) {
  spec.name_field = name_field;
  return spec;
}

// The ResourceService is keyed by the request's kind, so it is handled
// outside the table.
constexpr char kResourceService[] = "/argonaut.api.v1.ResourceService/";

const std::map<std::string, Spec>& Table() {
  static const auto* table = new std::map<std::string, Spec>{
      // Health checks and reflection stay open so that probes and tools work.
      {"/grpc.health.v1.Health/Check", Public()},
      {"/grpc.health.v1.Health/Watch", Public()},
      {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", Public()},
      {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", Public()},

      {"/argonaut.api.v1.ResourceService/ListKinds", Authenticated()},
      {"/argonaut.api.v1.ResourceService/Version", Authenticated()},

      // The workflow archive (Argo's ArchivedWorkflowService) answers for workflows: by uid,
      // with no namespace, a call needs the permission in every namespace.
      {"/argonaut.workflow.v1.ArchivedWorkflowService/ListArchivedWorkflows",
       Rbac("workflows", "get", Obj::kList)},
      {"/argonaut.workflow.v1.ArchivedWorkflowService/GetArchivedWorkflow",
       Rbac("workflows", "get", Obj::kList)},
      {"/argonaut.workflow.v1.ArchivedWorkflowService/DeleteArchivedWorkflow",
       Rbac("workflows", "delete", Obj::kList)},
      {"/argonaut.workflow.v1.ArchivedWorkflowService/ListArchivedWorkflowLabelKeys",
       Rbac("workflows", "get", Obj::kList)},
      {"/argonaut.workflow.v1.ArchivedWorkflowService/ListArchivedWorkflowLabelValues",
       Rbac("workflows", "get", Obj::kList)},
      {"/argonaut.workflow.v1.ArchivedWorkflowService/ResubmitArchivedWorkflow",
       Rbac("workflows", "create", Obj::kList)},
      {"/argonaut.workflow.v1.ArchivedWorkflowService/RetryArchivedWorkflow",
       Rbac("workflows", "create", Obj::kList)},

      // Workflows (Argo Workflows' WorkflowService).
      {"/argonaut.workflow.v1.WorkflowService/CreateWorkflow",
       Rbac("workflows", "create", Obj::kBody)},
      {"/argonaut.workflow.v1.WorkflowService/SubmitWorkflow",
       Rbac("workflows", "create", Obj::kSubmit)},
      {"/argonaut.workflow.v1.WorkflowService/GetWorkflow", Rbac("workflows", "get", Obj::kNamed)},
      {"/argonaut.workflow.v1.WorkflowService/ListWorkflows", Rbac("workflows", "get", Obj::kList)},
      {"/argonaut.workflow.v1.WorkflowService/WatchWorkflows",
       Rbac("workflows", "get", Obj::kList)},
      {"/argonaut.workflow.v1.WorkflowService/DeleteWorkflow",
       Rbac("workflows", "delete", Obj::kNamed)},
      // Lint writes nothing.
      {"/argonaut.workflow.v1.WorkflowService/LintWorkflow", Rbac("workflows", "get", Obj::kBody)},
      {"/argonaut.workflow.v1.WorkflowService/ResubmitWorkflow",
       Rbac("workflows", "create", Obj::kNamed)},
      {"/argonaut.workflow.v1.WorkflowService/RetryWorkflow",
       Rbac("workflows", "update", Obj::kNamed)},
      {"/argonaut.workflow.v1.WorkflowService/ResumeWorkflow",
       Rbac("workflows", "update", Obj::kNamed)},
      {"/argonaut.workflow.v1.WorkflowService/SuspendWorkflow",
       Rbac("workflows", "update", Obj::kNamed)},
      {"/argonaut.workflow.v1.WorkflowService/StopWorkflow",
       Rbac("workflows", "update", Obj::kNamed)},
      {"/argonaut.workflow.v1.WorkflowService/TerminateWorkflow",
       Rbac("workflows", "update", Obj::kNamed)},
      {"/argonaut.workflow.v1.WorkflowService/SetWorkflow",
       Rbac("workflows", "update", Obj::kNamed)},
      {"/argonaut.workflow.v1.WorkflowService/WorkflowLogs", Rbac("logs", "get", Obj::kList)},
      // As a get of the workflow; by uid (no namespace) it needs every namespace.
      {"/argonaut.workflow.v1.WorkflowService/GetArtifact", Rbac("workflows", "get", Obj::kList)},

      // Rollouts (Argo Rollouts' RolloutService).
      {"/argonaut.rollout.v1.RolloutService/CreateRollout", Rbac("rollouts", "create", Obj::kBody)},
      {"/argonaut.rollout.v1.RolloutService/GetRollout", Rbac("rollouts", "get", Obj::kNamed)},
      {"/argonaut.rollout.v1.RolloutService/ListRollouts", Rbac("rollouts", "get", Obj::kList)},
      {"/argonaut.rollout.v1.RolloutService/WatchRollouts", Rbac("rollouts", "get", Obj::kList)},
      {"/argonaut.rollout.v1.RolloutService/DeleteRollout",
       Rbac("rollouts", "delete", Obj::kNamed)},
      {"/argonaut.rollout.v1.RolloutService/GetRolloutInfo", Rbac("rollouts", "get", Obj::kNamed)},
      {"/argonaut.rollout.v1.RolloutService/ListRolloutInfos", Rbac("rollouts", "get", Obj::kList)},
      {"/argonaut.rollout.v1.RolloutService/WatchRolloutInfo",
       Rbac("rollouts", "get", Obj::kNamed)},
      {"/argonaut.rollout.v1.RolloutService/WatchRolloutInfos",
       Rbac("rollouts", "get", Obj::kList)},
      {"/argonaut.rollout.v1.RolloutService/PromoteRollout",
       Rbac("rollouts", "update", Obj::kNamed)},
      {"/argonaut.rollout.v1.RolloutService/AbortRollout", Rbac("rollouts", "update", Obj::kNamed)},
      {"/argonaut.rollout.v1.RolloutService/RetryRollout", Rbac("rollouts", "update", Obj::kNamed)},
      {"/argonaut.rollout.v1.RolloutService/UndoRollout", Rbac("rollouts", "update", Obj::kNamed)},
      {"/argonaut.rollout.v1.RolloutService/PauseRollout", Rbac("rollouts", "update", Obj::kNamed)},
      {"/argonaut.rollout.v1.RolloutService/RestartRollout",
       Rbac("rollouts", "update", Obj::kNamed)},
      {"/argonaut.rollout.v1.RolloutService/SetRolloutImage",
       Rbac("rollouts", "update", Obj::kNamed)},
      {"/argonaut.rollout.v1.RolloutService/LintRollout", Rbac("rollouts", "get", Obj::kBody)},
      {"/argonaut.rollout.v1.RolloutService/Version", Authenticated()},

      // Argo Events.
      {"/argonaut.events.v1.EventSourceService/CreateEventSource",
       Rbac("eventsources", "create", Obj::kBody)},
      {"/argonaut.events.v1.EventSourceService/GetEventSource",
       Rbac("eventsources", "get", Obj::kNamed)},
      {"/argonaut.events.v1.EventSourceService/ListEventSources",
       Rbac("eventsources", "get", Obj::kList)},
      {"/argonaut.events.v1.EventSourceService/UpdateEventSource",
       Rbac("eventsources", "update", Obj::kBody)},
      {"/argonaut.events.v1.EventSourceService/DeleteEventSource",
       Rbac("eventsources", "delete", Obj::kNamed)},
      {"/argonaut.events.v1.EventSourceService/WatchEventSources",
       Rbac("eventsources", "get", Obj::kList)},
      {"/argonaut.events.v1.EventSourceService/EventSourcesLogs", Rbac("logs", "get", Obj::kList)},
      {"/argonaut.events.v1.SensorService/CreateSensor", Rbac("sensors", "create", Obj::kBody)},
      {"/argonaut.events.v1.SensorService/GetSensor", Rbac("sensors", "get", Obj::kNamed)},
      {"/argonaut.events.v1.SensorService/ListSensors", Rbac("sensors", "get", Obj::kList)},
      {"/argonaut.events.v1.SensorService/UpdateSensor", Rbac("sensors", "update", Obj::kBody)},
      {"/argonaut.events.v1.SensorService/DeleteSensor", Rbac("sensors", "delete", Obj::kNamed)},
      {"/argonaut.events.v1.SensorService/WatchSensors", Rbac("sensors", "get", Obj::kList)},
      {"/argonaut.events.v1.SensorService/SensorsLogs", Rbac("logs", "get", Obj::kList)},
      // An event source's stored events are read as the source; replaying one
      // makes a sensor act again, and sending one acts through the source.
      {"/argonaut.events.v1.EventService/ListEvents",
       WithName(Rbac("eventsources", "get", Obj::kNamed), "event_source")},
      {"/argonaut.events.v1.EventService/ReplayEvent",
       WithName(Rbac("sensors", "update", Obj::kNamed), "sensor")},
      {"/argonaut.events.v1.EventService/SendEvent",
       WithName(Rbac("eventsources", "update", Obj::kNamed), "event_source")},

      // Argo CD. Terminating and rolling back an operation are `sync`, as in
      // Argo CD.
      {"/argonaut.cd.v1.ApplicationService/Create", App("create", Obj::kBody)},
      {"/argonaut.cd.v1.ApplicationService/Get", App("get", Obj::kNamed)},
      {"/argonaut.cd.v1.ApplicationService/List", App("get", Obj::kList)},
      {"/argonaut.cd.v1.ApplicationService/Watch", App("get", Obj::kList)},
      {"/argonaut.cd.v1.ApplicationService/Update", App("update", Obj::kBody)},
      {"/argonaut.cd.v1.ApplicationService/UpdateSpec", App("update", Obj::kNamed)},
      {"/argonaut.cd.v1.ApplicationService/Delete", App("delete", Obj::kNamed)},
      {"/argonaut.cd.v1.ApplicationService/Sync", App("sync", Obj::kNamed)},
      {"/argonaut.cd.v1.ApplicationService/Rollback", App("sync", Obj::kNamed)},
      {"/argonaut.cd.v1.ApplicationService/TerminateOperation", App("sync", Obj::kNamed)},
      {"/argonaut.cd.v1.ApplicationService/ManagedResources",
       App("get", Obj::kNamed, "application_name")},
      {"/argonaut.cd.v1.ApplicationService/ResourceTree",
       App("get", Obj::kNamed, "application_name")},
      {"/argonaut.cd.v1.ApplicationService/GetManifests", App("get", Obj::kNamed)},
      // A webhook refreshes (and so may sync) any application; a direct gRPC
      // caller needs that much. REST's /api/webhook is for git hosts and is
      // checked by its own signature, not by tokens.
      {"/argonaut.cd.v1.ApplicationService/Webhook", App("sync", Obj::kAnything)},
      {"/argonaut.cd.v1.RepositoryService/Create", Rbac("repositories", "create", Obj::kUrl)},
      {"/argonaut.cd.v1.RepositoryService/List", Rbac("repositories", "get", Obj::kUrl)},
      {"/argonaut.cd.v1.RepositoryService/Get", Rbac("repositories", "get", Obj::kUrl)},
      {"/argonaut.cd.v1.RepositoryService/Delete", Rbac("repositories", "delete", Obj::kUrl)},
      // Validation makes the server fetch a URL with the given credentials:
      // as much as adding the repository (Argo CD asks the same).
      {"/argonaut.cd.v1.RepositoryService/ValidateAccess",
       Rbac("repositories", "create", Obj::kUrl)},
      {"/argonaut.cd.v1.ProjectService/Create", Project("create", Obj::kBody)},
      {"/argonaut.cd.v1.ProjectService/Get", Project("get", Obj::kNamed)},
      {"/argonaut.cd.v1.ProjectService/List", Project("get", Obj::kList)},
      {"/argonaut.cd.v1.ProjectService/Update", Project("update", Obj::kBody)},
      {"/argonaut.cd.v1.ProjectService/Delete", Project("delete", Obj::kNamed)},

      // The local cluster.
      {"/argonaut.cluster.v1.ClusterService/PodLogs", Rbac("logs", "get", Obj::kList)},

      // Accounts. Managing one's own tokens (empty `account`) needs only a
      // valid token, as in Argo CD; another account's needs `update`.
      {"/argonaut.auth.v1.AccountService/ListAccounts", Rbac("accounts", "get", Obj::kAnything)},
      {"/argonaut.auth.v1.AccountService/CreateToken", Rbac("accounts", "update", Obj::kAccount)},
      {"/argonaut.auth.v1.AccountService/DeleteToken", Rbac("accounts", "update", Obj::kAccount)},
      {"/argonaut.auth.v1.AccountService/CanI", Authenticated()},
      {"/argonaut.auth.v1.AccountService/UserInfo", Authenticated()},
  };
  return *table;
}

// A string field of the request, or of its `metadata` message when the
// request has no such field. Empty when neither exists.
std::string StringField(const Message& message, const std::string& name) {
  const auto* descriptor = message.GetDescriptor();
  const auto* reflection = message.GetReflection();
  if (const FieldDescriptor* field = descriptor->FindFieldByName(name);
      field != nullptr && !field->is_repeated() && field->type() == FieldDescriptor::TYPE_STRING) {
    return reflection->GetString(message, field);
  }
  if (const FieldDescriptor* meta = descriptor->FindFieldByName("metadata");
      meta != nullptr && !meta->is_repeated() && meta->type() == FieldDescriptor::TYPE_MESSAGE &&
      reflection->HasField(message, meta)) {
    return StringField(reflection->GetMessage(message, meta), name);
  }
  return "";
}

// The request's `json` as an object; null when absent or not a JSON object
// (the service reports that, not the authorizer).
json JsonBody(const Message& request) {
  json doc = json::parse(StringField(request, "json"), nullptr, /*allow_exceptions=*/false);
  return doc.is_object() ? doc : json();
}

std::string JsonString(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

json JsonMeta(const json& body) {
  if (!body.is_object()) return json();
  auto it = body.find("metadata");
  return it != body.end() && it->is_object() ? *it : json();
}

std::string Or(std::string value, std::string_view fallback) {
  return value.empty() ? std::string(fallback) : value;
}

std::string ObjectOf(const Spec& spec, const Message& request) {
  switch (spec.object) {
    case Obj::kNone:
      return "";
    case Obj::kAnything:
      return "*";
    case Obj::kNamed:
      return absl::StrCat(Or(StringField(request, spec.namespace_field), spec.default_namespace),
                          "/", Or(StringField(request, spec.name_field), "*"));
    case Obj::kList:
      return absl::StrCat(Or(StringField(request, spec.namespace_field), "*"), "/",
                          Or(StringField(request, spec.name_field), "*"));
    case Obj::kSubmit:
      return absl::StrCat(Or(StringField(request, spec.namespace_field), spec.default_namespace),
                          "/",
                          Or(StringField(request, "name"), StringField(request, "generate_name")));
    case Obj::kBody: {
      const json meta = JsonMeta(JsonBody(request));
      const std::string ns =
          Or(JsonString(meta, "namespace"),
             Or(StringField(request, spec.namespace_field), spec.default_namespace));
      return absl::StrCat(ns, "/",
                          Or(JsonString(meta, "name"), Or(JsonString(meta, "generateName"),
                                                          StringField(request, spec.name_field))));
    }
    case Obj::kUrl:
      return Or(Or(StringField(request, "repo"), JsonString(JsonBody(request), "repo")), "*");
    case Obj::kAccount:
      return StringField(request, "account");
  }
  return "";
}

absl::StatusOr<Requirement> ResourceServicePermission(std::string_view method,
                                                      const Message& request) {
  struct Verb {
    const char* action;
    bool list;   // object NS/* (or * for cluster-scoped kinds)
    bool write;  // object read from `json`
  };
  static const auto* verbs = new std::map<std::string, Verb, std::less<>>{
      {"Create", {"create", false, true}}, {"Update", {"update", false, true}},
      {"Get", {"get", false, false}},      {"List", {"get", true, false}},
      {"Watch", {"get", true, false}},     {"Delete", {"delete", false, false}},
  };
  auto verb = verbs->find(method);
  if (verb == verbs->end()) {
    return absl::NotFoundError(
        absl::StrCat("no permission is defined for ", kResourceService, AbslView(method)));
  }
  const json body = verb->second.write ? JsonBody(request) : json();
  // The service picks the store by the request's kind; the body's kind is a
  // fallback for callers that leave it out.
  const std::string kind = Or(StringField(request, "kind"), JsonString(body, "kind"));
  const resource::KindInfo* info = resource::FindKind(kind);
  const bool namespaced = info == nullptr || info->namespaced;

  std::string ns, name;
  if (verb->second.write) {
    const json meta = JsonMeta(body);
    ns = Or(JsonString(meta, "namespace"), "default");
    name = JsonString(meta, "name");
  } else if (verb->second.list) {
    ns = Or(StringField(request, "namespace"), "*");
    name = "*";
  } else {
    ns = Or(StringField(request, "namespace"), "default");
    name = Or(StringField(request, "name"), "*");
  }
  Requirement out;
  out.access = Access::kAuthorized;
  out.permission = {ResourceOfKind(kind), verb->second.action,
                    namespaced ? absl::StrCat(ns, "/", name) : name};
  return out;
}

}  // namespace

std::string ResourceOfKind(std::string_view kind) {
  const resource::KindInfo* info = resource::FindKind(kind);
  if (info == nullptr) return absl::AsciiStrToLower(AbslView(kind));
  // Argo CD calls AppProjects `projects`; RBAC names carry no dashes.
  if (info->kind == "AppProject") return "projects";
  if (info->kind == "WorkflowEventBinding") return "workfloweventbindings";
  return info->plural;
}

absl::StatusOr<Requirement> RequiredPermission(std::string_view full_method,
                                               const Message& request) {
  const std::string method(full_method);
  if (method.rfind(kResourceService, 0) == 0) {
    const std::string verb = method.substr(sizeof(kResourceService) - 1);
    if (verb != "ListKinds" && verb != "Version") return ResourceServicePermission(verb, request);
  }
  auto it = Table().find(method);
  if (it == Table().end()) {
    return absl::NotFoundError(absl::StrCat("no permission is defined for ", method));
  }
  const Spec& spec = it->second;
  Requirement out;
  out.access = spec.access;
  if (spec.access != Access::kAuthorized) return out;
  if (spec.object == Obj::kAccount && StringField(request, "account").empty()) {
    out.access = Access::kAuthenticated;  // the caller's own account
    return out;
  }
  out.permission = {spec.resource, spec.action, ObjectOf(spec, request)};
  return out;
}

std::vector<std::string> KnownMethods() {
  std::vector<std::string> out;
  for (const auto& [method, spec] : Table()) out.push_back(method);
  for (const char* verb : {"Create", "Delete", "Get", "List", "Update", "Watch"}) {
    out.push_back(absl::StrCat(kResourceService, verb));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace argonaut::auth
