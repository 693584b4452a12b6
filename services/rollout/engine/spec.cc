// Reading and checking a Rollout's spec (Argo's pkg/apis/rollouts/validation): every problem is
// an InvalidArgument naming the field, which Reconcile turns into the InvalidSpec condition.
#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/workloads/objects.h"
#include "lib/cluster/workloads/pod_template.h"
#include "services/rollout/engine/canary_math.h"
#include "services/rollout/engine/context.h"

namespace argonaut::rollout::engine {
namespace {

namespace wl = ::argonaut::cluster::workloads;

absl::Status Invalid(std::string_view path, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(path), ": ", std::string(what)));
}

const Json& Obj(const Json& parent, std::string_view key) {
  static const Json kNull;
  const Json* f = wl::Field(parent, key);
  return f == nullptr ? kNull : *f;
}

absl::Status NotObject(const Json& v, std::string_view path) {
  if (v.is_null() || v.is_object()) return absl::OkStatus();
  return Invalid(path, absl::StrCat("expected an object, got ", v.type_name()));
}

// canaryMetadata/stableMetadata/previewMetadata/activeMetadata: {labels, annotations}, maps of
// strings. Returns the normalized block, or null when absent or empty.
absl::StatusOr<Json> PodMetadata(const Json& strategy, const std::string& key,
                                 const std::string& sp) {
  const std::string path = absl::StrCat(sp, ".", key);
  const Json& m = Obj(strategy, key);
  RETURN_IF_ERROR(NotObject(m, path));
  Json out = Json::object();
  for (const char* kind : {"labels", "annotations"}) {
    const Json& map = Obj(m, kind);
    const std::string mp = absl::StrCat(path, ".", kind);
    RETURN_IF_ERROR(NotObject(map, mp));
    if (map.is_null() || map.empty()) continue;
    for (const auto& [k, v] : map.items()) {
      if (!v.is_string()) {
        return Invalid(absl::StrCat(mp, ".", k),
                       absl::StrCat("Invalid value: expected a string, got ", v.type_name()));
      }
      if (k.empty()) return Invalid(mp, "Invalid value: empty key");
    }
    if (std::string_view(kind) == "labels" && map.contains(kPodTemplateHashLabel)) {
      return Invalid(absl::StrCat(mp, ".", kPodTemplateHashLabel),
                     "Forbidden: the controller owns this label");
    }
    out[kind] = map;
  }
  return out.empty() ? Json() : out;
}

std::string StepHash(const Json& steps) {
  const std::string text = steps.is_null() ? "[]" : steps.dump();
  uint32_t h = 2166136261u;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 16777619u;
  }
  return wl::SafeEncode(std::to_string(h));
}

absl::Status CheckAnalysis(const Json& a, std::string_view path) {
  RETURN_IF_ERROR(NotObject(a, path));
  const Json& templates = Obj(a, "templates");
  if (!templates.is_array() || templates.empty()) {
    return Invalid(absl::StrCat(std::string(path), ".templates"),
                   "Required value: at least one template is required");
  }
  for (size_t i = 0; i < templates.size(); ++i) {
    if (wl::StrOr(templates[i], "templateName").empty()) {
      return Invalid(absl::StrCat(std::string(path), ".templates[", i, "].templateName"),
                     "Required value");
    }
  }
  const Json& args = Obj(a, "args");
  if (!args.is_null() && !args.is_array()) {
    return Invalid(absl::StrCat(std::string(path), ".args"), "expected a list");
  }
  if (args.is_array()) {
    for (size_t i = 0; i < args.size(); ++i) {
      if (wl::StrOr(args[i], "name").empty()) {
        return Invalid(absl::StrCat(std::string(path), ".args[", i, "].name"), "Required value");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckExperiment(const Json& e, const std::string& path) {
  if (!e.is_object()) return Invalid(path, "expected an object");
  const Json* templates = wl::Field(e, "templates");
  if (templates == nullptr || !templates->is_array() || templates->empty()) {
    return Invalid(path + ".templates", "Required value: at least one template");
  }
  for (size_t i = 0; i < templates->size(); ++i) {
    const Json& t = (*templates)[i];
    const std::string tp = absl::StrCat(path, ".templates[", i, "]");
    if (!t.is_object()) return Invalid(tp, "expected an object");
    if (wl::StrOr(t, "name").empty()) return Invalid(tp + ".name", "Required value");
    const std::string ref = wl::StrOr(t, "specRef");
    if (ref != "stable" && ref != "canary") {
      return Invalid(tp + ".specRef", absl::StrCat("Unsupported value: \"", ref,
                                                   "\": supported values: \"canary\", \"stable\""));
    }
  }
  if (const Json* d = wl::Field(e, "duration"); d != nullptr && !d->is_string()) {
    return Invalid(path + ".duration", "must be a Go duration string (\"1h\")");
  }
  if (const Json* a = wl::Field(e, "analyses")) {
    if (!a->is_array()) return Invalid(path + ".analyses", "expected a list");
    for (size_t i = 0; i < a->size(); ++i) {
      const std::string ap = absl::StrCat(path, ".analyses[", i, "]");
      if (wl::StrOr((*a)[i], "name").empty()) return Invalid(ap + ".name", "Required value");
      if (wl::StrOr((*a)[i], "templateName").empty()) {
        return Invalid(ap + ".templateName", "Required value");
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Step> ParseStep(const Json& s, size_t i, const Spec& spec) {
  const std::string path = absl::StrCat("spec.strategy.canary.steps[", i, "]");
  if (!s.is_object()) return Invalid(path, "expected an object");
  int fields = 0;
  for (auto it = s.begin(); it != s.end(); ++it) {
    if (!it.value().is_null()) ++fields;
  }
  if (fields == 0) {
    return Invalid(path,
                   "Invalid value: Step must have one of the following set: experiment, "
                   "setWeight, setCanaryScale or pause");
  }
  // Argo's own examples combine a step with a route (setCanaryScale + setHeaderRoute), and the
  // API accepts them: the step acts as its first kind below and the route is a no-op here.
  Step step;
  step.field = s.begin().key();
  if (const Json* w = wl::Field(s, "setWeight")) {
    step.kind = Step::Kind::kSetWeight;
    step.field = "setWeight";
    if (!w->is_number_integer() || w->get<int64_t>() < 0 || w->get<int64_t>() > spec.max_weight) {
      return Invalid(
          absl::StrCat(path, ".setWeight"),
          absl::StrCat("Invalid value: ", w->dump(), ": must be between 0 and ", spec.max_weight));
    }
    step.weight = w->get<int32_t>();
  } else if (s.contains("pause") && !s["pause"].is_null()) {
    step.kind = Step::Kind::kPause;
    step.field = "pause";
    const Json& p = s["pause"];
    RETURN_IF_ERROR(NotObject(p, absl::StrCat(path, ".pause")));
    if (const Json* d = wl::Field(p, "duration")) {
      ASSIGN_OR_RETURN(absl::Duration dur,
                       ParseStepDuration(*d, absl::StrCat(path, ".pause.duration")));
      step.duration = dur;
    }
  } else if (const Json* sc = wl::Field(s, "setCanaryScale")) {
    step.kind = Step::Kind::kSetCanaryScale;
    step.field = "setCanaryScale";
    const std::string sp = absl::StrCat(path, ".setCanaryScale");
    RETURN_IF_ERROR(NotObject(*sc, sp));
    if (!spec.traffic_routing) {
      return Invalid(sp, "Invalid value: SetCanaryScale requires TrafficRouting to be set");
    }
    ASSIGN_OR_RETURN(std::optional<int64_t> replicas,
                     wl::OptionalInt64Field(*sc, "replicas", sp + ".replicas"));
    ASSIGN_OR_RETURN(std::optional<int64_t> weight,
                     wl::OptionalInt64Field(*sc, "weight", sp + ".weight"));
    ASSIGN_OR_RETURN(bool match,
                     wl::BoolField(*sc, "matchTrafficWeight", false, sp + ".matchTrafficWeight"));
    if (static_cast<int>(replicas.has_value()) + static_cast<int>(weight.has_value()) +
            static_cast<int>(match) !=
        1) {
      return Invalid(sp, "Invalid value: exactly one of replicas, weight, matchTrafficWeight");
    }
    if (replicas.has_value()) {
      if (*replicas < 0 || *replicas > 1000000) {
        return Invalid(sp + ".replicas", "Invalid value: must be non-negative");
      }
      step.scale_replicas = static_cast<int32_t>(*replicas);
    }
    if (weight.has_value()) {
      if (*weight < 0 || *weight > spec.max_weight) {
        return Invalid(sp + ".weight", absl::StrCat("Invalid value: ", *weight,
                                                    ": must be between 0 and ", spec.max_weight));
      }
      step.scale_weight = static_cast<int32_t>(*weight);
    }
    step.match_traffic_weight = match;
  } else if (const Json* a = wl::Field(s, "analysis")) {
    step.kind = Step::Kind::kAnalysis;
    step.field = "analysis";
    RETURN_IF_ERROR(CheckAnalysis(*a, absl::StrCat(path, ".analysis")));
    step.analysis = *a;
  } else if (const Json* e = wl::Field(s, "experiment")) {
    step.kind = Step::Kind::kExperiment;
    step.field = "experiment";
    RETURN_IF_ERROR(CheckExperiment(*e, absl::StrCat(path, ".experiment")));
    step.experiment = *e;
  } else if (wl::Field(s, "plugin") != nullptr) {
    step.kind = Step::Kind::kPlugin;
    step.field = "plugin";
  } else if (s.contains("setHeaderRoute") || s.contains("setMirrorRoute")) {
    // Routes the local Service proxy cannot express: a no-op, as for Argo's routers without
    // header/mirror support.
    step.kind = Step::Kind::kNoOp;
  } else {
    return Invalid(absl::StrCat(path, ".", step.field), "unknown step type");
  }
  return step;
}

absl::Status ServiceExists(const std::map<std::string, Json>& services, const std::string& name,
                           std::string_view path) {
  if (name.empty() || services.count(name) > 0) return absl::OkStatus();
  return Invalid(path, absl::StrCat("service \"", name, "\" not found"));
}

absl::Status ParseCanary(const Json& c, const std::map<std::string, Json>& services, Spec& spec) {
  const char* p = "spec.strategy.canary";
  ASSIGN_OR_RETURN(spec.canary_service,
                   wl::StringField(c, "canaryService", "", std::string(p) + ".canaryService"));
  ASSIGN_OR_RETURN(spec.stable_service,
                   wl::StringField(c, "stableService", "", std::string(p) + ".stableService"));
  if (!spec.canary_service.empty() && spec.canary_service == spec.stable_service) {
    return Invalid(std::string(p) + ".stableService",
                   absl::StrCat("Invalid value: \"", spec.stable_service,
                                "\": This rollout uses the same service for the stable and canary "
                                "services, but two different services are required."));
  }
  const Json& routing = Obj(c, "trafficRouting");
  RETURN_IF_ERROR(NotObject(routing, std::string(p) + ".trafficRouting"));
  spec.traffic_routing = routing.is_object() && !routing.empty();
  if (spec.traffic_routing) {
    ASSIGN_OR_RETURN(spec.max_weight,
                     wl::Int32Field(routing, "maxTrafficWeight", 100,
                                    std::string(p) + ".trafficRouting.maxTrafficWeight"));
    if (spec.max_weight <= 0) {
      return Invalid(std::string(p) + ".trafficRouting.maxTrafficWeight", "must be positive");
    }
    // A DestinationRule subset split routes without the two Services (Argo allows it).
    const bool subset_split = wl::FieldPath(routing, {"istio", "destinationRule"}) != nullptr;
    if (!subset_split && (spec.canary_service.empty() || spec.stable_service.empty())) {
      return Invalid(
          std::string(p) + (spec.canary_service.empty() ? ".canaryService" : ".stableService"),
          "Required value: canary and stable services are required when using "
          "trafficRouting");
    }
    RETURN_IF_ERROR(
        ServiceExists(services, spec.canary_service, std::string(p) + ".canaryService"));
    RETURN_IF_ERROR(
        ServiceExists(services, spec.stable_service, std::string(p) + ".stableService"));
    spec.traffic_service = spec.stable_service;
    const Json* root = wl::FieldPath(routing, {"smi", "rootService"});
    if (root != nullptr && root->is_string() && !root->get<std::string>().empty()) {
      spec.traffic_service = root->get<std::string>();
      RETURN_IF_ERROR(ServiceExists(services, spec.traffic_service,
                                    std::string(p) + ".trafficRouting.smi.rootService"));
    }
  }
  RETURN_IF_ERROR(ServiceExists(services, spec.canary_service, std::string(p) + ".canaryService"));
  RETURN_IF_ERROR(ServiceExists(services, spec.stable_service, std::string(p) + ".stableService"));

  const Json& surge = Obj(c, "maxSurge");
  const Json& unavailable = Obj(c, "maxUnavailable");
  auto is_zero = [](const Json& v) {
    return (v.is_number_integer() && v.get<int64_t>() == 0) ||
           (v.is_string() && (v.get<std::string>() == "0" || v.get<std::string>() == "0%"));
  };
  if (is_zero(surge) && is_zero(unavailable)) {
    return Invalid(std::string(p) + ".maxUnavailable",
                   "Invalid value: 0: MaxSurge and MaxUnavailable both can not be zero");
  }
  ASSIGN_OR_RETURN(RollingLimits limits,
                   ResolveRollingLimits(surge, unavailable, spec.replicas, p));
  spec.max_surge = limits.max_surge;
  spec.max_unavailable = limits.max_unavailable;

  ASSIGN_OR_RETURN(
      spec.dynamic_stable_scale,
      wl::BoolField(c, "dynamicStableScale", false, std::string(p) + ".dynamicStableScale"));
  if (spec.dynamic_stable_scale && !spec.traffic_routing) {
    return Invalid(std::string(p) + ".dynamicStableScale",
                   "Invalid value: true: Dynamic stable scale requires traffic routing");
  }
  if (spec.dynamic_stable_scale && wl::Field(c, "scaleDownDelaySeconds") != nullptr) {
    return Invalid(std::string(p) + ".scaleDownDelaySeconds",
                   "Invalid value: Cannot set scaleDownDelaySeconds when using dynamicStableScale");
  }
  ASSIGN_OR_RETURN(spec.scale_down_delay_seconds,
                   wl::Int32Field(c, "scaleDownDelaySeconds", kDefaultScaleDownDelaySeconds,
                                  std::string(p) + ".scaleDownDelaySeconds"));
  ASSIGN_OR_RETURN(
      spec.abort_scale_down_delay_seconds,
      wl::Int32Field(c, "abortScaleDownDelaySeconds", kDefaultAbortScaleDownDelaySeconds,
                     std::string(p) + ".abortScaleDownDelaySeconds"));
  ASSIGN_OR_RETURN(spec.min_pods_per_rs, wl::Int32Field(c, "minPodsPerReplicaSet", 0,
                                                        std::string(p) + ".minPodsPerReplicaSet"));
  if (spec.scale_down_delay_seconds < 0 || spec.abort_scale_down_delay_seconds < 0 ||
      spec.min_pods_per_rs < 0) {
    return Invalid(p, "delays and minPodsPerReplicaSet must be non-negative");
  }
  if (const Json* t = wl::Field(c, "replicaProgressThreshold")) {
    spec.progress_threshold_type = wl::StrOr(*t, "type");
    ASSIGN_OR_RETURN(
        spec.progress_threshold_value,
        wl::Int32Field(*t, "value", 100, std::string(p) + ".replicaProgressThreshold.value"));
    if (spec.progress_threshold_type != "Percent" && spec.progress_threshold_type != "Pods") {
      return Invalid(std::string(p) + ".replicaProgressThreshold.type",
                     "Unsupported value: must be Percent or Pods");
    }
  }

  const Json& steps = Obj(c, "steps");
  if (!steps.is_null() && !steps.is_array()) {
    return Invalid(std::string(p) + ".steps", "expected a list");
  }
  if (steps.is_array()) {
    for (size_t i = 0; i < steps.size(); ++i) {
      ASSIGN_OR_RETURN(Step step, ParseStep(steps[i], i, spec));
      spec.steps.push_back(std::move(step));
    }
  }
  spec.step_hash = StepHash(steps);

  const Json& analysis = Obj(c, "analysis");
  if (!analysis.is_null()) {
    RETURN_IF_ERROR(CheckAnalysis(analysis, std::string(p) + ".analysis"));
    spec.background_analysis = analysis;
    ASSIGN_OR_RETURN(spec.starting_step, wl::Int32Field(analysis, "startingStep", 0,
                                                        std::string(p) + ".analysis.startingStep"));
    if (spec.starting_step < 0 || spec.starting_step > static_cast<int32_t>(spec.steps.size())) {
      return Invalid(std::string(p) + ".analysis.startingStep",
                     "Invalid value: StartingStep must be within the number of steps");
    }
  }
  return absl::OkStatus();
}

absl::Status ParseBlueGreen(const Json& b, const std::map<std::string, Json>& services,
                            Spec& spec) {
  const std::string p = "spec.strategy.blueGreen";
  ASSIGN_OR_RETURN(spec.active_service,
                   wl::StringField(b, "activeService", "", p + ".activeService"));
  ASSIGN_OR_RETURN(spec.preview_service,
                   wl::StringField(b, "previewService", "", p + ".previewService"));
  if (spec.active_service.empty()) return Invalid(p + ".activeService", "Required value");
  if (spec.active_service == spec.preview_service) {
    return Invalid(p + ".previewService",
                   "Invalid value: Preview service and Active service cannot be the same");
  }
  RETURN_IF_ERROR(ServiceExists(services, spec.active_service, p + ".activeService"));
  RETURN_IF_ERROR(ServiceExists(services, spec.preview_service, p + ".previewService"));
  ASSIGN_OR_RETURN(std::optional<int64_t> preview,
                   wl::OptionalInt64Field(b, "previewReplicaCount", p + ".previewReplicaCount"));
  if (preview.has_value()) {
    if (*preview < 0 || *preview > spec.replicas) {
      return Invalid(p + ".previewReplicaCount",
                     absl::StrCat("Invalid value: ", *preview, ": must be between 0 and replicas"));
    }
    spec.preview_replica_count = static_cast<int32_t>(*preview);
  }
  ASSIGN_OR_RETURN(spec.auto_promotion_enabled,
                   wl::BoolField(b, "autoPromotionEnabled", true, p + ".autoPromotionEnabled"));
  ASSIGN_OR_RETURN(spec.auto_promotion_seconds,
                   wl::Int32Field(b, "autoPromotionSeconds", 0, p + ".autoPromotionSeconds"));
  ASSIGN_OR_RETURN(spec.scale_down_delay_seconds,
                   wl::Int32Field(b, "scaleDownDelaySeconds", kDefaultScaleDownDelaySeconds,
                                  p + ".scaleDownDelaySeconds"));
  ASSIGN_OR_RETURN(
      spec.abort_scale_down_delay_seconds,
      wl::Int32Field(b, "abortScaleDownDelaySeconds", kDefaultAbortScaleDownDelaySeconds,
                     p + ".abortScaleDownDelaySeconds"));
  if (spec.auto_promotion_seconds < 0 || spec.scale_down_delay_seconds < 0 ||
      spec.abort_scale_down_delay_seconds < 0) {
    return Invalid(p, "autoPromotionSeconds and delays must be non-negative");
  }
  if (const Json* a = wl::Field(b, "prePromotionAnalysis")) {
    RETURN_IF_ERROR(CheckAnalysis(*a, p + ".prePromotionAnalysis"));
    spec.pre_promotion_analysis = *a;
  }
  if (const Json* a = wl::Field(b, "postPromotionAnalysis")) {
    RETURN_IF_ERROR(CheckAnalysis(*a, p + ".postPromotionAnalysis"));
    spec.post_promotion_analysis = *a;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<absl::Duration> ParseStepDuration(const Json& value, std::string_view path) {
  int64_t secs = 0;
  if (value.is_number_integer()) {
    secs = value.get<int64_t>();
  } else if (value.is_string()) {
    const std::string s = value.get<std::string>();
    if (absl::SimpleAtoi(s, &secs)) {
      // bare number: seconds
    } else {
      absl::Duration d;
      // Go's time.ParseDuration units; absl accepts the same syntax.
      if (s.empty() || !absl::ParseDuration(s, &d) || d == absl::InfiniteDuration()) {
        return Invalid(path, absl::StrCat("Invalid value: \"", s,
                                          "\": must be an integer (seconds) or a duration with "
                                          "unit s, m or h"));
      }
      if (d < absl::ZeroDuration()) return Invalid(path, "Invalid value: must be non-negative");
      return d;
    }
  } else {
    return Invalid(
        path, absl::StrCat("expected an integer or a duration string, got ", value.type_name()));
  }
  if (secs < 0) return Invalid(path, "Invalid value: must be non-negative");
  return absl::Seconds(secs);
}

absl::StatusOr<Spec> ParseSpec(const Json& rollout, const std::optional<Json>& workload,
                               const std::map<std::string, Json>& services) {
  Spec spec;
  const Json& meta = Obj(rollout, "metadata");
  spec.name = wl::StrOr(meta, "name");
  spec.ns = wl::StrOr(meta, "namespace");
  if (spec.name.empty()) return Invalid("metadata.name", "Required value");
  const Json& s = Obj(rollout, "spec");
  if (!s.is_object()) return Invalid("spec", "Required value");

  ASSIGN_OR_RETURN(spec.replicas, wl::Int32Field(s, "replicas", 1, "spec.replicas"));
  if (spec.replicas < 0) return Invalid("spec.replicas", "Invalid value: must be non-negative");
  ASSIGN_OR_RETURN(spec.min_ready_seconds,
                   wl::Int32Field(s, "minReadySeconds", 0, "spec.minReadySeconds"));
  ASSIGN_OR_RETURN(spec.revision_history_limit,
                   wl::Int32Field(s, "revisionHistoryLimit", kDefaultRevisionHistoryLimit,
                                  "spec.revisionHistoryLimit"));
  ASSIGN_OR_RETURN(spec.progress_deadline_seconds,
                   wl::Int32Field(s, "progressDeadlineSeconds", kDefaultProgressDeadlineSeconds,
                                  "spec.progressDeadlineSeconds"));
  if (spec.min_ready_seconds < 0 || spec.revision_history_limit < 0) {
    return Invalid("spec", "minReadySeconds and revisionHistoryLimit must be non-negative");
  }
  if (spec.progress_deadline_seconds <= spec.min_ready_seconds) {
    return Invalid("spec.progressDeadlineSeconds",
                   "Invalid value: progressDeadlineSeconds must be greater than minReadySeconds");
  }
  ASSIGN_OR_RETURN(spec.progress_deadline_abort,
                   wl::BoolField(s, "progressDeadlineAbort", false, "spec.progressDeadlineAbort"));
  ASSIGN_OR_RETURN(spec.paused, wl::BoolField(s, "paused", false, "spec.paused"));
  if (const Json& restart = Obj(s, "restartAt"); !restart.is_null()) {
    absl::StatusOr<absl::Time> at = restart.is_string()
                                        ? wl::ParseK8sTime(restart.get<std::string>())
                                        : absl::InvalidArgumentError("expected a string");
    if (!at.ok()) {
      return Invalid("spec.restartAt", absl::StrCat("Invalid value: ", restart.dump(),
                                                    ": expected an RFC 3339 time"));
    }
    spec.restart_at = *at;
  }
  const Json& history = Obj(s, "analysis");
  ASSIGN_OR_RETURN(spec.successful_run_history,
                   wl::Int32Field(history, "successfulRunHistoryLimit", kDefaultRunHistoryLimit,
                                  "spec.analysis.successfulRunHistoryLimit"));
  ASSIGN_OR_RETURN(spec.unsuccessful_run_history,
                   wl::Int32Field(history, "unsuccessfulRunHistoryLimit", kDefaultRunHistoryLimit,
                                  "spec.analysis.unsuccessfulRunHistoryLimit"));

  // The pod template: inline or from the workloadRef Deployment.
  const Json& ref = Obj(s, "workloadRef");
  const Json& tmpl = Obj(s, "template");
  if (!ref.is_null()) {
    spec.workload_ref = true;
    if (tmpl.is_object() && (tmpl.contains("spec") || tmpl.contains("metadata"))) {
      return Invalid("spec.template",
                     "Invalid value: template must be empty for workload reference rollout");
    }
    const std::string ref_name = wl::StrOr(ref, "name");
    if (ref_name.empty()) return Invalid("spec.workloadRef.name", "Required value");
    spec.workload_scale_down = wl::StrOr(ref, "scaleDown");
    if (!spec.workload_scale_down.empty() && spec.workload_scale_down != "never" &&
        spec.workload_scale_down != "onsuccess" && spec.workload_scale_down != "progressively") {
      return Invalid("spec.workloadRef.scaleDown",
                     "Unsupported value: must be never, onsuccess or progressively");
    }
    const std::string kind = wl::StrOr(ref, "kind", "Deployment");
    if (!workload.has_value()) {
      return Invalid("spec.workloadRef", absl::StrCat(kind, " \"", ref_name, "\" not found"));
    }
    const Json* t = wl::FieldPath(*workload, {"spec", "template"});
    if (kind == "PodTemplate") t = wl::Field(*workload, "template");
    if (t == nullptr || !t->is_object()) {
      return Invalid("spec.workloadRef",
                     absl::StrCat(kind, " \"", ref_name, "\" has no pod template"));
    }
    spec.pod_template = *t;
  } else {
    if (!tmpl.is_object()) return Invalid("spec.template", "Required value");
    spec.pod_template = tmpl;
  }
  RETURN_IF_ERROR(wl::CheckDepth(spec.pod_template, 64, "spec.template"));
  const Json* containers = wl::FieldPath(spec.pod_template, {"spec", "containers"});
  if (containers == nullptr || !containers->is_array() || containers->empty()) {
    return Invalid("spec.template.spec.containers", "Required value");
  }

  spec.selector = Obj(s, "selector");
  if (spec.selector.is_null() && spec.workload_ref) {
    // The referenced Deployment's selector stands in for an omitted one.
    if (const Json* sel = wl::FieldPath(*workload, {"spec", "selector"})) spec.selector = *sel;
  }
  if (!spec.selector.is_object() || (Obj(spec.selector, "matchLabels").empty() &&
                                     Obj(spec.selector, "matchExpressions").empty())) {
    return Invalid("spec.selector", "Required value: empty selector is invalid for rollout");
  }
  const Json* labels = wl::FieldPath(spec.pod_template, {"metadata", "labels"});
  ASSIGN_OR_RETURN(bool matches,
                   wl::SelectorMatches(spec.selector, labels == nullptr ? Json::object() : *labels,
                                       "spec.selector"));
  if (!matches) {
    return Invalid("spec.selector", absl::StrCat("Invalid value: ", spec.selector.dump(),
                                                 ": `selector` does not match template `labels`"));
  }

  const Json& strategy = Obj(s, "strategy");
  RETURN_IF_ERROR(NotObject(strategy, "spec.strategy"));
  const Json& canary = Obj(strategy, "canary");
  const Json& blue_green = Obj(strategy, "blueGreen");
  if (!canary.is_null() && !blue_green.is_null()) {
    return Invalid("spec.strategy", "Invalid value: Multiple Strategies can not be listed");
  }
  if (canary.is_null() && blue_green.is_null()) {
    return Invalid("spec.strategy",
                   "Required value: Rollout has missing field '.spec.strategy.canary or "
                   ".spec.strategy.blueGreen'");
  }
  if (!canary.is_null()) {
    RETURN_IF_ERROR(NotObject(canary, "spec.strategy.canary"));
    spec.canary = true;
    RETURN_IF_ERROR(ParseCanary(canary, services, spec));
  } else {
    RETURN_IF_ERROR(NotObject(blue_green, "spec.strategy.blueGreen"));
    RETURN_IF_ERROR(ParseBlueGreen(blue_green, services, spec));
    spec.step_hash = StepHash(Json());
  }
  if (spec.canary) {
    spec.restart_max_unavailable = spec.max_unavailable;
  } else {
    // Blue-green's maxUnavailable only bounds restarts; unset it is 25% of the replicas.
    const Json& u = Obj(blue_green, "maxUnavailable");
    ASSIGN_OR_RETURN(spec.restart_max_unavailable,
                     wl::ScaledIntOrPercent(u.is_null() ? Json("25%") : u, spec.replicas, false,
                                            "spec.strategy.blueGreen.maxUnavailable"));
  }
  spec.restart_max_unavailable = std::max(1, spec.restart_max_unavailable);
  const char* sp = spec.canary ? "spec.strategy.canary" : "spec.strategy.blueGreen";
  const Json& st = spec.canary ? canary : blue_green;
  if (!Obj(st, "scaleDownDelayRevisionLimit").is_null()) {
    ASSIGN_OR_RETURN(int32_t limit,
                     wl::Int32Field(st, "scaleDownDelayRevisionLimit", 0,
                                    absl::StrCat(sp, ".scaleDownDelayRevisionLimit")));
    if (limit < 0) {
      return Invalid(absl::StrCat(sp, ".scaleDownDelayRevisionLimit"),
                     "Invalid value: must be non-negative");
    }
    spec.scale_down_delay_revision_limit = limit;
  }
  ASSIGN_OR_RETURN(spec.canary_metadata,
                   PodMetadata(st, spec.canary ? "canaryMetadata" : "previewMetadata", sp));
  ASSIGN_OR_RETURN(spec.stable_metadata,
                   PodMetadata(st, spec.canary ? "stableMetadata" : "activeMetadata", sp));
  ASSIGN_OR_RETURN(
      spec.rollback_window_revisions,
      wl::Int32Field(Obj(s, "rollbackWindow"), "revisions", 0, "spec.rollbackWindow.revisions"));
  if (spec.rollback_window_revisions < 0) {
    return Invalid("spec.rollbackWindow.revisions", "Invalid value: must be non-negative");
  }
  return spec;
}

}  // namespace argonaut::rollout::engine
