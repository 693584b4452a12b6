// Ephemeral pod metadata (Argo's rollout/ephemeralmetadata.go): labels and annotations a pod
// carries only while its ReplicaSet plays a role (canary/preview, stable/active). They go on
// the ReplicaSet's pod template, so new pods get them, and onto the running pods in place, so a
// role change never restarts a pod. The ReplicaSet remembers what it was given (annotation
// kEphemeralMetadataAnnotation) to take exactly that off again.
#include <map>
#include <set>
#include <string>
#include <utility>

#include "lib/cluster/workloads/objects.h"
#include "services/rollout/engine/context.h"

namespace argonaut::rollout::engine {
namespace {

namespace wl = ::argonaut::cluster::workloads;

constexpr const char* kKinds[] = {"labels", "annotations"};

const Json& Map(const Json& md, const char* kind) {
  static const Json kEmpty = Json::object();
  const Json* m = md.is_object() ? wl::Field(md, kind) : nullptr;
  return m != nullptr && m->is_object() ? *m : kEmpty;
}

// The metadata the ReplicaSet's annotation says it was given (null when none or unreadable:
// then nothing is taken off, which is what Argo does with a corrupt annotation too).
Json AppliedMetadata(const Rs& rs) {
  const Json* ann = wl::FieldPath(rs.obj, {"metadata", "annotations"});
  const std::string text = ann == nullptr ? "" : wl::StrOr(*ann, kEphemeralMetadataAnnotation);
  if (text.empty()) return Json();
  Json md = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return md.is_object() ? md : Json();
}

bool SameMetadata(const Json& a, const Json& b) {
  for (const char* kind : kKinds) {
    if (Map(a, kind) != Map(b, kind)) return false;
  }
  return true;
}

// Takes `old_md` off `meta` (only values still as given) and puts `new_md` on. Keys in
// `keep` (the ReplicaSet's selector) are never removed.
void Rewrite(Json& meta, const Json& old_md, const Json& new_md, const Json& keep) {
  for (const char* kind : kKinds) {
    Json map = meta.is_object() && meta.contains(kind) && meta[kind].is_object() ? meta[kind]
                                                                                 : Json::object();
    const Json& want = Map(new_md, kind);
    for (const auto& [k, v] : Map(old_md, kind).items()) {
      if (want.contains(k) || (std::string_view(kind) == "labels" && keep.contains(k))) continue;
      if (map.contains(k) && map[k] == v) map.erase(k);
    }
    for (const auto& [k, v] : want.items()) map[k] = v;
    if (map.empty()) {
      if (meta.is_object()) meta.erase(kind);
    } else {
      meta[kind] = std::move(map);
    }
  }
}

void AddKeys(const Json& md, std::map<std::string, std::set<std::string>>& keys) {
  for (const char* kind : kKinds) {
    for (const auto& [k, v] : Map(md, kind).items()) keys[kind].insert(k);
  }
}

}  // namespace

int PodOwnerIndex(const Ctx& c, const Json& pod) {
  std::string rs_name;
  if (const Json* ref = wl::ControllerRef(pod); ref != nullptr) {
    if (wl::StrOr(*ref, "kind") != "ReplicaSet") return -1;
    rs_name = wl::StrOr(*ref, "name");
  }
  const Json* labels = wl::FieldPath(pod, {"metadata", "labels"});
  const std::string hash = labels == nullptr ? "" : wl::StrOr(*labels, kPodTemplateHashLabel);
  for (size_t i = 0; i < c.rss.size(); ++i) {
    if (c.rss[i].is_new_object) continue;
    if (rs_name.empty() ? c.rss[i].hash == hash : c.rss[i].name == rs_name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

void SyncEphemeralMetadata(Ctx& c) {
  if (c.new_rs < 0) return;
  // Argo: the new revision is "fully rolled out" once it is the stable (canary) or active
  // (blue-green) one, or when there is none yet; then it gets the stable/active metadata.
  std::string serving = c.StableHash();
  if (!c.spec.canary) {
    const Json* active = wl::FieldPath(c.status, {"blueGreen", "activeSelector"});
    if (active != nullptr && active->is_string()) serving = active->get<std::string>();
  }
  const bool fully = serving.empty() || serving == c.new_hash;

  // Keys any role may have put on a pod: those are the ones kept in line with the template.
  std::map<std::string, std::set<std::string>> keys;
  AddKeys(c.spec.canary_metadata, keys);
  AddKeys(c.spec.stable_metadata, keys);

  for (size_t i = 0; i < c.rss.size(); ++i) {
    Rs& rs = c.rss[i];
    Json want;
    if (static_cast<int>(i) == c.new_rs) {
      want = fully ? c.spec.stable_metadata : c.spec.canary_metadata;
    } else if (!fully && !serving.empty() && rs.hash == serving) {
      want = c.spec.stable_metadata;
    }
    const Json applied = AppliedMetadata(rs);
    AddKeys(applied, keys);
    if (SameMetadata(applied, want)) continue;
    Json& meta = rs.obj["spec"]["template"]["metadata"];
    const Json* sel = wl::FieldPath(rs.obj, {"spec", "selector", "matchLabels"});
    Rewrite(meta, applied, want, sel != nullptr && sel->is_object() ? *sel : Json::object());
    Json& annotations = rs.obj["metadata"]["annotations"];
    if (!annotations.is_object()) annotations = Json::object();
    if (SameMetadata(want, Json())) {
      annotations.erase(kEphemeralMetadataAnnotation);
    } else {
      annotations[kEphemeralMetadataAnnotation] = want.dump();
    }
    rs.annotations_changed = true;
  }
  if (keys.empty()) return;

  // Level-triggered: every running pod's ephemeral keys follow its ReplicaSet's template, so a
  // pod missed before a crash (or created from the old template) is caught on the next pass.
  for (const Json& pod : c.in.pods) {
    if (wl::IsTerminating(pod)) continue;
    const int owner = PodOwnerIndex(c, pod);
    if (owner < 0) continue;
    const Json* tmpl = wl::FieldPath(c.rss[owner].obj, {"spec", "template", "metadata"});
    Json updated = pod;
    Json& meta = updated["metadata"];
    bool changed = false;
    for (const auto& [kind, names] : keys) {
      const Json* want = tmpl == nullptr ? nullptr : wl::Field(*tmpl, kind);
      Json map = meta.contains(kind) && meta[kind].is_object() ? meta[kind] : Json::object();
      for (const std::string& k : names) {
        if (kind == "labels" && k == kPodTemplateHashLabel) continue;
        const Json* v = want == nullptr || !want->is_object() ? nullptr : wl::Field(*want, k);
        if (v != nullptr) {
          if (!map.contains(k) || map[k] != *v) {
            map[k] = *v;
            changed = true;
          }
        } else if (map.contains(k)) {
          map.erase(k);
          changed = true;
        }
      }
      if (map.empty()) {
        meta.erase(kind);
      } else {
        meta[kind] = std::move(map);
      }
    }
    if (changed) c.out.pods_to_update.push_back(std::move(updated));
  }
}

}  // namespace argonaut::rollout::engine
