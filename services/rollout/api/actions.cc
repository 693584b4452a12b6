#include "services/rollout/api/actions.h"

#include <algorithm>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace argonaut::rollout::api {
namespace {

using nlohmann::json;

// obj[key] when obj is an object holding an object there, else an empty object.
const json& Obj(const json& obj, const char* key) {
  static const json* const kEmpty = new json(json::object());
  if (!obj.is_object()) return *kEmpty;
  auto it = obj.find(key);
  return it != obj.end() && it->is_object() ? *it : *kEmpty;
}

json& MutableObj(json& obj, const char* key) {
  json& v = obj[key];
  if (!v.is_object()) v = json::object();
  return v;
}

absl::Status CheckRollout(const json& rollout) {
  if (!rollout.is_object()) return absl::InvalidArgumentError("rollout: expected an object");
  return absl::OkStatus();
}

const json& CanarySteps(const json& rollout) {
  static const json* const kNone = new json(json::array());
  const json& canary = Obj(Obj(Obj(rollout, "spec"), "strategy"), "canary");
  auto it = canary.find("steps");
  return it != canary.end() && it->is_array() ? *it : *kNone;
}

bool IsCanary(const json& rollout) {
  return Obj(Obj(rollout, "spec"), "strategy").contains("canary");
}

// Argo's GetCurrentCanaryStep index: status.currentStepIndex (0 when unset) for a canary with
// steps; nullopt otherwise.
std::optional<int64_t> CurrentStepIndex(const json& rollout) {
  if (!IsCanary(rollout) || CanarySteps(rollout).empty()) return std::nullopt;
  const json& status = Obj(rollout, "status");
  auto it = status.find("currentStepIndex");
  if (it != status.end() && it->is_number_integer()) return it->get<int64_t>();
  if (it != status.end() && it->is_number()) return static_cast<int64_t>(it->get<double>());
  return 0;
}

bool NonEmptyArray(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_array() && !it->empty();
}

bool InconclusiveStepAnalysis(const json& rollout) {
  if (!IsCanary(rollout)) return false;
  const json& run = Obj(Obj(Obj(rollout, "status"), "canary"), "currentStepAnalysisRunStatus");
  return run.value("status", "") == "Inconclusive";
}

std::string Str(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

// The template without its hash label, as Argo compares templates when undoing.
json WithoutHash(json tmpl) {
  if (!tmpl.is_object()) return tmpl;
  auto meta = tmpl.find("metadata");
  if (meta == tmpl.end() || !meta->is_object()) return tmpl;
  auto labels = meta->find("labels");
  if (labels != meta->end() && labels->is_object()) {
    labels->erase(kPodTemplateHashLabel);
    if (labels->empty()) meta->erase("labels");
  }
  if (meta->empty()) tmpl.erase("metadata");
  return tmpl;
}

}  // namespace

std::string StrategyOf(const json& rollout) {
  const json& strategy = Obj(Obj(rollout, "spec"), "strategy");
  if (strategy.contains("blueGreen")) return "BlueGreen";
  if (strategy.contains("canary")) return "Canary";
  return "";
}

int64_t RevisionOf(const json& replica_set) {
  const std::string text =
      Str(Obj(Obj(replica_set, "metadata"), "annotations"), kRevisionAnnotation);
  int64_t v = 0;
  if (!absl::SimpleAtoi(text, &v)) return 0;
  return v;
}

absl::StatusOr<json> Promote(json rollout, const PromoteOptions& options) {
  if (absl::Status s = CheckRollout(rollout); !s.ok()) return s;
  json& spec = MutableObj(rollout, "spec");
  if (spec.value("paused", false) == true) spec["paused"] = false;
  json& status = MutableObj(rollout, "status");
  if (options.full) {
    if (Str(status, "currentPodHash") != Str(status, "stableRS")) status["promoteFull"] = true;
    return rollout;
  }
  const int64_t steps = static_cast<int64_t>(CanarySteps(rollout).size());
  const std::optional<int64_t> index = CurrentStepIndex(rollout);
  const bool paused_by_conditions = NonEmptyArray(status, "pauseConditions");
  if (InconclusiveStepAnalysis(rollout) && paused_by_conditions &&
      status.value("controllerPause", false) == true) {
    if (index.has_value()) {
      status.erase("pauseConditions");
      status["controllerPause"] = false;
      status["currentStepIndex"] = std::min(*index + 1, steps);
    }
  } else if (paused_by_conditions) {
    status.erase("pauseConditions");
  } else if (index.has_value()) {
    // Mid-step (analysis or experiment running): promote moves on to the next step; clearing a
    // pause and skipping a step are never both done.
    status["currentStepIndex"] = std::min(*index + 1, steps);
  }
  return rollout;
}

absl::StatusOr<json> Abort(json rollout) {
  if (absl::Status s = CheckRollout(rollout); !s.ok()) return s;
  MutableObj(rollout, "status")["abort"] = true;
  return rollout;
}

absl::StatusOr<json> Retry(json rollout) {
  if (absl::Status s = CheckRollout(rollout); !s.ok()) return s;
  MutableObj(rollout, "status")["abort"] = false;
  return rollout;
}

absl::StatusOr<json> RetryExperiment(json experiment) {
  if (!experiment.is_object() || experiment.value("kind", "") != "Experiment") {
    return absl::InvalidArgumentError("retry experiment: the object is not an Experiment");
  }
  experiment.erase("status");
  return experiment;
}

absl::StatusOr<json> Terminate(json object) {
  const std::string kind = object.is_object() ? object.value("kind", "") : "";
  if (kind != "Experiment" && kind != "AnalysisRun") {
    return absl::InvalidArgumentError(
        absl::StrCat("terminate: \"", kind, "\" is neither an Experiment nor an AnalysisRun"));
  }
  MutableObj(object, "spec")["terminate"] = true;
  return object;
}

absl::StatusOr<json> Pause(json rollout, bool paused) {
  if (absl::Status s = CheckRollout(rollout); !s.ok()) return s;
  MutableObj(rollout, "spec")["paused"] = paused;
  return rollout;
}

absl::StatusOr<json> Restart(json rollout, absl::Time at) {
  if (absl::Status s = CheckRollout(rollout); !s.ok()) return s;
  MutableObj(rollout, "spec")["restartAt"] =
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", at, absl::UTCTimeZone());
  return rollout;
}

absl::StatusOr<json> SetImage(json rollout, std::string_view container, std::string_view image) {
  if (absl::Status s = CheckRollout(rollout); !s.ok()) return s;
  if (container.empty()) return absl::InvalidArgumentError("container: must not be empty");
  if (image.empty()) return absl::InvalidArgumentError("image: must not be empty");
  json& pod_spec = MutableObj(MutableObj(MutableObj(rollout, "spec"), "template"), "spec");
  bool found = false;
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    auto it = pod_spec.find(list);
    if (it == pod_spec.end() || !it->is_array()) continue;
    for (json& c : *it) {
      if (!c.is_object()) continue;
      if (container == "*" || Str(c, "name") == container) {
        c["image"] = std::string(image);
        found = true;
      }
    }
  }
  if (!found) {
    return absl::NotFoundError(
        absl::StrCat("unable to find container named \"", std::string(container), "\""));
  }
  return rollout;
}

absl::StatusOr<json> Undo(json rollout, const std::vector<json>& replica_sets, int64_t revision) {
  if (absl::Status s = CheckRollout(rollout); !s.ok()) return s;
  if (revision < 0) return absl::InvalidArgumentError("revision: must not be negative");
  const std::string name = Str(Obj(rollout, "metadata"), "name");
  int64_t target = revision;
  if (target == 0) {
    // kubectl's rollback without --to-revision: the revision below the newest.
    int64_t newest = 0, previous = 0;
    for (const json& rs : replica_sets) {
      const int64_t v = RevisionOf(rs);
      if (v > newest) {
        previous = newest;
        newest = v;
      } else if (v > previous && v < newest) {
        previous = v;
      }
    }
    if (previous == 0) {
      return absl::NotFoundError(
          absl::StrCat("no previous revision found in the history of rollout \"", name, "\""));
    }
    target = previous;
  }
  const json* source = nullptr;
  for (const json& rs : replica_sets) {
    if (RevisionOf(rs) == target) source = &rs;
  }
  if (source == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("revision ", target, " not found in the history of rollout \"", name, "\""));
  }
  const json& tmpl = Obj(Obj(*source, "spec"), "template");
  if (tmpl.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the ReplicaSet of revision ", target, " has no pod template"));
  }
  json& spec = MutableObj(rollout, "spec");
  const json restored = WithoutHash(tmpl);
  if (WithoutHash(spec.value("template", json::object())) == restored) return rollout;
  spec["template"] = restored;
  return rollout;
}

}  // namespace argonaut::rollout::api
