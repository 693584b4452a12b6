// The diff of one resource between what git says (target) and what runs
// (live), as Argo CD's legacy 3-way diff computes it: both sides normalized
// (server-set fields, status, ignoreDifferences dropped), then the live object
// kubectl apply would leave behind (predicted live, from the last-applied
// annotation, the target and live) compared with the normalized live object.
// Fields only live sets and never in last-applied (defaults, controllers) are
// not drift; a field removed from git that was in last-applied is.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "services/cd/engine/normalize.h"

namespace argonaut::cd::engine {

struct ResourceDiff {
  bool modified = false;
  // Null when that side does not exist. Secret values are masked ("+" runs,
  // longer where the two sides differ), as Argo CD hides them.
  nlohmann::json normalized_live, predicted_live;
  // Unified diff of the two as YAML: "@@ -l,n +l,n @@" hunk headers, then
  // lines starting " " (same), "-" (only live) or "+" (only target). Empty
  // when not modified.
  std::string text;
};

// `target` null: the live object is extra; `live` null: the target is missing
// (both give modified = true). `ignore_differences` is the app's
// spec.ignoreDifferences (null or a list); a malformed entry is an error
// naming it.
absl::StatusOr<ResourceDiff> Diff(const nlohmann::json* target, const nlohmann::json* live,
                                  const nlohmann::json& ignore_differences);

// `target` with the last-applied annotation kubectl apply writes (its own JSON
// without the annotation, status or server-set metadata), so the next diff is
// 3-way. The sync runner applies exactly this.
nlohmann::json WithLastApplied(const nlohmann::json& target);

// A core Secret as the API shows it in resource states (Argo CD's
// managed-resources): every data and stringData value replaced by "++++++++"
// and the last-applied annotation (which repeats them) dropped. Any other
// object is returned as is.
nlohmann::json HideSecretValues(const nlohmann::json& object);

// Unified line diff of two texts with `context` lines around changes.
std::string UnifiedDiff(const std::string& before, const std::string& after, int context = 3);

}  // namespace argonaut::cd::engine
