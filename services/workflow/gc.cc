#include "services/workflow/gc.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/base/go_duration.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/workloads/objects.h"
#include "lib/manifest/yaml.h"

namespace argonaut::workflow::gc {
namespace {

using nlohmann::json;

const json& Field(const json& obj, const char* key) {
  static const json* null = new json();
  if (!obj.is_object()) return *null;
  auto it = obj.find(key);
  return it == obj.end() ? *null : *it;
}

// Spec fields win over the defaults, key by key (Argo merges workflowDefaults under the spec).
json Merge(const json& defaults, const json& own) {
  json out = defaults.is_object() ? defaults : json::object();
  if (own.is_object()) {
    for (const auto& [k, v] : own.items()) {
      if (!v.is_null()) out[k] = v;
    }
  }
  return out;
}

absl::StatusOr<std::optional<int64_t>> Seconds(const json& ttl, const char* key) {
  const json& v = Field(ttl, key);
  if (v.is_null()) return std::optional<int64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0)
    return std::optional<int64_t>(v.get<int64_t>());
  int64_t n = 0;
  if (v.is_string() && absl::SimpleAtoi(v.get<std::string>(), &n) && n >= 0) {
    return std::optional<int64_t>(n);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("spec.ttlStrategy.", key, ": want a non-negative integer, got ", v.dump()));
}

std::string Phase(const json& wf) {
  return Field(Field(wf, "status"), "phase").is_string()
             ? Field(wf, "status")["phase"].get<std::string>()
             : "";
}

std::optional<absl::Time> FinishedAt(const json& obj) {
  return cluster::workloads::TimeField(obj, "finishedAt");
}

// The workflow's status node of a pod: the node-id annotation, else the node whose ID is the pod's
// name (Argo's v1 pod names).
const json* NodeOfPod(const json& nodes, const json& pod) {
  if (!nodes.is_object()) return nullptr;
  const json& ann = Field(Field(pod, "metadata"), "annotations");
  const json& id = Field(ann, "workflows.argoproj.io/node-id");
  if (id.is_string()) {
    auto it = nodes.find(id.get<std::string>());
    if (it != nodes.end()) return &*it;
  }
  const json& name = Field(Field(pod, "metadata"), "name");
  if (name.is_string()) {
    auto it = nodes.find(name.get<std::string>());
    if (it != nodes.end()) return &*it;
  }
  return nullptr;
}

void Earliest(std::optional<absl::Time>& next, absl::Time t) {
  if (!next.has_value() || t < *next) next = t;
}

}  // namespace

bool PhaseCompleted(std::string_view phase) {
  return phase == "Succeeded" || phase == "Failed" || phase == "Error" || phase == "Skipped" ||
         phase == "Omitted";
}

absl::StatusOr<TtlStrategy> EffectiveTtl(const json& workflow, const json& default_ttl_strategy) {
  json own = Field(Field(workflow, "spec"), "ttlStrategy");
  // Argo's deprecated spec.ttlSecondsAfterFinished is secondsAfterCompletion.
  const json& legacy = Field(Field(workflow, "spec"), "ttlSecondsAfterFinished");
  if (!legacy.is_null() && Field(own, "secondsAfterCompletion").is_null()) {
    if (!own.is_object()) own = json::object();
    own["secondsAfterCompletion"] = legacy;
  }
  if (!own.is_null() && !own.is_object()) {
    return absl::InvalidArgumentError("spec.ttlStrategy: want an object");
  }
  const json merged = Merge(default_ttl_strategy, own);
  TtlStrategy t;
  ASSIGN_OR_RETURN(t.seconds_after_completion, Seconds(merged, "secondsAfterCompletion"));
  ASSIGN_OR_RETURN(t.seconds_after_success, Seconds(merged, "secondsAfterSuccess"));
  ASSIGN_OR_RETURN(t.seconds_after_failure, Seconds(merged, "secondsAfterFailure"));
  return t;
}

absl::StatusOr<PodGcPolicy> EffectivePodGc(const json& workflow, const json& default_pod_gc) {
  const json& own = Field(Field(workflow, "spec"), "podGC");
  if (!own.is_null() && !own.is_object())
    return absl::InvalidArgumentError("spec.podGC: want an object");
  const json merged = Merge(default_pod_gc, own);
  PodGcPolicy p;
  const json& strategy = Field(merged, "strategy");
  if (strategy.is_string()) p.strategy = strategy.get<std::string>();
  if (!p.strategy.empty() && p.strategy != "OnPodCompletion" && p.strategy != "OnPodSuccess" &&
      p.strategy != "OnWorkflowCompletion" && p.strategy != "OnWorkflowSuccess") {
    return absl::InvalidArgumentError(absl::StrCat(
        "spec.podGC.strategy: \"", p.strategy,
        "\" is not one of OnPodCompletion, OnPodSuccess, OnWorkflowCompletion, OnWorkflowSuccess"));
  }
  p.label_selector = Field(merged, "labelSelector");
  const json& delay = Field(merged, "deleteDelayDuration");
  if (delay.is_string() && !delay.get<std::string>().empty()) {
    absl::StatusOr<absl::Duration> d = base::ParseGoDuration(delay.get<std::string>());
    if (!d.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("spec.podGC.deleteDelayDuration: ", d.status().message()));
    }
    p.delete_delay = std::max(*d, absl::ZeroDuration());
  } else if (!delay.is_null() && !delay.is_string()) {
    return absl::InvalidArgumentError("spec.podGC.deleteDelayDuration: want a duration string");
  }
  return p;
}

std::optional<absl::Time> TtlDueAt(const json& workflow, const TtlStrategy& ttl) {
  const std::string phase = Phase(workflow);
  if (!PhaseCompleted(phase)) return std::nullopt;
  const std::optional<absl::Time> finished = FinishedAt(Field(workflow, "status"));
  if (!finished.has_value()) return std::nullopt;
  std::optional<int64_t> seconds;
  if ((phase == "Failed" || phase == "Error") && ttl.seconds_after_failure.has_value()) {
    seconds = ttl.seconds_after_failure;
  } else if (phase == "Succeeded" && ttl.seconds_after_success.has_value()) {
    seconds = ttl.seconds_after_success;
  } else {
    seconds = ttl.seconds_after_completion;
  }
  if (!seconds.has_value()) return std::nullopt;
  return *finished + absl::Seconds(*seconds);
}

absl::StatusOr<PodGcDecision> DecidePodGc(const json& workflow, const std::vector<json>& pods,
                                          const PodGcPolicy& policy, absl::Time now) {
  PodGcDecision d;
  if (policy.strategy.empty()) return d;
  const std::string phase = Phase(workflow);
  const bool workflow_level =
      policy.strategy == "OnWorkflowCompletion" || policy.strategy == "OnWorkflowSuccess";
  std::optional<absl::Time> workflow_done;
  if (workflow_level) {
    const bool ready =
        policy.strategy == "OnWorkflowSuccess" ? phase == "Succeeded" : PhaseCompleted(phase);
    if (!ready) return d;
    // A completed workflow without finishedAt is taken as finished now.
    workflow_done = FinishedAt(Field(workflow, "status")).value_or(now);
  }
  const json& nodes = Field(Field(workflow, "status"), "nodes");
  for (const json& pod : pods) {
    const json& meta = Field(pod, "metadata");
    if (!Field(meta, "name").is_string()) continue;
    if (!Field(meta, "deletionTimestamp").is_null()) continue;  // already going
    if (!policy.label_selector.is_null()) {
      ASSIGN_OR_RETURN(bool match, cluster::workloads::SelectorMatches(policy.label_selector,
                                                                       Field(meta, "labels"),
                                                                       "spec.podGC.labelSelector"));
      if (!match) continue;
    }
    absl::Time due;
    if (workflow_level) {
      due = *workflow_done + policy.delete_delay;
    } else {
      // Only once the status records the node's end: the pod is the only record of its outputs
      // until then.
      const json* node = NodeOfPod(nodes, pod);
      if (node == nullptr) continue;
      const json& np = Field(*node, "phase");
      const std::string node_phase = np.is_string() ? np.get<std::string>() : "";
      const bool ready = policy.strategy == "OnPodSuccess" ? node_phase == "Succeeded"
                                                           : PhaseCompleted(node_phase);
      if (!ready) continue;
      due = FinishedAt(*node).value_or(now) + policy.delete_delay;
    }
    if (due <= now) {
      d.delete_now.push_back(Field(meta, "name").get<std::string>());
    } else {
      Earliest(d.next, due);
    }
  }
  return d;
}

absl::StatusOr<bool> NeedsArchiving(const json& workflow, const RetentionConfig& config) {
  if (!config.archive || !PhaseCompleted(Phase(workflow))) return false;
  const json& labels = Field(Field(workflow, "metadata"), "labels");
  const json& status = Field(labels, kArchivingStatusLabel);
  if (status.is_string() && status.get<std::string>() == kArchived) return false;
  if (config.archive_label_selector.is_object() && !config.archive_label_selector.empty()) {
    return cluster::workloads::SelectorMatches(config.archive_label_selector, labels,
                                               "persistence.archiveLabelSelector");
  }
  return true;
}

absl::StatusOr<RetentionActions> DecideRetention(const json& workflow,
                                                 const std::vector<json>& pods,
                                                 const RetentionConfig& config, absl::Time now) {
  RetentionActions a;
  ASSIGN_OR_RETURN(a.archive, NeedsArchiving(workflow, config));
  ASSIGN_OR_RETURN(TtlStrategy ttl, EffectiveTtl(workflow, config.default_ttl_strategy));
  if (std::optional<absl::Time> due = TtlDueAt(workflow, ttl); due.has_value()) {
    // The archive takes its copy first; the controller reconciles again after writing it.
    if (*due <= now) {
      a.delete_workflow = true;
    } else {
      Earliest(a.next, *due);
    }
  }
  if (!a.delete_workflow) {
    ASSIGN_OR_RETURN(PodGcPolicy policy, EffectivePodGc(workflow, config.default_pod_gc));
    ASSIGN_OR_RETURN(PodGcDecision pods_decision, DecidePodGc(workflow, pods, policy, now));
    a.delete_pods = std::move(pods_decision.delete_now);
    if (pods_decision.next.has_value()) Earliest(a.next, *pods_decision.next);
  }
  return a;
}

absl::StatusOr<absl::Duration> ParseArchiveTtl(std::string_view text) {
  std::string t(absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size())));
  if (t.empty()) return absl::ZeroDuration();
  if (t.back() == 'd') {
    int64_t days = 0;
    if (!absl::SimpleAtoi(t.substr(0, t.size() - 1), &days) || days < 0) {
      return absl::InvalidArgumentError(absl::StrCat("archiveTTL: invalid duration \"", t, "\""));
    }
    return absl::Hours(24 * days);
  }
  absl::StatusOr<absl::Duration> d = base::ParseGoDuration(t);
  if (!d.ok())
    return absl::InvalidArgumentError(absl::StrCat("archiveTTL: ", d.status().message()));
  return *d;
}

absl::StatusOr<RetentionConfig> ParseControllerConfigMap(const json& configmap,
                                                         RetentionConfig base) {
  const json& data = Field(configmap, "data");
  const json& persistence_text = Field(data, "persistence");
  if (persistence_text.is_string()) {
    ASSIGN_OR_RETURN(std::vector<json> docs,
                     manifest::ParseDocuments(persistence_text.get<std::string>()));
    const json p = docs.empty() ? json::object() : docs[0];
    if (!p.is_null() && !p.is_object()) {
      return absl::InvalidArgumentError("persistence: want a YAML mapping");
    }
    const json& archive = Field(p, "archive");
    base.archive = archive.is_boolean() ? archive.get<bool>() : archive == "true";
    const json& ttl = Field(p, "archiveTTL");
    base.archive_ttl = absl::ZeroDuration();
    if (ttl.is_string()) {
      ASSIGN_OR_RETURN(base.archive_ttl, ParseArchiveTtl(ttl.get<std::string>()));
    }
    base.archive_label_selector = Field(p, "archiveLabelSelector");
    if (!base.archive_label_selector.is_null() && !base.archive_label_selector.is_object()) {
      return absl::InvalidArgumentError("persistence.archiveLabelSelector: want a label selector");
    }
  }
  const json& defaults_text = Field(data, "workflowDefaults");
  if (defaults_text.is_string()) {
    ASSIGN_OR_RETURN(std::vector<json> docs,
                     manifest::ParseDocuments(defaults_text.get<std::string>()));
    const json spec = docs.empty() ? json() : Field(docs[0], "spec");
    if (!Field(spec, "ttlStrategy").is_null()) base.default_ttl_strategy = spec["ttlStrategy"];
    if (!Field(spec, "podGC").is_null()) base.default_pod_gc = spec["podGC"];
  }
  return base;
}

}  // namespace argonaut::workflow::gc
