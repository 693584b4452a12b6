#include "lib/cluster/workloads/pod_template.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"

namespace argonaut::cluster::workloads {
namespace {

constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
constexpr size_t kAlphabetSize = sizeof(kAlphabet) - 1;
// Generated names must stay within a DNS label (63) after the 5-character suffix.
constexpr size_t kMaxGenerateNameBase = 58;
constexpr int kMaxTemplateDepth = 64;

Json WithoutHashLabel(const Json& t) {
  Json copy = t;
  if (copy.is_object() && copy.contains("metadata") && copy["metadata"].is_object()) {
    Json& meta = copy["metadata"];
    if (meta.contains("labels") && meta["labels"].is_object()) {
      meta["labels"].erase(kPodTemplateHashLabel);
      if (meta["labels"].empty()) meta.erase("labels");
    }
    if (meta.empty()) copy.erase("metadata");
  }
  return copy;
}

}  // namespace

std::string RandomSuffix(const RandomSource& rand, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.push_back(kAlphabet[rand() % kAlphabetSize]);
  return out;
}

std::string SafeEncode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) out.push_back(kAlphabet[c % kAlphabetSize]);
  return out;
}

absl::StatusOr<Json> PodFromTemplate(const Json& owner, const Json& pod_template,
                                     const RandomSource& rand) {
  const Json* meta = Field(owner, "metadata");
  if (meta == nullptr || !meta->is_object()) {
    return absl::InvalidArgumentError("metadata: required");
  }
  std::string name, ns, uid;
  for (auto [key, out] : {std::pair{"name", &name}, {"namespace", &ns}, {"uid", &uid}}) {
    const Json* v = Field(*meta, key);
    if (v == nullptr || !v->is_string() || v->get_ref<const std::string&>().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("metadata.", key, ": required"));
    }
    *out = v->get<std::string>();
  }
  if (!pod_template.is_object()) {
    return absl::InvalidArgumentError("spec.template: required");
  }
  const Json* spec = Field(pod_template, "spec");
  if (spec == nullptr || !spec->is_object()) {
    return absl::InvalidArgumentError("spec.template.spec: required");
  }
  std::string base =
      name.size() + 1 > kMaxGenerateNameBase ? name.substr(0, kMaxGenerateNameBase - 1) : name;
  base += "-";

  Json pod_meta = {{"name", base + RandomSuffix(rand)},
                   {"generateName", base},
                   {"namespace", ns},
                   {"ownerReferences", Json::array({MakeControllerRef(owner)})}};
  const Json* tmeta = Field(pod_template, "metadata");
  for (const char* key : {"labels", "annotations"}) {
    const Json* v = tmeta == nullptr ? nullptr : Field(*tmeta, key);
    if (v == nullptr) continue;
    if (!v->is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("spec.template.metadata.", key, ": expected object"));
    }
    pod_meta[key] = *v;
  }
  if (const Json* f = tmeta == nullptr ? nullptr : Field(*tmeta, "finalizers")) {
    pod_meta["finalizers"] = *f;
  }
  return Json{{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", std::move(pod_meta)},
              {"spec", *spec},
              {"status", {{"phase", "Pending"}}}};
}

absl::StatusOr<std::string> ComputeTemplateHash(const Json& pod_template,
                                                std::optional<int32_t> collision_count) {
  if (absl::Status s = CheckDepth(pod_template, kMaxTemplateDepth, "spec.template"); !s.ok()) {
    return s;
  }
  // nlohmann::json keeps object keys sorted, so dump() is a canonical rendering.
  const std::string canonical = WithoutHashLabel(pod_template).dump();
  uint32_t h = 2166136261u;
  auto add = [&h](unsigned char byte) {
    h ^= byte;
    h *= 16777619u;
  };
  for (unsigned char c : canonical) add(c);
  if (collision_count.has_value()) {
    const uint32_t n = static_cast<uint32_t>(*collision_count);
    for (int i = 0; i < 4; ++i) add(static_cast<unsigned char>((n >> (8 * i)) & 0xff));
  }
  return SafeEncode(absl::StrCat(h));
}

bool TemplatesEqualIgnoringHash(const Json& a, const Json& b) {
  return WithoutHashLabel(a) == WithoutHashLabel(b);
}

std::string ReplicaSetName(std::string_view deployment_name, std::string_view hash) {
  return absl::StrCat(AbslView(deployment_name), "-", AbslView(hash));
}

}  // namespace argonaut::cluster::workloads
