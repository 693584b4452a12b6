#include "services/cd/engine/health.h"

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/lua/lua.h"
#include "services/cd/engine/resource_key.h"

namespace argonaut::cd::engine {
namespace {

using json = nlohmann::json;

const json& Null() {
  static const json kNull;
  return kNull;
}

// obj.a.b.c, or null when any step is missing or not an object.
const json& At(const json& obj, std::initializer_list<const char*> path) {
  const json* cur = &obj;
  for (const char* key : path) {
    if (!cur->is_object()) return Null();
    auto it = cur->find(key);
    if (it == cur->end()) return Null();
    cur = &*it;
  }
  return *cur;
}

std::string Str(const json& obj, std::initializer_list<const char*> path) {
  const json& v = At(obj, path);
  return v.is_string() ? v.get<std::string>() : "";
}

// Integers may arrive as numbers or (Argo Rollouts' observedGeneration) strings.
std::optional<int64_t> Int(const json& obj, std::initializer_list<const char*> path) {
  const json& v = At(obj, path);
  if (v.is_number()) return v.get<int64_t>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.empty()) return std::nullopt;
    int64_t n = 0;
    for (char c : s) {
      if (c < '0' || c > '9' || n > (INT64_MAX - 9) / 10) return std::nullopt;
      n = n * 10 + (c - '0');
    }
    return n;
  }
  return std::nullopt;
}

int64_t IntOr(const json& obj, std::initializer_list<const char*> path, int64_t dflt) {
  return Int(obj, path).value_or(dflt);
}

const json& Array(const json& obj, std::initializer_list<const char*> path) {
  static const json kEmpty = json::array();
  const json& v = At(obj, path);
  return v.is_array() ? v : kEmpty;
}

// The first status.conditions[] entry of `type`, or null.
const json& Condition(const json& obj, std::string_view type) {
  for (const json& c : Array(obj, {"status", "conditions"}))
    if (Str(c, {"type"}) == type) return c;
  return Null();
}

Health H(const char* status, std::string message = "") {
  return Health{status, std::move(message)};
}

Health DeploymentHealth(const json& obj) {
  if (At(obj, {"spec", "paused"}) == true) return H(kSuspended, "Deployment is paused");
  int64_t generation = IntOr(obj, {"metadata", "generation"}, 0);
  if (generation > IntOr(obj, {"status", "observedGeneration"}, 0))
    return H(kProgressing,
             "Waiting for rollout to finish: observed deployment generation less than desired "
             "generation");
  if (Str(Condition(obj, "Progressing"), {"reason"}) == "ProgressDeadlineExceeded")
    return H(kDegraded, absl::StrCat("Deployment \"", Str(obj, {"metadata", "name"}),
                                     "\" exceeded its progress deadline"));
  int64_t updated = IntOr(obj, {"status", "updatedReplicas"}, 0);
  int64_t replicas = IntOr(obj, {"status", "replicas"}, 0);
  int64_t available = IntOr(obj, {"status", "availableReplicas"}, 0);
  if (auto want = Int(obj, {"spec", "replicas"}); want && updated < *want)
    return H(kProgressing, absl::StrCat("Waiting for rollout to finish: ", updated, " out of ",
                                        *want, " new replicas have been updated..."));
  if (replicas > updated)
    return H(kProgressing, absl::StrCat("Waiting for rollout to finish: ", replicas - updated,
                                        " old replicas are pending termination..."));
  if (available < updated)
    return H(kProgressing, absl::StrCat("Waiting for rollout to finish: ", available, " of ",
                                        updated, " updated replicas are available..."));
  return H(kHealthy);
}

Health ReplicaSetHealth(const json& obj) {
  if (IntOr(obj, {"metadata", "generation"}, 0) > IntOr(obj, {"status", "observedGeneration"}, 0))
    return H(kProgressing,
             "Waiting for rollout to finish: observed replica set generation less than desired "
             "generation");
  const json& failure = Condition(obj, "ReplicaFailure");
  if (Str(failure, {"status"}) == "True") return H(kDegraded, Str(failure, {"message"}));
  int64_t available = IntOr(obj, {"status", "availableReplicas"}, 0);
  if (auto want = Int(obj, {"spec", "replicas"}); want && available < *want)
    return H(kProgressing, absl::StrCat("Waiting for rollout to finish: ", available, " out of ",
                                        *want, " new replicas are available..."));
  return H(kHealthy);
}

Health StatefulSetHealth(const json& obj) {
  int64_t observed = IntOr(obj, {"status", "observedGeneration"}, 0);
  if (observed == 0 || IntOr(obj, {"metadata", "generation"}, 0) > observed)
    return H(kProgressing, "Waiting for statefulset spec update to be observed...");
  auto want = Int(obj, {"spec", "replicas"});
  int64_t ready = IntOr(obj, {"status", "readyReplicas"}, 0);
  int64_t updated = IntOr(obj, {"status", "updatedReplicas"}, 0);
  if (want && ready < *want)
    return H(kProgressing, absl::StrCat("Waiting for ", *want - ready, " pods to be ready..."));
  std::string type = Str(obj, {"spec", "updateStrategy", "type"});
  if (type == "RollingUpdate" || type.empty()) {
    auto partition = Int(obj, {"spec", "updateStrategy", "rollingUpdate", "partition"});
    if (want && partition) {
      if (updated < *want - *partition)
        return H(kProgressing,
                 absl::StrCat("Waiting for partitioned roll out to finish: ", updated, " out of ",
                              *want - *partition, " new pods have been updated..."));
      return H(kHealthy, absl::StrCat("partitioned roll out complete: ", updated,
                                      " new pods have been updated..."));
    }
  }
  if (type == "OnDelete")
    return H(kHealthy, absl::StrCat("statefulset has ", ready, " ready pods"));
  std::string update_rev = Str(obj, {"status", "updateRevision"});
  std::string current_rev = Str(obj, {"status", "currentRevision"});
  if (update_rev != current_rev)
    return H(kProgressing, absl::StrCat("waiting for statefulset rolling update to complete ",
                                        updated, " pods at revision ", update_rev, "..."));
  return H(kHealthy, absl::StrCat("statefulset rolling update complete ",
                                  IntOr(obj, {"status", "currentReplicas"}, 0),
                                  " pods at revision ", current_rev, "..."));
}

Health DaemonSetHealth(const json& obj) {
  if (IntOr(obj, {"metadata", "generation"}, 0) > IntOr(obj, {"status", "observedGeneration"}, 0))
    return H(kProgressing,
             "Waiting for rollout to finish: observed daemon set generation less than desired "
             "generation");
  int64_t desired = IntOr(obj, {"status", "desiredNumberScheduled"}, 0);
  int64_t updated = IntOr(obj, {"status", "updatedNumberScheduled"}, 0);
  int64_t available = IntOr(obj, {"status", "numberAvailable"}, 0);
  std::string name = Str(obj, {"metadata", "name"});
  if (Str(obj, {"spec", "updateStrategy", "type"}) == "OnDelete")
    return H(kHealthy, absl::StrCat("daemon set ", updated, " out of ", desired,
                                    " new pods have been updated"));
  if (updated < desired)
    return H(kProgressing,
             absl::StrCat("Waiting for daemon set \"", name, "\" rollout to finish: ", updated,
                          " out of ", desired, " new pods have been updated..."));
  if (available < desired)
    return H(kProgressing,
             absl::StrCat("Waiting for daemon set \"", name, "\" rollout to finish: ", available,
                          " of ", desired, " updated pods are available..."));
  return H(kHealthy);
}

std::string PodFailMessage(const json& ctr) {
  const json& term = At(ctr, {"state", "terminated"});
  if (!term.is_object()) return "";
  if (std::string m = Str(term, {"message"}); !m.empty()) return m;
  if (Str(term, {"reason"}) == "OOMKilled") return "OOMKilled";
  if (int64_t code = IntOr(term, {"exitCode"}, 0); code != 0)
    return absl::StrCat("container \"", Str(ctr, {"name"}), "\" failed with exit code ", code);
  return "";
}

Health PodHealth(const json& obj) {
  std::string policy = Str(obj, {"spec", "restartPolicy"});
  if (policy.empty()) policy = "Always";  // the API server's default
  std::string message = Str(obj, {"status", "message"});
  if (policy == "Always" ||
      Str(obj, {"metadata", "annotations", "argocd.argoproj.io/ignore-restart-policy"}) == "true") {
    std::vector<std::string> messages;
    for (const json& cs : Array(obj, {"status", "containerStatuses"})) {
      std::string reason = Str(cs, {"state", "waiting", "reason"});
      if (absl::StartsWith(reason, "Err") || absl::EndsWith(reason, "Error") ||
          absl::EndsWith(reason, "BackOff")) {
        std::string m = Str(cs, {"state", "waiting", "message"});
        messages.push_back(m.empty() ? reason : m);
      }
    }
    if (!messages.empty()) return H(kDegraded, absl::StrJoin(messages, ", "));
  }
  std::string phase = Str(obj, {"status", "phase"});
  if (phase == "Pending") return H(kProgressing, message);
  if (phase == "Succeeded") return H(kHealthy, message);
  if (phase == "Failed") {
    if (!message.empty()) return H(kDegraded, message);
    for (const char* list : {"initContainerStatuses", "containerStatuses"})
      for (const json& cs : Array(obj, {"status", list}))
        if (std::string m = PodFailMessage(cs); !m.empty()) return H(kDegraded, m);
    return H(kDegraded);
  }
  if (phase == "Running") {
    if (policy == "Always") {
      if (Str(Condition(obj, "Ready"), {"status"}) == "True") return H(kHealthy, message);
      for (const json& cs : Array(obj, {"status", "containerStatuses"}))
        if (At(cs, {"lastState", "terminated"}).is_object()) return H(kDegraded, message);
      return H(kProgressing, message);
    }
    if (policy == "OnFailure" || policy == "Never") return H(kProgressing, message);
  }
  return H(kUnknown, message);
}

Health JobHealth(const json& obj) {
  bool failed = false, complete = false, suspended = false;
  std::string fail_message, message;
  for (const json& c : Array(obj, {"status", "conditions"})) {
    std::string type = Str(c, {"type"});
    if (type == "Failed") {
      failed = complete = true;
      fail_message = Str(c, {"message"});
    } else if (type == "Complete") {
      complete = true;
      message = Str(c, {"message"});
    } else if (type == "Suspended") {
      complete = true;
      message = Str(c, {"message"});
      suspended = Str(c, {"status"}) == "True";
    }
  }
  if (!complete) return H(kProgressing, message);
  if (failed) return H(kDegraded, fail_message);
  if (suspended) return H(kSuspended, message);
  return H(kHealthy, message);
}

bool HasLoadBalancerIngress(const json& obj) {
  return !Array(obj, {"status", "loadBalancer", "ingress"}).empty();
}

Health ServiceHealth(const json& obj) {
  if (Str(obj, {"spec", "type"}) == "LoadBalancer" && !HasLoadBalancerIngress(obj))
    return H(kProgressing);
  return H(kHealthy);
}

Health IngressHealth(const json& obj) {
  return H(HasLoadBalancerIngress(obj) ? kHealthy : kProgressing);
}

Health PvcHealth(const json& obj) {
  std::string phase = Str(obj, {"status", "phase"});
  if (phase == "Lost") return H(kDegraded);
  if (phase == "Pending") return H(kProgressing);
  if (phase == "Bound") return H(kHealthy);
  return H(kUnknown);
}

Health HpaHealth(const json& obj) {
  json conditions = Array(obj, {"status", "conditions"});
  // autoscaling/v1 keeps its conditions as JSON text in an annotation.
  std::string v1 =
      Str(obj, {"metadata", "annotations", "autoscaling.alpha.kubernetes.io/conditions"});
  if (conditions.empty() && !v1.empty()) {
    json parsed = json::parse(v1, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_array()) conditions = std::move(parsed);
  }
  for (const json& c : conditions) {
    std::string type = Str(c, {"type"}), reason = Str(c, {"reason"});
    bool degraded =
        (type == "AbleToScale" && (reason == "FailedGetScale" || reason == "FailedUpdateScale")) ||
        (type == "ScalingActive" &&
         ((absl::StartsWith(reason, "FailedGet") && absl::EndsWith(reason, "Metric")) ||
          reason == "FailedComputeMetricsReplicas" || reason == "InvalidSelector"));
    if (degraded) return H(kDegraded, Str(c, {"message"}));
    if ((type == "AbleToScale" || type == "ScalingLimited") && Str(c, {"status"}) == "True")
      return H(kHealthy, Str(c, {"message"}));
  }
  return H(kProgressing, "Waiting to Autoscale");
}

Health ApiServiceHealth(const json& obj) {
  const json& c = Condition(obj, "Available");
  if (c.is_object()) {
    std::string m = absl::StrCat(Str(c, {"reason"}), ": ", Str(c, {"message"}));
    return H(Str(c, {"status"}) == "True" ? kHealthy : kProgressing, m);
  }
  return H(kProgressing, "Waiting to be processed");
}

Health WorkflowHealth(const json& obj) {
  std::string phase = Str(obj, {"status", "phase"});
  std::string message = Str(obj, {"status", "message"});
  if (phase.empty() || phase == "Pending" || phase == "Running") return H(kProgressing, message);
  if (phase == "Succeeded") return H(kHealthy, message);
  if (phase == "Failed" || phase == "Error") return H(kDegraded, message);
  return H(kUnknown, message);
}

// Argo CD's bundled argoproj.io/Rollout check: spec observed, then the
// conditions that make a rollout Degraded, then the phase the rollout
// controller reports (Paused shows as Suspended); for a rollout without a
// phase, the older checks on pause, replica counts and the stable hash.
Health RolloutHealth(const json& obj) {
  constexpr char kNotObserved[] = "Waiting for rollout spec update to be observed";
  const json& status = At(obj, {"status"});
  if (!status.is_object()) return H(kProgressing, kNotObserved);
  // A non-numeric observedGeneration (a pre-v0.10 hash) counts as observed.
  auto observed = Int(obj, {"status", "observedGeneration"});
  auto generation = Int(obj, {"metadata", "generation"});
  if (observed && generation && *observed < *generation) return H(kProgressing, kNotObserved);
  for (const json& c : Array(obj, {"status", "conditions"})) {
    std::string type = Str(c, {"type"}), reason = Str(c, {"reason"});
    if ((type == "InvalidSpec" && Str(c, {"status"}) != "False") ||
        (type == "Progressing" &&
         (reason == "RolloutAborted" || reason == "ProgressDeadlineExceeded")))
      return H(kDegraded, Str(c, {"message"}));
  }
  if (std::string phase = Str(status, {"phase"}); !phase.empty()) {
    std::string message = Str(status, {"message"});
    if (phase == "Paused") return H(kSuspended, message);
    for (const char* code : {kHealthy, kProgressing, kDegraded, kSuspended})
      if (phase == code) return H(code, message);
    return H(kUnknown, message);
  }
  if (At(obj, {"spec", "paused"}) == true || !Array(obj, {"status", "pauseConditions"}).empty())
    return H(kSuspended, "Rollout is paused");
  std::string current = Str(status, {"currentPodHash"});
  if (current.empty())
    return H(kProgressing, "Waiting for rollout to finish: status has not been reconciled.");
  int64_t updated = IntOr(obj, {"status", "updatedReplicas"}, 0);
  if (updated < IntOr(obj, {"spec", "replicas"}, 1))
    return H(kProgressing, "Waiting for roll out to finish: More replicas need to be updated");
  if (IntOr(obj, {"status", "availableReplicas"}, 0) < updated)
    return H(kProgressing,
             "Waiting for roll out to finish: updated replicas are still becoming available");
  std::string stable = Str(status, {"stableRS"});
  if (stable.empty()) stable = Str(status, {"canary", "stableRS"});
  if (At(obj, {"spec", "strategy", "blueGreen"}).is_object()) {
    if (Str(status, {"blueGreen", "activeSelector"}) != current)
      return H(kProgressing, "active service cutover pending");
    if (!stable.empty() && stable != current)
      return H(kProgressing, "waiting for analysis to complete");
  } else if (At(obj, {"spec", "strategy", "canary"}).is_object()) {
    if (IntOr(obj, {"status", "replicas"}, 0) > updated)
      return H(kProgressing,
               "Waiting for roll out to finish: old replicas are pending termination");
    if (stable.empty() || stable != current)
      return H(kProgressing, "Waiting for rollout to finish steps");
  }
  return H(kHealthy);
}

// Argo CD's bundled argoproj.io/AnalysisRun check.
Health AnalysisRunHealth(const json& obj) {
  std::string phase = Str(obj, {"status", "phase"});
  std::string message = Str(obj, {"status", "message"});
  if (phase == "Pending" || phase == "Running") return H(kProgressing, "Analysis run is running");
  if (phase == "Successful")
    return H(kHealthy, message.empty() ? "Analysis run completed successfully" : message);
  if (phase == "Failed") return H(kDegraded, message.empty() ? "Analysis run failed" : message);
  if (phase == "Error")
    return H(kDegraded, message.empty() ? "Analysis run had an error" : message);
  if (phase == "Inconclusive")
    return H(kUnknown, message.empty() ? "Analysis run was inconclusive" : message);
  return H(kProgressing, "Waiting for analysis run to finish: status has not been reconciled.");
}

// The app-of-apps check from Argo CD's health documentation: a child
// Application's health is the health it reports.
Health ApplicationHealth(const json& obj) {
  Health h = H(kProgressing);
  if (std::string s = Str(obj, {"status", "health", "status"}); !s.empty()) h.status = s;
  h.message = Str(obj, {"status", "health", "message"});
  return h;
}

using Rule = Health (*)(const json&);

Rule BuiltIn(std::string_view group, std::string_view kind) {
  struct Entry {
    std::string_view group, kind;
    Rule rule;
  };
  static const Entry kRules[] = {
      {"apps", "Deployment", DeploymentHealth},
      {"extensions", "Deployment", DeploymentHealth},
      {"apps", "ReplicaSet", ReplicaSetHealth},
      {"extensions", "ReplicaSet", ReplicaSetHealth},
      {"apps", "StatefulSet", StatefulSetHealth},
      {"apps", "DaemonSet", DaemonSetHealth},
      {"extensions", "DaemonSet", DaemonSetHealth},
      {"", "Pod", PodHealth},
      {"", "Service", ServiceHealth},
      {"", "PersistentVolumeClaim", PvcHealth},
      {"batch", "Job", JobHealth},
      {"networking.k8s.io", "Ingress", IngressHealth},
      {"extensions", "Ingress", IngressHealth},
      {"autoscaling", "HorizontalPodAutoscaler", HpaHealth},
      {"apiregistration.k8s.io", "APIService", ApiServiceHealth},
      {"argoproj.io", "Workflow", WorkflowHealth},
      {"argoproj.io", "Rollout", RolloutHealth},
      {"argoproj.io", "AnalysisRun", AnalysisRunHealth},
      {"argoproj.io", "Application", ApplicationHealth},
  };
  for (const Entry& e : kRules)
    if (e.group == group && e.kind == kind) return e.rule;
  return nullptr;
}

bool IsHealthCode(std::string_view s) {
  for (const char* code : {kHealthy, kProgressing, kDegraded, kSuspended, kMissing, kUnknown})
    if (s == code) return true;
  return false;
}

}  // namespace

Health RunHealthScript(const std::string& script, const json& obj) {
  auto out = lua::RunLua(script, "obj", obj);
  if (!out.ok()) return H(kUnknown, absl::StrCat("health script: ", out.status().message()));
  if (!out->is_object()) return H(kUnknown, "health script did not return a table");
  std::string status = Str(*out, {"status"});
  if (!IsHealthCode(status))
    return H(kUnknown, absl::StrCat("health script returned an invalid status \"", status, "\""));
  return H(status.c_str(), Str(*out, {"message"}));
}

std::optional<Health> AssessHealth(const json& live, const HealthScripts& scripts) {
  if (!live.is_object()) return std::nullopt;
  if (!At(live, {"metadata", "deletionTimestamp"}).is_null())
    return H(kProgressing, "Pending deletion");
  ResourceKey key = KeyOf(live);
  if (const std::string* script = scripts.Find(key.group, key.kind))
    return RunHealthScript(*script, live);
  if (Rule rule = BuiltIn(key.group, key.kind)) return rule(live);
  return std::nullopt;
}

int HealthRank(std::string_view status) {
  static const std::string_view kOrder[] = {kHealthy, kSuspended, kProgressing,
                                            kMissing, kDegraded,  kUnknown};
  for (int i = 0; i < 6; ++i)
    if (kOrder[i] == status) return i;
  return 5;
}

}  // namespace argonaut::cd::engine
