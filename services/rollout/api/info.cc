#include "services/rollout/api/info.h"

#include <algorithm>
#include <cstdint>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/rollout/api/actions.h"

namespace argonaut::rollout::api {
namespace {

using nlohmann::json;

const json& Obj(const json& obj, const char* key) {
  static const json* const kEmpty = new json(json::object());
  if (!obj.is_object()) return *kEmpty;
  auto it = obj.find(key);
  return it != obj.end() && it->is_object() ? *it : *kEmpty;
}

const json& Arr(const json& obj, const char* key) {
  static const json* const kEmpty = new json(json::array());
  if (!obj.is_object()) return *kEmpty;
  auto it = obj.find(key);
  return it != obj.end() && it->is_array() ? *it : *kEmpty;
}

std::string Str(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

// Numbers may come back from the store as doubles (google.protobuf.Struct) or as strings
// (int64 in Argo's JSON); all mean the same count.
std::optional<int64_t> OptInt(const json& obj, const char* key) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number()) return static_cast<int64_t>(it->get<double>());
  int64_t v = 0;
  if (it->is_string() && absl::SimpleAtoi(it->get<std::string>(), &v)) return v;
  return std::nullopt;
}

int64_t Int(const json& obj, const char* key, int64_t fallback = 0) {
  return OptInt(obj, key).value_or(fallback);
}

bool Bool(const json& obj, const char* key) {
  if (!obj.is_object()) return false;
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

const json& Meta(const json& o) { return Obj(o, "metadata"); }
std::string Uid(const json& o) { return Str(Meta(o), "uid"); }

bool OwnedBy(const json& o, const std::set<std::string>& uids) {
  for (const json& ref : Arr(Meta(o), "ownerReferences")) {
    if (uids.count(Str(ref, "uid")) > 0) return true;
  }
  return false;
}

// The object's metadata as RolloutInfo carries it: without managedFields, which only the API
// server's bookkeeping needs.
json ObjectMeta(const json& o) {
  json m = Meta(o);
  m.erase("managedFields");
  return m;
}

std::vector<std::string> Images(const json& pod_spec, const char* list) {
  std::vector<std::string> out;
  for (const json& c : Arr(pod_spec, list)) out.push_back(Str(c, "image"));
  return out;
}

json Containers(const json& pod_spec, const char* list) {
  json out = json::array();
  for (const json& c : Arr(pod_spec, list)) {
    out.push_back({{"name", Str(c, "name")}, {"image", Str(c, "image")}});
  }
  return out;
}

// kubectl's STATUS column of a pod: a container's waiting or terminated reason wins over the
// phase; Terminating while being deleted.
std::string PodStatus(const json& pod) {
  const json& status = Obj(pod, "status");
  std::string reason = Str(status, "phase");
  if (!Str(status, "reason").empty()) reason = Str(status, "reason");
  bool initializing = false;
  const json& inits = Arr(status, "initContainerStatuses");
  for (size_t i = 0; i < inits.size(); ++i) {
    const json& state = Obj(inits[i], "state");
    const json& term = Obj(state, "terminated");
    if (!term.empty() && Int(term, "exitCode") == 0) continue;
    initializing = true;
    if (!term.empty()) {
      reason = Str(term, "reason").empty() ? absl::StrCat("Init:ExitCode:", Int(term, "exitCode"))
                                           : "Init:" + Str(term, "reason");
    } else if (!Str(Obj(state, "waiting"), "reason").empty() &&
               Str(Obj(state, "waiting"), "reason") != "PodInitializing") {
      reason = "Init:" + Str(Obj(state, "waiting"), "reason");
    } else {
      reason = absl::StrCat("Init:", i, "/", Arr(Obj(pod, "spec"), "initContainers").size());
    }
    break;
  }
  if (!initializing) {
    const json& cs = Arr(status, "containerStatuses");
    bool running = false;
    for (auto it = cs.rbegin(); it != cs.rend(); ++it) {
      const json& state = Obj(*it, "state");
      const json& waiting = Obj(state, "waiting");
      const json& term = Obj(state, "terminated");
      if (!Str(waiting, "reason").empty()) {
        reason = Str(waiting, "reason");
      } else if (!term.empty()) {
        reason = Str(term, "reason").empty() ? absl::StrCat("ExitCode:", Int(term, "exitCode"))
                                             : Str(term, "reason");
      } else if (!Obj(state, "running").empty() && Bool(*it, "ready")) {
        running = true;
      }
    }
    if (reason == "Completed" && running) reason = "Running";
  }
  if (!Str(Meta(pod), "deletionTimestamp").empty()) reason = "Terminating";
  return reason;
}

json PodInfo(const json& pod) {
  const json& status = Obj(pod, "status");
  int ready = 0;
  int64_t restarts = 0;
  for (const json& c : Arr(status, "containerStatuses")) {
    if (Bool(c, "ready")) ++ready;
    restarts += Int(c, "restartCount");
  }
  const size_t total = Arr(Obj(pod, "spec"), "containers").size();
  const std::string st = PodStatus(pod);
  return {{"objectMeta", ObjectMeta(pod)},
          {"status", st},
          {"icon", PodIcon(st, total > 0 && ready == static_cast<int>(total))},
          {"ready", absl::StrCat(ready, "/", total)},
          {"restarts", restarts}};
}

json ReplicaSetInfo(const json& rs, const json& rollout, const std::vector<json>& pods) {
  const json& rs_status = Obj(rs, "status");
  const json& ro_status = Obj(rollout, "status");
  const std::string hash = Str(Obj(Meta(rs), "labels"), kPodTemplateHashLabel);
  const int64_t desired = Int(Obj(rs, "spec"), "replicas", 1);
  const int64_t available = Int(rs_status, "availableReplicas");
  json info = {{"objectMeta", ObjectMeta(rs)},
               {"revision", absl::StrCat(RevisionOf(rs))},
               {"replicas", Int(rs_status, "replicas")},
               {"available", available},
               {"template", hash}};
  if (desired == 0) {
    info["status"] = "ScaledDown";
    info["icon"] = kIconNeutral;
  } else if (available >= desired) {
    info["status"] = "Healthy";
    info["icon"] = kIconOk;
  } else {
    info["status"] = "Progressing";
    info["icon"] = kIconProgressing;
  }
  const json& pod_spec = Obj(Obj(Obj(rs, "spec"), "template"), "spec");
  info["images"] = Images(pod_spec, "containers");
  info["initContainerImages"] = Images(pod_spec, "initContainers");
  const std::string deadline =
      Str(Obj(Meta(rs), "annotations"), "argo-rollouts.argoproj.io/scale-down-deadline");
  if (!deadline.empty()) info["scaleDownDeadline"] = deadline;
  if (!rollout.is_null() && !hash.empty()) {
    const std::string strategy = StrategyOf(rollout);
    const bool stable = hash == Str(ro_status, "stableRS");
    info["stable"] = stable;
    if (strategy == "Canary") {
      info["canary"] = !stable && hash == Str(ro_status, "currentPodHash");
    }
    if (strategy == "BlueGreen") {
      const json& bg = Obj(ro_status, "blueGreen");
      info["active"] = hash == Str(bg, "activeSelector");
      info["preview"] = hash == Str(bg, "previewSelector");
    }
  }
  json pod_infos = json::array();
  const std::set<std::string> owner = {Uid(rs)};
  std::vector<const json*> owned;
  for (const json& p : pods) {
    if (OwnedBy(p, owner)) owned.push_back(&p);
  }
  std::sort(owned.begin(), owned.end(), [](const json* a, const json* b) {
    return Str(Meta(*a), "name") < Str(Meta(*b), "name");
  });
  for (const json* p : owned) pod_infos.push_back(PodInfo(*p));
  info["pods"] = std::move(pod_infos);
  return info;
}

// The last measurement of a metric's result, or null.
const json* LastMeasurement(const json& result) {
  const json& ms = Arr(result, "measurements");
  return ms.empty() ? nullptr : &ms.back();
}

json AnalysisRunInfo(const json& run) {
  const json& status = Obj(run, "status");
  const std::string phase = Str(status, "phase");
  json info = {{"objectMeta", ObjectMeta(run)},
               {"revision", absl::StrCat(RevisionOf(run))},
               {"status", phase},
               {"icon", PhaseIcon(phase.empty() ? "Pending" : phase)}};
  int64_t successful = 0, failed = 0, inconclusive = 0, errors = 0;
  json jobs = json::array(), non_job = json::array();
  for (const json& mr : Arr(status, "metricResults")) {
    successful += Int(mr, "successful");
    failed += Int(mr, "failed");
    inconclusive += Int(mr, "inconclusive");
    errors += Int(mr, "error");
    const std::string metric = Str(mr, "name");
    const json* last = LastMeasurement(mr);
    const std::string job = last != nullptr ? Str(Obj(*last, "metadata"), "job-name") : "";
    if (!job.empty()) {
      json j = {{"objectMeta", {{"name", job}, {"namespace", Str(Meta(run), "namespace")}}},
                {"status", Str(*last, "phase")},
                {"icon", PhaseIcon(Str(*last, "phase"))},
                {"metricName", metric}};
      if (!Str(*last, "startedAt").empty()) j["startedAt"] = Str(*last, "startedAt");
      jobs.push_back(std::move(j));
      continue;
    }
    for (const json& m : Arr(mr, "measurements")) {
      json n = {{"value", Str(m, "value")}, {"status", Str(m, "phase")}, {"metricName", metric}};
      if (!Str(m, "startedAt").empty()) n["startedAt"] = Str(m, "startedAt");
      non_job.push_back(std::move(n));
    }
  }
  info["successful"] = successful;
  info["failed"] = failed;
  info["inconclusive"] = inconclusive;
  info["error"] = errors;
  info["jobs"] = std::move(jobs);
  info["nonJobInfo"] = std::move(non_job);
  json metrics = json::array();
  for (const json& m : Arr(Obj(run, "spec"), "metrics")) {
    json x = {{"name", Str(m, "name")}};
    if (!Str(m, "successCondition").empty()) x["successCondition"] = Str(m, "successCondition");
    for (const char* k : {"count", "inconclusiveLimit", "failureLimit"}) {
      if (std::optional<int64_t> v = OptInt(m, k); v.has_value()) x[k] = *v;
    }
    metrics.push_back(std::move(x));
  }
  info["metrics"] = std::move(metrics);
  info["specAndStatus"] = {{"spec", Obj(run, "spec")}, {"status", status}};
  return info;
}

// Newest revision first, then by name, as Argo lists them.
template <typename T>
void SortByRevision(std::vector<T>& items) {
  std::sort(items.begin(), items.end(), [](const json& a, const json& b) {
    int64_t ra = 0, rb = 0;
    (void)absl::SimpleAtoi(Str(a, "revision"), &ra);
    (void)absl::SimpleAtoi(Str(b, "revision"), &rb);
    if (ra != rb) return ra > rb;
    return Str(Obj(a, "objectMeta"), "name") < Str(Obj(b, "objectMeta"), "name");
  });
}

json ToArray(std::vector<json> items) {
  json out = json::array();
  for (json& i : items) out.push_back(std::move(i));
  return out;
}

}  // namespace

std::string PhaseIcon(const std::string& phase) {
  if (phase == "Healthy" || phase == "Successful" || phase == "Succeeded" ||
      phase == "Running-Ready") {
    return kIconOk;
  }
  if (phase == "Progressing" || phase == "Running") return kIconProgressing;
  if (phase == "Paused") return kIconPaused;
  if (phase == "Degraded" || phase == "Failed") return kIconBad;
  if (phase == "Error") return kIconWarning;
  if (phase == "Inconclusive") return kIconUnknown;
  if (phase == "Pending") return kIconWaiting;
  return kIconUnknown;
}

std::string PodIcon(const std::string& status, bool ready) {
  if (status == "Running") return ready ? kIconOk : kIconProgressing;
  if (status == "Succeeded" || status == "Completed") return kIconOk;
  if (status == "Pending" || status == "ContainerCreating" || status == "PodInitializing" ||
      status.rfind("Init:", 0) == 0) {
    return kIconWaiting;
  }
  if (status == "Terminating") return kIconNeutral;
  if (status == "Failed" || status == "Error" || status == "CrashLoopBackOff" ||
      status == "ErrImagePull" || status == "ImagePullBackOff" || status == "InvalidImageName" ||
      status.rfind("ExitCode:", 0) == 0) {
    return kIconBad;
  }
  return kIconWarning;
}

std::pair<std::string, std::string> RolloutPhase(const json& rollout) {
  const json& status = Obj(rollout, "status");
  const std::optional<int64_t> observed = OptInt(status, "observedGeneration");
  const int64_t generation = Int(Meta(rollout), "generation");
  // A hash (legacy) or missing observedGeneration does not hold the phase back once there is one.
  if ((observed.has_value() && *observed < generation) ||
      (!observed.has_value() && Str(status, "phase").empty())) {
    return {"Progressing", "waiting for rollout spec update to be observed"};
  }
  std::string phase = Str(status, "phase");
  std::string message = Str(status, "message");
  if (phase == "Paused" && Bool(status, "controllerPause") &&
      Arr(status, "pauseConditions").empty() && !Bool(Obj(rollout, "spec"), "paused")) {
    return {"Progressing", "waiting for rollout to unpause"};
  }
  if (phase.empty()) phase = "Progressing";
  return {phase, message};
}

int SetWeight(const json& rollout) {
  const json& status = Obj(rollout, "status");
  if (Bool(status, "abort")) return 0;
  const json& steps = Arr(Obj(Obj(Obj(rollout, "spec"), "strategy"), "canary"), "steps");
  const int64_t index = Int(status, "currentStepIndex");
  if (steps.empty() || index >= static_cast<int64_t>(steps.size()) || index < 0) return 100;
  for (int64_t i = index; i >= 0; --i) {
    if (std::optional<int64_t> w = OptInt(steps[i], "setWeight"); w.has_value()) {
      return static_cast<int>(*w);
    }
  }
  return 0;
}

json BuildRolloutInfo(const RolloutObjects& objects) {
  const json& ro = objects.rollout;
  const json& spec = Obj(ro, "spec");
  const json& status = Obj(ro, "status");
  json info = {{"objectMeta", ObjectMeta(ro)}};
  auto [phase, message] = RolloutPhase(ro);
  info["status"] = phase;
  info["message"] = message;
  info["icon"] = PhaseIcon(phase);
  const std::string strategy = StrategyOf(ro);
  info["strategy"] = strategy;
  info["desired"] = Int(spec, "replicas", 1);
  info["current"] = Int(status, "replicas");
  info["updated"] = Int(status, "updatedReplicas");
  info["ready"] = Int(status, "readyReplicas");
  info["available"] = Int(status, "availableReplicas");
  info["restartedAt"] =
      Str(status, "restartedAt").empty() ? std::string("Never") : Str(status, "restartedAt");
  info["generation"] = absl::StrCat(Int(Meta(ro), "generation"));
  const json& pod_spec = Obj(Obj(spec, "template"), "spec");
  info["containers"] = Containers(pod_spec, "containers");
  info["initContainers"] = Containers(pod_spec, "initContainers");

  const std::set<std::string> ro_uid = {Uid(ro)};
  std::vector<json> rs_infos;
  for (const json& rs : objects.replica_sets) {
    if (OwnedBy(rs, ro_uid)) rs_infos.push_back(ReplicaSetInfo(rs, ro, objects.pods));
  }
  SortByRevision(rs_infos);

  if (strategy == "Canary") {
    const json& steps = Arr(Obj(Obj(spec, "strategy"), "canary"), "steps");
    if (!steps.empty()) {
      info["step"] = absl::StrCat(Int(status, "currentStepIndex"), "/", steps.size());
      info["steps"] = steps;
    }
    const std::string set_weight = absl::StrCat(SetWeight(ro));
    info["setWeight"] = set_weight;
    std::string actual = set_weight;
    const json& weights = Obj(Obj(status, "canary"), "weights");
    const bool routed = Obj(Obj(Obj(spec, "strategy"), "canary"), "trafficRouting").size() > 0;
    if (!weights.empty()) {
      actual = absl::StrCat(Int(Obj(weights, "canary"), "weight"));
    } else if (!routed) {
      // Basic canary: the weight is the canary's share of the available pods.
      const int64_t available = Int(status, "availableReplicas");
      if (available > 0) {
        for (const json& rs : rs_infos) {
          if (Bool(rs, "canary")) actual = absl::StrCat(Int(rs, "available") * 100 / available);
        }
      }
    }
    info["actualWeight"] = actual;
  }
  info["replicaSets"] = ToArray(std::move(rs_infos));

  std::set<std::string> experiment_uids;
  std::vector<json> exp_infos;
  for (const json& ex : objects.experiments) {
    if (!OwnedBy(ex, ro_uid)) continue;
    experiment_uids.insert(Uid(ex));
    const std::string ex_phase = Str(Obj(ex, "status"), "phase");
    json e = {{"objectMeta", ObjectMeta(ex)},
              {"revision", absl::StrCat(RevisionOf(ex))},
              {"status", ex_phase},
              {"icon", PhaseIcon(ex_phase.empty() ? "Pending" : ex_phase)},
              {"message", Str(Obj(ex, "status"), "message")}};
    const std::set<std::string> ex_uid = {Uid(ex)};
    std::vector<json> ex_rs, ex_runs;
    for (const json& rs : objects.replica_sets) {
      if (OwnedBy(rs, ex_uid)) ex_rs.push_back(ReplicaSetInfo(rs, json(), objects.pods));
    }
    for (const json& run : objects.analysis_runs) {
      if (OwnedBy(run, ex_uid)) ex_runs.push_back(AnalysisRunInfo(run));
    }
    SortByRevision(ex_rs);
    SortByRevision(ex_runs);
    e["replicaSets"] = ToArray(std::move(ex_rs));
    e["analysisRuns"] = ToArray(std::move(ex_runs));
    exp_infos.push_back(std::move(e));
  }
  SortByRevision(exp_infos);
  info["experiments"] = ToArray(std::move(exp_infos));

  std::vector<json> runs;
  for (const json& run : objects.analysis_runs) {
    if (OwnedBy(run, ro_uid)) runs.push_back(AnalysisRunInfo(run));
  }
  SortByRevision(runs);
  info["analysisRuns"] = ToArray(std::move(runs));
  return info;
}

}  // namespace argonaut::rollout::api
