#include "services/workflow/artifact_collector.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "services/workflow/artifact_gc.h"

namespace argonaut::workflow {
namespace {

using nlohmann::json;

std::string Str(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& Meta(const json& wf) {
  static const json kEmpty = json::object();
  auto it = wf.find("metadata");
  return it != wf.end() && it->is_object() ? *it : kEmpty;
}

}  // namespace

absl::StatusOr<std::string> ReadClusterSecret(cluster::Cluster* cluster, std::string_view ns,
                                              std::string_view name, std::string_view key) {
  if (cluster == nullptr) return absl::FailedPreconditionError("no cluster to read Secrets from");
  absl::StatusOr<json> secret = cluster->Get("Secret", ns, name);
  if (!secret.ok()) {
    return absl::Status(secret.status().code(),
                        absl::StrCat("Secret \"", std::string(name), "\" in namespace \"",
                                     std::string(ns), "\": ", secret.status().message()));
  }
  const std::string k(key);
  for (const char* field : {"stringData", "data"}) {
    auto f = secret->find(field);
    if (f == secret->end() || !f->is_object()) continue;
    auto v = f->find(k);
    if (v == f->end() || !v->is_string()) continue;
    if (std::string_view(field) == "stringData") return v->get<std::string>();
    std::string decoded;
    if (!absl::Base64Unescape(v->get<std::string>(), &decoded)) {
      return absl::InvalidArgumentError(
          absl::StrCat("Secret \"", std::string(name), "\" data.", k, ": not base64"));
    }
    return decoded;
  }
  return absl::NotFoundError(absl::StrCat("Secret \"", std::string(name), "\" in namespace \"",
                                          std::string(ns), "\" has no key \"", k, "\""));
}

ArtifactCollector::ArtifactCollector(resource::ResourceApi* workflows, cluster::Cluster* cluster,
                                     ArtifactCollectorOptions options)
    : workflows_(workflows), cluster_(cluster), options_(std::move(options)) {}

json ArtifactCollector::SpecOf(const json& wf) const {
  json tpl;
  const json spec = wf.value("spec", json::object());
  if (spec.is_object() && spec.contains("workflowTemplateRef") && options_.template_spec &&
      !(wf.contains("status") && wf["status"].is_object() &&
        wf["status"].contains("storedWorkflowTemplateSpec"))) {
    tpl = options_.template_spec(Str(Meta(wf), "namespace"), spec["workflowTemplateRef"]);
  }
  return artifact_gc::EffectiveSpec(wf, tpl);
}

bool ArtifactCollector::Pending(const json& wf) const {
  if (artifact_gc::Deleting(wf)) return true;
  if (!artifact_gc::HasFinalizer(wf)) return false;
  return artifact_gc::Pending(wf, SpecOf(wf));
}

void ArtifactCollector::PrepareWrite(json& wf) const { artifact_gc::PrepareWrite(wf, SpecOf(wf)); }

void ArtifactCollector::RecordEvent(const json& wf, const std::string& message) {
  // Logged as an event of the workflow; the status condition is the durable record.
  LogWarn("workflow-controller", message,
          {{"workflow", absl::StrCat(Str(Meta(wf), "namespace"), "/", Str(Meta(wf), "name"))},
           {"reason", artifact_gc::kConditionType}});
}

absl::StatusOr<std::optional<controller::Result>> ArtifactCollector::Reconcile(
    const std::string& key, const json& wf) {
  const json& meta = Meta(wf);
  const std::string ns = Str(meta, "namespace").empty() ? "default" : Str(meta, "namespace");
  const std::string name = Str(meta, "name");
  const bool deleting = artifact_gc::Deleting(wf);
  const std::string attempts_key = absl::StrCat(key, "/", Str(meta, "uid"));
  if (!artifact_gc::HasFinalizer(wf)) {
    if (!deleting) return std::nullopt;
    // Marked for deletion and no longer held by this controller.
    const json& finalizers = meta.value("finalizers", json::array());
    if (!finalizers.is_array() || finalizers.empty()) {
      absl::Status s = workflows_->Delete("Workflow", ns, name, "");
      if (!s.ok() && !absl::IsNotFound(s)) return s;
    }
    return controller::Result{};
  }
  const json spec = SpecOf(wf);
  const artifact_gc::Plan plan = artifact_gc::Decide(wf, spec);
  if (plan.strategies.empty()) {
    // A deleting workflow whose GC gave up keeps the finalizer (as Argo):
    // remove it by hand, or set forceFinalizerRemoval.
    if (deleting) return controller::Result{};
    return std::nullopt;
  }
  std::vector<absl::Status> results;
  results.reserve(plan.targets.size());
  for (const artifact_gc::Target& t : plan.targets) {
    absl::Status s = options_.delete_artifact
                         ? options_.delete_artifact(t.artifact, ns)
                         : absl::FailedPreconditionError("no artifact drivers configured");
    results.push_back(std::move(s));
  }
  const bool failed =
      std::any_of(results.begin(), results.end(), [](const absl::Status& s) { return !s.ok(); });
  int attempt = 1;
  {
    absl::MutexLock lock(&mu_);
    if (failed) {
      attempt = ++attempts_[attempts_key];
    } else {
      attempt = attempts_[attempts_key] + 1;
    }
  }
  const std::string now =
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", options_.now(), absl::UTCTimeZone());
  artifact_gc::Outcome out =
      artifact_gc::Apply(wf, spec, plan, results, attempt, options_.max_attempts, now);
  json updated = wf;
  updated["status"] = std::move(out.status);
  if (out.remove_finalizer) {
    json kept = json::array();
    for (const json& f : meta.value("finalizers", json::array())) {
      if (f != artifact_gc::kFinalizer) kept.push_back(f);
    }
    updated["metadata"]["finalizers"] = kept;
    if (kept.empty()) updated["metadata"].erase("finalizers");
  }
  const bool remaining_finalizers = updated["metadata"].contains("finalizers");
  if (updated != wf) {
    // The read resourceVersion is the precondition; ABORTED retries the key.
    absl::StatusOr<json> written = workflows_->UpdateObject("Workflow", std::move(updated));
    if (!written.ok()) return written.status();
  }
  if (!out.failures.empty()) {
    RecordEvent(wf, absl::StrCat("artifact GC of ", ns, "/", name, " (attempt ", attempt, " of ",
                                 options_.max_attempts, "): ", absl::StrJoin(out.failures, "; ")));
  }
  if (!out.retry) {
    absl::MutexLock lock(&mu_);
    attempts_.erase(attempts_key);
  }
  if (deleting && out.remove_finalizer && !remaining_finalizers) {
    absl::Status s = workflows_->Delete("Workflow", ns, name, "");
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  controller::Result result;
  if (out.retry) {
    absl::Duration wait = options_.backoff;
    for (int i = 1; i < attempt && wait < absl::Minutes(5); ++i) wait *= 2;
    result.requeue_after = std::min(wait, absl::Minutes(5));
  }
  return result;
}

}  // namespace argonaut::workflow
