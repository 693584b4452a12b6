#include "services/workflow/controller.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/json_text.h"
#include "services/workflow/artifact_repository.h"
#include "services/workflow/configmap_parameters.h"
#include "services/workflow/engine/nodes.h"
#include "services/workflow/metrics.h"

namespace argonaut::workflow {
namespace {

using nlohmann::json;

std::pair<std::string, std::string> SplitKey(const std::string& key) {
  const size_t slash = key.find('/');
  return {key.substr(0, slash), key.substr(slash + 1)};
}

absl::Time TimeAt(const json& obj, const char* key) {
  absl::Time t = absl::InfinitePast();
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_string()) return t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, obj[key].get<std::string>(), &t, &err)) {
    return absl::InfinitePast();
  }
  return t;
}

bool Completed(const json& wf) {
  return engine::PhaseCompleted(wf.value("status", json::object()).value("phase", ""));
}

// A status the store refuses (over its 8 MiB object limit) would be retried forever. As Argo
// does with a workflow too large to persist: the stored status stays and the workflow ends in
// Error with the reason. A failure here is returned, and the key retried.
absl::StatusOr<json> FailUnstorableStatus(resource::ResourceApi& api, const std::string& ns,
                                          const std::string& name, const absl::Status& why,
                                          absl::Time now) {
  ASSIGN_OR_RETURN(json wf, api.GetObject("Workflow", ns, name));
  json& status = wf["status"];
  if (!status.is_object()) status = json::object();
  status["phase"] = "Error";
  status["message"] = absl::StrCat("workflow status cannot be stored: ", why.message());
  if (!status.contains("finishedAt") || !status["finishedAt"].is_string()) {
    status["finishedAt"] = engine::FormatTimestamp(now);
  }
  json& labels = wf["metadata"]["labels"];
  labels[kPhaseLabel] = "Error";
  labels[kCompletedLabel] = "true";
  return api.UpdateObject("Workflow", std::move(wf));
}

}  // namespace

WorkflowController::WorkflowController(resource::ResourceApi* workflows, cluster::Cluster* cluster,
                                       WorkflowControllerOptions options)
    : workflows_(workflows),
      cluster_(cluster),
      options_(options),
      clock_(options_.clock != nullptr ? options_.clock : controller::RealClock::Get()),
      resources_(cluster) {
  if (options_.delete_artifact) {
    artifact_gc_ = std::make_unique<ArtifactCollector>(
        workflows_, cluster_,
        ArtifactCollectorOptions{
            .delete_artifact = options_.delete_artifact,
            .template_spec = [this](const std::string& ns, const json& ref) -> json {
              const std::string kind =
                  ref.value("clusterScope", false) ? "ClusterWorkflowTemplate" : "WorkflowTemplate";
              std::optional<json> t = LookupTemplate(ns, kind, ref.value("name", ""));
              return t.has_value() ? t->value("spec", json()) : json();
            },
            .now = [this] { return clock_->Now(); }});
  }
}

WorkflowController::~WorkflowController() { Stop(); }

absl::Status WorkflowController::Start() {
  if (options_.metrics != nullptr) {
    ASSIGN_OR_RETURN(metrics_, WorkflowMetrics::Create(*options_.metrics));
  }
  locks_ = std::make_unique<LockManager>(
      [this](const std::string& ns, const std::string& cm,
             const std::string& key) -> absl::StatusOr<int64_t> {
        absl::StatusOr<json> object = cluster_->Get("ConfigMap", ns, cm);
        if (!object.ok()) {
          return absl::Status(object.status().code(),
                              absl::StrCat("ConfigMap \"", cm, "\" in namespace \"", ns,
                                           "\": ", object.status().message()));
        }
        return SemaphoreLimitFromConfigMap(*object, key);
      },
      [this](const std::string& workflow_key) {
        if (controller_) controller_->Enqueue(workflow_key);
      });
  // Argo rebuilds its lock holders from every workflow's status before it works on any: a
  // restarted controller must not hand out a lock that a running workflow still holds.
  if (auto listed = workflows_->List("Workflow", "", ""); listed.ok()) {
    for (const std::string& text : listed->first) {
      absl::StatusOr<json> wf = manifest::ParseJsonText(text);
      if (wf.ok() && !Completed(*wf)) locks_->Restore(*wf);
    }
  } else {
    return listed.status();
  }
  controller::ControllerOptions copts{
      .name = "workflow",
      .workers = options_.workers,
      .list_keys =
          [this] {
            std::vector<std::string> keys;
            auto listed = workflows_->List("Workflow", "", "");
            if (!listed.ok()) return keys;
            for (const std::string& text : listed->first) {
              absl::StatusOr<json> wf = manifest::ParseJsonText(text);
              if (wf.ok() && (!Completed(*wf) || (artifact_gc_ && artifact_gc_->Pending(*wf)))) {
                keys.push_back(absl::StrCat((*wf)["metadata"].value("namespace", "default"), "/",
                                            (*wf)["metadata"].value("name", "")));
              }
            }
            return keys;
          },
      .resync_period = absl::Minutes(1),
      .clock = clock_};
  if (metrics_) copts.queue_observer = metrics_.get();
  controller_ = std::make_unique<controller::Controller>(std::move(copts), this);
  http_ = std::make_unique<HttpRunner>(HttpRunnerOptions{
      .secrets = [this](
                     const std::string& ns, const std::string& name,
                     const std::string& key) { return ReadClusterSecret(cluster_, ns, name, key); },
      .on_done = [this](const std::string& key) { controller_->Enqueue(key); }});
  RETURN_IF_ERROR(controller_->Start());
  auto workflows = std::make_unique<cluster::Informer>(
      workflows_, "Workflow", [this](const cluster::WatchEvent& e) {
        const std::string key =
            absl::StrCat(cluster::NamespaceOf(e.object), "/", cluster::NameOf(e.object));
        if (metrics_) metrics_->ObserveWorkflow(e);
        // The status this controller just wrote needs no reconcile of its own.
        if (e.type == "MODIFIED" && pacing_.IsOwnWrite(key, e.resource_version)) return;
        controller_->Enqueue(key);
      });
  auto pods = std::make_unique<cluster::Informer>(
      "workflow pods",
      [this](const std::string& rv) {
        return cluster_->WatchObjects("Pod", "", kWorkflowLabel, rv);
      },
      [this](const cluster::WatchEvent& e) {
        const json labels =
            e.object.value("metadata", json::object()).value("labels", json::object());
        const std::string wf = labels.is_object() ? labels.value(kWorkflowLabel, "") : "";
        if (metrics_) metrics_->ObservePod(e);
        if (wf.empty()) return;
        const std::string key = cluster::NamespaceOf(e.object) + "/" + wf;
        controller_->EnqueueAfter(key, pacing_.DelayAt(key, clock_->Now()));
      });
  workflows->Start();
  pods->Start();
  informers_.push_back(std::move(workflows));
  informers_.push_back(std::move(pods));
  return absl::OkStatus();
}

void WorkflowController::Stop() {
  for (auto& i : informers_) i->Stop();
  informers_.clear();
  if (controller_) controller_->Stop();
  if (http_) http_->Stop();
}

namespace {

// Creates the objects from up to 16 threads at once. The store commits
// concurrent writes together, so a step group of 100 pods costs a few synced
// writes instead of 100 (about 3 ms each, one after another).
std::vector<absl::Status> CreateConcurrently(cluster::Cluster& cluster,
                                             const std::vector<json>& objects) {
  std::vector<absl::Status> results(objects.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < objects.size(); i = next++) {
      results[i] = cluster.Create(objects[i]).status();
    }
  };
  const size_t threads = std::min<size_t>(objects.size(), 16);
  if (threads <= 1) {
    work();
    return results;
  }
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (size_t t = 0; t < threads; ++t) workers.emplace_back(work);
  for (std::thread& w : workers) w.join();
  return results;
}

// A container's state, for a containerSet's Container nodes as for `main`;
// `report` gets its executor report (the termination message), parsed once.
engine::ContainerState ObserveContainer(const json& cs, json& report) {
  engine::ContainerState c;
  const json state = cs.value("state", json::object());
  if (!state.is_object() || state.contains("waiting") || state.empty()) {
    c.state = "waiting";
  } else if (state.contains("running")) {
    c.state = "running";
  } else if (state.contains("terminated") && state["terminated"].is_object()) {
    const json& t = state["terminated"];
    c.state = "terminated";
    if (t.contains("exitCode") && t["exitCode"].is_number_integer()) {
      c.exit_code = t["exitCode"].get<int>();
    }
    if (t.contains("message") && t["message"].is_string() &&
        !t["message"].get_ref<const std::string&>().empty()) {
      absl::StatusOr<json> parsed = manifest::ParseJsonText(t["message"].get<std::string>());
      if (parsed.ok()) report = *std::move(parsed);
      if (report.is_object() && report.contains("error") && report["error"].is_string()) {
        c.error = report["error"].get<std::string>();
      }
    }
  }
  return c;
}

}  // namespace

engine::PodState WorkflowController::ObservePod(const json& pod) {
  engine::PodState s;
  const json status = pod.value("status", json::object());
  s.phase = status.value("phase", "Pending");
  s.pod_ip = status.value("podIP", "");
  s.started_at = TimeAt(status, "startTime");
  s.finished_at = absl::InfinitePast();
  std::string reason = status.value("reason", "");
  std::string message = status.value("message", "");
  for (const json& cs : status.value("containerStatuses", json::array())) {
    if (!cs.is_object() || !cs.contains("name") || !cs["name"].is_string()) continue;
    const std::string& name = cs["name"].get_ref<const std::string&>();
    json report;
    const engine::ContainerState c = ObserveContainer(cs, report);
    s.containers[name] = c;
    if (name != "main") continue;
    s.ready = cs.value("ready", false);
    if (c.state == "terminated") {
      const json& t = cs["state"]["terminated"];
      s.exit_code = c.exit_code;
      s.finished_at = TimeAt(t, "finishedAt");
      s.outputs = std::move(report);
      if (!c.error.empty()) {
        message = c.error;
      } else if (message.empty() && s.exit_code.has_value() && *s.exit_code != 0) {
        // Argo's wording for a failed main container.
        message = t.value("reason", "Error") == "Error"
                      ? absl::StrCat("Error (exit code ", *s.exit_code, ")")
                      : absl::StrCat(t.value("reason", ""), " (exit code ", *s.exit_code, ")");
      }
    } else if (c.state == "waiting" && s.phase == "Failed" && message.empty()) {
      const json state = cs.value("state", json::object());
      const json waiting = state.is_object() ? state.value("waiting", json::object()) : json();
      if (waiting.is_object()) message = waiting.value("message", waiting.value("reason", ""));
    }
  }
  if (!reason.empty() && !message.empty() && message.find(reason) == std::string::npos) {
    message = absl::StrCat(reason, ": ", message);
  }
  s.message = message;
  return s;
}

std::optional<json> WorkflowController::LookupTemplate(const std::string& ns, std::string_view kind,
                                                       std::string_view name) {
  absl::StatusOr<json> object = workflows_->GetObject(kind, ns, name);
  if (!object.ok()) return std::nullopt;
  return *std::move(object);
}

absl::Status WorkflowController::DeletePods(const std::string& ns, const std::string& workflow) {
  // No pod carries a label value this long (and the selector would be refused).
  if (workflow.size() > engine::kMaxWorkflowNameLength) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<json> pods,
                   cluster_->List("Pod", ns, absl::StrCat(kWorkflowLabel, "=", workflow)));
  for (const json& p : pods) {
    absl::Status s = cluster_->Delete("Pod", ns, cluster::NameOf(p));
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  return absl::OkStatus();
}

void WorkflowController::ForgetRefusedPods(const std::string& key) {
  absl::MutexLock lock(&refused_mu_);
  refused_pods_.erase(key);
}

absl::StatusOr<controller::Result> WorkflowController::Reconcile(const std::string& key) {
  // On the injected clock too: the pacing delays it yields are waited on that clock.
  const absl::Time start = clock_->Now();
  uint64_t written_version = 0;
  bool finished = false;
  absl::StatusOr<controller::Result> result = ReconcileOnce(key, written_version, finished);
  if (finished) {
    pacing_.Forget(key);
  } else {
    pacing_.Finished(key, start, clock_->Now(), written_version);
  }
  return result;
}

absl::StatusOr<controller::Result> WorkflowController::ReconcileOnce(const std::string& key,
                                                                     uint64_t& written_version,
                                                                     bool& finished) {
  auto [ns, name] = SplitKey(key);
  absl::StatusOr<json> wf = workflows_->GetObject("Workflow", ns, name);
  if (absl::IsNotFound(wf.status())) {
    // A deleted workflow takes its pods, and its locks, with it.
    resources_.Forget(key);
    if (http_) http_->Forget(key);
    if (locks_) locks_->ReleaseWorkflow(key);
    ForgetRefusedPods(key);
    finished = true;
    RETURN_IF_ERROR(DeletePods(ns, name));
    return controller::Result{};
  }
  if (!wf.ok()) return wf.status();
  if (artifact_gc_) {
    // A workflow being deleted never runs further; a completed one may have artifacts to collect.
    ASSIGN_OR_RETURN(std::optional<controller::Result> gc, artifact_gc_->Reconcile(key, *wf));
    if (gc.has_value()) {
      finished = true;
      return *gc;
    }
  }

  // A name too long for a label value labels no pod; the engine ends such a workflow in Error
  // (listing by it would fail, and the workflow would sit Pending with no word).
  std::vector<json> pods;
  if (name.size() <= engine::kMaxWorkflowNameLength) {
    ASSIGN_OR_RETURN(pods, cluster_->List("Pod", ns, absl::StrCat(kWorkflowLabel, "=", name)));
  }
  if (Completed(*wf) && pods.empty()) {
    if (locks_) locks_->ReleaseWorkflow(key);
    ForgetRefusedPods(key);
    finished = true;
    return controller::Result{};
  }
  engine::EngineInput in;
  // The workflow can be large (a status node per step): moved, not copied.
  in.workflow = *std::move(wf);
  in.now = clock_->Now();
  for (const json& p : pods) in.pods[cluster::NameOf(p)] = ObservePod(p);
  {
    absl::MutexLock lock(&refused_mu_);
    if (auto it = refused_pods_.find(key); it != refused_pods_.end()) {
      for (const auto& [pod, why] : it->second) {
        if (!in.pods.contains(pod))
          in.pods[pod] = engine::PodState{.phase = "Failed", .message = why};
      }
    }
  }
  const std::string wf_ns = ns;
  in.lookup = [this, wf_ns](std::string_view kind, std::string_view tname) {
    return LookupTemplate(wf_ns, kind, tname);
  };
  in.resources = resources_.Observe(key);
  if (http_) in.http = http_->Observe(key);
  in.configmaps = [this, wf_ns](std::string_view cm, std::string_view cm_key) {
    return ConfigMapParameterValue(*cluster_, wf_ns, cm, cm_key);
  };
  in.artifact_repository = options_.artifact_repository;
  RETURN_IF_ERROR(ResolveArtifactRepositoryInto(*cluster_, options_.controller_namespace, in));
  if (locks_) {
    in.locks = [this](const engine::LockRequest& r) { return locks_->TryAcquire(r); };
  }
  const absl::Time started = clock_->Now();
  absl::StatusOr<engine::EngineOutput> out = engine::Operate(in);
  if (metrics_) metrics_->ObserveOperation(clock_->Now() - started);
  if (!out.ok()) {
    if (metrics_) metrics_->CountError("operate");
    return out.status();
  }
  const std::vector<absl::Status> created = CreateConcurrently(*cluster_, out->pods_to_create);
  bool refused = false;
  for (size_t i = 0; i < created.size(); ++i) {
    if (created[i].ok() || absl::IsAlreadyExists(created[i])) continue;
    if (metrics_) metrics_->CountError("pod_create");
    // Anything but a refusal of the pod itself may pass: retried with back-off.
    if (!absl::IsInvalidArgument(created[i])) return created[i];
    absl::MutexLock lock(&refused_mu_);
    refused_pods_[key][cluster::NameOf(out->pods_to_create[i])] =
        absl::StrCat("failed to create pod: ", created[i].message());
    refused = true;
  }
  for (const std::string& pod : out->pods_to_delete) {
    absl::Status s = cluster_->Delete("Pod", ns, pod);
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  const std::string final_phase = out->status.value("phase", "");
  const auto stored_status = in.workflow.find("status");
  if (stored_status == in.workflow.end() ? !out->status.is_null() : *stored_status != out->status) {
    json updated = std::move(in.workflow);
    updated["status"] = std::move(out->status);
    const std::string& phase = final_phase;
    json& labels = updated["metadata"]["labels"];
    if (!phase.empty()) labels[kPhaseLabel] = phase;
    labels[kCompletedLabel] = engine::PhaseCompleted(phase) ? "true" : "false";
    if (artifact_gc_) artifact_gc_->PrepareWrite(updated);
    // The resourceVersion read above is the precondition: a concurrent
    // change (resume, stop, ...) makes this ABORTED and the key is retried.
    absl::StatusOr<json> written = workflows_->UpdateObject("Workflow", std::move(updated));
    if (absl::IsInvalidArgument(written.status())) {
      LogError("workflow-controller", "status cannot be stored: workflow ends in Error",
               {{"workflow", key}, {"error", std::string(written.status().message())}});
      written = FailUnstorableStatus(*workflows_, ns, name, written.status(), in.now);
    }
    if (!written.ok()) {
      if (!absl::IsAborted(written.status()) && metrics_) metrics_->CountError("status_write");
      return written.status();
    }
    const json& meta = (*written)["metadata"];
    if (meta.is_object() && meta.contains("resourceVersion") &&
        meta["resourceVersion"].is_string()) {
      (void)absl::SimpleAtoi(meta["resourceVersion"].get<std::string>(), &written_version);
    }
    for (const std::string& note : out->events) {
      LogInfo("workflow-controller", note, {{"workflow", key}});
    }
  }
  // Only once the status no longer records them: a crash before the write keeps them held.
  if (locks_) {
    for (const engine::LockRelease& r : out->lock_releases) locks_->Release(r.holder, r.keys);
  }
  controller::Result result;
  if (out->requeue_after.has_value()) result.requeue_after = *out->requeue_after;
  // The next pass ends the refused pods' nodes; no cluster event will ask for it.
  if (refused) result.requeue_after = absl::Milliseconds(1);
  // Resource conditions are polled: a changed object (a Job finishing) is
  // not an event of this workflow's pods.
  if (resources_.Run(key, ns, out->resource_actions) || !out->resource_actions.empty()) {
    const absl::Duration poll = absl::Seconds(1);
    if (result.requeue_after == absl::ZeroDuration() || result.requeue_after > poll) {
      result.requeue_after = poll;
    }
  }
  // After the write, like the resource actions: an answer is dropped only once its outcome is
  // stored. Each request runs on the runner's threads, and its answer enqueues the workflow.
  if (http_) http_->Run(key, ns, out->http_requests);
  if (engine::PhaseCompleted(final_phase)) {
    // The status write above is this controller's own and triggers nothing: collect next.
    if (artifact_gc_ && controller_) controller_->Enqueue(key);
    resources_.Forget(key);
    if (http_) http_->Forget(key);
    if (locks_) locks_->ReleaseWorkflow(key);
    finished = true;
  }
  return result;
}

}  // namespace argonaut::workflow
