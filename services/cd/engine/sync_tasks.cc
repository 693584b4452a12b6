#include "services/cd/engine/sync_tasks.h"

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/cd/engine/tracking.h"

namespace argonaut::cd::engine {
namespace {

using nlohmann::json;

const std::string* Annotation(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) return nullptr;
  auto annotations = meta->find("annotations");
  if (annotations == meta->end() || !annotations->is_object()) return nullptr;
  auto it = annotations->find(std::string(key));
  if (it == annotations->end() || !it->is_string()) return nullptr;
  return it->get_ptr<const std::string*>();
}

// Argo reads these annotations as comma-separated lists with blanks trimmed and empties dropped.
std::vector<std::string> AnnotationCsv(const json& obj, std::string_view key) {
  std::vector<std::string> out;
  const std::string* value = Annotation(obj, key);
  if (value == nullptr) return out;
  for (absl::string_view part : absl::StrSplit(*value, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

std::string StringAt(const json& obj, std::initializer_list<const char*> path) {
  const json* cur = &obj;
  for (const char* key : path) {
    if (!cur->is_object()) return "";
    auto it = cur->find(key);
    if (it == cur->end()) return "";
    cur = &*it;
  }
  return cur->is_string() ? cur->get<std::string>() : "";
}

bool Contains(const std::vector<std::string>& values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

bool IsArgoHookType(std::string_view t) {
  return t == kPreSync || t == kSync || t == kPostSync || t == kSyncFail || t == "Skip" ||
         t == "PreDelete" || t == "PostDelete";
}

// Helm hook value -> Argo hook type ("" when Argo does not map it).
std::string HelmHookType(std::string_view t) {
  if (t == "pre-install" || t == "pre-upgrade") return kPreSync;
  if (t == "post-install" || t == "post-upgrade") return kPostSync;
  if (t == "pre-delete") return "PreDelete";
  if (t == "post-delete") return "PostDelete";
  return "";
}

bool IsHelmHook(const json& obj) {
  const std::string* value = Annotation(obj, kHelmHookAnnotation);
  // Helm marks CRDs with the same annotation; they are ordinary resources for Argo.
  return value != nullptr && *value != "crd-install";
}

std::optional<int> ParseInt(const std::string* text) {
  int v = 0;
  if (text == nullptr || !absl::SimpleAtoi(*text, &v)) return std::nullopt;
  return v;
}

// Cluster-scoped objects match whatever namespace either side spells.
ResourceKey Normalized(ResourceKey key) {
  if (!IsNamespacedKind(key.group, key.kind)) key.ns.clear();
  return key;
}

bool TaskLess(const SyncTask& a, const SyncTask& b) {
  int d = PhaseOrder(a.phase) - PhaseOrder(b.phase);
  if (d != 0) return d < 0;
  d = a.Wave() - b.Wave();
  if (d != 0) return d < 0;
  d = KindRank(StringAt(a.Obj(), {"kind"})) - KindRank(StringAt(b.Obj(), {"kind"}));
  if (d != 0) return d < 0;
  return StringAt(a.Obj(), {"metadata", "name"}) < StringAt(b.Obj(), {"metadata", "name"});
}

using DepFn = std::function<std::optional<std::string>(const json&)>;

// Moves every dependency (a Namespace, a CRD) directly before the first task that refers to it,
// giving it that task's phase and wave, as gitops-engine's adjustDeps does after sorting.
void AdjustDeps(std::vector<SyncTask>& tasks, const DepFn& is_dep, const DepFn& refers_to) {
  std::map<std::string, size_t> first_ref;
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (!tasks[i].target) continue;
    if (std::optional<std::string> dep = is_dep(*tasks[i].target)) {
      auto it = first_ref.find(*dep);
      if (it == first_ref.end()) continue;
      const size_t index = it->second;
      SyncTask moved = std::move(tasks[i]);
      moved.wave_override = tasks[index].Wave();
      moved.phase = tasks[index].phase;
      for (size_t j = i; j > index; --j) tasks[j] = std::move(tasks[j - 1]);
      tasks[index] = std::move(moved);
      for (auto& [unused, first] : first_ref) {
        if (first >= index) ++first;
      }
    } else if (std::optional<std::string> ref = refers_to(*tasks[i].target)) {
      first_ref.emplace(*ref, i);
    }
  }
}

std::string ApiGroup(const json& obj) { return GroupOf(StringAt(obj, {"apiVersion"})); }

}  // namespace

std::vector<std::string> HookTypes(const json& obj) {
  std::vector<std::string> types;
  for (const std::string& t : AnnotationCsv(obj, kHookAnnotation)) {
    if (IsArgoHookType(t)) types.push_back(t);
  }
  // Helm's annotation only counts when the Argo one names no known type.
  if (types.empty()) {
    for (const std::string& t : AnnotationCsv(obj, kHelmHookAnnotation)) {
      std::string mapped = HelmHookType(t);
      if (!mapped.empty()) types.push_back(mapped);
    }
  }
  return types;
}

bool IsSkipped(const json& obj) {
  std::vector<std::string> types = HookTypes(obj);
  return Contains(types, "Skip") && types.size() == 1;
}

bool IsHook(const json& obj) {
  if (Annotation(obj, kHookAnnotation) != nullptr) return !IsSkipped(obj);
  return IsHelmHook(obj);
}

bool IsIgnored(const json& obj) { return IsHook(obj) && HookTypes(obj).empty(); }

std::vector<std::string> SyncPhasesOf(const json& obj) {
  if (IsSkipped(obj)) return {};
  if (!IsHook(obj)) return {kSync};
  std::vector<std::string> types = HookTypes(obj);
  std::vector<std::string> phases;
  for (const char* phase : {kPreSync, kSync, kPostSync, kSyncFail}) {
    if (Contains(types, phase)) phases.emplace_back(phase);
  }
  return phases;
}

std::vector<std::string> HookDeletePolicies(const json& obj) {
  std::vector<std::string> policies;
  for (const std::string& p : AnnotationCsv(obj, kHookDeletePolicyAnnotation)) {
    if (p == "HookSucceeded" || p == "HookFailed" || p == "BeforeHookCreation") {
      policies.push_back(p);
    }
  }
  for (const std::string& p : AnnotationCsv(obj, kHelmHookDeletePolicyAnnotation)) {
    if (p == "before-hook-creation") policies.emplace_back("BeforeHookCreation");
    if (p == "hook-succeeded") policies.emplace_back("HookSucceeded");
    if (p == "hook-failed") policies.emplace_back("HookFailed");
  }
  if (policies.empty()) policies.emplace_back("BeforeHookCreation");
  return policies;
}

int SyncWave(const json& obj) {
  if (std::optional<int> wave = ParseInt(Annotation(obj, kSyncWaveAnnotation))) return *wave;
  if (std::optional<int> weight = ParseInt(Annotation(obj, kHelmHookWeightAnnotation))) {
    return *weight;
  }
  return 0;
}

int PhaseOrder(std::string_view phase) {
  if (phase == kPreSync) return -1;
  if (phase == kSync) return 0;
  if (phase == kPostSync) return 1;
  if (phase == kSyncFail) return 2;
  return 0;
}

int KindRank(std::string_view kind) {
  static constexpr std::array<std::string_view, 35> kKinds = {
      "Namespace",
      "NetworkPolicy",
      "ResourceQuota",
      "LimitRange",
      "PodSecurityPolicy",
      "PodDisruptionBudget",
      "ServiceAccount",
      "Secret",
      "SecretList",
      "ConfigMap",
      "StorageClass",
      "PersistentVolume",
      "PersistentVolumeClaim",
      "CustomResourceDefinition",
      "ClusterRole",
      "ClusterRoleList",
      "ClusterRoleBinding",
      "ClusterRoleBindingList",
      "Role",
      "RoleList",
      "RoleBinding",
      "RoleBindingList",
      "Service",
      "DaemonSet",
      "Pod",
      "ReplicationController",
      "ReplicaSet",
      "Deployment",
      "HorizontalPodAutoscaler",
      "StatefulSet",
      "Job",
      "CronJob",
      "IngressClass",
      "Ingress",
      "APIService",
  };
  for (size_t i = 0; i < kKinds.size(); ++i) {
    if (kKinds[i] == kind) return static_cast<int>(i) - static_cast<int>(kKinds.size());
  }
  return 0;
}

std::string HookName(std::string_view generate_name, std::string_view revision,
                     std::string_view phase, absl::Time started_at) {
  std::string_view rev = revision.size() >= 8 ? revision.substr(0, 7) : revision;
  std::string postfix = absl::AsciiStrToLower(absl::StrCat(
      absl::string_view(rev.data(), rev.size()), "-", absl::string_view(phase.data(), phase.size()),
      "-", absl::ToUnixSeconds(started_at)));
  return absl::StrCat(absl::string_view(generate_name.data(), generate_name.size()), postfix);
}

SyncOptions ParseSyncOptions(const json& app_options, const json& op_options) {
  std::map<std::string, std::string> values;
  for (const json* list : {&app_options, &op_options}) {
    if (!list->is_array()) continue;
    for (const json& item : *list) {
      if (!item.is_string()) continue;
      std::string text = item.get<std::string>();
      size_t eq = text.find('=');
      if (eq == std::string::npos) continue;
      values[std::string(absl::StripAsciiWhitespace(text.substr(0, eq)))] =
          std::string(absl::StripAsciiWhitespace(text.substr(eq + 1)));
    }
  }
  auto is_true = [&](const char* key) {
    auto it = values.find(key);
    return it != values.end() && absl::AsciiStrToLower(it->second) == "true";
  };
  SyncOptions o;
  if (auto it = values.find("Prune"); it != values.end()) {
    std::string v = absl::AsciiStrToLower(it->second);
    if (v == "false" || v == "confirm") o.prune = v;
  }
  o.prune_last = is_true("PruneLast");
  o.replace = is_true("Replace");
  o.server_side_apply = is_true("ServerSideApply");
  if (auto it = values.find("Validate"); it != values.end()) {
    o.validate = absl::AsciiStrToLower(it->second) != "false";
  }
  o.create_namespace = is_true("CreateNamespace");
  o.apply_out_of_sync_only = is_true("ApplyOutOfSyncOnly");
  if (auto it = values.find("PrunePropagationPolicy"); it != values.end()) {
    std::string v = absl::AsciiStrToLower(it->second);
    if (v == "foreground" || v == "background" || v == "orphan") o.prune_propagation = v;
  }
  return o;
}

std::optional<std::string> ResourceSyncOption(const json& obj, std::string_view key) {
  for (const std::string& item : AnnotationCsv(obj, kSyncOptionsAnnotation)) {
    size_t eq = item.find('=');
    if (eq == std::string::npos) continue;
    if (absl::StripAsciiWhitespace(item.substr(0, eq)) ==
        absl::string_view(key.data(), key.size())) {
      return std::string(absl::StripAsciiWhitespace(item.substr(eq + 1)));
    }
  }
  return std::nullopt;
}

ResourceKey SyncTask::Key() const { return KeyOf(Obj()); }

std::string SyncTask::Version() const { return VersionOf(StringAt(Obj(), {"apiVersion"})); }

int SyncTask::Wave() const { return wave_override ? *wave_override : SyncWave(Obj()); }

bool SyncTask::IsHook() const { return engine::IsHook(Obj()); }

bool SyncTask::HasDeletePolicy(std::string_view policy) const {
  return IsHook() && Contains(HookDeletePolicies(Obj()), policy);
}

bool SelectionContains(const json& selection, const ResourceKey& key) {
  if (!selection.is_array()) return false;
  for (const json& s : selection) {
    if (!s.is_object()) continue;
    std::string ns = s.value("namespace", "");
    if (s.value("group", "") == key.group && s.value("kind", "") == key.kind &&
        s.value("name", "") == key.name && (ns.empty() || ns == key.ns)) {
      return true;
    }
  }
  return false;
}

void SortSyncTasks(std::vector<SyncTask>& tasks) {
  std::stable_sort(tasks.begin(), tasks.end(), TaskLess);
  AdjustDeps(
      tasks,
      [](const json& obj) -> std::optional<std::string> {
        if (StringAt(obj, {"kind"}) == "Namespace" && ApiGroup(obj).empty()) {
          return StringAt(obj, {"metadata", "name"});
        }
        return std::nullopt;
      },
      [](const json& obj) -> std::optional<std::string> {
        std::string ns = StringAt(obj, {"metadata", "namespace"});
        if (ns.empty()) return std::nullopt;
        return ns;
      });
  AdjustDeps(
      tasks,
      [](const json& obj) -> std::optional<std::string> {
        if (StringAt(obj, {"kind"}) != "CustomResourceDefinition") return std::nullopt;
        std::string group = StringAt(obj, {"spec", "group"});
        std::string kind = StringAt(obj, {"spec", "names", "kind"});
        if (group.empty() || kind.empty()) return std::nullopt;
        return absl::StrCat(group, "/", kind);
      },
      [](const json& obj) -> std::optional<std::string> {
        return absl::StrCat(ApiGroup(obj), "/", StringAt(obj, {"kind"}));
      });
}

std::vector<SyncTask> BuildSyncTasks(const TaskInput& in) {
  const bool selective = in.resources.is_array() && !in.resources.empty();
  std::map<ResourceKey, const json*> live_by_key;
  for (const json& live : in.live) live_by_key[Normalized(KeyOf(live))] = &live;
  auto find_live = [&](const json& target) -> std::optional<json> {
    auto it = live_by_key.find(Normalized(KeyOf(target)));
    if (it == live_by_key.end()) return std::nullopt;
    return *it->second;
  };

  std::vector<SyncTask> tasks;
  std::vector<const json*> hooks;
  std::set<ResourceKey> paired;
  for (const json& target : in.targets) {
    if (IsIgnored(target)) continue;
    if (IsHook(target)) {
      hooks.push_back(&target);
      continue;
    }
    ResourceKey key = Normalized(KeyOf(target));
    paired.insert(key);
    if (selective && !SelectionContains(in.resources, KeyOf(target))) continue;
    std::optional<json> live = find_live(target);
    for (const std::string& phase : SyncPhasesOf(target)) {
      tasks.push_back(SyncTask{.phase = phase, .target = target, .live = live});
    }
  }
  for (const json& live : in.live) {
    ResourceKey key = Normalized(KeyOf(live));
    // Live hooks are the remains of earlier operations, never pruned.
    if (paired.count(key) > 0 || IsHook(live)) continue;
    if (selective && !SelectionContains(in.resources, KeyOf(live))) continue;
    for (const std::string& phase : SyncPhasesOf(live)) {
      tasks.push_back(SyncTask{.phase = phase, .live = live});
    }
  }

  if (!in.skip_hooks) {
    for (const json* hook : hooks) {
      for (const std::string& phase : SyncPhasesOf(*hook)) {
        json target = *hook;
        if (StringAt(target, {"metadata", "name"}).empty()) {
          target["metadata"]["name"] = HookName(StringAt(target, {"metadata", "generateName"}),
                                                in.revision, phase, in.started_at);
          // The tracking id was made before the name existed; without this the created hook
          // would not be recognised as the app's.
          if (Annotation(target, kTrackingAnnotation) != nullptr) {
            target["metadata"]["annotations"][kTrackingAnnotation] =
                TrackingId(in.app_name, KeyOf(target));
          }
        }
        std::optional<json> live = find_live(target);
        tasks.push_back(SyncTask{.phase = phase, .target = std::move(target), .live = live});
      }
    }
  }

  if (in.options.create_namespace && !in.dest_namespace.empty()) {
    bool in_manifests = false;
    for (const json& target : in.targets) {
      if (StringAt(target, {"kind"}) == "Namespace" && ApiGroup(target).empty() &&
          StringAt(target, {"metadata", "name"}) == in.dest_namespace) {
        in_manifests = true;
      }
    }
    if (!in_manifests) {
      json ns = {
          {"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", in.dest_namespace}}}};
      std::optional<json> live = find_live(ns);
      tasks.push_back(SyncTask{
          .phase = kPreSync, .target = std::move(ns), .live = live, .auto_namespace = true});
    }
  }

  // Prune in the reverse of creation order: swap the distinct prune waves end for end.
  std::set<int> prune_waves;
  for (const SyncTask& t : tasks) {
    if (t.IsPrune()) prune_waves.insert(t.Wave());
  }
  std::vector<int> waves(prune_waves.begin(), prune_waves.end());
  std::map<int, int> mirrored;
  for (size_t i = 0; i < waves.size(); ++i) mirrored[waves[i]] = waves[waves.size() - 1 - i];
  for (SyncTask& t : tasks) {
    if (t.IsPrune()) t.wave_override = mirrored[t.Wave()];
  }
  int last_sync_wave = 0;
  for (const SyncTask& t : tasks) {
    if (t.phase == kSync) last_sync_wave = std::max(last_sync_wave, t.Wave());
  }
  for (SyncTask& t : tasks) {
    if (t.IsPrune() &&
        (in.options.prune_last || ResourceSyncOption(*t.live, "PruneLast") == "true")) {
      t.wave_override = last_sync_wave + 1;
    }
  }

  SortSyncTasks(tasks);
  return tasks;
}

}  // namespace argonaut::cd::engine
