#include "services/workflow/cron/cron_controller.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/api_cluster.h"
#include "services/workflow/api/actions.h"

namespace argonaut::workflow::cron {
namespace {

using nlohmann::json;

constexpr char kComponent[] = "cron-controller";

std::pair<std::string, std::string> SplitKey(const std::string& key) {
  const size_t slash = key.find('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

json Labels(const json& obj) {
  if (!obj.is_object() || !obj.contains("metadata") || !obj["metadata"].is_object()) {
    return json::object();
  }
  const json& m = obj["metadata"];
  return m.contains("labels") && m["labels"].is_object() ? m["labels"] : json::object();
}

}  // namespace

CronWorkflowController::CronWorkflowController(resource::ResourceApi* workflows,
                                               CronControllerOptions options)
    : workflows_(workflows),
      options_(options),
      clock_(options_.clock != nullptr ? options_.clock : controller::RealClock::Get()) {}

CronWorkflowController::~CronWorkflowController() { Stop(); }

absl::Status CronWorkflowController::Start() {
  controller::ControllerOptions copts{
      .name = "cronworkflow",
      .workers = options_.workers,
      .list_keys =
          [this] {
            std::vector<std::string> keys;
            auto listed = workflows_->ListObjects("CronWorkflow", "", "");
            if (!listed.ok()) return keys;
            for (const json& c : *listed) {
              keys.push_back(absl::StrCat(cluster::NamespaceOf(c), "/", cluster::NameOf(c)));
            }
            // Deleted CronWorkflows keep their LastReconciled() entry until here.
            const std::set<std::string> live(keys.begin(), keys.end());
            absl::MutexLock lock(&mu_);
            std::erase_if(last_reconciled_, [&](const auto& e) { return !live.contains(e.first); });
            return keys;
          },
      .resync_period = options_.resync_period,
      .clock = clock_};
  controller_ = std::make_unique<controller::Controller>(std::move(copts), this);
  RETURN_IF_ERROR(controller_->Start());
  auto crons = std::make_unique<cluster::Informer>(
      workflows_, "CronWorkflow", [this](const cluster::WatchEvent& e) {
        controller_->Enqueue(
            absl::StrCat(cluster::NamespaceOf(e.object), "/", cluster::NameOf(e.object)));
      });
  // Children: a finished or deleted Workflow changes its cron's status.
  auto children = std::make_unique<cluster::Informer>(
      workflows_, "Workflow", [this](const cluster::WatchEvent& e) {
        const json labels = Labels(e.object);
        auto it = labels.find(kCronWorkflowLabel);
        if (it == labels.end() || !it->is_string()) return;
        controller_->Enqueue(
            absl::StrCat(cluster::NamespaceOf(e.object), "/", it->get<std::string>()));
      });
  crons->Start();
  children->Start();
  informers_.push_back(std::move(crons));
  informers_.push_back(std::move(children));
  return absl::OkStatus();
}

void CronWorkflowController::Stop() {
  for (auto& i : informers_) i->Stop();
  informers_.clear();
  if (controller_) controller_->Stop();
}

absl::Status CronWorkflowController::WriteCron(const json& cron, const CronDecision& d) {
  const json old_meta = cron.value("metadata", json::object());
  const bool meta_changed = old_meta.value("labels", json::object()) != d.labels ||
                            old_meta.value("annotations", json::object()) != d.annotations;
  const bool status_changed = cron.value("status", json::object()) != d.status;
  if (!meta_changed && !status_changed) return absl::OkStatus();
  json updated = cron;
  if (d.labels.empty()) {
    updated["metadata"].erase("labels");
  } else {
    updated["metadata"]["labels"] = d.labels;
  }
  if (d.annotations.empty()) {
    updated["metadata"].erase("annotations");
  } else {
    updated["metadata"]["annotations"] = d.annotations;
  }
  updated["status"] = d.status;
  ASSIGN_OR_RETURN(const resource::KindInfo* kind, workflows_->Resolve("CronWorkflow"));
  if (!kind->status_subresource) {
    // resourceVersion (from the read) is the precondition: a concurrent
    // edit makes this ABORTED and the key is reconciled again.
    return workflows_->Update("CronWorkflow", updated.dump()).status();
  }
  if (meta_changed) {
    ASSIGN_OR_RETURN(std::string written, workflows_->Update("CronWorkflow", updated.dump()));
    json parsed = json::parse(written, nullptr, false);
    if (parsed.is_object() && parsed.contains("metadata")) {
      updated["metadata"]["resourceVersion"] = parsed["metadata"].value("resourceVersion", "");
    }
  }
  if (status_changed) {
    RETURN_IF_ERROR(workflows_->UpdateStatus("CronWorkflow", updated.dump()).status());
  }
  return absl::OkStatus();
}

void CronWorkflowController::Enqueue(const std::string& key) {
  if (controller_) controller_->Enqueue(key);
}

absl::Time CronWorkflowController::LastReconciled(const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = last_reconciled_.find(key);
  return it == last_reconciled_.end() ? absl::InfinitePast() : it->second;
}

absl::StatusOr<controller::Result> CronWorkflowController::Reconcile(const std::string& key) {
  const absl::Time now = clock_->Now();
  absl::StatusOr<controller::Result> result = ReconcileAt(key, now);
  absl::MutexLock lock(&mu_);
  absl::Time& last = last_reconciled_[key];
  last = std::max(last, now);
  return result;
}

absl::StatusOr<controller::Result> CronWorkflowController::ReconcileAt(const std::string& key,
                                                                       absl::Time now) {
  auto [ns, name] = SplitKey(key);
  absl::StatusOr<json> cron = workflows_->GetObject("CronWorkflow", ns, name);
  if (absl::IsNotFound(cron.status())) {
    absl::MutexLock lock(&mu_);
    armed_.erase(key);
    return controller::Result{};
  }
  if (!cron.ok()) return cron.status();
  ASSIGN_OR_RETURN(
      std::vector<json> listed,
      workflows_->ListObjects("Workflow", ns, absl::StrCat(kCronWorkflowLabel, "=", name)));
  CronInput in;
  in.cron = *cron;
  in.now = now;
  in.default_zone = options_.default_zone;
  for (const json& wf : listed) in.children.push_back(ChildWorkflow::FromJson(wf));
  {
    absl::MutexLock lock(&mu_);
    auto it = armed_.find(key);
    if (it != armed_.end()) in.armed = it->second;
  }
  ASSIGN_OR_RETURN(CronDecision d, Decide(in));

  std::string submit_name;
  if (d.submit.has_value()) {
    submit_name = d.submit->workflow["metadata"].value("name", "");
  }
  for (const std::string& victim : d.terminate) {
    // A retry after a failed status write must not stop the run it already made.
    if (victim == submit_name) continue;
    absl::StatusOr<json> wf = workflows_->GetObject("Workflow", ns, victim);
    if (absl::IsNotFound(wf.status())) continue;
    if (!wf.ok()) return wf.status();
    if (absl::Status s = api::Terminate(*wf); !s.ok()) {
      LogInfo(kComponent, "not terminated", {{"workflow", victim}, {"reason", s.ToString()}});
      continue;
    }
    absl::Status s = workflows_->Update("Workflow", wf->dump()).status();
    if (!s.ok() && !absl::IsNotFound(s)) return s;
    LogInfo(kComponent, "terminated (concurrencyPolicy Replace)",
            {{"cronworkflow", key}, {"workflow", victim}});
  }
  if (d.submit.has_value()) {
    absl::StatusOr<json> created;
    absl::StatusOr<std::string> text = workflows_->Create("Workflow", d.submit->workflow.dump(),
                                                          /*upsert=*/false);
    if (text.ok()) {
      created = json::parse(*text, nullptr, false);
      if (created->is_discarded()) created = absl::InternalError("unparsable created workflow");
    } else if (absl::IsAlreadyExists(text.status())) {
      // An earlier attempt created it before failing to write the status.
      created = workflows_->GetObject("Workflow", ns, submit_name);
    } else {
      created = text.status();
    }
    if (!created.ok() && !absl::IsInvalidArgument(created.status()) &&
        !absl::IsFailedPrecondition(created.status()) && !absl::IsNotFound(created.status())) {
      // Transient (store) errors are retried; the tick stays due.
      return created.status();
    }
    RecordSubmission(d, created);
  }
  for (const std::string& old : d.remove) {
    absl::Status s = workflows_->Delete("Workflow", ns, old, "");
    if (!s.ok() && !absl::IsNotFound(s)) return s;
    LogInfo(kComponent, "deleted by the history limit", {{"cronworkflow", key}, {"workflow", old}});
  }
  RETURN_IF_ERROR(WriteCron(*cron, d));
  for (const std::string& note : d.events) LogInfo(kComponent, note, {{"cronworkflow", key}});
  {
    absl::MutexLock lock(&mu_);
    if (d.armed.has_value()) {
      armed_[key] = *d.armed;
    } else {
      armed_.erase(key);
    }
  }
  controller::Result result;
  if (d.wake_at.has_value()) {
    result.requeue_after = std::max(*d.wake_at - clock_->Now(), absl::Milliseconds(1));
  }
  return result;
}

}  // namespace argonaut::workflow::cron
