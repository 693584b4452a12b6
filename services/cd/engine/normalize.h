// Normalization before a diff: what the server sets, what Argo CD never
// compares, and the app's ignoreDifferences. Internal to the diff.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "services/cd/engine/resource_key.h"

namespace argonaut::cd::engine {

inline constexpr char kLastAppliedAnnotation[] = "kubectl.kubernetes.io/last-applied-configuration";

// Drops status, server-set metadata (uid, resourceVersion, generation,
// creationTimestamp, managedFields, selfLink, deletion fields) and the
// last-applied annotation (emptied labels/annotations maps go too); a Secret's
// stringData is folded into base64 `data`, as the API server stores it.
void NormalizeObject(nlohmann::json& obj);

// The ignoreDifferences entries of an app that apply to one resource, ready to
// strip their fields from the target, live and last-applied objects.
class IgnoreRules {
 public:
  // Entries match on group and kind (`*` wildcards; an empty group is the core
  // group) and, when set, name and namespace. Errors name the bad entry, e.g.
  // `ignoreDifferences[0].jqPathExpressions[1]: ...`.
  static absl::StatusOr<IgnoreRules> For(const nlohmann::json& ignore_differences,
                                         const ResourceKey& key);

  // Field paths (in managedFields' fieldsV1 form) owned by the
  // managedFieldsManagers of the matching entries, read from `live`.
  void CollectManagedFields(const nlohmann::json& live);

  // Removes the ignored fields from `obj`. jq errors at run time (a path that
  // does not fit this object) leave the object as it was, as Argo CD does.
  void Apply(nlohmann::json& obj) const;

  bool empty() const { return pointers_.empty() && jq_.empty() && managers_.empty(); }

 private:
  std::vector<std::string> pointers_, jq_, managers_;
  std::vector<nlohmann::json> managed_fields_;  // fieldsV1 trees
};

// The system-wide ignoreDifferences of argocd-cm `data`, in the app's
// ignoreDifferences shape ({group, kind, jsonPointers, jqPathExpressions,
// managedFieldsManagers}): keys `resource.customizations.ignoreDifferences.
// <group>_<kind>` (core kinds: `<kind>`), `...ignoreDifferences.all` (every
// kind) and the `ignoreDifferences` of the older `resource.customizations`
// map, each a YAML text. Unreadable entries are skipped and listed in
// `errors` when given.
nlohmann::json SystemIgnoreDifferences(const nlohmann::json& argocd_cm_data,
                                       std::vector<std::string>* errors = nullptr);

// Checks a jq path expression against the subset accepted for ignoreDifferences
// (paths, iteration, select, comparisons and string/collection builtins that
// always terminate): jq 1.6 cannot be interrupted, so anything that could run
// unbounded (recursion, range, repeat, while, reduce, def, string repetition)
// is refused up front.
absl::Status CheckJqExpression(std::string_view expr);

// `del(<expr>)` applied to `obj` with libjq. Compile errors are errors; a run
// time error returns the object unchanged.
absl::StatusOr<nlohmann::json> JqDelete(std::string_view expr, const nlohmann::json& obj);

}  // namespace argonaut::cd::engine
