#include "services/cd/engine/compare.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/cd/engine/sync_tasks.h"

namespace argonaut::cd::engine {
namespace {

using json = nlohmann::json;

std::string Str(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& Field(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string AnnotationOf(const json& obj, const char* key) {
  return Str(Field(Field(obj, "metadata"), "annotations"), key);
}

bool HasCompareOption(const json& obj, std::string_view option) {
  for (absl::string_view o : absl::StrSplit(AnnotationOf(obj, kCompareOptionsAnnotation), ','))
    if (absl::StripAsciiWhitespace(o) == absl::string_view(option.data(), option.size()))
      return true;
  return false;
}

// Images of the pod templates in an object (Pods, workloads, CronJobs).
void CollectImages(const json& obj, std::set<std::string>& out) {
  auto from_pod_spec = [&](const json& spec) {
    for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
      const json& containers = Field(spec, list);
      if (!containers.is_array()) continue;
      for (const json& c : containers)
        if (std::string image = Str(c, "image"); !image.empty()) out.insert(image);
    }
  };
  const json& spec = Field(obj, "spec");
  from_pod_spec(spec);
  from_pod_spec(Field(Field(spec, "template"), "spec"));
  from_pod_spec(Field(Field(Field(Field(spec, "jobTemplate"), "spec"), "template"), "spec"));
}

json ResourceStatusJson(const ResourceState& r) {
  json out = json::object();
  auto put = [&](const char* k, const std::string& v) {
    if (!v.empty()) out[k] = v;
  };
  put("group", r.key.group);
  put("version", r.version);
  put("kind", r.key.kind);
  put("namespace", r.key.ns);
  put("name", r.key.name);
  put("status", r.sync_status);
  if (r.health) {
    out["health"] = {{"status", r.health->status}};
    if (!r.health->message.empty()) out["health"]["message"] = r.health->message;
  }
  if (r.hook) out["hook"] = true;
  if (r.requires_pruning) out["requiresPruning"] = true;
  if (r.wave != 0) out["syncWave"] = r.wave;
  return out;
}

json ComparedTo(const json& app) {
  const json& spec = Field(app, "spec");
  json out = json::object();
  if (spec.contains("sources") && spec["sources"].is_array() && !spec["sources"].empty()) {
    out["sources"] = spec["sources"];
  } else if (spec.contains("source")) {
    out["source"] = spec["source"];
  }
  if (spec.contains("destination")) out["destination"] = spec["destination"];
  if (spec.contains("ignoreDifferences")) out["ignoreDifferences"] = spec["ignoreDifferences"];
  return out;
}

}  // namespace

json AggregateHealth(const std::vector<ResourceState>& resources, const json& app) {
  std::string app_name = Str(Field(app, "metadata"), "name");
  std::vector<const ResourceState*> counted;
  for (const ResourceState& r : resources) {
    if (r.hook || !r.health) continue;
    const json& obj = r.live ? *r.live : *r.target;
    if (IsIgnored(obj) || IsSkipped(obj) || (r.target && IsSkipped(*r.target))) continue;
    if (AnnotationOf(obj, kIgnoreHealthcheckAnnotation) == "true") continue;
    bool child_app = r.key.group == "argoproj.io" && r.key.kind == "Application";
    if (child_app && r.key.name == app_name) continue;  // an app managing itself
    if (child_app && (r.health->status == kMissing || r.health->status == kUnknown)) continue;
    counted.push_back(&r);
  }
  bool all_missing = !counted.empty();
  for (const ResourceState* r : counted) all_missing = all_missing && r->health->status == kMissing;
  if (all_missing) return {{"status", kMissing}, {"message", ""}};
  std::string worst = kHealthy;
  for (const ResourceState* r : counted) {
    if (r->health->status == kMissing) continue;
    if (HealthRank(r->health->status) > HealthRank(worst)) worst = r->health->status;
  }
  std::vector<std::string> causes;
  if (worst != kHealthy) {
    for (const ResourceState* r : counted) {
      if (r->health->status != worst || causes.size() == 3) continue;
      std::string cause = absl::StrCat(r->key.kind, "/", r->key.name);
      if (!r->health->message.empty()) absl::StrAppend(&cause, ": ", r->health->message);
      causes.push_back(std::move(cause));
    }
  }
  return {{"status", worst}, {"message", absl::StrJoin(causes, "; ")}};
}

CompareResult Compare(const CompareInput& in) {
  static const json kNoApp = json::object();
  const json& app = in.app != nullptr ? *in.app : kNoApp;
  json ignore = Field(Field(app, "spec"), "ignoreDifferences");
  if (in.system_ignore_differences.is_array() && !in.system_ignore_differences.empty()) {
    // The app's entries keep their indexes in error messages.
    if (!ignore.is_array()) ignore = ignore.is_null() ? json::array() : ignore;
    if (ignore.is_array())
      for (const json& e : in.system_ignore_differences) ignore.push_back(e);
  }
  HealthScripts no_scripts;
  const HealthScripts& scripts = in.scripts != nullptr ? *in.scripts : no_scripts;
  CompareResult out;
  bool failed = !in.generation_error.empty();
  if (failed)
    out.conditions.push_back({{"type", "ComparisonError"}, {"message", in.generation_error}});

  // Targets by key; a hook target is not a resource (its live copies are).
  std::map<ResourceKey, json> targets;
  for (const json& t : in.targets) {
    if (!t.is_object() || IsHook(t)) continue;
    ResourceKey key = KeyOf(t);
    if (targets.count(key) != 0)
      out.conditions.push_back(
          {{"type", "RepeatedResourceWarning"},
           {"message", absl::StrCat("Resource ", key.ToString(), " appeared more than once")}});
    targets[key] = t;
  }
  std::map<ResourceKey, const json*> live;
  for (const json& l : in.live)
    if (l.is_object()) live[KeyOf(l)] = &l;
  // A target whose namespace does not fit the kind's real scope still finds its object.
  auto find_live = [&](const ResourceKey& key) -> const json* {
    if (auto it = live.find(key); it != live.end()) return it->second;
    for (const auto& [k, obj] : live)
      if (k.group == key.group && k.kind == key.kind && k.name == key.name &&
          (k.ns.empty() || key.ns.empty()))
        return obj;
    return nullptr;
  };

  std::set<ResourceKey> matched_live;
  std::set<std::string> images;
  bool diff_error = false;
  auto add = [&](const json* target, const json* live_obj) {
    ResourceState r;
    const json& obj = target != nullptr ? *target : *live_obj;
    r.key = KeyOf(obj);
    r.version = VersionOf(Str(obj, "apiVersion"));
    if (target != nullptr) r.target = *target;
    if (live_obj != nullptr) r.live = *live_obj;
    r.wave = SyncWave(obj);
    r.hook = live_obj != nullptr && target == nullptr && IsHook(*live_obj);
    bool ignored = IsIgnored(obj) || IsSkipped(obj);
    if (live_obj != nullptr) {
      CollectImages(*live_obj, images);
      if (!r.hook) r.health = AssessHealth(*live_obj, scripts);
    } else if (!ignored) {
      // A missing object of a kind without health still shows Missing.
      r.health = Health{kMissing, ""};
    }
    if (r.hook || ignored) {
      out.resources.push_back(std::move(r));
      return;
    }
    r.requires_pruning = target == nullptr && !failed;
    if (failed) {
      r.sync_status = kSyncUnknown;
    } else {
      auto d = Diff(target, live_obj, ignore);
      if (!d.ok()) {
        if (!diff_error)
          out.conditions.push_back(
              {{"type", "ComparisonError"}, {"message", std::string(d.status().message())}});
        diff_error = true;
        r.sync_status = kSyncUnknown;
      } else {
        r.diff = *std::move(d);
        r.sync_status = r.diff.modified ? kOutOfSync : kSynced;
      }
    }
    out.resources.push_back(std::move(r));
  };
  if (!failed) {
    for (const auto& [key, t] : targets) {
      const json* l = find_live(key);
      if (l != nullptr) matched_live.insert(KeyOf(*l));
      add(&t, l);
    }
  }
  for (const auto& [key, l] : live)
    if (matched_live.count(key) == 0) add(nullptr, l);
  std::sort(out.resources.begin(), out.resources.end(),
            [](const ResourceState& a, const ResourceState& b) { return a.key < b.key; });

  std::string status = kSynced;
  if (failed || diff_error) {
    status = kSyncUnknown;
  } else {
    for (const ResourceState& r : out.resources) {
      if (r.sync_status != kOutOfSync) continue;
      // An extra object marked IgnoreExtraneous shows OutOfSync but does not flip the app.
      if (r.requires_pruning && r.live && HasCompareOption(*r.live, "IgnoreExtraneous")) continue;
      status = kOutOfSync;
    }
  }
  out.sync = {{"status", status}, {"comparedTo", ComparedTo(app)}};
  if (!in.revision.empty()) out.sync["revision"] = in.revision;
  out.health = AggregateHealth(out.resources, app);
  out.resources_status = json::array();
  for (const ResourceState& r : out.resources)
    out.resources_status.push_back(ResourceStatusJson(r));
  out.images.assign(images.begin(), images.end());
  return out;
}

}  // namespace argonaut::cd::engine
