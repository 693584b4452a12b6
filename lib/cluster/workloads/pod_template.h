// Turning an owner's spec.template into objects: pods with generated names and controller
// owner references, and the pod-template-hash that names a Deployment's ReplicaSets.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "lib/cluster/workloads/objects.h"

namespace argonaut::cluster::workloads {

// Injected randomness so that names are reproducible in tests.
using RandomSource = std::function<uint32_t()>;

// `n` characters from Kubernetes' name-suffix alphabet (no vowels, no confusable digits).
std::string RandomSuffix(const RandomSource& rand, int n = 5);

// Kubernetes' SafeEncodeString: maps each byte onto the suffix alphabet.
std::string SafeEncode(std::string_view s);

// A Pod built from `owner` (any controller object with metadata.name/namespace/uid) and its
// pod template: name "<owner>-<5 chars>", template labels/annotations/finalizers, spec copied,
// and a controller ownerReference to the owner. Errors name the missing/invalid field.
absl::StatusOr<Json> PodFromTemplate(const Json& owner, const Json& pod_template,
                                     const RandomSource& rand);

// Stable hash of a pod template (the pod-template-hash label is ignored, so a ReplicaSet's
// template hashes like the Deployment template it came from). FNV-32a over the canonical
// JSON rendering plus the collision count, rendered with SafeEncode. Same template -> same
// hash; errors only on templates too deeply nested to render safely.
absl::StatusOr<std::string> ComputeTemplateHash(const Json& pod_template,
                                                std::optional<int32_t> collision_count);

// True when the templates are equal once the pod-template-hash label is removed from both.
bool TemplatesEqualIgnoringHash(const Json& a, const Json& b);

// "<deployment>-<hash>".
std::string ReplicaSetName(std::string_view deployment_name, std::string_view hash);

}  // namespace argonaut::cluster::workloads
