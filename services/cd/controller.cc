#include "services/cd/controller.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "argonaut/cd/v1/cd.pb.h"
#include "lib/base/json_fields.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/api_cluster.h"
#include "lib/manifest/codec.h"
#include "services/cd/engine/autosync.h"
#include "services/cd/engine/sync_step.h"
#include "services/cd/engine/sync_tasks.h"
#include "services/cd/engine/sync_windows.h"
#include "services/cd/engine/tracking.h"
#include "services/cd/sync_runner.h"
#include "services/cd/validation/validate.h"

namespace argonaut::cd {
namespace {

using base::json_fields::Field;
using base::json_fields::ObjectAt;
using base::json_fields::Str;
using nlohmann::json;

constexpr char kLog[] = "cd-controller";
constexpr char kApplication[] = "Application";
constexpr char kAppProject[] = "AppProject";
// While an operation runs with nothing else to wake it (a hook that reports
// no health change), look again this often.
constexpr absl::Duration kOperationPoll = absl::Seconds(2);
// Attempts to carry a reconcile's status over to an app the API changed
// meanwhile.
constexpr int kMergeRetries = 3;

std::pair<std::string, std::string> SplitKey(const std::string& key) {
  const size_t slash = key.find('/');
  if (slash == std::string::npos) return {"default", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

std::string Annotation(const json& o, const char* key) {
  return Str(Field(Field(o, "metadata"), "annotations"), key);
}

std::string AppKey(const json& app) { return cluster::KeyOf(app); }

// The app's sources as a list: spec.sources, else [spec.source].
json SourcesOf(const json& app) {
  const json& spec = Field(app, "spec");
  if (Field(spec, "sources").is_array()) return spec["sources"];
  if (Field(spec, "source").is_object()) return json::array({spec["source"]});
  return json::array();
}

bool MultiSource(const json& app) { return Field(Field(app, "spec"), "sources").is_array(); }

json Condition(const std::string& type, const std::string& message) {
  return json{{"type", type}, {"message", message}};
}

// The new conditions, each keeping its lastTransitionTime when it was
// already there with the same message.
json MergeConditions(const json& old, const std::vector<json>& now_conditions, absl::Time now) {
  json out = json::array();
  for (json c : now_conditions) {
    std::string since;
    if (old.is_array()) {
      for (const json& o : old) {
        if (Str(o, "type") == Str(c, "type") && Str(o, "message") == Str(c, "message")) {
          since = Str(o, "lastTransitionTime");
        }
      }
    }
    c["lastTransitionTime"] = since.empty() ? engine::FormatK8sTime(now) : since;
    out.push_back(std::move(c));
  }
  return out;
}

// The app as the store keeps it: the typed proto drops zero scalars, false
// flags and empty lists, so a status built here and the same status read
// back differ unless both are put in that form. Comparing raw JSON made
// every reconcile see a change, write, and wake itself again.
json Canonical(const json& app) {
  ::argonaut::cd::v1::Application msg;
  if (!manifest::FromJson(app, &msg).ok()) return app;
  return manifest::ToJson(msg);
}

json WithoutTimes(json status) {
  if (status.is_object()) {
    status.erase("reconciledAt");
    status.erase("observedAt");
  }
  return status;
}

json WithoutStatusAndVersion(json app) {
  app.erase("status");
  if (app.contains("metadata") && app["metadata"].is_object()) {
    app["metadata"].erase("resourceVersion");
  }
  return app;
}

bool OperationRunning(const json& app) {
  const std::string phase = Str(Field(Field(app, "status"), "operationState"), "phase");
  return phase == "Running" || phase == "Terminating";
}

// The app a live object names: its tracking annotation "<app>:..." or its
// instance label.
std::string OwningApp(const json& obj) {
  const std::string id = Annotation(obj, engine::kTrackingAnnotation);
  if (const size_t colon = id.find(':'); colon != std::string::npos) return id.substr(0, colon);
  return Str(Field(Field(obj, "metadata"), "labels"), engine::kInstanceLabel);
}

}  // namespace

CdController::CdController(resource::ResourceApi* apps, cluster::Cluster* destination,
                           repo::RepoServer* repos, repo::RepositoryStore* repositories,
                           CdControllerOptions options)
    : apps_(apps),
      destination_(destination),
      repos_(repos),
      repositories_(repositories),
      options_(options),
      clock_(options.clock != nullptr ? options.clock : controller::RealClock::Get()) {}

CdController::~CdController() { Stop(); }

absl::Status CdController::Start() {
  if (options_.metrics != nullptr) {
    ASSIGN_OR_RETURN(metrics_, AppMetrics::Create(*options_.metrics));
  }
  // Argo CD's `default` project always exists.
  absl::StatusOr<json> project =
      apps_->GetObject(kAppProject, kArgoCdNamespace, validation::kDefaultProjectName);
  if (absl::IsNotFound(project.status())) {
    absl::StatusOr<json> created =
        apps_->CreateObject(kAppProject, validation::DefaultProject(kArgoCdNamespace), false);
    if (!created.ok() && !absl::IsAlreadyExists(created.status())) {
      return absl::Status(created.status().code(), absl::StrCat("creating the default AppProject: ",
                                                                created.status().message()));
    }
  } else if (!project.ok()) {
    return project.status();
  }

  controller::ControllerOptions copts{.name = "application",
                                      .workers = options_.workers,
                                      .list_keys = [this] { return AllAppKeys(); },
                                      .resync_period = options_.resync_period};
  controller_ = std::make_unique<controller::Controller>(std::move(copts), this);
  RETURN_IF_ERROR(controller_->Start());

  informers_.push_back(std::make_unique<cluster::Informer>(
      apps_, kApplication, [this](const cluster::WatchEvent& e) {
        const bool deleted = e.type == "DELETED";
        TrackApp(e.object, deleted);
        if (metrics_) metrics_->ObserveApp(e.object, deleted);
        controller_->Enqueue(AppKey(e.object));
      }));
  informers_.push_back(
      std::make_unique<cluster::Informer>(apps_, kAppProject, [this](const cluster::WatchEvent&) {
        for (const std::string& key : AllAppKeys()) controller_->Enqueue(key);
      }));
  for (auto& informer : informers_) informer->Start();
  poll_thread_ = std::thread([this] { PollLoop(); });
  return absl::OkStatus();
}

void CdController::Stop() {
  std::vector<std::unique_ptr<cluster::Informer>> live;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    live.swap(live_informers_);
  }
  if (poll_thread_.joinable()) poll_thread_.join();
  // Outside mu_: a handler may be waiting for it.
  for (auto& i : live) i->Stop();
  for (auto& i : informers_) i->Stop();
  informers_.clear();
  if (controller_) controller_->Stop();
}

void CdController::Enqueue(const std::string& key) {
  if (controller_) controller_->Enqueue(key);
}

std::vector<std::string> CdController::AllAppKeys() {
  std::vector<std::string> keys;
  absl::StatusOr<std::vector<json>> listed = apps_->ListObjects(kApplication, "", "");
  if (!listed.ok()) return keys;
  for (const json& app : *listed) keys.push_back(AppKey(app));
  return keys;
}

void CdController::TrackApp(const json& app, bool deleted) {
  const std::string key = AppKey(app);
  const std::string name = cluster::NameOf(app);
  absl::MutexLock lock(&mu_);
  if (deleted) {
    auto it = keys_by_name_.find(name);
    if (it != keys_by_name_.end()) {
      it->second.erase(key);
      if (it->second.empty()) keys_by_name_.erase(it);
    }
    resolved_at_.erase(key);
    return;
  }
  keys_by_name_[name].insert(key);
}

void CdController::OnLiveEvent(const cluster::WatchEvent& e) {
  const std::string app = OwningApp(e.object);
  if (app.empty()) return;
  std::set<std::string> keys;
  {
    absl::MutexLock lock(&mu_);
    auto it = keys_by_name_.find(app);
    if (it == keys_by_name_.end()) return;
    keys = it->second;
  }
  for (const std::string& key : keys) controller_->Enqueue(key);
}

void CdController::WatchKinds(const KindSet& kinds) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  for (const auto& gk : kinds) {
    if (!watched_.insert(gk).second) continue;
    const std::string kind = gk.second;
    auto informer = std::make_unique<cluster::Informer>(
        absl::StrCat("cd live ", kind),
        [this, kind](const std::string& rv) {
          return destination_->WatchObjects(kind, "", engine::kInstanceLabel, rv);
        },
        [this](const cluster::WatchEvent& e) { OnLiveEvent(e); });
    informer->Start();
    live_informers_.push_back(std::move(informer));
  }
}

void CdController::PollLoop() {
  absl::MutexLock lock(&mu_);
  absl::Time next = clock_->Now() + options_.repo_poll_interval;
  while (!stopping_) {
    if (clock_->AwaitWithDeadline(&mu_, absl::Condition(&stopping_), next)) break;
    next += options_.repo_poll_interval;
    // Every app, not only those due: PollDue decides in the reconcile.
    std::set<std::string> keys;
    for (const auto& [name, app_keys] : keys_by_name_)
      keys.insert(app_keys.begin(), app_keys.end());
    for (const std::string& key : keys) controller_->Enqueue(key);
  }
}

bool CdController::PollDue(const std::string& key) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  auto it = resolved_at_.find(key);
  return it == resolved_at_.end() || now - it->second >= options_.repo_poll_interval;
}

void CdController::MarkResolved(const std::string& key) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  resolved_at_[key] = now;
}

absl::StatusOr<controller::Result> CdController::Reconcile(const std::string& key) {
  const absl::Time start = absl::Now();
  auto [ns, name] = SplitKey(key);
  json observed;
  absl::StatusOr<controller::Result> result = ReconcileApp(ns, name, observed);
  if (!result.ok() && !absl::IsAborted(result.status())) {
    LogWarn(kLog, "reconcile failed",
            {{"application", key}, {"error", std::string(result.status().message())}});
  }
  if (metrics_ && observed.is_object()) metrics_->ObserveReconcile(observed, absl::Now() - start);
  return result;
}

absl::StatusOr<json> CdController::Project(const json& app) {
  std::string name = Str(Field(app, "spec"), "project");
  if (name.empty()) name = validation::kDefaultProjectName;
  const std::string app_ns = cluster::NamespaceOf(app);
  std::vector<std::string> namespaces = {app_ns};
  if (app_ns != kArgoCdNamespace) namespaces.push_back(kArgoCdNamespace);
  for (const std::string& ns : namespaces) {
    absl::StatusOr<json> p = apps_->GetObject(kAppProject, ns, name);
    if (p.ok() || !absl::IsNotFound(p.status())) return p;
  }
  if (name == validation::kDefaultProjectName) {
    absl::StatusOr<json> created =
        apps_->CreateObject(kAppProject, validation::DefaultProject(app_ns), false);
    if (absl::IsAlreadyExists(created.status())) return apps_->GetObject(kAppProject, app_ns, name);
    return created;
  }
  return absl::NotFoundError(
      absl::StrCat("application references project ", name, " which does not exist"));
}

engine::HealthScripts CdController::Scripts() {
  absl::StatusOr<json> cm = destination_->Get("ConfigMap", kArgoCdNamespace, "argocd-cm");
  if (!cm.ok()) return engine::HealthScripts::FromConfigMap(json::object());
  const json& data = Field(*cm, "data");
  return engine::HealthScripts::FromConfigMap(data.is_object() ? data : json::object());
}

absl::StatusOr<repo::ManifestResponse> CdController::RenderSources(const json& app,
                                                                   const RenderOptions& options) {
  const json sources = options.sources.is_array() ? options.sources : SourcesOf(app);
  if (sources.empty()) return absl::InvalidArgumentError("spec.source: required");
  repo::ManifestResponse out;
  const std::string name = cluster::NameOf(app);
  const std::string dest_ns = DestinationNamespace(app);
  for (size_t i = 0; i < sources.size(); ++i) {
    const json& source = sources[i];
    repo::ManifestRequest req;
    req.repo_url = Str(source, "repoURL");
    req.target_revision = Str(source, "targetRevision");
    if (i == 0 && !options.revision.empty()) req.target_revision = options.revision;
    req.path = Str(source, "path");
    req.source = source;
    req.app_name = name;
    req.dest_namespace = dest_ns;
    if (repositories_ != nullptr) req.creds = repositories_->CredentialsFor(req.repo_url);
    req.no_cache = options.no_cache;
    req.force_resolve = options.force_resolve;
    absl::StatusOr<repo::ManifestResponse> r = repos_->GenerateManifests(req);
    if (!r.ok()) {
      return absl::Status(r.status().code(),
                          absl::StrCat("Failed to load target state: failed to generate manifest "
                                       "for source ",
                                       i + 1, " of ", sources.size(), ": ", r.status().message()));
    }
    if (i == 0) {
      out.revision = r->revision;
      out.source_type = r->source_type;
      out.commit_message = r->commit_message;
      out.author = r->author;
    }
    for (json& m : r->manifests) out.manifests.push_back(std::move(m));
  }
  return out;
}

CdController::Rendered CdController::Render(const json& app, const RenderOptions& options) {
  Rendered out;
  const json sources = options.sources.is_array() ? options.sources : SourcesOf(app);
  // One source at a time, so that each source's revision and type are known.
  for (size_t i = 0; i < sources.size(); ++i) {
    RenderOptions one = options;
    one.sources = json::array({sources[i]});
    if (i > 0) one.revision.clear();
    absl::StatusOr<repo::ManifestResponse> r = RenderSources(app, one);
    if (!r.ok()) {
      std::string message(r.status().message());
      if (sources.size() > 1) {
        // RenderSources numbered it "1 of 1": say which source it was.
        const std::string one_of_one = "source 1 of 1";
        if (size_t at = message.find(one_of_one); at != std::string::npos) {
          message.replace(at, one_of_one.size(),
                          absl::StrCat("source ", i + 1, " of ", sources.size()));
        }
      }
      out.error = std::move(message);
      out.targets.clear();
      return out;
    }
    if (i == 0) out.revision = r->revision;
    out.revisions.push_back(r->revision);
    out.source_types.push_back(r->source_type);
    for (const json& m : r->manifests) {
      if (!m.is_object()) continue;
      out.targets.push_back(
          engine::PrepareTarget(m, cluster::NameOf(app), DestinationNamespace(app)));
    }
  }
  if (sources.empty()) out.error = "spec.source: required";
  return out;
}

absl::StatusOr<std::vector<json>> CdController::Live(const json& app,
                                                     const std::vector<json>& targets) {
  KindSet kinds;
  AddKinds(targets, kinds);
  const json& status = Field(app, "status");
  AddStatusKinds(Field(status, "resources"), kinds);
  AddStatusKinds(Field(Field(Field(status, "operationState"), "syncResult"), "resources"), kinds);
  KindSet served;
  absl::StatusOr<std::vector<json>> live =
      ListLive(*destination_, cluster::NameOf(app), kinds, &served);
  WatchKinds(served);
  return live;
}

absl::StatusOr<controller::Result> CdController::ReconcileApp(const std::string& ns,
                                                              const std::string& name,
                                                              json& observed) {
  absl::StatusOr<json> got = apps_->GetObject(kApplication, ns, name);
  if (absl::IsNotFound(got.status())) return controller::Result{};
  RETURN_IF_ERROR(got.status());
  const json app = std::move(*got);
  observed = app;
  if (!Str(Field(app, "metadata"), "deletionTimestamp").empty()) return Finalize(app);

  const std::string key = AppKey(app);
  const absl::Time now = clock_->Now();
  json next = app;
  json& status = ObjectAt(next, "status");
  const json old_conditions = Field(Field(app, "status"), "conditions");
  std::vector<json> conditions;
  controller::Result result;

  const std::string refresh = Annotation(app, kRefreshAnnotation);
  const bool poll_due = PollDue(key);
  if (!refresh.empty()) {
    json& annotations = next["metadata"]["annotations"];
    annotations.erase(kRefreshAnnotation);
    if (annotations.empty()) next["metadata"].erase("annotations");
  }

  // Project and destination first: nothing is rendered or written for an
  // app its project does not permit, nor for a cluster this service is not.
  std::string spec_error;
  absl::StatusOr<json> project = Project(app);
  if (!project.ok()) {
    spec_error = std::string(project.status().message());
  } else if (absl::Status s = validation::CheckApplication(app, *project); !s.ok()) {
    spec_error = std::string(s.message());
  } else if (absl::Status d = CheckDestination(app); !d.ok()) {
    spec_error = std::string(d.message());
  }
  if (!spec_error.empty()) {
    conditions.push_back(Condition("InvalidSpecError", spec_error));
    status["sync"] = json{{"status", "Unknown"}};
    status["health"] = json{{"status", engine::kUnknown}};
    if (Field(next, "operation").is_object()) {
      json state = Field(status, "operationState");
      if (!OperationRunning(app)) {
        state = json{{"operation", next["operation"]}, {"startedAt", engine::FormatK8sTime(now)}};
      }
      state["phase"] = "Failed";
      state["message"] = spec_error;
      state["finishedAt"] = engine::FormatK8sTime(now);
      status["operationState"] = std::move(state);
      if (metrics_) metrics_->CountSync(next, "Failed", false);
      next.erase("operation");
    }
  } else {
    Rendered current =
        Render(app, {.force_resolve = !refresh.empty() || poll_due, .no_cache = refresh == "hard"});
    if (current.error.empty() && (!refresh.empty() || poll_due)) MarkResolved(key);
    ASSIGN_OR_RETURN(std::vector<json> live, Live(app, current.targets));
    const engine::HealthScripts scripts = Scripts();
    engine::CompareResult compared = engine::Compare(engine::CompareInput{
        .app = &app,
        .targets = current.targets,
        .live = std::move(live),
        .revision = current.revision,
        .generation_error = current.error,
        .scripts = &scripts,
    });
    status["sync"] = compared.sync;
    status["health"] = compared.health;
    status["resources"] = compared.resources_status;
    ObjectAt(status, "summary")["images"] = compared.images;
    if (!current.source_types.empty()) {
      if (MultiSource(app)) {
        status["sourceTypes"] = current.source_types;
      } else {
        status["sourceType"] = current.source_types[0];
      }
    }
    // ComparisonError (generation failed) and the engine's warnings.
    for (const json& c : compared.conditions) conditions.push_back(c);

    if (Field(next, "operation").is_object()) {
      ASSIGN_OR_RETURN(result, RunOperation(next, current, scripts));
    } else {
      engine::AutoSyncDecision decision = engine::DecideAutoSync(next, compared, now);
      if (decision.operation) {
        // Argo CD: an automated sync waits until the project's sync windows allow it. They
        // open on minute boundaries, so look again in a minute.
        const engine::SyncWindowsState windows = engine::EvaluateSyncWindows(*project, app, now);
        if (!windows.automated_allowed) {
          LogInfo(kLog, "Sync prevented by sync window",
                  {{"application", key}, {"error", std::string(windows.error.message())}});
          decision.operation.reset();
          decision.retry_after = absl::Minutes(1);
        }
      }
      if (decision.operation) {
        next["operation"] = *decision.operation;
        LogInfo(kLog, "initiating automated sync",
                {{"application", key}, {"reason", decision.reason}});
      } else {
        if (decision.retry_after) result.requeue_after = *decision.retry_after;
        if (decision.sync_error) conditions.push_back(Condition("SyncError", decision.reason));
      }
    }
  }
  status["conditions"] = MergeConditions(old_conditions, conditions, now);
  if (status["conditions"].empty()) status.erase("conditions");

  const json before = Canonical(app);
  const json after = Canonical(next);
  const bool changed =
      WithoutTimes(Field(before, "status")) != WithoutTimes(Field(after, "status")) ||
      WithoutStatusAndVersion(before) != WithoutStatusAndVersion(after);
  if (!changed && refresh.empty() && !poll_due) return result;
  status["reconciledAt"] = engine::FormatK8sTime(now);
  status["observedAt"] = engine::FormatK8sTime(now);
  RETURN_IF_ERROR(WriteMerging(app, std::move(next)));
  return result;
}

absl::Status CdController::WriteMerging(const json& app, json next) {
  absl::Status s = Write(app, next);
  // The API wrote the app meanwhile (a refresh request, a spec edit). What a
  // sync step did must not be lost (it ran actions): carry this reconcile's
  // status over to the fresh app, unless the operation itself changed
  // (terminated, replaced), which the next reconcile then sees.
  for (int attempt = 0; absl::IsAborted(s) && attempt < kMergeRetries; ++attempt) {
    absl::StatusOr<json> fresh =
        apps_->GetObject(kApplication, cluster::NamespaceOf(app), cluster::NameOf(app));
    if (!fresh.ok()) return fresh.status();
    const json& fresh_state = Field(Field(*fresh, "status"), "operationState");
    if (Field(*fresh, "operation") != Field(app, "operation") ||
        fresh_state != Field(Field(app, "status"), "operationState") ||
        !Str(Field(*fresh, "metadata"), "deletionTimestamp").empty()) {
      return s;
    }
    json merged = *fresh;
    merged["status"] = next["status"];
    if (next.contains("operation")) {
      merged["operation"] = next["operation"];
    } else {
      merged.erase("operation");
    }
    // The refresh this reconcile handled goes; a newer request stays.
    const std::string seen = Annotation(app, kRefreshAnnotation);
    if (!seen.empty() && Annotation(merged, kRefreshAnnotation) == seen) {
      json& annotations = merged["metadata"]["annotations"];
      annotations.erase(kRefreshAnnotation);
      if (annotations.empty()) merged["metadata"].erase("annotations");
    }
    const json base = *fresh;
    next = std::move(merged);
    s = Write(base, next);
  }
  if (s.ok() && metrics_) metrics_->ObserveApp(next, false);
  return s;
}

absl::StatusOr<controller::Result> CdController::RunOperation(
    json& next, const Rendered& current, const engine::HealthScripts& scripts) {
  const absl::Time now = clock_->Now();
  const json& sync = Field(Field(next, "operation"), "sync");
  json& status = next["status"];
  // The revision: the one this operation resolved on its first step, else
  // the one it asks for, else the target's (already rendered).
  std::string revision;
  if (OperationRunning(next)) {
    revision = Str(Field(Field(status, "operationState"), "syncResult"), "revision");
  }
  if (revision.empty()) revision = Str(sync, "revision");
  json sources;
  if (Field(sync, "sources").is_array()) {
    sources = sync["sources"];
  } else if (Field(sync, "source").is_object()) {
    sources = json::array({sync["source"]});
  }
  Rendered at = (revision.empty() && sources.is_null())
                    ? current
                    : Render(next, {.revision = revision, .sources = sources});
  if (!at.error.empty()) {
    json state = Field(status, "operationState");
    if (!OperationRunning(next)) {
      state = json{{"operation", next["operation"]}, {"startedAt", engine::FormatK8sTime(now)}};
    }
    state["phase"] = "Error";
    state["message"] = at.error;
    state["finishedAt"] = engine::FormatK8sTime(now);
    status["operationState"] = std::move(state);
    if (metrics_) metrics_->CountSync(next, "Error", Field(sync, "dryRun") == true);
    next.erase("operation");
    return controller::Result{};
  }
  std::vector<json> targets = at.targets;
  for (const json& t : current.targets) targets.push_back(t);
  ASSIGN_OR_RETURN(std::vector<json> live, Live(next, targets));
  engine::SyncStepOutput out = engine::SyncStep(engine::SyncStepInput{
      .app = &next,
      .targets = at.targets,
      .revision = at.revision,
      .live = std::move(live),
      .scripts = &scripts,
      .now = now,
  });
  json state = std::move(out.operation_state);
  const int failed = ExecuteActions(*destination_, out.actions, state);
  if (failed > 0) {
    LogWarn(kLog, "sync actions failed",
            {{"application", AppKey(next)}, {"failed", absl::StrCat(failed)}});
  }
  status["operationState"] = std::move(state);
  if (out.history_entry) AppendHistory(status, *out.history_entry, HistoryLimit(next));
  controller::Result result;
  if (out.done) {
    if (metrics_) {
      metrics_->CountSync(next, Str(status["operationState"], "phase"),
                          Field(sync, "dryRun") == true);
    }
    next.erase("operation");
  } else {
    result.requeue_after = out.requeue_after.value_or(kOperationPoll);
    if (failed > 0) result.requeue_after = absl::ZeroDuration();
  }
  return result;
}

absl::StatusOr<controller::Result> CdController::Finalize(const json& app) {
  const std::string ns = cluster::NamespaceOf(app);
  const std::string name = cluster::NameOf(app);
  json finalizers = Field(Field(app, "metadata"), "finalizers");
  if (!finalizers.is_array()) finalizers = json::array();
  bool cascade = false;
  json others = json::array();
  for (const json& f : finalizers) {
    if (f == kResourcesFinalizer || f == kResourcesFinalizerBackground) {
      cascade = true;
    } else {
      others.push_back(f);
    }
  }
  if (cascade) {
    KindSet kinds;
    const json& status = Field(app, "status");
    AddStatusKinds(Field(status, "resources"), kinds);
    AddStatusKinds(Field(Field(Field(status, "operationState"), "syncResult"), "resources"), kinds);
    ASSIGN_OR_RETURN(std::vector<json> live, ListLive(*destination_, name, kinds));
    std::vector<json> doomed;
    for (json& o : live) {
      if (engine::ResourceSyncOption(o, "Delete") == std::optional<std::string>("false")) continue;
      doomed.push_back(std::move(o));
    }
    if (!doomed.empty()) {
      // Argo CD deletes wave by wave, the highest first.
      int top = engine::SyncWave(doomed[0]);
      for (const json& o : doomed) top = std::max(top, engine::SyncWave(o));
      for (const json& o : doomed) {
        if (engine::SyncWave(o) != top) continue;
        if (!Str(Field(o, "metadata"), "deletionTimestamp").empty()) continue;
        absl::Status s =
            destination_->Delete(cluster::KindOf(o), cluster::NamespaceOf(o), cluster::NameOf(o));
        if (!s.ok() && !absl::IsNotFound(s)) return s;
      }
      return controller::Result{.requeue_after = options_.delete_poll};
    }
    json next = app;
    next["metadata"]["finalizers"] = others;
    if (others.empty()) next["metadata"].erase("finalizers");
    RETURN_IF_ERROR(apps_->UpdateObject(kApplication, next).status());
    finalizers = others;
  }
  if (finalizers.empty()) {
    absl::Status s = apps_->Delete(kApplication, ns, name, "");
    if (!s.ok() && !absl::IsNotFound(s)) return s;
    if (metrics_) metrics_->ObserveApp(app, true);
  }
  return controller::Result{};
}

absl::Status CdController::Write(const json& before, json after) {
  ASSIGN_OR_RETURN(const resource::KindInfo* kind, apps_->Resolve(kApplication));
  if (!kind->status_subresource) return apps_->UpdateObject(kApplication, after).status();
  if (Field(before, "status") != Field(after, "status")) {
    ASSIGN_OR_RETURN(json stored, apps_->UpdateStatusObject(kApplication, after));
    after["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"];
  }
  if (WithoutStatusAndVersion(before) != WithoutStatusAndVersion(after)) {
    RETURN_IF_ERROR(apps_->UpdateObject(kApplication, after).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<repo::ManifestResponse> CdController::Manifests(const json& app,
                                                               std::string_view revision) {
  return RenderSources(app, {.revision = std::string(revision)});
}

absl::StatusOr<engine::CompareResult> CdController::CompareNow(const json& app) {
  Rendered current = Render(app, {});
  ASSIGN_OR_RETURN(std::vector<json> live, Live(app, current.targets));
  const engine::HealthScripts scripts = Scripts();
  return engine::Compare(engine::CompareInput{
      .app = &app,
      .targets = std::move(current.targets),
      .live = std::move(live),
      .revision = current.revision,
      .generation_error = current.error,
      .scripts = &scripts,
  });
}

absl::StatusOr<json> CdController::LiveObject(const engine::ResourceKey& key) {
  return destination_->Get(key.kind, key.ns, key.name);
}

absl::Status CdController::OnPush(const repo::PushEvent& event) {
  for (const std::string& url : event.repo_urls) repos_->InvalidateRevisions(url);
  ASSIGN_OR_RETURN(std::vector<json> apps, apps_->ListObjects(kApplication, "", ""));
  for (const json& app : apps) {
    bool matches = false;
    for (const json& source : SourcesOf(app)) {
      for (const std::string& url : event.repo_urls) {
        if (repo::SameRepo(Str(source, "repoURL"), url)) matches = true;
      }
    }
    if (!matches) continue;
    const std::string key = AppKey(app);
    {
      absl::MutexLock lock(&mu_);
      resolved_at_.erase(key);  // the next reconcile resolves the revision again
    }
    Enqueue(key);
  }
  return absl::OkStatus();
}

}  // namespace argonaut::cd
