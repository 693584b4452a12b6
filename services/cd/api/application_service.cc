#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "lib/server/grpc_status.h"
#include "services/cd/api/app_ops.h"
#include "services/cd/api/cd_api.h"
#include "services/cd/api/json_fields.h"
#include "services/cd/api/tree.h"
#include "services/cd/engine/resource_key.h"
#include "services/cd/engine/sync_windows.h"
#include "services/cd/validation/validate.h"

namespace argonaut::cd::api {
namespace {

using internal::Field;
using internal::Str;
using nlohmann::json;

constexpr char kApplication[] = "Application";
constexpr char kAppProject[] = "AppProject";
constexpr int kMaxConflictRetries = 20;

std::string NamespaceOr(const std::string& ns) { return ns.empty() ? kDefaultNamespace : ns; }

grpc::Status Reply(const absl::StatusOr<json>& app, v1::ApplicationReply* reply) {
  if (!app.ok()) return ToGrpcStatus(app.status());
  reply->set_json(manifest::ToJsonText(*app, false));
  return grpc::Status::OK;
}

// What the user owns of an app (what Create compares and Update replaces).
json OwnedPart(const json& app) {
  const json& meta = Field(app, "metadata");
  json out = {{"spec", Field(app, "spec")}};
  for (const char* k : {"labels", "annotations", "finalizers"}) {
    const json& v = Field(meta, k);
    if (!v.is_null() && !v.empty()) out[k] = v;
  }
  return out;
}

json WithOwnedPart(json app, const json& from) {
  app["spec"] = Field(from, "spec");
  if (!app["metadata"].is_object()) app["metadata"] = json::object();
  for (const char* k : {"labels", "annotations", "finalizers"}) {
    const json& v = Field(Field(from, "metadata"), k);
    if (v.is_null()) {
      app["metadata"].erase(k);
    } else {
      app["metadata"][k] = v;
    }
  }
  return app;
}

// A request's Application: parsed, typed, with Argo CD's defaults (namespace, project).
absl::StatusOr<json> ParseApp(const std::string& text) {
  ASSIGN_OR_RETURN(json app, manifest::ParseJsonText(text));
  if (!app.is_object()) return absl::InvalidArgumentError("application: expected an object");
  if (!app.contains("kind")) app["kind"] = kApplication;
  if (!app.contains("apiVersion")) app["apiVersion"] = "argoproj.io/v1alpha1";
  if (app["kind"] != kApplication) {
    return absl::InvalidArgumentError("kind: expected Application");
  }
  if (!app["metadata"].is_object()) app["metadata"] = json::object();
  if (Str(app["metadata"], "name").empty()) {
    return absl::InvalidArgumentError("metadata.name: required");
  }
  if (Str(app["metadata"], "namespace").empty()) app["metadata"]["namespace"] = kDefaultNamespace;
  if (!app["spec"].is_object()) return absl::InvalidArgumentError("spec: required");
  if (Str(app["spec"], "project").empty()) app["spec"]["project"] = validation::kDefaultProjectName;
  return app;
}

}  // namespace

absl::Status ControllerNotRunning() { return absl::UnavailableError("cd controller not running"); }

ApplicationGrpcService::ApplicationGrpcService(resource::ResourceApi* store, CdApiOptions options)
    : store_(store), options_(std::move(options)) {}

absl::StatusOr<json> ApplicationGrpcService::GetApp(const std::string& ns,
                                                    const std::string& name) {
  absl::StatusOr<json> app = store_->GetObject(kApplication, ns, name);
  if (absl::IsNotFound(app.status())) {
    return absl::NotFoundError(absl::StrCat("applications.argoproj.io \"", name, "\" not found"));
  }
  return app;
}

absl::StatusOr<json> ApplicationGrpcService::Mutate(
    const std::string& ns, const std::string& name,
    const std::function<absl::StatusOr<json>(json)>& change) {
  ASSIGN_OR_RETURN(const resource::KindInfo* kind, store_->Resolve(kApplication));
  absl::Status last;
  for (int attempt = 0; attempt < kMaxConflictRetries; ++attempt) {
    if (attempt > 0) absl::SleepFor(absl::Milliseconds(5 * attempt));
    ASSIGN_OR_RETURN(json app, GetApp(ns, name));
    ASSIGN_OR_RETURN(json changed, change(app));
    if (changed == app) return app;
    json status = Field(changed, "status");
    const bool status_changed = status != Field(app, "status");
    absl::StatusOr<json> written = app;
    json rest_old = app, rest_new = changed;
    rest_old.erase("status");
    rest_new.erase("status");
    if (!kind->status_subresource || rest_old != rest_new) {
      written = store_->UpdateObject(kApplication, changed);
    }
    if (written.ok() && kind->status_subresource && status_changed) {
      json with_status = *written;
      with_status["status"] = status;
      written = store_->UpdateStatusObject(kApplication, with_status);
    }
    if (written.ok()) return written;
    last = written.status();
    if (!absl::IsAborted(last)) return last;
  }
  return absl::AbortedError(absl::StrCat("application ", name, " kept changing; gave up after ",
                                         kMaxConflictRetries, " attempts: ", last.message()));
}

namespace {

// Argo CD refuses a manual sync (dry runs too) that the project's sync windows do not allow.
absl::Status CheckManualSyncWindows(resource::ResourceApi* store, const json& app, absl::Time now) {
  std::string name = Str(Field(app, "spec"), "project");
  if (name.empty()) name = validation::kDefaultProjectName;
  absl::StatusOr<json> project = store->GetObject(kAppProject, NamespaceOr(NamespaceOf(app)), name);
  if (absl::IsNotFound(project.status())) return absl::OkStatus();  // no project, no windows
  if (!project.ok()) return project.status();
  const engine::SyncWindowsState windows = engine::EvaluateSyncWindows(*project, app, now);
  if (!windows.error.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot sync: invalid sync window: ", windows.error.message()));
  }
  if (!windows.manual_allowed) return absl::PermissionDeniedError(engine::kSyncBlockedByWindow);
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplicationGrpcService::CheckProject(const json& app) {
  const std::string ns = NamespaceOr(Str(Field(app, "metadata"), "namespace"));
  std::string name = Str(Field(app, "spec"), "project");
  if (name.empty()) name = validation::kDefaultProjectName;
  absl::StatusOr<json> project = store_->GetObject(kAppProject, ns, name);
  if (absl::IsNotFound(project.status()) && name == validation::kDefaultProjectName) {
    project = validation::DefaultProject(ns);
  }
  if (absl::IsNotFound(project.status())) {
    return absl::InvalidArgumentError(
        absl::StrCat("application references project ", name, " which does not exist"));
  }
  if (!project.ok()) return project.status();
  return validation::CheckApplication(app, *project);
}

absl::StatusOr<json> ApplicationGrpcService::AwaitRefresh(const std::string& ns,
                                                          const std::string& name) {
  ASSIGN_OR_RETURN(std::unique_ptr<resource::ObjectWatcher> watch,
                   store_->Watch(kApplication, ns, "", ""));
  const absl::Time deadline = absl::Now() + options_.refresh_timeout;
  for (;;) {
    ASSIGN_OR_RETURN(json app, GetApp(ns, name));
    // A controller that does not answer in time leaves the app as it was read: the caller gets
    // the last known state rather than an error.
    if (!RefreshPending(app) || absl::Now() >= deadline) return app;
    ASSIGN_OR_RETURN(auto events, watch->Next(std::min(deadline, absl::Now() + absl::Seconds(1))));
  }
}

grpc::Status ApplicationGrpcService::Create(grpc::ServerContext*,
                                            const v1::ApplicationCreateRequest* req,
                                            v1::ApplicationReply* reply) {
  absl::StatusOr<json> app = ParseApp(req->json());
  if (!app.ok()) return ToGrpcStatus(app.status());
  const std::string ns = NamespaceOf(*app), name = NameOf(*app);
  if (absl::Status s = CheckProject(*app); !s.ok()) return ToGrpcStatus(s);
  if (req->validate() && options_.state != nullptr) {
    absl::StatusOr<repo::ManifestResponse> rendered = options_.state->Manifests(*app, "");
    if (!rendered.ok()) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          absl::StrCat("application spec for ", name,
                       " is invalid: InvalidSpecError: Unable to generate manifests: ",
                       rendered.status().message())));
    }
  }
  absl::StatusOr<json> existing = store_->GetObject(kApplication, ns, name);
  if (existing.ok()) {
    if (OwnedPart(*existing) == OwnedPart(*app)) return Reply(existing, reply);
    if (!req->upsert()) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          "existing application spec is different, use upsert flag to force update"));
    }
    return Reply(Mutate(ns, name, [&](json current) { return WithOwnedPart(current, *app); }),
                 reply);
  }
  if (!absl::IsNotFound(existing.status())) return ToGrpcStatus(existing.status());
  app->erase("status");
  app->erase("operation");
  return Reply(store_->CreateObject(kApplication, *std::move(app), false), reply);
}

grpc::Status ApplicationGrpcService::Get(grpc::ServerContext*, const v1::ApplicationQuery* req,
                                         v1::ApplicationReply* reply) {
  const std::string ns = NamespaceOr(req->app_namespace());
  if (req->refresh().empty()) return Reply(GetApp(ns, req->name()), reply);
  if (options_.state == nullptr) return ToGrpcStatus(ControllerNotRunning());
  absl::StatusOr<json> marked = Mutate(
      ns, req->name(), [&](json app) { return WithRefresh(std::move(app), req->refresh()); });
  if (!marked.ok()) return ToGrpcStatus(marked.status());
  return Reply(AwaitRefresh(ns, req->name()), reply);
}

grpc::Status ApplicationGrpcService::List(grpc::ServerContext*, const v1::ApplicationQuery* req,
                                          v1::ApplicationListReply* reply) {
  auto listed = store_->List(kApplication, req->app_namespace(), req->selector());
  if (!listed.ok()) return ToGrpcStatus(listed.status());
  const std::vector<std::string> projects(req->projects().begin(), req->projects().end());
  for (std::string& item : listed->first) {
    if (!projects.empty() || !req->repo().empty()) {
      absl::StatusOr<json> app = manifest::ParseJsonText(item);
      if (!app.ok() || !AppMatches(*app, projects, req->repo())) continue;
    }
    if (!req->name().empty()) {
      absl::StatusOr<json> app = manifest::ParseJsonText(item);
      if (!app.ok() || NameOf(*app) != req->name()) continue;
    }
    reply->add_items(std::move(item));
  }
  reply->set_resource_version(listed->second);
  return grpc::Status::OK;
}

grpc::Status ApplicationGrpcService::Watch(grpc::ServerContext* ctx,
                                           const v1::ApplicationQuery* req,
                                           grpc::ServerWriter<v1::ApplicationWatchEvent>* writer) {
  auto watch =
      store_->Watch(kApplication, req->app_namespace(), req->selector(), req->resource_version());
  if (!watch.ok()) return ToGrpcStatus(watch.status());
  const std::vector<std::string> projects(req->projects().begin(), req->projects().end());
  while (!ctx->IsCancelled()) {
    auto events = (*watch)->Next(absl::Now() + absl::Seconds(1));
    if (!events.ok()) return ToGrpcStatus(events.status());
    for (const resource::WatchEventOut& e : *events) {
      if (!req->name().empty() && NameOf(e.object) != req->name()) continue;
      if (!AppMatches(e.object, projects, req->repo())) continue;
      v1::ApplicationWatchEvent out;
      out.set_type(e.type);
      out.set_json(e.Json());
      if (!writer->Write(out)) return grpc::Status::OK;
    }
  }
  return grpc::Status::OK;
}

grpc::Status ApplicationGrpcService::Update(grpc::ServerContext*,
                                            const v1::ApplicationUpdateRequest* req,
                                            v1::ApplicationReply* reply) {
  absl::StatusOr<json> app = ParseApp(req->json());
  if (!app.ok()) return ToGrpcStatus(app.status());
  if (absl::Status s = CheckProject(*app); !s.ok()) return ToGrpcStatus(s);
  return Reply(Mutate(NamespaceOf(*app), NameOf(*app),
                      [&](json current) { return WithOwnedPart(std::move(current), *app); }),
               reply);
}

grpc::Status ApplicationGrpcService::UpdateSpec(grpc::ServerContext*,
                                                const v1::ApplicationUpdateSpecRequest* req,
                                                v1::ApplicationSpecReply* reply) {
  absl::StatusOr<json> spec = manifest::ParseJsonText(req->spec_json());
  if (!spec.ok()) return ToGrpcStatus(spec.status());
  if (!spec->is_object()) {
    return ToGrpcStatus(absl::InvalidArgumentError("spec: expected an object"));
  }
  if (Str(*spec, "project").empty()) (*spec)["project"] = validation::kDefaultProjectName;
  absl::StatusOr<json> written =
      Mutate(NamespaceOr(req->app_namespace()), req->name(), [&](json app) -> absl::StatusOr<json> {
        app["spec"] = *spec;
        RETURN_IF_ERROR(CheckProject(app));
        return app;
      });
  if (!written.ok()) return ToGrpcStatus(written.status());
  reply->set_json(manifest::ToJsonText(Field(*written, "spec"), false));
  return grpc::Status::OK;
}

grpc::Status ApplicationGrpcService::Delete(grpc::ServerContext*,
                                            const v1::ApplicationDeleteRequest* req,
                                            v1::ApplicationDeleteReply*) {
  const std::string ns = NamespaceOr(req->app_namespace());
  const bool cascade = !req->has_cascade() || req->cascade();
  if (cascade && options_.state != nullptr) {
    // As Argo CD: the finalizer makes the controller delete the app's resources first; it then
    // removes the finalizer and the app. The store has no deletion grace, so the API marks the
    // deletion itself.
    const std::string finalizer = req->propagation_policy() == "background"
                                      ? absl::StrCat(kResourcesFinalizer, "/background")
                                      : std::string(kResourcesFinalizer);
    absl::StatusOr<json> marked = Mutate(ns, req->name(), [&](json app) -> absl::StatusOr<json> {
      json& meta = app["metadata"];
      bool has = false;
      if (meta["finalizers"].is_array()) {
        for (const json& f : meta["finalizers"]) has = has || f == finalizer;
      } else {
        meta["finalizers"] = json::array();
      }
      if (!has) meta["finalizers"].push_back(finalizer);
      if (Str(meta, "deletionTimestamp").empty()) {
        meta["deletionTimestamp"] =
            absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
      }
      return app;
    });
    return ToGrpcStatus(marked.status());
  }
  // Not cascading: the resources stay, so no finalizer may hold the app.
  absl::StatusOr<json> plain = Mutate(ns, req->name(), [](json app) {
    json& meta = app["metadata"];
    if (meta["finalizers"].is_array()) {
      json kept = json::array();
      for (const json& f : meta["finalizers"]) {
        if (!f.is_string() || !absl::StartsWith(f.get<std::string>(), kResourcesFinalizer)) {
          kept.push_back(f);
        }
      }
      meta["finalizers"] = kept;
    } else {
      meta.erase("finalizers");
    }
    return absl::StatusOr<json>(app);
  });
  if (!plain.ok()) return ToGrpcStatus(plain.status());
  return ToGrpcStatus(store_->Delete(kApplication, ns, req->name(), ""));
}

grpc::Status ApplicationGrpcService::Sync(grpc::ServerContext*,
                                          const v1::ApplicationSyncRequest* req,
                                          v1::ApplicationReply* reply) {
  SyncParams params{.revision = req->revision(),
                    .prune = req->prune(),
                    .dry_run = req->dry_run(),
                    .force = req->force(),
                    .strategy = req->strategy(),
                    .username = req->username()};
  for (const v1::SyncResource& r : req->resources()) {
    json res = {{"group", r.group()}, {"kind", r.kind()}, {"name", r.name()}};
    if (!r.namespace_().empty()) res["namespace"] = r.namespace_();
    params.resources.push_back(std::move(res));
  }
  params.sync_options.assign(req->sync_options().begin(), req->sync_options().end());
  if (!req->retry_json().empty()) {
    absl::StatusOr<json> retry = manifest::ParseJsonText(req->retry_json());
    if (!retry.ok() || !retry->is_object()) {
      return ToGrpcStatus(absl::InvalidArgumentError("retryStrategy: expected an object"));
    }
    params.retry = *retry;
  }
  return Reply(Mutate(NamespaceOr(req->app_namespace()), req->name(),
                      [&](json app) -> absl::StatusOr<json> {
                        RETURN_IF_ERROR(CheckManualSyncWindows(store_, app, absl::Now()));
                        return WithSyncOperation(std::move(app), params);
                      }),
               reply);
}

grpc::Status ApplicationGrpcService::Rollback(grpc::ServerContext*,
                                              const v1::ApplicationRollbackRequest* req,
                                              v1::ApplicationReply* reply) {
  return Reply(Mutate(NamespaceOr(req->app_namespace()), req->name(),
                      [&](json app) {
                        return WithRollbackOperation(std::move(app), req->id(), req->prune(),
                                                     req->dry_run(), "");
                      }),
               reply);
}

grpc::Status ApplicationGrpcService::TerminateOperation(grpc::ServerContext*,
                                                        const v1::ApplicationName* req,
                                                        v1::OperationTerminateReply*) {
  return ToGrpcStatus(Mutate(NamespaceOr(req->app_namespace()), req->name(), [](json app) {
                        return WithOperationTerminated(std::move(app));
                      }).status());
}

grpc::Status ApplicationGrpcService::ResourceTree(grpc::ServerContext*,
                                                  const v1::ResourcesQuery* req,
                                                  v1::ResourceTreeReply* reply) {
  absl::StatusOr<json> app = GetApp(NamespaceOr(req->app_namespace()), req->application_name());
  if (!app.ok()) return ToGrpcStatus(app.status());
  std::vector<json> live, owned;
  std::set<std::string> owner_namespaces;
  const json& resources = Field(Field(*app, "status"), "resources");
  if (resources.is_array()) {
    for (const json& r : resources) {
      const std::string kind = Str(r, "kind");
      if (kind == "Deployment" || kind == "ReplicaSet" || kind == "StatefulSet" ||
          kind == "DaemonSet" || kind == "Rollout" || kind == "Job") {
        owner_namespaces.insert(Str(r, "namespace"));
      }
      if (options_.state == nullptr) continue;
      absl::StatusOr<json> obj = options_.state->LiveObject(
          engine::ResourceKey{Str(r, "group"), kind, Str(r, "namespace"), Str(r, "name")});
      if (obj.ok() && obj->is_object()) live.push_back(*std::move(obj));
    }
  }
  if (options_.cluster != nullptr) {
    // Children are looked up only where an owner kind lives: cheap for the common app.
    for (const std::string& ns : owner_namespaces) {
      for (const char* kind : {"ReplicaSet", "Pod"}) {
        absl::StatusOr<std::vector<json>> objs = options_.cluster->List(kind, ns, "");
        if (!objs.ok()) continue;
        for (json& o : *objs) owned.push_back(std::move(o));
      }
    }
  }
  reply->set_json(manifest::ToJsonText(BuildResourceTree(*app, live, owned), false));
  return grpc::Status::OK;
}

grpc::Status ApplicationGrpcService::GetManifests(grpc::ServerContext*,
                                                  const v1::ApplicationManifestQuery* req,
                                                  v1::ManifestReply* reply) {
  if (options_.state == nullptr) return ToGrpcStatus(ControllerNotRunning());
  absl::StatusOr<json> app = GetApp(NamespaceOr(req->app_namespace()), req->name());
  if (!app.ok()) return ToGrpcStatus(app.status());
  absl::StatusOr<repo::ManifestResponse> rendered =
      options_.state->Manifests(*app, req->revision());
  if (!rendered.ok()) return ToGrpcStatus(rendered.status());
  for (const json& m : rendered->manifests) reply->add_manifests(manifest::ToJsonText(m, false));
  reply->set_revision(rendered->revision);
  reply->set_source_type(rendered->source_type);
  const json& dest = Field(Field(*app, "spec"), "destination");
  reply->set_namespace_(Str(dest, "namespace"));
  reply->set_server(Str(dest, "server"));
  return grpc::Status::OK;
}

grpc::Status ApplicationGrpcService::Webhook(grpc::ServerContext*, const v1::WebhookRequest* req,
                                             v1::WebhookReply* reply) {
  if (options_.state == nullptr) return ToGrpcStatus(ControllerNotRunning());
  const std::map<std::string, std::string> headers(req->headers().begin(), req->headers().end());
  absl::StatusOr<repo::PushEvent> event =
      repo::ParseWebhook(headers, req->body(), options_.webhook_secrets);
  if (!event.ok()) return ToGrpcStatus(event.status());
  for (const std::string& url : event->repo_urls) reply->add_repo_urls(url);
  reply->set_revision(event->revision);
  if (event->repo_urls.empty()) return grpc::Status::OK;  // a ping, not a push
  return ToGrpcStatus(options_.state->OnPush(*event));
}

}  // namespace argonaut::cd::api
