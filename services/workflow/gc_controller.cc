#include "services/workflow/gc_controller.h"

#include "absl/strings/str_cat.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/api_cluster.h"
#include "lib/manifest/json_text.h"

namespace argonaut::workflow {
namespace {

using nlohmann::json;

constexpr char kWorkflowLabelKey[] = "workflows.argoproj.io/workflow";
constexpr absl::Duration kConfigTtl = absl::Seconds(10);
constexpr absl::Duration kSweepPeriod = absl::Minutes(1);

std::pair<std::string, std::string> SplitKey(const std::string& key) {
  const size_t slash = key.find('/');
  return {key.substr(0, slash), key.substr(slash + 1)};
}

}  // namespace

RetentionController::RetentionController(resource::ResourceApi* workflows,
                                         cluster::Cluster* cluster,
                                         archive::WorkflowArchive* archive,
                                         RetentionControllerOptions options)
    : workflows_(workflows),
      cluster_(cluster),
      archive_(archive),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : controller::RealClock::Get()) {}

RetentionController::~RetentionController() { Stop(); }

absl::Status RetentionController::Start() {
  controller::ControllerOptions copts{
      .name = "workflow-retention",
      .workers = options_.workers,
      .list_keys =
          [this] {
            std::vector<std::string> keys = {kArchiveSweepKey};
            auto listed = workflows_->ListObjects("Workflow", "", "");
            if (!listed.ok()) return keys;
            for (const json& wf : *listed) {
              keys.push_back(absl::StrCat(cluster::NamespaceOf(wf), "/", cluster::NameOf(wf)));
            }
            return keys;
          },
      .resync_period = options_.resync_period,
      .clock = clock_};
  controller_ = std::make_unique<controller::Controller>(std::move(copts), this);
  RETURN_IF_ERROR(controller_->Start());
  auto workflows = std::make_unique<cluster::Informer>(
      workflows_, "Workflow", [this](const cluster::WatchEvent& e) {
        if (e.type == "DELETED") return;
        controller_->Enqueue(
            absl::StrCat(cluster::NamespaceOf(e.object), "/", cluster::NameOf(e.object)));
      });
  auto pods = std::make_unique<cluster::Informer>(
      "retention pods",
      [this](const std::string& rv) {
        return cluster_->WatchObjects("Pod", "", kWorkflowLabelKey, rv);
      },
      [this](const cluster::WatchEvent& e) {
        if (e.type == "DELETED") return;
        const json labels =
            e.object.value("metadata", json::object()).value("labels", json::object());
        const std::string wf = labels.is_object() ? labels.value(kWorkflowLabelKey, "") : "";
        if (!wf.empty()) controller_->Enqueue(cluster::NamespaceOf(e.object) + "/" + wf);
      });
  workflows->Start();
  pods->Start();
  informers_.push_back(std::move(workflows));
  informers_.push_back(std::move(pods));
  return absl::OkStatus();
}

void RetentionController::Stop() {
  for (auto& i : informers_) i->Stop();
  informers_.clear();
  if (controller_) controller_->Stop();
}

gc::RetentionConfig RetentionController::Config() {
  const absl::Time now = clock_->Now();
  {
    absl::MutexLock lock(&config_mu_);
    if (config_.has_value() && now - config_read_ < kConfigTtl) return *config_;
  }
  gc::RetentionConfig config = options_.defaults;
  absl::StatusOr<json> cm =
      cluster_->Get("ConfigMap", options_.config_namespace, kControllerConfigMap);
  if (cm.ok()) {
    absl::StatusOr<gc::RetentionConfig> parsed = gc::ParseControllerConfigMap(*cm, config);
    if (parsed.ok()) {
      config = *std::move(parsed);
    } else {
      LogWarn("workflow-retention", "ignoring the controller ConfigMap",
              {{"configmap", absl::StrCat(options_.config_namespace, "/", kControllerConfigMap)},
               {"error", std::string(parsed.status().message())}});
    }
  }
  absl::MutexLock lock(&config_mu_);
  config_ = config;
  config_read_ = now;
  return config;
}

absl::StatusOr<controller::Result> RetentionController::SweepArchive() {
  const gc::RetentionConfig config = Config();
  if (archive_ != nullptr && config.archive_ttl > absl::ZeroDuration()) {
    ASSIGN_OR_RETURN(int deleted,
                     archive_->DeleteFinishedBefore(clock_->Now() - config.archive_ttl));
    if (deleted > 0) {
      LogInfo("workflow-retention", "archiveTTL: deleted archived workflows",
              {{"count", absl::StrCat(deleted)}});
    }
  }
  return controller::Result{.requeue_after = kSweepPeriod};
}

absl::StatusOr<controller::Result> RetentionController::Reconcile(const std::string& key) {
  if (key == kArchiveSweepKey) return SweepArchive();
  auto [ns, name] = SplitKey(key);
  absl::StatusOr<json> wf = workflows_->GetObject("Workflow", ns, name);
  if (absl::IsNotFound(wf.status())) return controller::Result{};
  if (!wf.ok()) return wf.status();
  // Already being deleted (finalizers such as artifact GC hold it): nothing left to retain.
  if (wf->contains("metadata") && (*wf)["metadata"].contains("deletionTimestamp")) {
    return controller::Result{};
  }
  gc::RetentionConfig config = Config();
  if (archive_ == nullptr) config.archive = false;
  // Pods are listed only when podGC may delete some: most workflows have none to look at.
  absl::StatusOr<gc::PodGcPolicy> policy = gc::EffectivePodGc(*wf, config.default_pod_gc);
  std::vector<json> pods;
  if (policy.ok() && !policy->strategy.empty()) {
    ASSIGN_OR_RETURN(pods, cluster_->List("Pod", ns, absl::StrCat(kWorkflowLabelKey, "=", name)));
  }
  const absl::Time now = clock_->Now();
  absl::StatusOr<gc::RetentionActions> actions = gc::DecideRetention(*wf, pods, config, now);
  if (!actions.ok()) {
    // A malformed ttlStrategy or podGC is the user's to fix; retrying will not help.
    LogWarn("workflow-retention", "cannot apply retention",
            {{"workflow", key}, {"error", std::string(actions.status().message())}});
    return absl::FailedPreconditionError(actions.status().message());
  }
  if (actions->archive) {
    RETURN_IF_ERROR(archive_->Archive(*wf));
    if (!actions->delete_workflow) {
      json updated = *wf;
      updated["metadata"]["labels"][gc::kArchivingStatusLabel] = gc::kArchived;
      // resourceVersion precondition: a concurrent write makes this ABORTED and it is retried
      // (archiving again is harmless).
      RETURN_IF_ERROR(workflows_->UpdateObject("Workflow", std::move(updated)).status());
    }
  }
  if (actions->delete_workflow) {
    absl::Status s = workflows_->Delete("Workflow", ns, name, "");
    if (!s.ok() && !absl::IsNotFound(s)) return s;
    LogInfo("workflow-retention", "deleted workflow (ttlStrategy)", {{"workflow", key}});
    return controller::Result{};
  }
  for (const std::string& pod : actions->delete_pods) {
    absl::Status s = cluster_->Delete("Pod", ns, pod);
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  controller::Result result;
  if (actions->next.has_value()) {
    result.requeue_after = std::max(*actions->next - now, absl::Nanoseconds(1));
  }
  return result;
}

}  // namespace argonaut::workflow
